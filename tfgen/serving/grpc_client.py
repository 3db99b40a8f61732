"""A client for TF Serving's gRPC API (port 8500 by default), via `tensorflow-serving-api`.

`PredictionService.Predict` and `GetModelMetadata` (the `signature_def`
field, a `SignatureDefMap`) and `ModelService.GetModelStatus`; tensors travel
as `TensorProto`s (`tf.make_tensor_proto` / `tf.make_ndarray`). A failed call's
`grpc.RpcError` is raised as `ServingError`/`ServingRequestError` with the
status code's name and the server's details.

Example:

```python
with GrpcClient("localhost:8500") as client:
    text = client.predict("gpt", {"prompt": ["ROMEO:"], "max_new_tokens": [50],
                                  "temperature": [0.8], "top_k": [0], "top_p": [0.9],
                                  "seed": [1]})["text"][0].decode()
```
"""

import grpc
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    status_pb2,
)

from tfgen.serving.client import (
    DEFAULT_TIMEOUT,
    ServingClient,
    ServingError,
    callable_signatures,
    make_error,
    tensor_spec,
)
from tfgen.serving.saved_model import SERVING_DEFAULT

# Replies with many images exceed gRPC's default 4 MiB limit.
CHANNEL_OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
_ERROR_CODE_NAMES = status_pb2.StatusProto.DESCRIPTOR.fields_by_name["error_code"].enum_type


class GrpcClient(ServingClient):
    """TF Serving's gRPC API at `address` (`"host:port"`).

    Args:
        address: where the server's `--port` listens.
        timeout: seconds per call.
    """

    def __init__(self, address, timeout=DEFAULT_TIMEOUT):
        super().__init__(address, timeout)
        self._channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self):
        """Closes the channel."""
        self._channel.close()

    def status(self, name, version=None, label=None):
        """`ServingClient.status` through `ModelService.GetModelStatus`."""
        request = get_model_status_pb2.GetModelStatusRequest()
        _fill_model_spec(request.model_spec, name, version, label)
        reply = self._call(
            self._models.GetModelStatus, request, dict(model=name, version=version, label=label)
        )
        return [
            {
                "version": entry.version,
                "state": get_model_status_pb2.ModelVersionStatus.State.Name(entry.state),
                "status": {
                    "error_code": _ERROR_CODE_NAMES.values_by_number[entry.status.error_code].name,
                    "error_message": entry.status.error_message,
                },
            }
            for entry in reply.model_version_status
        ]

    def metadata(self, name, version=None, label=None):
        """`ServingClient.metadata` through `PredictionService.GetModelMetadata`."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        _fill_model_spec(request.model_spec, name, version, label)
        context = dict(model=name, version=version, label=label)
        reply = self._call(self._predictions.GetModelMetadata, request, context)
        signature_defs = get_model_metadata_pb2.SignatureDefMap()
        if "signature_def" not in reply.metadata or not reply.metadata["signature_def"].Unpack(
            signature_defs
        ):
            raise ServingError("INTERNAL", "the metadata reply has no SignatureDefMap", **context)
        return callable_signatures(
            signature_from_proto(key, definition)
            for key, definition in signature_defs.signature_def.items()
        )

    def predict(self, name, inputs, signature_name=SERVING_DEFAULT, version=None, label=None):
        """`ServingClient.predict` through `PredictionService.Predict`."""
        context = dict(model=name, version=version, label=label, signature=signature_name)
        signature, arrays = self.checked_inputs(name, inputs, signature_name, version, label)
        request = predict_pb2.PredictRequest()
        _fill_model_spec(request.model_spec, name, version, label, signature_name)
        for key, array in arrays.items():
            request.inputs[key].CopyFrom(
                tf.make_tensor_proto(array, dtype=signature.inputs[key].dtype, shape=array.shape)
            )
        reply = self._call(self._predictions.Predict, request, context)
        return {key: tf.make_ndarray(proto) for key, proto in reply.outputs.items()}

    def _call(self, method, request, context):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise rpc_error(error, self.address, self.timeout, context) from None


def rpc_error(error, address, timeout, context):
    """The `ServingError` for a failed call: the status code's name and the details."""
    code = error.code() if callable(getattr(error, "code", None)) else None
    name = code.name if code is not None else "UNKNOWN"
    details = error.details() if callable(getattr(error, "details", None)) else str(error)
    if name == "UNAVAILABLE":
        details = f"cannot reach TF Serving's gRPC API at {address}: {details}"
    elif name == "DEADLINE_EXCEEDED":
        details = f"no reply from {address} within {timeout} s: {details}"
    return make_error(name, details, None, **context)


def _fill_model_spec(spec, name, version, label, signature_name=None):
    if version is not None and label is not None:
        raise ValueError(f"give a version or a label, not both (got {version}, {label!r})")
    spec.name = name
    if version is not None:
        spec.version.value = int(version)
    if label is not None:
        spec.version_label = label
    if signature_name is not None:
        spec.signature_name = signature_name


def signature_from_proto(name, definition):
    """`(name, inputs, outputs, method_name)` of a `SignatureDef` proto, for
    `callable_signatures`."""

    def specs(tensor_infos):
        return {
            key: tensor_spec(
                key,
                info.dtype,
                [d.size for d in info.tensor_shape.dim],
                info.tensor_shape.unknown_rank,
            )
            for key, info in tensor_infos.items()
        }

    return name, specs(definition.inputs), specs(definition.outputs), definition.method_name
