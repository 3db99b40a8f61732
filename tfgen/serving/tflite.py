"""TFLite conversion of a SavedModel's on-device signatures, and their parity check.

Only the endpoints a model lists in `tflite_endpoints` convert: they take their
noise as an input, because stateless random ops have no TFLite builtin and the
LiteRT interpreter here has no Flex delegate.

Files are named `<signature>.<quantization>.tflite`, e.g. `decode.float16.tflite`.
`tfgen.serving.export_run` writes them into the version directory's `tflite/`
subdirectory before the version is published, so the SavedModel and its
`.tflite` files appear together; TF Serving ignores the extra directory.
"""

import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tfgen.files import write_atomically

TFLITE_DIR = "tflite"


def _float32(converter):
    del converter  # No optimization: float32 weights and activations.


def _dynamic_range(converter):
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def _float16(converter):
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


# Quantization name -> how it configures a `tf.lite.TFLiteConverter`.
QUANTIZATIONS = {
    "float32": _float32,  # no quantization
    "dynamic_range": _dynamic_range,  # int8 weights, float activations: ~4x smaller
    "float16": _float16,  # float16 weights: ~2x smaller, near-float32 accuracy
}


def check_quantizations(quantizations):
    """`["float32", ...]` from a list of names or a comma-separated string, each checked.

    Raises:
        ValueError: naming the valid quantizations.
    """
    if isinstance(quantizations, str):
        quantizations = [q.strip() for q in quantizations.split(",") if q.strip()]
    return [check_quantization(q) for q in quantizations]


def check_quantization(quantization):
    """Returns `quantization` if it is a known name.

    Raises:
        ValueError: naming the valid quantizations.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; valid quantizations are: "
                         f"{', '.join(QUANTIZATIONS)}")
    return quantization


def tflite_filename(signature_key, quantization):
    """`"<signature_key>.<quantization>.tflite"`."""
    return f"{signature_key}.{check_quantization(quantization)}.tflite"


def convert(saved_model_dir, signature_key, quantization="float32"):
    """Converts one signature of a SavedModel to a TFLite flatbuffer.

    Args:
        saved_model_dir: a SavedModel directory.
        signature_key: the signature to convert, e.g. `"decode"`.
        quantization: one of `QUANTIZATIONS`: `"float32"`, `"dynamic_range"`
            or `"float16"`.

    Returns:
        The `.tflite` model as `bytes`. Its signature keeps the key, input and
        output names of the SavedModel signature; an unknown batch dimension
        stays dynamic (LiteRT's signature runner resizes it per call).

    Raises:
        ValueError: for an unknown quantization.
    """
    configure = QUANTIZATIONS[check_quantization(quantization)]
    with tempfile.TemporaryDirectory(prefix="tfgen-tflite-") as scratch:
        source = _without_other_resources(saved_model_dir, signature_key, scratch)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            str(source), signature_keys=[signature_key])
        configure(converter)
        return converter.convert()


def _without_other_resources(saved_model_dir, signature_key, scratch):
    """A SavedModel the converter can read for `signature_key`: `saved_model_dir` or a copy.

    The converter imports the SavedModel's initializer whatever the signature: a
    SavedModel that tracks resources besides variables (e.g. a tokenizer's lookup
    tables, which have no TFLite builtin) fails to convert even for a signature
    that never reads them. For such a SavedModel, the signature alone and the
    variables it reads are re-saved into `scratch`.
    """
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(saved_model_dir) / "saved_model.pb").read_bytes())
    nodes = proto.meta_graphs[0].object_graph_def.nodes
    if not any(node.WhichOneof("kind") == "resource" for node in nodes):
        return saved_model_dir
    loaded = tf.saved_model.load(str(saved_model_dir))  # Keeps the variables alive.
    function = loaded.signatures[signature_key]
    module = tf.Module(name="tflite_source")
    module.model_variables = list(function.variables)  # The converter freezes these.
    tf.saved_model.save(module, scratch, signatures={signature_key: function})
    return scratch


def write_tflite_files(saved_model_dir, signature_keys, quantizations=("float32",), out_dir=None):
    """Converts each signature with each quantization and writes the files.

    Each file is written to a temporary name in `out_dir` and renamed into
    place, so a reader never sees a partial file.

    Args:
        saved_model_dir: a SavedModel directory.
        signature_keys: signatures to convert, e.g. `model.tflite_endpoints`.
        quantizations: names from `QUANTIZATIONS` (a list, or a comma-separated string).
        out_dir: where the files go; default `<saved_model_dir>/tflite`.

    Returns:
        The list of written `Path`s, `<out_dir>/<signature>.<quantization>.tflite`.

    Raises:
        ValueError: for an unknown quantization (before anything is converted).
    """
    quantizations = check_quantizations(quantizations)
    out_dir = Path(out_dir) if out_dir is not None else Path(saved_model_dir) / TFLITE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for key in signature_keys:
        for quantization in quantizations:
            path = out_dir / tflite_filename(key, quantization)
            write_atomically(path, convert(saved_model_dir, key, quantization))
            paths.append(path)
    return paths


def random_inputs(input_specs, batch_size=8, seed=0):
    """Seeded random arrays matching a signature's input specs.

    Unknown dimensions (the batch) become `batch_size`. Floats are standard
    normal (the noise that TFLite endpoints take), integers uniform in [0, 10).

    Args:
        input_specs: `{name: tf.TensorSpec}`.
        batch_size: size of every unknown dimension.
        seed: seeds the draws.

    Returns:
        `{name: np.ndarray}`.
    """
    rng = np.random.default_rng(seed)
    arrays = {}
    for name in sorted(input_specs):
        spec = input_specs[name]
        shape = [batch_size if d is None else d for d in spec.shape.as_list()]
        dtype = spec.dtype.as_numpy_dtype
        if spec.dtype.is_floating:
            arrays[name] = rng.standard_normal(shape).astype(dtype)
        elif spec.dtype.is_integer:
            arrays[name] = rng.integers(0, 10, shape).astype(dtype)
        elif spec.dtype.is_bool:
            arrays[name] = rng.random(shape) < 0.5
        else:
            raise ValueError(f"no random inputs for input {name!r} of dtype {spec.dtype.name}")
    return arrays


def tflite_parity(saved_model_dir, tflite_paths, batch_size=8, seed=0):
    """Max abs difference between each `.tflite` file and the SavedModel.

    Every signature in each file runs in LiteRT (`ai_edge_litert`) through its
    signature runner, which resizes the dynamic batch dimension to the inputs;
    the SavedModel signature of the same name runs on the same seeded random
    inputs (`random_inputs`).

    Args:
        saved_model_dir: the SavedModel the files were converted from.
        tflite_paths: `.tflite` files.
        batch_size: batch size of the random inputs.
        seed: seeds the random inputs.

    Returns:
        `{path: max_abs_difference}` over all outputs of all signatures in the
        file; NaN if any output is NaN.

    Raises:
        ValueError: if a file's signature or its input/output names are not in
            the SavedModel.
    """
    from ai_edge_litert.interpreter import Interpreter

    loaded = tf.saved_model.load(str(saved_model_dir))
    differences = {}
    for path in tflite_paths:
        interpreter = Interpreter(model_path=str(path))
        per_output = []
        for key, io_names in interpreter.get_signature_list().items():
            if key not in loaded.signatures:
                raise ValueError(f"{path} has signature {key!r}, which {saved_model_dir} lacks")
            reference = loaded.signatures[key]
            specs = reference.structured_input_signature[1]
            if sorted(io_names["inputs"]) != sorted(specs):
                raise ValueError(f"{path} signature {key!r} takes {io_names['inputs']}, "
                                 f"the SavedModel takes {sorted(specs)}")
            inputs = random_inputs(specs, batch_size, seed)
            expected = {k: v.numpy() for k, v in reference(**inputs).items()}
            actual = interpreter.get_signature_runner(key)(**inputs)
            for output in io_names["outputs"]:
                difference = np.abs(actual[output].astype(np.float64) - expected[output])
                per_output.append(np.max(difference))
        # np.max propagates NaN, so a NaN output is reported, not hidden.
        differences[Path(path)] = float(np.max(per_output)) if per_output else 0.0
    return differences
