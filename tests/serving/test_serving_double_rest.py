"""REST tests of the TF Serving TEST DOUBLE in `serving_double.py`.

The checks live in `RestConformanceChecks` and talk to a server only with raw
`urllib.request`, never with tfgen's clients. `ServingDoubleRestTest` runs them
against the double; `RealTensorFlowServingRestTest` runs the identical checks
against a real `tensorflow_model_server` when one is on PATH (skipped
otherwise), which is how a user with TF Serving verifies that the double is
faithful. The SavedModels and servers come from `serving_double_fixtures.py`.
"""

import base64
import json
import urllib.error
import urllib.request

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from serving_double_fixtures import (
    LATENTS,
    LATEST_ONLY_MODEL,
    MODEL,
    TIMEOUT,
    DoubleServerMixin,
    RealServerMixin,
    requires_real_server,
)


class RestConformanceChecks:
    """REST checks shared by the double and the real server.

    Subclasses set `cls.fixture` and `cls.server` (with `rest_address`) in
    `setUpClass`, e.g. with a mixin of `serving_double_fixtures.py`.
    """

    fixture = None
    server = None

    # --------------------------------------------------------------- helpers

    def rest(self, path, body=None):
        """GET (no body) or POST; returns `(HTTP status, parsed JSON, raw text)`."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"http://{self.server.rest_address}{path}", data=data)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                status, text = response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8")
        return status, json.loads(text), text

    def assertRestError(self, path, body, http_status, message_part):  # noqa: N802
        status, answer, _ = self.rest(path, body)
        self.assertEqual(status, http_status, answer)
        self.assertEqual(list(answer), ["error"])
        self.assertIn(message_part, answer["error"])

    # ------------------------------------------------------------ REST status

    def test_rest_status_lists_served_versions_newest_first(self):
        status, answer, _ = self.rest(f"/v1/models/{MODEL}")
        self.assertEqual(status, 200)
        ok = {"error_code": "OK", "error_message": ""}
        self.assertEqual(
            answer,
            {
                "model_version_status": [
                    {"version": "2", "state": "AVAILABLE", "status": ok},
                    {"version": "1", "state": "AVAILABLE", "status": ok},
                ]
            },
        )

    def test_rest_status_of_one_version_and_of_latest_policy(self):
        _, answer, _ = self.rest(f"/v1/models/{MODEL}/versions/1")
        self.assertEqual([s["version"] for s in answer["model_version_status"]], ["1"])
        _, answer, _ = self.rest(f"/v1/models/{LATEST_ONLY_MODEL}")
        self.assertEqual([s["version"] for s in answer["model_version_status"]], ["2"])

    def test_rest_status_ignores_the_label(self):
        _, answer, _ = self.rest(f"/v1/models/{MODEL}/labels/stable")
        self.assertEqual([s["version"] for s in answer["model_version_status"]], ["2", "1"])

    def test_rest_status_errors(self):
        self.assertRestError(
            "/v1/models/nope", None, 404, "Could not find any versions of model nope"
        )
        self.assertRestError(
            f"/v1/models/{MODEL}/versions/7",
            None,
            404,
            f"Could not find version 7 of model {MODEL}",
        )
        self.assertRestError(
            f"/v1/models/{LATEST_ONLY_MODEL}/versions/1",
            None,
            404,
            f"Could not find version 1 of model {LATEST_ONLY_MODEL}",
        )

    # ---------------------------------------------------------- REST metadata

    def test_rest_metadata_is_the_saved_models_signature_def_map(self):
        status, answer, _ = self.rest(f"/v1/models/{MODEL}/versions/1/metadata")
        self.assertEqual(status, 200)
        self.assertEqual(
            answer["model_spec"], {"name": MODEL, "signature_name": "", "version": "1"}
        )
        expected = json_format.MessageToDict(
            self.fixture.signature_defs_json(1),
            always_print_fields_with_no_presence=True,
            preserving_proto_field_name=True,
        )
        self.assertEqual(answer["metadata"]["signature_def"], expected)
        default = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
        self.assertEqual(default["method_name"], "tensorflow/serving/predict")
        self.assertEqual(default["inputs"]["z"]["dtype"], "DT_FLOAT")
        self.assertEqual(default["inputs"]["z"]["tensor_shape"]["dim"][0]["size"], "-1")

    def test_rest_metadata_by_label_and_latest(self):
        _, answer, _ = self.rest(f"/v1/models/{MODEL}/labels/stable/metadata")
        self.assertEqual(answer["model_spec"]["version"], "1")
        _, answer, _ = self.rest(f"/v1/models/{MODEL}/metadata")
        self.assertEqual(answer["model_spec"]["version"], "2")

    # ----------------------------------------------------------- REST predict

    def test_rest_row_format_single_input_single_output(self):
        status, answer, _ = self.rest(
            f"/v1/models/{MODEL}:predict", {"instances": LATENTS.tolist()}
        )
        self.assertEqual(status, 200)
        self.assertAllClose(
            answer["predictions"],
            self.fixture.expected(2, "serving_default", z=LATENTS)["pixel_means"],
        )

    def test_rest_version_and_label_pick_the_model(self):
        expected_v1 = self.fixture.expected(1, "serving_default", z=LATENTS)["pixel_means"]
        for path in (
            f"/v1/models/{MODEL}/versions/1:predict",
            f"/v1/models/{MODEL}/labels/stable:predict",
        ):
            _, answer, _ = self.rest(path, {"instances": LATENTS.tolist()})
            self.assertAllClose(answer["predictions"], expected_v1)

    def test_rest_columnar_scalars(self):
        body = {"signature_name": "sample", "inputs": {"num": 3, "seed": 7}}
        status, answer, _ = self.rest(f"/v1/models/{MODEL}:predict", body)
        self.assertEqual(status, 200)
        expected = self.fixture.expected(2, "sample", num=np.int32(3), seed=np.int32(7))["images"]
        self.assertAllClose(answer["outputs"], expected)

    def test_rest_row_format_named_inputs_multiple_outputs(self):
        instances = [{"z": row.tolist(), "temperature": 2.0} for row in LATENTS]
        _, answer, _ = self.rest(
            f"/v1/models/{MODEL}:predict",
            {"signature_name": "decode_stats", "instances": instances},
        )
        expected = self.fixture.expected(
            2, "decode_stats", z=LATENTS, temperature=np.float32([2.0, 2.0])
        )
        self.assertLen(answer["predictions"], 2)
        for index, prediction in enumerate(answer["predictions"]):
            self.assertEqual(set(prediction), {"mean", "scaled"})
            self.assertAllClose(prediction["mean"], expected["mean"][index])
            self.assertAllClose(prediction["scaled"], expected["scaled"][index])

    def test_rest_columnar_multiple_outputs(self):
        body = {
            "signature_name": "decode_stats",
            "inputs": {"z": LATENTS.tolist(), "temperature": [1.0, 4.0]},
        }
        _, answer, _ = self.rest(f"/v1/models/{MODEL}:predict", body)
        expected = self.fixture.expected(
            2, "decode_stats", z=LATENTS, temperature=np.float32([1.0, 4.0])
        )
        self.assertEqual(set(answer["outputs"]), {"mean", "scaled"})
        self.assertAllClose(answer["outputs"]["mean"], expected["mean"])
        self.assertAllClose(answer["outputs"]["scaled"], expected["scaled"])

    def test_rest_strings_in_and_out(self):
        body = {
            "signature_name": "generate",
            "instances": ["a cat", {"b64": base64.b64encode(b"a dog").decode()}],
        }
        _, answer, _ = self.rest(f"/v1/models/{MODEL}:predict", body)
        expected = self.fixture.expected(
            2, "generate", prompt=np.array([b"a cat", b"a dog"], object)
        )["text"]
        self.assertEqual(answer["predictions"], [text.decode() for text in expected])

    def test_rest_bytes_outputs_are_base64_objects(self):
        body = {"signature_name": "echo_bytes", "inputs": ["hi", "héllo"]}
        _, answer, _ = self.rest(f"/v1/models/{MODEL}:predict", body)
        expected = self.fixture.expected(
            2, "echo_bytes", prompt=np.array([b"hi", "héllo".encode()], object)
        )
        self.assertEqual(
            answer["outputs"]["echo_bytes"],
            [{"b64": base64.b64encode(b).decode()} for b in expected["echo_bytes"]],
        )
        self.assertEqual(answer["outputs"]["length"], expected["length"].tolist())

    def test_rest_nan_is_written_as_nan(self):
        body = {
            "signature_name": "decode_stats",
            "inputs": {"z": [[float("nan"), 0.0, 0.0]], "temperature": [1.0]},
        }
        status, answer, text = self.rest(f"/v1/models/{MODEL}:predict", body)
        self.assertEqual(status, 200)
        self.assertIn("NaN", text)
        self.assertTrue(np.isnan(answer["outputs"]["mean"][0]))

    def test_rest_model_and_version_errors(self):
        body = {"instances": LATENTS.tolist()}
        self.assertRestError(
            "/v1/models/nope:predict", body, 404, "Servable not found for request: Latest(nope)"
        )
        self.assertRestError(
            f"/v1/models/{MODEL}/versions/7:predict",
            body,
            404,
            f"Servable not found for request: Specific({MODEL}, 7)",
        )
        self.assertRestError(
            f"/v1/models/{MODEL}/labels/nope:predict",
            body,
            400,
            "Unrecognized servable version label: nope",
        )
        self.assertRestError(
            f"/v1/models/{MODEL}:predict",
            dict(body, signature_name="nope"),
            400,
            'Serving signature name: "nope" not found in signature def',
        )

    def test_rest_input_name_errors(self):
        path = f"/v1/models/{MODEL}:predict"
        self.assertRestError(
            path,
            {"signature_name": "decode_stats", "inputs": {"z": LATENTS.tolist()}},
            400,
            "Missing named input: temperature in 'inputs' object.",
        )
        self.assertRestError(
            path,
            {"signature_name": "decode_stats", "instances": [{"z": [1.0, 2.0, 3.0]}]},
            400,
            "must only have keys: temperature,z",
        )
        self.assertRestError(
            path, {"instances": [{"x": [1.0, 2.0, 3.0]}]}, 400, "does not have named input: x"
        )
        self.assertRestError(
            path,
            {"signature_name": "decode_stats", "instances": LATENTS.tolist()},
            400,
            "instances is a plain list, but expecting list of objects as multiple input tensors required",
        )

    def test_rest_value_errors(self):
        path = f"/v1/models/{MODEL}:predict"
        self.assertRestError(
            path,
            {"instances": [["a", "b", "c"]]},
            400,
            'JSON Value: "a" Type: String is not of expected type: float',
        )
        self.assertRestError(
            path,
            {"signature_name": "sample", "inputs": {"num": 1.5, "seed": 0}},
            400,
            "JSON Value: 1.5 Type: Number is not of expected type: int32",
        )
        self.assertRestError(
            path,
            {"instances": [[1.0, 2.0, 3.0], [1.0, 2.0]]},
            400,
            "Failed to process element: 1 of 'instances' list.",
        )
        self.assertRestError(
            path,
            {"inputs": [[1.0, 2.0, 3.0], [1.0, 2.0]]},
            400,
            "Encountered list at unexpected size: 2 at level: 1 expected size: 3",
        )
        status, answer, _ = self.rest(
            path, {"instances": [[[1.0, 2.0, 3.0]]]}
        )  # rank 3 for a rank-2 input
        self.assertEqual(status, 400, answer)

    def test_rest_request_shape_errors(self):
        path = f"/v1/models/{MODEL}:predict"
        self.assertRestError(
            path,
            {"instances": [], "inputs": []},
            400,
            "expecting only one of 'inputs' or 'instances' keys to exist",
        )
        self.assertRestError(
            path, {"signature_name": "serving_default"}, 400, "Missing 'inputs' or 'instances' key"
        )
        self.assertRestError(path, b"{not json", 400, "JSON Parse error")
        self.assertRestError(path, {"instances": []}, 400, "No values in 'instances' array")

    def test_rest_signature_runtime_error_is_invalid_argument(self):
        self.assertRestError(
            f"/v1/models/{MODEL}:predict",
            {"instances": [[500.0, 0.0, 0.0]]},
            400,
            "latent out of range",
        )


class ServingDoubleRestTest(DoubleServerMixin, RestConformanceChecks, tf.test.TestCase):
    """The REST conformance checks against `ServingDouble`, plus the double's own details."""

    def test_addresses_are_loopback_with_free_ports(self):
        for address in (self.server.rest_address, self.server.grpc_address):
            host, port = address.rsplit(":", 1)
            self.assertEqual(host, "127.0.0.1")
            self.assertGreater(int(port), 0)

    def test_runtime_errors_carry_the_op_message_only(self):
        _, answer, _ = self.rest(f"/v1/models/{MODEL}:predict", {"instances": [[500.0, 0.0, 0.0]]})
        self.assertStartsWith(answer["error"], "assertion failed: [latent out of range]")
        self.assertNotIn("[Op:", answer["error"])

    def test_non_utf8_string_outputs_fall_back_to_base64(self):
        # A documented deviation: TF Serving would write the raw bytes (invalid JSON).
        body = {
            "signature_name": "generate",
            "instances": [{"b64": base64.b64encode(b"\xff").decode()}],
        }
        _, answer, _ = self.rest(f"/v1/models/{MODEL}:predict", body)
        self.assertEqual(answer["predictions"], [{"b64": base64.b64encode(b"\xff!!").decode()}])

    def test_non_api_paths_and_bad_methods(self):
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"http://{self.server.rest_address}/healthz", timeout=TIMEOUT)
        self.assertEqual(raised.exception.code, 404)
        self.assertRestError(
            "/v1/models/gen:predict", None, 400, "Malformed request: GET /v1/models/gen:predict"
        )


@requires_real_server
class RealTensorFlowServingRestTest(RealServerMixin, RestConformanceChecks, tf.test.TestCase):
    """The same REST checks against the real `tensorflow_model_server` (skipped without it)."""
