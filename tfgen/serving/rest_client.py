"""A client for TF Serving's REST API (port 8501 by default), with the standard library only.

Follows TF Serving's `api_rest.md`: `GET /v1/models/NAME[/versions/V|/labels/L]`
(status), `.../metadata` (signatures) and `POST ...:predict` in the columnar
(`{"inputs": ...}` -> `{"outputs": ...}`) or row (`{"instances": [...]}` ->
`{"predictions": [...]}`) format. Errors come back as `{"error": "..."}` with an
HTTP 4xx/5xx status and are raised as `ServingError`/`ServingRequestError`.

Example:

```python
client = RestClient("localhost:8501")
client.status("vae")              # [{"version": 1, "state": "AVAILABLE", "status": {...}}]
z = np.zeros([2, 32], np.float32)
client.predict("vae", {"z": z}, signature_name="decode", format="row")["pixel_means"]
```
"""

import base64
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import tensorflow as tf

from tfgen.serving.client import (
    DEFAULT_TIMEOUT,
    ServingClient,
    ServingError,
    callable_signatures,
    invalid_argument,
    make_error,
    tensor_spec,
)
from tfgen.serving.saved_model import SERVING_DEFAULT

FORMATS = ("columnar", "row")

# TF Serving's HTTP status for each canonical code (model_servers/http_server.cc), inverted;
# 400 is also FAILED_PRECONDITION and OUT_OF_RANGE, 500 also UNKNOWN and DATA_LOSS.
HTTP_STATUS_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class RestClient(ServingClient):
    """TF Serving's REST API at `address` (`"host:port"` or `"http://host:port"`).

    Args:
        address: where the server's `--rest_api_port` listens.
        timeout: seconds per request.
    """

    def __init__(self, address, timeout=DEFAULT_TIMEOUT):
        super().__init__(address, timeout)
        self.base_url = address.rstrip("/") if "://" in address else f"http://{address}"

    def status(self, name, version=None, label=None):
        """`ServingClient.status` over `GET /v1/models/NAME[/versions/N]`."""
        reply = self._request(
            self._model_url(name, version, label),
            None,
            dict(model=name, version=version, label=label),
        )
        return [normalized_status(entry) for entry in reply.get("model_version_status", [])]

    def metadata(self, name, version=None, label=None):
        """`ServingClient.metadata` over `GET .../metadata`."""
        reply = self._request(
            self._model_url(name, version, label) + "/metadata",
            None,
            dict(model=name, version=version, label=label),
        )
        return signatures_from_json(reply)

    def predict(
        self,
        name,
        inputs,
        signature_name=SERVING_DEFAULT,
        version=None,
        label=None,
        format="columnar",
    ):
        """`ServingClient.predict` over `POST ...:predict`.

        `format` is `"columnar"` (the `inputs` body: any shapes, scalars included) or
        `"row"` (`instances`: every input split along its first dimension, which must
        agree).

        Raises:
            ValueError: for an unknown `format`.
        """
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
        context = dict(model=name, version=version, label=label, signature=signature_name)
        signature, arrays = self.checked_inputs(name, inputs, signature_name, version, label)
        body = {"signature_name": signature_name}
        if format == "row":
            try:
                body["instances"] = row_instances(signature, arrays)
            except ServingError as error:
                raise error.with_context(**context) from None
        else:
            body["inputs"] = {key: to_json(array) for key, array in arrays.items()}
        reply = self._request(self._model_url(name, version, label) + ":predict", body, context)
        try:
            return outputs_from_json(signature, reply, format)
        except ServingError as error:
            raise error.with_context(**context) from None

    def _model_url(self, name, version, label):
        if version is not None and label is not None:
            raise ValueError(f"give a version or a label, not both (got {version}, {label!r})")
        url = f"{self.base_url}/v1/models/{urllib.parse.quote(str(name), safe='')}"
        if version is not None:
            return f"{url}/versions/{int(version)}"
        if label is not None:
            return f"{url}/labels/{urllib.parse.quote(str(label), safe='')}"
        return url

    def _request(self, url, body, context):
        """GETs (body None) or POSTs JSON; returns the parsed reply or raises ServingError."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            url,
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                text = reply.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            raise http_error(error.code, error.read(), context) from None
        except urllib.error.URLError as error:
            raise self._connection_error(error.reason, context) from None
        except (TimeoutError, ConnectionError) as error:
            raise self._connection_error(error, context) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ServingError(
                "INTERNAL", f"the reply from {url} is not JSON: {text[:200]!r}", **context
            ) from None

    def _connection_error(self, reason, context):
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return ServingError(
                "DEADLINE_EXCEEDED",
                f"no reply from TF Serving's REST API at {self.address} within {self.timeout} s",
                **context,
            )
        return ServingError(
            "UNAVAILABLE",
            f"cannot reach TF Serving's REST API at {self.address}: {reason}",
            **context,
        )


def http_error(status, body, context):
    """The `ServingError` for an HTTP error reply whose body is `{"error": "..."}`."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    try:
        message = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        message = text.strip() or f"HTTP {status}"
    return make_error(HTTP_STATUS_CODES.get(status, "UNKNOWN"), message, status, **context)


def normalized_status(entry):
    """A `model_version_status` entry with an int version and its status filled in."""
    status = entry.get("status", {})
    return {
        "version": int(entry.get("version", 0)),
        "state": entry.get("state", "UNKNOWN"),
        "status": {
            "error_code": status.get("error_code", "OK"),
            "error_message": status.get("error_message", ""),
        },
    }


def signatures_from_json(reply):
    """`{name: SignatureSpec}` from a REST metadata reply (a JSON `SignatureDefMap`)."""
    try:
        signature_defs = reply["metadata"]["signature_def"]["signature_def"]
    except (KeyError, TypeError):
        raise ServingError(
            "INTERNAL", f"the metadata reply has no signature_def map: {json.dumps(reply)[:300]}"
        ) from None
    return callable_signatures(
        (
            name,
            _specs_from_json(definition.get("inputs", {})),
            _specs_from_json(definition.get("outputs", {})),
            definition.get("method_name", ""),
        )
        for name, definition in signature_defs.items()
    )


def _specs_from_json(tensor_infos):
    specs = {}
    for key, info in tensor_infos.items():
        shape = info.get("tensor_shape", {})
        dims = [int(dim.get("size", -1)) for dim in shape.get("dim", [])]
        specs[key] = tensor_spec(
            key, info.get("dtype", "DT_INVALID"), dims, bool(shape.get("unknown_rank", False))
        )
    return specs


def to_json(array):
    """Nested lists for JSON; bytes that are not UTF-8 become `{"b64": ...}`."""
    if array.dtype != object:
        return array.tolist()
    return _map_nested(array.tolist(), _string_to_json)


def _string_to_json(value):
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode("ascii")}


def _map_nested(value, function):
    if isinstance(value, list):
        return [_map_nested(item, function) for item in value]
    return function(value)


def row_instances(signature, arrays):
    """The row format's `instances`: one `{input_name: value}` per index of dimension 0.

    Raises:
        ServingRequestError: INVALID_ARGUMENT if an input is a scalar or the inputs'
            first dimensions differ (the columnar format takes those).
    """
    for key, array in arrays.items():
        if array.ndim == 0:
            raise invalid_argument(
                f"the row format splits every input along its first dimension, but input "
                f"{key!r} is a scalar ({signature.describe()}); use format='columnar'"
            )
    sizes = {key: array.shape[0] for key, array in arrays.items()}
    if len(set(sizes.values())) > 1 or 0 in sizes.values():
        raise invalid_argument(
            f"the row format needs the same, nonzero first dimension in every input; got "
            f"{', '.join(f'{k}: {n}' for k, n in sizes.items())}; use format='columnar'"
        )
    columns = {key: to_json(array) for key, array in arrays.items()}
    return [
        {key: column[i] for key, column in columns.items()}
        for i in range(next(iter(sizes.values())))
    ]


def outputs_from_json(signature, reply, format):
    """`{output_name: np.ndarray}` from a predict reply in `format`.

    TF Serving leaves out the name when a signature has one output; it is taken
    from the signature's metadata.
    """
    key = "predictions" if format == "row" else "outputs"
    if not isinstance(reply, dict) or key not in reply:
        raise ServingError(
            "INTERNAL",
            f"the predict reply has no {key!r}: {json.dumps(reply)[:300]}",
            signature=signature.name,
        )
    value, names = reply[key], list(signature.outputs)
    if len(names) == 1:
        columns = {names[0]: value}
    elif format == "row":
        columns = {name: [row[name] for row in value] for name in names}
    else:
        columns = value
    return {name: from_json(column, signature.outputs[name]) for name, column in columns.items()}


def from_json(value, spec):
    """An array of `spec.dtype` from nested JSON lists; strings become bytes."""
    if spec.dtype != tf.string:
        return np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    shape, item = [], value
    while isinstance(item, list):
        shape.append(len(item))
        item = item[0] if item else None
    flat = []
    _flatten(value, flat)
    array = np.empty(len(flat), dtype=object)
    array[:] = [
        base64.b64decode(v["b64"]) if isinstance(v, dict) else str(v).encode("utf-8") for v in flat
    ]
    return array.reshape(shape)


def _flatten(value, out):
    if isinstance(value, list):
        for item in value:
            _flatten(item, out)
    else:
        out.append(value)
