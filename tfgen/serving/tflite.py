"""TFLite conversion of a SavedModel's on-device signatures, and their parity check.

Only the endpoints a model lists in `tflite_endpoints` convert: they take their
noise as an input, because stateless random ops have no TFLite builtin and the
LiteRT interpreter here has no Flex delegate.

Files are named `<signature>.<quantization>.tflite`, e.g. `decode.float16.tflite`.
`tfgen.serving.export_run` writes them into the version directory's `tflite/`
subdirectory before the version is published, so the SavedModel and its
`.tflite` files appear together; TF Serving ignores the extra directory.
"""

import contextlib
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tfgen.utils.files import write_atomically

TFLITE_DIR = "tflite"
PARITY_FILE = "parity.json"


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
# Short names accepted on the command line -> the quantization they mean.
QUANTIZATION_ALIASES = {"dynamic": "dynamic_range"}


def check_quantizations(quantizations):
    """`["float32", ...]` from a list of names or a comma-separated string, each checked.

    Raises:
        ValueError: naming the valid quantizations.
    """
    if isinstance(quantizations, str):
        quantizations = [q.strip() for q in quantizations.split(",") if q.strip()]
    return list(dict.fromkeys(check_quantization(q) for q in quantizations))


def check_quantization(quantization):
    """Returns the quantization's name, resolving the alias `"dynamic"` to `"dynamic_range"`.

    Raises:
        ValueError: naming the valid quantizations.
    """
    quantization = QUANTIZATION_ALIASES.get(quantization, quantization)
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"unknown quantization {quantization!r}; valid quantizations are: "
            f"{', '.join(QUANTIZATIONS)} (or 'dynamic' for dynamic_range)"
        )
    return quantization


def tflite_filename(signature_key, quantization, batch_size=None):
    """`"<signature_key>.<quantization>.tflite"`, or `...<quantization>.batch<N>.tflite`."""
    batch = f".batch{batch_size}" if batch_size is not None else ""
    return f"{signature_key}.{check_quantization(quantization)}{batch}.tflite"


def convert(saved_model_dir, signature_key, quantization="float32", batch_size=None):
    """Converts one signature of a SavedModel to a TFLite flatbuffer.

    Args:
        saved_model_dir: a SavedModel directory.
        signature_key: the signature to convert, e.g. `"decode"`.
        quantization: one of `QUANTIZATIONS`: `"float32"`, `"dynamic_range"`
            or `"float16"`.
        batch_size: None keeps an unknown batch dimension dynamic (LiteRT's
            signature runner resizes it per call); an int fixes it. A fixed
            batch lets the converter fold every shape into a constant, which
            LiteRT's XNNPACK delegate needs to take a transposed convolution:
            with a dynamic batch, a GAN generator's `Conv2DTranspose` layers run
            on slower built-in kernels (see `benchmarks/serving.py`).

    Returns:
        The `.tflite` model as `bytes`. Its signature keeps the key, input and
        output names of the SavedModel signature.

    Raises:
        ValueError: for an unknown quantization or a `batch_size` below 1.
    """
    configure = QUANTIZATIONS[check_quantization(quantization)]
    with _convertible_source(saved_model_dir, signature_key, batch_size) as source:
        return _convert(source, signature_key, configure)


def _convert(source, signature_key, configure):
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(source), signature_keys=[signature_key]
    )
    configure(converter)
    return converter.convert()


@contextlib.contextmanager
def _convertible_source(saved_model_dir, signature_key, batch_size):
    """Yields a directory holding a SavedModel the converter can read for `signature_key`.

    It is `saved_model_dir` itself, or a copy removed afterwards. The converter imports the SavedModel's initializer whatever the signature: a
    SavedModel that tracks resources besides variables (e.g. a tokenizer's lookup
    tables, which have no TFLite builtin) fails to convert even for a signature
    that never reads them. For such a SavedModel, or to fix the batch size, the
    signature alone (traced at `batch_size` where its batch is unknown) and the
    variables it reads are re-saved into a temporary directory.

    Raises:
        ValueError: for a `batch_size` below 1.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 (or None for any batch), got {batch_size}")
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(saved_model_dir) / "saved_model.pb").read_bytes())
    nodes = proto.meta_graphs[0].object_graph_def.nodes
    if batch_size is None and not any(node.WhichOneof("kind") == "resource" for node in nodes):
        yield saved_model_dir
        return
    loaded = tf.saved_model.load(str(saved_model_dir))  # Keeps the variables alive.
    function = loaded.signatures[signature_key]
    if batch_size is not None:
        specs = function.structured_input_signature[1]
        fixed = {
            name: tf.TensorSpec(
                [batch_size if d is None else d for d in spec.shape.as_list()],
                spec.dtype,
                name=name,
            )
            for name, spec in specs.items()
        }
        original = function
        function = tf.function(lambda **inputs: original(**inputs)).get_concrete_function(**fixed)
    module = tf.Module(name="tflite_source")
    module.model_variables = list(
        loaded.signatures[signature_key].variables
    )  # Frozen by the converter.
    with tempfile.TemporaryDirectory(prefix="tfgen-tflite-") as scratch:
        tf.saved_model.save(module, scratch, signatures={signature_key: function})
        yield scratch


def write_tflite_files(
    saved_model_dir, signature_keys, quantizations=("float32",), out_dir=None, batch_size=None
):
    """Converts each signature with each quantization and writes the files.

    Each file is written to a temporary name in `out_dir` and renamed into
    place, so a reader never sees a partial file.

    Args:
        saved_model_dir: a SavedModel directory.
        signature_keys: signatures to convert, e.g. `model.tflite_endpoints`.
        quantizations: names from `QUANTIZATIONS` (a list, or a comma-separated string).
        out_dir: where the files go; default `<saved_model_dir>/tflite`.
        batch_size: None for files that take any batch; an int for files fixed
            to that batch, named `<signature>.<quantization>.batch<N>.tflite`
            (see `convert`).

    Returns:
        The list of written `Path`s.

    Raises:
        ValueError: for an unknown quantization (before anything is converted).
    """
    quantizations = check_quantizations(quantizations)
    out_dir = Path(out_dir) if out_dir is not None else Path(saved_model_dir) / TFLITE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for key in signature_keys:
        # One convertible copy per signature serves every quantization.
        with _convertible_source(saved_model_dir, key, batch_size) as source:
            for quantization in quantizations:
                path = out_dir / tflite_filename(key, quantization, batch_size)
                write_atomically(path, _convert(source, key, QUANTIZATIONS[quantization]))
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


@dataclasses.dataclass(frozen=True)
class Parity:
    """How far a `.tflite` file's outputs are from the SavedModel's on the same inputs.

    Attributes:
        max_abs: the largest absolute difference over every element of every output
            (NaN if any output is NaN).
        mean_abs: the mean absolute difference over the same elements.
    """

    max_abs: float
    mean_abs: float


def tflite_parity(saved_model_dir, tflite_paths, batch_size=8, seed=0):
    """Compares each `.tflite` file's outputs with the SavedModel's.

    Every signature in each file runs in LiteRT (`ai_edge_litert`) through its
    signature runner, which resizes the dynamic batch dimension to the inputs;
    the SavedModel signature of the same name runs on the same seeded random
    inputs (`random_inputs`).

    Args:
        saved_model_dir: the SavedModel the files were converted from.
        tflite_paths: `.tflite` files.
        batch_size: batch size of the random inputs (a file converted with a
            fixed batch runs at its own batch size instead).
        seed: seeds the random inputs.

    Returns:
        `{path: Parity}` over all outputs of all signatures in the file.

    Raises:
        ValueError: if a file's signature or its input/output names are not in
            the SavedModel.
    """
    from ai_edge_litert.interpreter import Interpreter

    loaded = tf.saved_model.load(str(saved_model_dir))
    parities = {}
    for path in tflite_paths:
        interpreter = Interpreter(model_path=str(path))
        differences = []
        for key, io_names in interpreter.get_signature_list().items():
            if key not in loaded.signatures:
                raise ValueError(f"{path} has signature {key!r}, which {saved_model_dir} lacks")
            reference = loaded.signatures[key]
            specs = reference.structured_input_signature[1]
            if sorted(io_names["inputs"]) != sorted(specs):
                raise ValueError(
                    f"{path} signature {key!r} takes {io_names['inputs']}, "
                    f"the SavedModel takes {sorted(specs)}"
                )
            runner = interpreter.get_signature_runner(key)
            inputs = random_inputs(specs, _fixed_batch_size(runner, specs) or batch_size, seed)
            expected = {k: v.numpy() for k, v in reference(**inputs).items()}
            actual = runner(**inputs)
            for output in io_names["outputs"]:
                difference = np.abs(actual[output].astype(np.float64) - expected[output])
                differences.append(difference.ravel())
        # np.max propagates NaN, so a NaN output is reported, not hidden.
        every = np.concatenate(differences) if differences else np.zeros(1)
        parities[Path(path)] = Parity(max_abs=float(np.max(every)), mean_abs=float(np.mean(every)))
    return parities


def _fixed_batch_size(runner, specs):
    """The batch a `.tflite` signature is fixed to (where the SavedModel's is unknown), or None."""
    for name, detail in runner.get_input_details().items():
        dims = specs[name].shape.as_list()
        if dims and dims[0] is None and detail["shape_signature"][0] != -1:
            return int(detail["shape_signature"][0])
    return None


def write_parity_report(tflite_dir, parities, batch_size, seed):
    """Saves `parities` as `<tflite_dir>/parity.json`, beside the files they describe.

    Args:
        tflite_dir: the directory of the `.tflite` files.
        parities: `{path: Parity}` from `tflite_parity`.
        batch_size: the batch size the comparison used.
        seed: the seed of its random inputs.

    Returns:
        The `Path` of the report.
    """
    report = {
        "reference": "the SavedModel signature of the same name in the parent directory",
        "inputs": f"tfgen.serving.random_inputs(batch_size={batch_size}, seed={seed})",
        "files": {
            Path(path).name: {
                "max_abs_difference": parity.max_abs,
                "mean_abs_difference": parity.mean_abs,
            }
            for path, parity in parities.items()
        },
    }
    return write_atomically(Path(tflite_dir) / PARITY_FILE, json.dumps(report, indent=2) + "\n")
