"""Clients for a running TensorFlow Serving model server: what REST and gRPC share.

`connect(address)` returns a `RestClient`, `connect(address, grpc=True)` a
`GrpcClient`: the same `status`, `metadata` and `predict` methods on NumPy
arrays, raising `ServingError` (`ServingRequestError` when the request was
wrong). Inputs are checked against the signature's metadata before sending,
so a wrong name, dtype or shape fails naming the problem and the valid choices.

Example:

```python
client = tfgen.serving.connect("localhost:8501")
images = client.predict("vae-binarized_mnist", {"num": 4, "seed": 0})["images"]
```
"""

import dataclasses
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from tfgen.serving.saved_model import SERVING_DEFAULT, format_spec

DEFAULT_TIMEOUT = 60.0

# Codes that mean the request was wrong rather than the server (TF Serving's REST API maps
# them to HTTP 4xx statuses).
REQUEST_ERROR_CODES = frozenset(
    {"INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "OUT_OF_RANGE"}
)


class ServingError(Exception):
    """A request to TF Serving failed.

    Attributes:
        code: canonical status code name, e.g. `"UNAVAILABLE"`, `"INTERNAL"`.
        status: the HTTP status of a REST reply, or None (gRPC, or no reply).
        message: the server's (or the client's) message.
        model, version, label, signature: what the request addressed (None if unknown).
    """

    def __init__(
        self, code, message, status=None, model=None, version=None, label=None, signature=None
    ):
        super().__init__(code, message)
        self.code, self.message, self.status = code, message, status
        self.model, self.version, self.label, self.signature = model, version, label, signature

    def with_context(self, model=None, version=None, label=None, signature=None):
        """A copy of this error that also names the model, version, label and signature."""
        return type(self)(
            self.code,
            self.message,
            self.status,
            model or self.model,
            version if version is not None else self.version,
            label or self.label,
            signature or self.signature,
        )

    def __str__(self):
        """`"model 'vae' version 2, signature 'decode': NOT_FOUND (HTTP 404): message"`."""
        where = (
            ""
            if self.model is None
            else f"model {self.model!r} "
            + (
                f"version {self.version}"
                if self.version is not None
                else f"label {self.label!r}"
                if self.label is not None
                else "(latest version)"
            )
            + (f", signature {self.signature!r}" if self.signature else "")
            + ": "
        )
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{where}{self.code}{status}: {self.message}"


class ServingRequestError(ServingError):
    """The request was wrong (INVALID_ARGUMENT, NOT_FOUND, ... or an HTTP 4xx status)."""


def make_error(code, message, status=None, **context):
    """A `ServingRequestError` for request problems, else a `ServingError`."""
    is_request = code in REQUEST_ERROR_CODES or (status is not None and 400 <= status < 500)
    return (ServingRequestError if is_request else ServingError)(code, message, status, **context)


def invalid_argument(message, **context):
    return ServingRequestError("INVALID_ARGUMENT", message, **context)


@dataclasses.dataclass(frozen=True)
class SignatureSpec:
    """One signature of a served model, from its metadata.

    Attributes:
        name: the signature name, e.g. `"decode"`.
        inputs: `{input_name: tf.TensorSpec}`; unknown dimensions are None.
        outputs: `{output_name: tf.TensorSpec}`.
        method_name: e.g. `"tensorflow/serving/predict"`.
    """

    name: str
    inputs: dict
    outputs: dict
    method_name: str = "tensorflow/serving/predict"

    def describe(self):
        """`"decode(z: float32 [?, 3]) -> pixel_means: float32 [?, 8, 8, 1]"`."""

        def specs(d):
            return ", ".join(f"{k}: {format_spec(s)}" for k, s in d.items())

        return f"{self.name}({specs(self.inputs)}) -> {specs(self.outputs)}"


def tensor_spec(name, dtype, dims, unknown_rank=False):
    """A `tf.TensorSpec` from metadata: `dtype` an enum number or name such as `"DT_FLOAT"`.

    Args:
        name: the tensor's name in the signature.
        dtype: `DataType` enum value (int) or its name (str).
        dims: sizes, -1 for an unknown dimension.
        unknown_rank: if True, `dims` is ignored and the rank is unknown.

    Returns:
        A `tf.TensorSpec`, or None for `DT_INVALID` (as in `__saved_model_init_op`).
    """
    if isinstance(dtype, str):
        from tensorflow.core.framework import types_pb2

        dtype = types_pb2.DataType.Value(dtype)
    if dtype == 0:
        return None
    shape = tf.TensorShape(None if unknown_rank else [None if d < 0 else d for d in dims])
    return tf.TensorSpec(shape, tf.dtypes.as_dtype(dtype), name=name)


def callable_signatures(signatures):
    """`{name: SignatureSpec}` from `(name, inputs, outputs, method_name)` tuples of
    `tensor_spec`s, without those with a `DT_INVALID` tensor (`__saved_model_init_op`)."""
    return {
        name: SignatureSpec(name, inputs, outputs, method_name)
        for name, inputs, outputs, method_name in signatures
        if None not in inputs.values() and None not in outputs.values()
    }


def _inputs_description(signature):
    return ", ".join(f"{k} ({format_spec(s)})" for k, s in signature.inputs.items())


def check_inputs(signature, inputs):
    """Checks `inputs` against `signature` and casts them to its dtypes.

    Args:
        signature: a `SignatureSpec`.
        inputs: `{input_name: array-like}`; strings may be `str` (sent as UTF-8) or `bytes`.

    Returns:
        `{input_name: np.ndarray}` with the signature's dtypes (strings as object
        arrays of bytes), in the signature's input order.

    Raises:
        ServingRequestError: INVALID_ARGUMENT naming an unknown or missing input
            (and the signature's inputs), a value whose dtype cannot be cast
            losslessly, or a shape that does not match the expected one.
    """
    if not isinstance(inputs, Mapping):
        raise invalid_argument(
            f"inputs must be a dict of input name -> value; signature "
            f"{signature.name!r} takes: {_inputs_description(signature)}"
        )
    unknown = [name for name in inputs if name not in signature.inputs]
    missing = [name for name in signature.inputs if name not in inputs]
    if unknown or missing:
        problems = ([f"unknown input(s) {', '.join(map(repr, unknown))}"] if unknown else []) + (
            [f"missing input(s) {', '.join(map(repr, missing))}"] if missing else []
        )
        raise invalid_argument(
            f"{' and '.join(problems)}: signature {signature.name!r} takes "
            f"exactly: {_inputs_description(signature)}"
        )
    return {
        name: _checked_input(signature, name, inputs[name], spec)
        for name, spec in signature.inputs.items()
    }


def _checked_input(signature, name, value, spec):
    where = f"input {name!r} of signature {signature.name!r}"
    array = (
        _string_array(where, value)
        if spec.dtype == tf.string
        else _numeric_array(where, value, spec.dtype)
    )
    expected = spec.shape
    if expected.rank is not None and (
        array.ndim != expected.rank
        or any(d is not None and d != n for d, n in zip(expected.as_list(), array.shape))
    ):
        raise invalid_argument(
            f"{where} must have shape {format_spec(spec).split(' ', 1)[1]} "
            f"('?' is any size), got shape {list(array.shape)}"
        )
    return array


def _string_array(where, value):
    try:
        array = np.asarray(value, dtype=object)
    except ValueError as error:
        raise invalid_argument(f"{where} is not a rectangular array: {error}") from None
    flat = array.reshape(-1)
    for i, item in enumerate(flat):
        if isinstance(item, str):
            flat[i] = item.encode("utf-8")
        elif not isinstance(item, bytes):
            raise invalid_argument(
                f"{where} is string; got {type(item).__name__} value "
                f"{item!r}, which is not str or bytes"
            )
    return flat.reshape(array.shape)


# Array kinds (numpy dtype.kind) that cast losslessly to each target kind; ints are range-checked.
_CASTABLE_KINDS = {"f": "iuf", "c": "iufc", "i": "iu", "u": "iu", "b": "b"}


def _numeric_array(where, value, dtype):
    target = np.dtype(dtype.as_numpy_dtype)
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise invalid_argument(f"{where} is not a rectangular array: {error}") from None
    if array.dtype.kind not in _CASTABLE_KINDS.get(target.kind, ""):
        got = {"U": "str", "S": "bytes", "O": "object"}.get(array.dtype.kind, str(array.dtype))
        raise invalid_argument(
            f"{where} is {dtype.name}; got {got} values, which cannot be "
            f"cast to {dtype.name} without loss"
        )
    if target.kind in "iu" and array.size:
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            raise invalid_argument(
                f"{where} is {dtype.name}; values must be in "
                f"[{info.min}, {info.max}], got [{array.min()}, {array.max()}]"
            )
    return array.astype(target)


class ServingClient:
    """What `RestClient` and `GrpcClient` share: signature look-up and input checks.

    Subclasses implement `status`, `metadata` and `predict` over their protocol.
    """

    def __init__(self, address, timeout=DEFAULT_TIMEOUT):
        self.address = address
        self.timeout = timeout
        self._metadata = {}

    def status(self, name, version=None, label=None):
        """The model's versions and their states.

        Args:
            name: the model name.
            version: a version number, or None for every served version.
            label: a version label; TF Serving's status API ignores it (all versions).

        Returns:
            A list of `{"version": int, "state": str, "status": {"error_code": str,
            "error_message": str}}`, e.g. state `"AVAILABLE"` and error_code `"OK"`.

        Raises:
            ServingRequestError: NOT_FOUND for an unknown model or version.
            ServingError: UNAVAILABLE if nothing listens at the address.
        """
        raise NotImplementedError

    def metadata(self, name, version=None, label=None):
        """The model's signatures: `{signature_name: SignatureSpec}`.

        Args:
            name: the model name.
            version: a version number, or None for the latest (or `label`).
            label: a version label from the model config, instead of `version`.

        Returns:
            `{signature_name: SignatureSpec}`, without `__saved_model_init_op`.

        Raises:
            ServingRequestError: NOT_FOUND for an unknown model or version,
                INVALID_ARGUMENT for an unknown label.
        """
        raise NotImplementedError

    def predict(self, name, inputs, signature_name=SERVING_DEFAULT, version=None, label=None):
        """Runs one signature.

        Args:
            name: the model name.
            inputs: `{input_name: array-like}`, checked with `check_inputs` first.
            signature_name: e.g. `"decode"`; default `serving_default`.
            version: a version number, or None for the latest (or `label`).
            label: a version label from the model config, instead of `version`.

        Returns:
            `{output_name: np.ndarray}`; string outputs are object arrays of bytes.

        Raises:
            ServingRequestError: for a wrong model, version, signature or input (the
                message names it), before sending when the metadata shows it.
            ServingError: for server-side failures, or UNAVAILABLE.
        """
        raise NotImplementedError

    def signature(
        self, name, signature_name=SERVING_DEFAULT, version=None, label=None, refresh=False
    ):
        """The `SignatureSpec` of one signature (metadata is cached per model/version/label).

        Raises:
            ServingRequestError: INVALID_ARGUMENT if the model has no such signature
                (the message lists its signatures); NOT_FOUND for an unknown model/version.
        """
        key = (name, version, label)
        if refresh or key not in self._metadata:
            self._metadata[key] = self.metadata(name, version=version, label=label)
        signatures = self._metadata[key]
        if signature_name not in signatures:
            raise invalid_argument(
                f"no signature {signature_name!r}; the model's signatures are: "
                f"{', '.join(sorted(signatures))}",
                model=name,
                version=version,
                label=label,
                signature=signature_name,
            )
        return signatures[signature_name]

    def checked_inputs(self, name, inputs, signature_name, version=None, label=None):
        """`(SignatureSpec, check_inputs(...))`, re-reading stale cached metadata once."""
        context = dict(model=name, version=version, label=label, signature=signature_name)
        # Cached metadata may be stale (the server loaded a new version): re-read it once.
        for refresh in (False, True):
            cached = (name, version, label) in self._metadata
            try:
                signature = self.signature(name, signature_name, version, label, refresh)
                return signature, check_inputs(signature, inputs)
            except ServingRequestError as error:
                if refresh or not cached:
                    raise error.with_context(**context) from None

    def close(self):
        """Releases connections (nothing to do for REST)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
