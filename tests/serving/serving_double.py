"""A TEST DOUBLE of TensorFlow Serving's `tensorflow_model_server` (tests only).

`tensorflow_model_server` cannot be installed everywhere tfgen's tests run, so
`ServingDouble` stands in for it on the wire: the same REST and gRPC APIs, the
same JSON shapes and the same error codes and messages, served from the same
`models.config` and SavedModel version directories. It is NOT a server to
deploy: it loads every version at start, never re-scans the disk, and runs
signatures with `tf.saved_model.load` in Python instead of TF Serving's C++
session.

Behaviour follows TF Serving's documentation and sources:

- `g3doc/api_rest.md` and `g3doc/serving_config.md` (the documented APIs),
- `model_servers/server_core.cc` (config validation, version labels, model
  specs), `core/servable_state_monitor.h` (versions listed newest first),
  implemented in `serving_double_models.py`,
- `model_servers/get_model_status_impl.cc`, `get_model_metadata_impl.cc`,
- `servables/tensorflow/predict_util.cc` (input validation messages),
- `model_servers/http_rest_api_handler.cc`, `http_rest_api_util.cc`,
  `http_server.cc` (`ToHTTPStatusCode`) and `util/json_tensor.cc` (REST JSON),
  implemented in `serving_double_rest.py`, `serving_double_json.py` and
  `serving_double_json_output.py`; gRPC in `serving_double_grpc.py`.

This module holds the `ServingDouble` class and what both protocols share to
run a Predict: signature lookup, input checks and running a signature. Do not
import tfgen here: the double stands in for a C++ server that knows nothing
about tfgen.
"""

import dataclasses
import os
import re
import sys

import grpc
import numpy as np
import tensorflow as tf
from serving_double_models import (
    ModelRepository,
    ModelSpec,
    ServedVersion,
    ServingError,
    config_for_models,
    data_type_string,
    invalid_argument,
    read_model_server_config,
)

_THIS_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD_NAMES = (
    "tensorflow/serving/predict",
    "tensorflow/serving/classify",
    "tensorflow/serving/regress",
)
_EAGER_OP_SUFFIX = re.compile(r" \[Op:[^\]]*\]$")


def find_signature(servable, signature_name):
    """Returns `(key, SignatureDef)`; the gRPC path's checks from predict_util.cc.

    Raises:
        ServingError: FAILED_PRECONDITION for an unknown key, INTERNAL for a
            signature that is not a predict/classify/regress one.
    """
    key = signature_name or DEFAULT_SIGNATURE
    if key not in servable.signature_defs:
        raise ServingError(
            grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{key}" not found.'
        )
    signature = servable.signature_defs[key]
    if signature.method_name not in PREDICT_METHOD_NAMES:
        raise ServingError(
            grpc.StatusCode.INTERNAL,
            "Expected prediction signature method_name to be one of {"
            + ", ".join(PREDICT_METHOD_NAMES)
            + "}. Was: "
            + signature.method_name,
        )
    return key, signature


def check_input_names(signature, input_names):
    """`VerifyRequestInputsSize` and the alias check of `PreProcessPrediction`.

    Raises:
        ServingError: INVALID_ARGUMENT with TF Serving's message.
    """
    sent, expected = sorted(input_names), sorted(signature.inputs)
    if len(sent) != len(expected):
        extra = sorted(set(sent) - set(expected))
        missing = sorted(set(expected) - set(sent))
        raise invalid_argument(
            f"input size does not match signature: {len(sent)}!={len(expected)} "
            f"len({{{','.join(sent)}}}) != len({{{','.join(expected)}}}). "
            f"Sent extra: {{{','.join(extra)}}}. Missing but required: {{{','.join(missing)}}}."
        )
    for alias in sent:
        if alias not in signature.inputs:
            raise invalid_argument(
                f"input tensor alias not found in signature: {alias}. "
                f"Inputs expected to be in the set {{{','.join(expected)}}}."
            )


def check_output_filter(signature, output_filter):
    """The output-filter checks of `PreProcessPrediction`; returns the aliases to fetch."""
    seen = []
    for alias in output_filter:
        if alias not in signature.outputs:
            raise invalid_argument(
                f"output tensor alias not found in signature: {alias} "
                f"Outputs expected to be in the set {{{','.join(sorted(signature.outputs))}}}."
            )
        if alias in seen:
            raise invalid_argument(f"duplicate output tensor alias: {alias}")
        seen.append(alias)
    return seen or sorted(signature.outputs)


def shape_to_string(shape):
    """Formats a shape like json_tensor.cc's `ShapeToString`, e.g. "[-1,3]"."""
    if isinstance(shape, tf.TensorShape):
        return "[" + ",".join(str(-1 if d is None else d) for d in shape.as_list()) + "]"
    return "[" + ",".join(str(d) for d in shape) + "]"


def check_input_tensor(index, alias, array, tensor_info):
    """Checks one input's dtype and shape against its `TensorInfo`.

    TF Serving leaves these checks to the TensorFlow runtime; the dtype message
    is the runtime's call-frame message, the shape message is the double's own.

    Raises:
        ServingError: INVALID_ARGUMENT.
    """
    expected_dtype = tf.as_dtype(tensor_info.dtype)
    actual_dtype = tf.string if array.dtype == object else tf.as_dtype(array.dtype)
    if actual_dtype != expected_dtype:
        raise invalid_argument(
            f"Expects arg[{index}] to be {data_type_string(expected_dtype)} "
            f"but {data_type_string(actual_dtype)} is provided"
        )
    expected_shape = tf.TensorShape(tensor_info.tensor_shape)
    if not expected_shape.is_compatible_with(array.shape):
        raise invalid_argument(
            f"Input {alias} has shape {shape_to_string(array.shape)} but the signature "
            f"expects {shape_to_string(expected_shape)}"
        )


def run_signature(servable, signature_key, inputs, output_aliases):
    """Runs a signature function and returns its outputs as numpy arrays.

    Args:
        servable: a `ServedVersion`.
        signature_key: the signature to run.
        inputs: dict of input alias to numpy array (strings as object arrays of bytes).
        output_aliases: which outputs to return.

    Returns:
        Dict of output alias to numpy array.

    Raises:
        ServingError: a TensorFlow runtime error, with its canonical code and message.
    """
    function = servable.loaded.signatures[signature_key]
    tensors = {alias: tf.constant(array) for alias, array in inputs.items()}
    try:
        outputs = function(**tensors)
    except tf.errors.OpError as error:
        raise ServingError(
            _status_code_from_value(error.error_code), runtime_message(error.message)
        ) from error
    return {alias: outputs[alias].numpy() for alias in output_aliases}


def runtime_message(message):
    """Drops what Python's eager runtime adds around a TensorFlow op error.

    TF Serving reports the op's own message (e.g. "assertion failed: [...]
    [[{{node ...}}]]"); Python adds a "Graph execution error" header with the
    defining stack and an " [Op:...]" suffix.
    """
    for marker in ("<stack traces unavailable>\n", "Graph execution error:\n\n"):
        if message.startswith("Graph execution error:") and marker in message:
            message = message.split(marker, 1)[1]
            break
    return _EAGER_OP_SUFFIX.sub("", message)


def _status_code_from_value(value):
    for code in grpc.StatusCode:
        if code.value[0] == value:
            return code
    return grpc.StatusCode.UNKNOWN


@dataclasses.dataclass
class PredictResult:
    """What a Predict call answers: the servable that ran, the signature key, outputs."""

    servable: ServedVersion
    signature_key: str
    outputs: dict[str, np.ndarray]


def predict(repository, spec, signature_name, inputs, output_filter=()):
    """Runs a Predict request as `TensorflowPredictor::Predict` does.

    Args:
        repository: a `ModelRepository`.
        spec: a `ModelSpec`.
        signature_name: the requested signature ("" for serving_default).
        inputs: dict of input alias to numpy array.
        output_filter: output aliases to return; empty for all.

    Returns:
        A `PredictResult`.

    Raises:
        ServingError: with TF Serving's code and message.
    """
    servable = repository.resolve(spec)
    key, signature = find_signature(servable, signature_name)
    check_input_names(signature, inputs)
    for index, alias in enumerate(sorted(inputs)):
        check_input_tensor(index, alias, inputs[alias], signature.inputs[alias])
    output_aliases = check_output_filter(signature, output_filter)
    return PredictResult(servable, key, run_signature(servable, key, inputs, output_aliases))


class ServingDouble:
    """A test double of `tensorflow_model_server`: REST and gRPC on 127.0.0.1.

    Example:

    ```python
    with ServingDouble(model_config_file="models.config") as server:
        urllib.request.urlopen(f"http://{server.rest_address}/v1/models/vae")
    ```

    Args:
        model_config_file: path of a text-format `ModelServerConfig`
            (`--model_config_file`).
        models: instead of a config file, dict of model name to absolute base
            path, each serving its latest version (`--model_base_path`).
        grpc_workers: threads of the gRPC server.
        allow_version_labels_for_unavailable_models: as the server flag of
            that name; True by default because the double cannot reload its
            config, the only other way TF Serving accepts labels.

    Raises:
        ValueError: not exactly one of `model_config_file` and `models`.
    """

    def __init__(
        self,
        model_config_file=None,
        models=None,
        grpc_workers=4,
        allow_version_labels_for_unavailable_models=True,
    ):
        if (model_config_file is None) == (models is None):
            raise ValueError("Pass exactly one of model_config_file and models.")
        self._allow_labels = allow_version_labels_for_unavailable_models
        self._model_config_file = model_config_file
        self._models = models
        self._grpc_workers = grpc_workers
        self._rest_server = None
        self._grpc_server = None
        self.repository = None
        self.rest_address = None
        self.grpc_address = None

    def start(self):
        """Loads the models and starts both servers on free ports.

        Returns:
            self.

        Raises:
            ValueError: the config breaks one of TF Serving's rules.
        """
        # The protocol modules import this one, so import them late, as siblings.
        if _THIS_DIR not in sys.path:
            sys.path.insert(0, _THIS_DIR)
        import serving_double_grpc  # pylint: disable=import-outside-toplevel
        import serving_double_rest  # pylint: disable=import-outside-toplevel

        if self._model_config_file is not None:
            config = read_model_server_config(self._model_config_file)
        else:
            config = config_for_models(self._models)
        self.repository = ModelRepository(config, self._allow_labels)
        self._rest_server = serving_double_rest.start_rest_server(self.repository)
        self.rest_address = f"127.0.0.1:{self._rest_server.server_address[1]}"
        self._grpc_server, grpc_port = serving_double_grpc.start_grpc_server(
            self.repository, self._grpc_workers
        )
        self.grpc_address = f"127.0.0.1:{grpc_port}"
        return self

    def stop(self):
        """Stops both servers; safe to call twice."""
        if self._rest_server is not None:
            self._rest_server.shutdown()
            self._rest_server.server_close()
            self._rest_server = None
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait()
            self._grpc_server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


__all__: list[str] = ["ServingDouble", "ServingError", "ModelSpec", "ModelRepository", "predict"]
