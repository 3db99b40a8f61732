"""Tensors to REST response JSON, for the TF Serving TEST DOUBLE (see `serving_double.py`).

The response half of TF Serving's `util/json_tensor.cc`: `AddTensorValues`,
`IsNamedTensorBytes` and the row (`{"predictions": ...}`) and columnar
(`{"outputs": ...}`) formats of `MakeRowFormatJsonFromTensors` and
`MakeColumnarFormatJsonFromTensors`. The request half is `serving_double_json.py`.
"""

import base64
import json

import numpy as np
import tensorflow as tf
from serving_double_json import format_decimal
from serving_double_models import data_type_string, invalid_argument

# ------------------------------------------------------------- tensors to JSON


def scalar_to_json(value, dtype, string_as_bytes):
    """`AddSingleValueAndAdvance` for one element."""
    if dtype == np.float32:
        return format_decimal(float(value), single_precision=True)
    if dtype == np.float64:
        return format_decimal(float(value), single_precision=False)
    if dtype == np.bool_:
        return "true" if value else "false"
    if dtype == object:  # noqa: E721 (a NumPy dtype equals `object`, it is not it)
        if not string_as_bytes:
            try:
                return json.dumps(value.decode("utf-8"), ensure_ascii=False)
            except UnicodeDecodeError:
                # TF Serving writes such bytes raw (invalid JSON); the double sends b64 instead.
                pass
        return json.dumps({"b64": base64.b64encode(value).decode("ascii")})
    if np.issubdtype(dtype, np.integer) and dtype != np.uint16:
        return str(int(value))
    raise invalid_argument(
        f"Failed to write JSON value for tensor type: {data_type_string(tf.as_dtype(dtype))}"
    )


def array_to_json(array, string_as_bytes):
    """`AddTensorValues`: nested JSON lists, or a bare value for a scalar."""
    if array.ndim == 0:
        return scalar_to_json(array[()], array.dtype, string_as_bytes)
    return (
        "["
        + ",".join(array_to_json(array[index, ...], string_as_bytes) for index in range(len(array)))
        + "]"
    )


def is_bytes_output(name, array):
    """`IsNamedTensorBytes`: string outputs named `*_bytes` are written as b64 objects."""
    return array.dtype == object and name.endswith("_bytes")


def row_format_json(outputs):
    """`MakeRowFormatJsonFromTensors`: `{"predictions": [...]}`."""
    batch_size = 0
    for name, array in outputs.items():
        if array.ndim == 0:
            raise invalid_argument(f"Tensor name: {name} has no shape information ")
        if array.shape[0] < 1:
            raise invalid_argument(f"Tensor name: {name} has invalid batch size: {array.shape[0]}")
        if batch_size and batch_size != array.shape[0]:
            raise invalid_argument(
                f"Tensor name: {name} has inconsistent batch size: {array.shape[0]} expecting: {batch_size}"
            )
        batch_size = array.shape[0]
    rows = []
    for index in range(batch_size):
        items = {
            name: array_to_json(array[index, ...], is_bytes_output(name, array))
            for name, array in outputs.items()
        }
        if len(outputs) > 1:
            rows.append(
                "{" + ",".join(f"{json.dumps(name)}:{text}" for name, text in items.items()) + "}"
            )
        else:
            rows.append(next(iter(items.values())))
    return '{"predictions":[' + ",".join(rows) + "]}"


def columnar_format_json(outputs):
    """`MakeColumnarFormatJsonFromTensors`: `{"outputs": ...}`."""
    items = {
        name: array_to_json(array, is_bytes_output(name, array)) for name, array in outputs.items()
    }
    if len(outputs) > 1:
        return (
            '{"outputs":{'
            + ",".join(f"{json.dumps(name)}:{text}" for name, text in items.items())
            + "}}"
        )
    return '{"outputs":' + next(iter(items.values())) + "}"
