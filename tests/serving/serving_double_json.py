"""REST request JSON to tensors, for the TF Serving TEST DOUBLE (see `serving_double.py`).

The request half of TF Serving's `util/json_tensor.cc` and its error messages:
JSON values (`JsonTypeString`, `WriteDecimal`, `{"b64": ...}` objects), number
conversion with its range and precision checks, dense shapes, the row
(`instances`) and columnar (`inputs`) formats and `FillPredictRequestFromJson`.
The response half is `serving_double_json_output.py`.
"""

import base64
import binascii
import json
import math

import grpc
import numpy as np
import tensorflow as tf
from serving_double_models import ServingError, data_type_string, invalid_argument
from tensorflow.core.framework import types_pb2

_INT_RANGES = {
    types_pb2.DT_INT32: (-(2**31), 2**31 - 1),
    types_pb2.DT_INT16: (-(2**31), 2**31 - 1),
    types_pb2.DT_INT8: (-(2**31), 2**31 - 1),
    types_pb2.DT_UINT8: (-(2**31), 2**31 - 1),
    types_pb2.DT_INT64: (-(2**63), 2**63 - 1),
    types_pb2.DT_UINT32: (0, 2**32 - 1),
    types_pb2.DT_UINT64: (0, 2**64 - 1),
}
_FLOAT_MAX_INT = {types_pb2.DT_FLOAT: 2**24 - 1, types_pb2.DT_DOUBLE: 2**53 - 1}
_FLOAT_MAX = {
    types_pb2.DT_FLOAT: float(np.finfo(np.float32).max),
    types_pb2.DT_DOUBLE: float(np.finfo(np.float64).max),
}
# Python's json messages mapped to rapidjson's `GetParseError_En`.
_PARSE_ERRORS = {
    "Expecting value": "Invalid value.",
    "Extra data": "The document root must not be followed by other values.",
    "Expecting property name enclosed in double quotes": "Missing a name for object member.",
    "Expecting ':' delimiter": "Missing a colon after a name of object member.",
    "Unterminated string starting at": "Missing a closing quotation mark in string.",
}


# ----------------------------------------------------------------- JSON values


def json_type_string(value):
    """`JsonTypeString` of json_tensor.cc: Null, False, True, Object, Array, String or Number."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    return "String" if isinstance(value, str) else "Number"


def format_decimal(value, single_precision):
    """`WriteDecimal` of json_tensor.cc: shortest of "%g" or full precision, NaN, Infinity."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-Infinity" if value < 0 else "Infinity"
    text = format(value, ".6g")
    round_trip = float(np.float32(float(text))) if single_precision else float(text)
    if round_trip != value:
        text = format(value, ".9g" if single_precision else ".17g")
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def json_value_to_string(value):
    """`JsonValueToString` of json_tensor.cc (used in error messages)."""
    if isinstance(value, float):
        return format_decimal(value, single_precision=False)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=4)
    return json.dumps(value)


def is_base64_object(value):
    """True for `{"b64": "<string>"}` with no other key."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def decode_base64_object(value):
    """Decodes a `{"b64": ...}` object to bytes (`JsonDecodeBase64Object`)."""
    if not is_base64_object(value):
        raise invalid_argument(
            f"JSON Value: {json_value_to_string(value)} not formatted correctly for base64 data"
        )
    encoded = value["b64"]
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise invalid_argument("Unable to base64 decode") from error


def type_error(value, dtype):
    return invalid_argument(
        f"JSON Value: {json_value_to_string(value)} Type: {json_type_string(value)} "
        f"is not of expected type: {data_type_string(dtype)}"
    )


def convert_number(value, dtype):
    """`AddValueToTensor` for one JSON scalar; returns the Python value to store."""
    if dtype == types_pb2.DT_STRING:
        if not isinstance(value, str):
            raise type_error(value, dtype)
        return value.encode("utf-8")
    if dtype == types_pb2.DT_BOOL:
        if not isinstance(value, bool):
            raise type_error(value, dtype)
        return value
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if dtype in _FLOAT_MAX_INT:
        if not is_number:
            raise type_error(value, dtype)
        lossy = (
            (abs(value) > _FLOAT_MAX_INT[dtype])
            if isinstance(value, int)
            else (math.isfinite(value) and abs(value) > _FLOAT_MAX[dtype])
        )
        if lossy:
            target = "float" if dtype == types_pb2.DT_FLOAT else "double"
            raise invalid_argument(
                f"Cannot convert JSON value: {json_value_to_string(value)} to {target} without loss of precision."
            )
        return float(value)
    if dtype in _INT_RANGES:
        low, high = _INT_RANGES[dtype]
        if not (is_number and isinstance(value, int) and low <= value <= high):
            raise type_error(value, dtype)
        return value
    raise ServingError(
        grpc.StatusCode.UNIMPLEMENTED,
        f"Conversion of JSON Value: {json_value_to_string(value)} to type: {data_type_string(dtype)}",
    )


# ------------------------------------------------------------- JSON to tensors


def dense_shape(value):
    """`GetDenseTensorShape`: the shape implied by following first elements."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def fill_values(value, level, shape, dtype, out):
    """`FillTensorProto`: appends the leaves of `value` to `out`, checking it is dense."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise invalid_argument(
                f"JSON Value: {json_value_to_string(value)} found at incorrect level: {level + 1} "
                f"in the JSON DOM. Expected at level: {rank}"
            )
        if isinstance(value, dict):
            if dtype != types_pb2.DT_STRING:
                raise type_error(value, dtype)
            out.append(decode_base64_object(value))
        else:
            out.append(convert_number(value, dtype))
        return
    if level >= rank:
        raise invalid_argument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise invalid_argument(
            f"Encountered list at unexpected size: {len(value)} at level: {level} expected size: {shape[level]}"
        )
    for element in value:
        fill_values(element, level + 1, shape, dtype, out)


def json_to_values(value, dtype):
    """Returns `(shape, flat values)` of one JSON tensor."""
    shape = dense_shape(value)
    values = []
    fill_values(value, 0, shape, dtype, values)
    return shape, values


def to_array(shape, values, dtype):
    """Builds the numpy array a TensorProto with these values would hold."""
    if dtype == types_pb2.DT_STRING:
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array.reshape(shape)
    return np.array(values, dtype=tf.as_dtype(dtype).as_numpy_dtype).reshape(shape)


def status_string(error):
    """`Status::ToString()` of an INVALID_ARGUMENT error, as nested messages show it."""
    return f"{error.code.name}: {error.message}"


def add_instance_item(value, name, input_infos, seen_shapes, batches):
    """`AddInstanceItem`: one named value of one instance."""
    if name not in input_infos:
        raise invalid_argument(f"JSON object: does not have named input: {name}")
    shape, values = json_to_values(value, input_infos[name].dtype)
    if name in seen_shapes:
        expected = seen_shapes[name]
        if int(np.prod(expected)) != len(values):
            raise invalid_argument(
                f"Expecting tensor size: {int(np.prod(expected))} but got: {len(values)}"
            )
        if expected != shape:
            raise invalid_argument(
                f"Expecting shape [{','.join(map(str, expected))}] but got: [{','.join(map(str, shape))}]"
            )
    seen_shapes[name] = shape
    batches.setdefault(name, []).extend(values)


def tensors_from_instances(instances, input_infos):
    """`FillTensorMapFromInstancesList`: the row format, batched along dimension 0."""

    def is_element_object(value):
        return isinstance(value, dict) and not is_base64_object(value)

    if not isinstance(instances[0], dict) and len(input_infos) > 1:
        raise invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input tensors required "
            "as per tensorinfo_map"
        )
    objects = is_element_object(instances[0])
    seen_shapes, batches = {}, {}
    for index, element in enumerate(instances):
        if objects:
            if not is_element_object(element):
                raise invalid_argument(
                    f"Expecting object but got list at item {index} of input list"
                )
            for name, value in element.items():
                try:
                    add_instance_item(value, name, input_infos, seen_shapes, batches)
                except ServingError as error:
                    raise invalid_argument(
                        f"Failed to process element: {index} key: {name} of 'instances' list. "
                        f"Error: {status_string(error)}"
                    ) from error
            if set(element) != set(input_infos):
                raise invalid_argument(
                    f"Failed to process element: {index} of 'instances' list. JSON object: "
                    f"{json_value_to_string(element)} must only have keys: {','.join(sorted(input_infos))}"
                )
        else:
            if is_element_object(element):
                raise invalid_argument(
                    f"Expecting value/list but got object at item {index} of input list"
                )
            name = sorted(input_infos)[0]
            try:
                add_instance_item(element, name, input_infos, seen_shapes, batches)
            except ServingError as error:
                raise invalid_argument(
                    f"Failed to process element: {index} of 'instances' list. Error: {status_string(error)}"
                ) from error
    return {
        name: to_array([len(instances)] + seen_shapes[name], values, input_infos[name].dtype)
        for name, values in batches.items()
    }


def tensors_from_inputs(inputs, input_infos):
    """`FillTensorMapFromInputsMap`: the columnar format; extra keys are ignored."""
    if not isinstance(inputs, dict) or is_base64_object(inputs):
        if len(input_infos) > 1:
            raise invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input tensors required "
                "as per tensorinfo_map"
            )
        name = sorted(input_infos)[0]
        return {
            name: to_array(
                *json_to_values(inputs, input_infos[name].dtype), input_infos[name].dtype
            )
        }
    tensors = {}
    for name in sorted(input_infos):
        if name not in inputs:
            raise invalid_argument(f"Missing named input: {name} in 'inputs' object.")
        dtype = input_infos[name].dtype
        tensors[name] = to_array(*json_to_values(inputs[name], dtype), dtype)
    return tensors


def parse_json_body(body):
    """`ParseJson`: the body must be a JSON object."""
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise invalid_argument(
            f"JSON Parse error: Invalid encoding in string. at offset: {error.start}"
        ) from error
    except json.JSONDecodeError as error:
        reason = _PARSE_ERRORS.get(error.msg, error.msg + ".")
        raise invalid_argument(f"JSON Parse error: {reason} at offset: {error.pos}") from error
    if not isinstance(document, dict):
        raise invalid_argument(f"JSON Value: {json_value_to_string(document)} Is not object")
    return document


def parse_predict_request(body, get_input_infos):
    """`FillPredictRequestFromJson`; returns `(signature_name, format, tensors)`."""
    document = parse_json_body(body)
    signature_name = document.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise invalid_argument(
            f"JSON Value: {json_value_to_string(document)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    input_infos = get_input_infos(signature_name)
    if not input_infos:
        raise invalid_argument(
            f"Failed to get input map for signature: {signature_name or 'DEFAULT'}"
        )
    if "instances" in document and "inputs" in document:
        raise invalid_argument(
            f"JSON Value: {json_value_to_string(document)} Not formatted correctly expecting only one of "
            "'inputs' or 'instances' keys to exist "
        )
    if "instances" in document:
        instances = document["instances"]
        if not isinstance(instances, list):
            raise invalid_argument(
                f"JSON Value: {json_value_to_string(document)} Excepting 'instances' to be an list/array"
            )
        if not instances:
            raise invalid_argument(
                f"JSON Value: {json_value_to_string(document)} No values in 'instances' array"
            )
        return signature_name, "row", tensors_from_instances(instances, input_infos)
    if "inputs" in document:
        return signature_name, "columnar", tensors_from_inputs(document["inputs"], input_infos)
    raise invalid_argument("Missing 'inputs' or 'instances' key")
