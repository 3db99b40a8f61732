"""gRPC tests of the TF Serving TEST DOUBLE in `serving_double.py`.

The checks live in `GrpcConformanceChecks` and talk to a server only with raw
`tensorflow_serving.apis` stubs, never with tfgen's clients.
`ServingDoubleGrpcTest` runs them against the double;
`RealTensorFlowServingGrpcTest` runs the identical checks against a real
`tensorflow_model_server` when one is on PATH (skipped otherwise), which is how
a user with TF Serving verifies that the double is faithful. The SavedModels
and servers come from `serving_double_fixtures.py`.
"""

import grpc
import numpy as np
import tensorflow as tf
from serving_double_fixtures import (
    LATENTS,
    MODEL,
    TIMEOUT,
    DoubleServerMixin,
    RealServerMixin,
    requires_real_server,
)
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)


class GrpcConformanceChecks:
    """gRPC checks shared by the double and the real server.

    Subclasses set `cls.fixture` and `cls.server` (with `grpc_address`) in
    `setUpClass`, e.g. with a mixin of `serving_double_fixtures.py`.
    """

    fixture = None
    server = None

    # --------------------------------------------------------------- helpers

    def prediction_stub(self):
        channel = grpc.insecure_channel(self.server.grpc_address)
        self.addCleanup(channel.close)
        return prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def model_stub(self):
        channel = grpc.insecure_channel(self.server.grpc_address)
        self.addCleanup(channel.close)
        return model_service_pb2_grpc.ModelServiceStub(channel)

    def predict_request(self, signature="", version=None, label=None, name=MODEL, **inputs):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.signature_name = signature
        if version is not None:
            request.model_spec.version.value = version
        if label is not None:
            request.model_spec.version_label = label
        for alias, value in inputs.items():
            request.inputs[alias].CopyFrom(tf.make_tensor_proto(value))
        return request

    def assertGrpcError(self, call, request, code, message_part):  # noqa: N802
        with self.assertRaises(grpc.RpcError) as raised:
            call(request, timeout=TIMEOUT)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        self.assertIn(message_part, raised.exception.details())

    # ------------------------------------------------------------------- gRPC

    def test_grpc_predict_fills_model_spec_and_outputs(self):
        response = self.prediction_stub().Predict(self.predict_request(z=LATENTS), timeout=TIMEOUT)
        self.assertEqual(response.model_spec.name, MODEL)
        self.assertEqual(response.model_spec.version.value, 2)
        self.assertEqual(response.model_spec.signature_name, "serving_default")
        expected = self.fixture.expected(2, "serving_default", z=LATENTS)["pixel_means"]
        self.assertAllClose(tf.make_ndarray(response.outputs["pixel_means"]), expected)

    def test_grpc_predict_by_label_with_output_filter(self):
        request = self.predict_request(
            "decode_stats", label="stable", z=LATENTS, temperature=np.float32([1.0, 2.0])
        )
        request.output_filter.append("mean")
        response = self.prediction_stub().Predict(request, timeout=TIMEOUT)
        self.assertEqual(response.model_spec.version.value, 1)
        self.assertEqual(list(response.outputs), ["mean"])
        expected = self.fixture.expected(
            1, "decode_stats", z=LATENTS, temperature=np.float32([1.0, 2.0])
        )["mean"]
        self.assertAllClose(tf.make_ndarray(response.outputs["mean"]), expected)

    def test_grpc_predict_scalars_and_strings(self):
        stub = self.prediction_stub()
        response = stub.Predict(
            self.predict_request("sample", num=np.int32(2), seed=np.int32(3)), timeout=TIMEOUT
        )
        expected = self.fixture.expected(2, "sample", num=np.int32(2), seed=np.int32(3))["images"]
        self.assertAllClose(tf.make_ndarray(response.outputs["images"]), expected)
        prompts = np.array([b"a", b"b c"], object)
        response = stub.Predict(self.predict_request("generate", prompt=prompts), timeout=TIMEOUT)
        self.assertEqual(
            tf.make_ndarray(response.outputs["text"]).tolist(),
            self.fixture.expected(2, "generate", prompt=prompts)["text"].tolist(),
        )

    def test_grpc_metadata_packs_the_signature_def_map(self):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = MODEL
        request.model_spec.version.value = 1
        response = self.prediction_stub().GetModelMetadata(request, timeout=TIMEOUT)
        self.assertEqual((response.model_spec.name, response.model_spec.version.value), (MODEL, 1))
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        self.assertTrue(response.metadata["signature_def"].Unpack(signature_map))
        self.assertEqual(signature_map, self.fixture.signature_defs_json(1))

    def test_grpc_model_status(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = MODEL
        response = self.model_stub().GetModelStatus(request, timeout=TIMEOUT)
        self.assertEqual([s.version for s in response.model_version_status], [2, 1])
        for status in response.model_version_status:
            self.assertEqual(status.state, get_model_status_pb2.ModelVersionStatus.AVAILABLE)
            self.assertEqual(status.status.error_code, 0)
        request.model_spec.version.value = 7
        self.assertGrpcError(
            self.model_stub().GetModelStatus,
            request,
            grpc.StatusCode.NOT_FOUND,
            f"Could not find version 7 of model {MODEL}",
        )

    def test_grpc_servable_errors(self):
        predict = self.prediction_stub().Predict
        self.assertGrpcError(
            predict,
            self.predict_request(name="nope", z=LATENTS),
            grpc.StatusCode.NOT_FOUND,
            "Servable not found for request: Latest(nope)",
        )
        self.assertGrpcError(
            predict,
            self.predict_request(version=7, z=LATENTS),
            grpc.StatusCode.NOT_FOUND,
            f"Servable not found for request: Specific({MODEL}, 7)",
        )
        self.assertGrpcError(
            predict,
            self.predict_request(label="nope", z=LATENTS),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Unrecognized servable version label: nope",
        )
        self.assertGrpcError(
            predict,
            self.predict_request("nope", z=LATENTS),
            grpc.StatusCode.FAILED_PRECONDITION,
            'Serving signature key "nope" not found.',
        )

    def test_grpc_input_errors(self):
        predict = self.prediction_stub().Predict
        self.assertGrpcError(
            predict,
            self.predict_request("decode_stats", z=LATENTS),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input size does not match signature: 1!=2 len({z}) != len({temperature,z}). "
            "Sent extra: {}. Missing but required: {temperature}.",
        )
        self.assertGrpcError(
            predict,
            self.predict_request(x=LATENTS),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input tensor alias not found in signature: x. Inputs expected to be in the set {z}.",
        )
        request = self.predict_request(z=LATENTS)
        request.output_filter.append("nope")
        self.assertGrpcError(
            predict,
            request,
            grpc.StatusCode.INVALID_ARGUMENT,
            "output tensor alias not found in signature: nope",
        )
        for wrong in (LATENTS.astype(np.int32), np.zeros([2, 4], np.float32)):
            self.assertGrpcError(
                predict, self.predict_request(z=wrong), grpc.StatusCode.INVALID_ARGUMENT, ""
            )
        self.assertGrpcError(
            predict,
            self.predict_request(z=np.float32([[500.0, 0.0, 0.0]])),
            grpc.StatusCode.INVALID_ARGUMENT,
            "latent out of range",
        )


class ServingDoubleGrpcTest(DoubleServerMixin, GrpcConformanceChecks, tf.test.TestCase):
    """The gRPC conformance checks against `ServingDouble`."""


@requires_real_server
class RealTensorFlowServingGrpcTest(RealServerMixin, GrpcConformanceChecks, tf.test.TestCase):
    """The same gRPC checks against the real `tensorflow_model_server` (skipped without it)."""
