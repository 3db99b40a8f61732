"""gRPC half of the TF Serving TEST DOUBLE (see `serving_double.py`).

Serves `tensorflow.serving.PredictionService` (Predict, GetModelMetadata) and
`tensorflow.serving.ModelService` (GetModelStatus) as TF Serving's
`model_servers/prediction_service_impl.cc`, `model_service_impl.cc`,
`servables/tensorflow/predict_impl.cc`, `predict_util.cc` and
`get_model_metadata_impl.cc` do. Other RPCs answer UNIMPLEMENTED.
"""

from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
from serving_double import predict
from serving_double_models import ModelSpec, ServingError, invalid_argument
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

SIGNATURE_DEF_FIELD = "signature_def"
# `Tensor::AsProtoField` puts values in typed fields, not `tensor_content`.
_VALUE_FIELDS = {
    tf.float32: "float_val",
    tf.float64: "double_val",
    tf.int32: "int_val",
    tf.int16: "int_val",
    tf.int8: "int_val",
    tf.uint8: "int_val",
    tf.int64: "int64_val",
    tf.bool: "bool_val",
    tf.uint32: "uint32_val",
    tf.uint64: "uint64_val",
}


def spec_from_proto(model_spec):
    """Converts a `ModelSpec` proto to the double's `ModelSpec`."""
    choice = model_spec.WhichOneof("version_choice")
    return ModelSpec(
        name=model_spec.name,
        version=model_spec.version.value if choice == "version" else None,
        label=model_spec.version_label if choice == "version_label" else None,
    )


def tensor_proto_as_fields(array):
    """Returns a `TensorProto` with values in typed fields, as TF Serving's responses have."""
    proto = tf.make_tensor_proto(array)
    field = _VALUE_FIELDS.get(tf.as_dtype(proto.dtype))
    if field is not None and proto.tensor_content:
        proto.ClearField("tensor_content")
        getattr(proto, field).extend(np.asarray(array).ravel().tolist())
    return proto


def arrays_from_request(request):
    """Converts the request's input TensorProtos to numpy arrays.

    Raises:
        ServingError: INVALID_ARGUMENT "tensor parsing error" for a bad proto.
    """
    arrays = {}
    for alias, proto in request.inputs.items():
        try:
            arrays[alias] = tf.make_ndarray(proto)
        except (TypeError, ValueError) as error:
            raise invalid_argument(f"tensor parsing error: {alias}") from error
    return arrays


def abort(context, error):
    """Ends an RPC with a `ServingError`'s code and message."""
    context.abort(error.code, error.message)


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """`tensorflow.serving.PredictionService` over a `ModelRepository`."""

    def __init__(self, repository):
        self._repository = repository

    def Predict(self, request, context):  # noqa: N802 (gRPC's naming)
        """Runs a signature; answers with `model_spec` and typed-field outputs."""
        try:
            if not request.HasField("model_spec"):
                raise invalid_argument("Missing ModelSpec")
            result = predict(
                self._repository,
                spec_from_proto(request.model_spec),
                request.model_spec.signature_name,
                arrays_from_request(request),
                list(request.output_filter),
            )
        except ServingError as error:
            return abort(context, error)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = result.servable.name
        response.model_spec.version.value = result.servable.version
        response.model_spec.signature_name = result.signature_key
        for alias, array in result.outputs.items():
            response.outputs[alias].CopyFrom(tensor_proto_as_fields(array))
        return response

    def GetModelMetadata(self, request, context):  # noqa: N802
        """Answers `metadata["signature_def"]` as an `Any` packing a `SignatureDefMap`."""
        try:
            return self._metadata(request)
        except ServingError as error:
            return abort(context, error)

    def _metadata(self, request):
        if not request.HasField("model_spec"):
            raise invalid_argument("Missing ModelSpec")
        if not request.metadata_field:
            raise invalid_argument(
                "GetModelMetadataRequest must specify at least one metadata_field"
            )
        for field in request.metadata_field:
            if field != SIGNATURE_DEF_FIELD:
                # TF Serving formats this with StrCat, so "%s" stays in the message.
                raise invalid_argument(f"Metadata field %s is not supported{field}")
        servable = self._repository.resolve(spec_from_proto(request.model_spec))
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in servable.signature_defs.items():
            signature_map.signature_def[key].CopyFrom(signature)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        response.metadata[SIGNATURE_DEF_FIELD].Pack(signature_map)
        return response


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    """`tensorflow.serving.ModelService` (GetModelStatus only)."""

    def __init__(self, repository):
        self._repository = repository

    def GetModelStatus(self, request, context):  # noqa: N802
        """Lists served versions as AVAILABLE with an OK status (get_model_status_impl.cc)."""
        try:
            if not request.HasField("model_spec"):
                raise invalid_argument("Missing ModelSpec")
            spec = spec_from_proto(request.model_spec)
            statuses = self._repository.model_status(spec.name, spec.version)
        except ServingError as error:
            return abort(context, error)
        response = get_model_status_pb2.GetModelStatusResponse()
        for version, state in statuses:
            status = response.model_version_status.add(version=version, state=state)
            status.status.SetInParent()
        return response


def start_grpc_server(repository, workers):
    """Starts a gRPC server with both servicers on a free port of 127.0.0.1.

    Returns:
        `(server, port)`.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionServicer(repository), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(repository), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port
