"""TF Serving clients: REST JSON and metadata conversion, input checks, errors, and end to end
through the TF Serving test double (REST and gRPC) with tiny exported tfgen models, including
`python -m tfgen.sample --server`."""

import base64
import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from types import SimpleNamespace

import grpc
import keras
import numpy as np
import tensorflow as tf
from serving_double import ServingDouble

from tfgen import serving
from tfgen.cli import sample as sample_cli
from tfgen.models import GPT, VAE, ConditionalGAN
from tfgen.serving import client as client_lib
from tfgen.serving import grpc_client, remote_sample, rest_client
from tfgen.text import CharTokenizer
from tfgen.utils.images import grid

IMAGE_SHAPE = (8, 8, 1)
LATENT_DIM = 3
NUM_CLASSES = 3
CONTEXT = 32
PROMPTS = ["ROMEO: ", "the fox"]
TEXT = "ROMEO: But soft, what light through yonder window breaks? the quick brown fox\n"


def metadata_reply(signatures):
    """A REST metadata reply as TF Serving writes it: `{name: {input: (dtype, dims)}, ...}`."""

    def infos(tensors):
        return {
            key: {
                "dtype": dtype,
                "name": f"{key}:0",
                "tensor_shape": {
                    "dim": [{"size": str(d), "name": ""} for d in dims],
                    "unknown_rank": False,
                },
            }
            for key, (dtype, dims) in tensors.items()
        }

    signature_defs = {
        name: {
            "inputs": infos(inputs),
            "outputs": infos(outputs),
            "method_name": "tensorflow/serving/predict",
        }
        for name, (inputs, outputs) in signatures.items()
    }
    signature_defs["__saved_model_init_op"] = {
        "inputs": {},
        "method_name": "",
        "outputs": {
            "__saved_model_init_op": {
                "dtype": "DT_INVALID",
                "name": "NoOp",
                "tensor_shape": {"dim": [], "unknown_rank": True},
            }
        },
    }
    return {
        "model_spec": {"name": "m", "signature_name": "", "version": "1"},
        "metadata": {"signature_def": {"signature_def": signature_defs}},
    }


SIGNATURES = serving.rest_client.signatures_from_json(
    metadata_reply(
        {
            "decode": ({"z": ("DT_FLOAT", [-1, 3])}, {"pixel_means": ("DT_FLOAT", [-1, 8, 8, 1])}),
            "sample": (
                {"num": ("DT_INT32", []), "seed": ("DT_INT32", [])},
                {"images": ("DT_FLOAT", [-1, 8, 8, 1])},
            ),
            "generate": (
                {"prompt": ("DT_STRING", [-1]), "seed": ("DT_INT32", [-1])},
                {"completion": ("DT_STRING", [-1]), "text": ("DT_STRING", [-1])},
            ),
        }
    )
)


class MetadataAndJsonTest(tf.test.TestCase):
    """The REST client's pure parts: metadata parsing and request/reply JSON."""

    def test_metadata_becomes_tensor_specs(self):
        self.assertEqual(sorted(SIGNATURES), ["decode", "generate", "sample"])  # No init op.
        self.assertEqual(
            SIGNATURES["decode"].inputs["z"], tf.TensorSpec([None, 3], tf.float32, "z")
        )
        self.assertEqual(SIGNATURES["sample"].inputs["num"].shape.rank, 0)
        self.assertEqual(SIGNATURES["generate"].outputs["text"].dtype, tf.string)
        self.assertEqual(
            SIGNATURES["decode"].describe(),
            "decode(z: float32 [?, 3]) -> pixel_means: float32 [?, 8, 8, 1]",
        )

    def test_columnar_and_row_requests(self):
        arrays = client_lib.check_inputs(
            SIGNATURES["generate"], {"prompt": ["héllo", b"\xff\x00"], "seed": [1, 2]}
        )
        self.assertEqual(
            rest_client.to_json(arrays["prompt"]),
            ["héllo", {"b64": base64.b64encode(b"\xff\x00").decode()}],
        )
        self.assertEqual(
            rest_client.row_instances(SIGNATURES["generate"], arrays),
            [{"prompt": "héllo", "seed": 1}, {"prompt": {"b64": "/wA="}, "seed": 2}],
        )
        scalars = client_lib.check_inputs(SIGNATURES["sample"], {"num": 2, "seed": 0})
        self.assertEqual(
            {k: rest_client.to_json(v) for k, v in scalars.items()}, {"num": 2, "seed": 0}
        )
        with self.assertRaisesRegex(
            serving.ServingRequestError, "input 'num' is a scalar .*use format='columnar'"
        ):
            rest_client.row_instances(SIGNATURES["sample"], scalars)
        uneven = client_lib.check_inputs(
            SIGNATURES["generate"], {"prompt": ["a", "b"], "seed": [1]}
        )
        with self.assertRaisesRegex(
            serving.ServingRequestError, "same, nonzero first dimension.*prompt: 2, seed: 1"
        ):
            rest_client.row_instances(SIGNATURES["generate"], uneven)

    def test_replies_become_named_arrays(self):
        decode = SIGNATURES["decode"]
        image = np.zeros([8, 8, 1]).tolist()
        for reply, format in (
            ({"outputs": [image, image]}, "columnar"),
            ({"predictions": [image, image]}, "row"),
        ):
            outputs = rest_client.outputs_from_json(decode, reply, format)
            self.assertEqual(list(outputs), ["pixel_means"])  # Unnamed: named from the metadata.
            self.assertEqual(outputs["pixel_means"].dtype, np.float32)
            self.assertEqual(outputs["pixel_means"].shape, (2, 8, 8, 1))
        generate = SIGNATURES["generate"]
        row = rest_client.outputs_from_json(
            generate,
            {
                "predictions": [
                    {"completion": "ab", "text": "xab"},
                    {"completion": {"b64": "/w=="}, "text": "é"},
                ]
            },
            "row",
        )
        columnar = rest_client.outputs_from_json(
            generate,
            {"outputs": {"completion": ["ab", {"b64": "/w=="}], "text": ["xab", "é"]}},
            "columnar",
        )
        for outputs in (row, columnar):
            self.assertEqual(outputs["completion"].dtype, object)
            self.assertEqual(outputs["completion"].tolist(), [b"ab", b"\xff"])
            self.assertEqual(outputs["text"].tolist(), [b"xab", "é".encode()])


class CheckInputsTest(tf.test.TestCase):
    def assert_invalid(self, signature, inputs, *patterns):
        with self.assertRaises(serving.ServingRequestError) as caught:
            client_lib.check_inputs(SIGNATURES[signature], inputs)
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
        for pattern in patterns:
            self.assertRegex(str(caught.exception), pattern)

    def test_casts_to_the_signature_dtypes(self):
        checked = client_lib.check_inputs(SIGNATURES["sample"], {"seed": np.int64(3), "num": 4})
        self.assertEqual(list(checked), ["num", "seed"])
        self.assertEqual((checked["num"].dtype, checked["num"].shape), (np.int32, ()))
        z = client_lib.check_inputs(SIGNATURES["decode"], {"z": [[1, 2, 3]]})["z"]
        self.assertEqual(z.dtype, np.float32)
        prompt = client_lib.check_inputs(
            SIGNATURES["generate"], {"prompt": np.array(["a"]), "seed": [0]}
        )["prompt"]
        self.assertEqual(prompt.tolist(), [b"a"])

    def test_names_the_problem_and_the_valid_choices(self):
        self.assert_invalid(
            "decode",
            {"zz": [[0.0] * 3]},
            "unknown input.*'zz'",
            "missing input.*'z'",
            r"takes exactly: z \(float32 \[\?, 3\]\)",
        )
        self.assert_invalid(
            "sample",
            {"num": 1},
            "missing input.*'seed'",
            r"num \(int32 \[\]\), seed \(int32 \[\]\)",
        )
        self.assert_invalid(
            "decode", {"z": [[0.0] * 4]}, r"input 'z'.*shape \[\?, 3\].*got shape \[1, 4\]"
        )
        self.assert_invalid("decode", {"z": [0.0] * 3}, r"shape \[\?, 3\].*got shape \[3\]")
        self.assert_invalid(
            "sample", {"num": [2], "seed": 0}, r"'num'.*shape \[\].*got shape \[1\]"
        )
        self.assert_invalid(
            "sample",
            {"num": 2.5, "seed": 0},
            "'num'.*is int32; got float64 values, which cannot be cast",
        )
        self.assert_invalid("sample", {"num": 2**40, "seed": 0}, r"values must be in \[-2147483648")
        self.assert_invalid("decode", {"z": [["a", "b", "c"]]}, "'z'.*float32; got str values")
        self.assert_invalid(
            "generate", {"prompt": [1], "seed": [0]}, "'prompt'.*is string; got int value 1"
        )
        self.assert_invalid("decode", {"z": [[0.0], [1.0, 2.0]]}, "not a rectangular array")
        self.assert_invalid("decode", [[0.0] * 3], "inputs must be a dict")


class MetadataCacheTest(tf.test.TestCase):
    class FakeClient(client_lib.ServingClient):
        """Serves `decode` with latent size 3, then (a new version) 4."""

        def __init__(self):
            super().__init__("fake:1")
            self.latent_sizes = [3, 4]

        def metadata(self, name, version=None, label=None):
            size = self.latent_sizes.pop(0) if len(self.latent_sizes) > 1 else self.latent_sizes[0]
            spec = client_lib.tensor_spec("z", "DT_FLOAT", [-1, size])
            return {"decode": client_lib.SignatureSpec("decode", {"z": spec}, {})}

    def test_stale_metadata_is_read_again_once(self):
        client = self.FakeClient()
        _, arrays = client.checked_inputs("m", {"z": np.zeros([1, 3])}, "decode")
        self.assertEqual(arrays["z"].shape, (1, 3))
        # The cached signature says 3; the server now has 4: re-read, then accepted.
        signature, arrays = client.checked_inputs("m", {"z": np.zeros([2, 4])}, "decode")
        self.assertEqual(arrays["z"].dtype, np.float32)
        self.assertEqual(signature.inputs["z"].shape.as_list(), [None, 4])
        with self.assertRaisesRegex(
            serving.ServingRequestError,
            r"model 'm' \(latest version\), signature 'decode'.*"
            r"shape \[\?, 4\].*got shape \[2, 3\]",
        ):
            client.checked_inputs("m", {"z": np.zeros([2, 3])}, "decode")

    def test_connect(self):
        self.assertIsInstance(serving.connect("localhost:8501"), serving.RestClient)
        self.assertEqual(serving.connect("http://h:1/").base_url, "http://h:1")
        with serving.connect("localhost:8500", grpc=True, timeout=3) as client:
            self.assertIsInstance(client, serving.GrpcClient)
            self.assertEqual(client.timeout, 3)


class ErrorsTest(tf.test.TestCase):
    def test_http_errors(self):
        context = dict(model="vae", version=2, signature="decode")
        error = rest_client.http_error(400, b'{"error": "Missing \'inputs\'"}', context)
        self.assertIsInstance(error, serving.ServingRequestError)
        self.assertEqual(
            (error.code, error.status, error.message), ("INVALID_ARGUMENT", 400, "Missing 'inputs'")
        )
        self.assertEqual(
            str(error),
            "model 'vae' version 2, signature 'decode': "
            "INVALID_ARGUMENT (HTTP 400): Missing 'inputs'",
        )
        unavailable = rest_client.http_error(503, b"<html>down</html>", {})
        self.assertNotIsInstance(unavailable, serving.ServingRequestError)
        self.assertEqual(
            (unavailable.code, unavailable.message), ("UNAVAILABLE", "<html>down</html>")
        )
        self.assertIsInstance(rest_client.http_error(418, b"", {}), serving.ServingRequestError)

    def test_rpc_errors(self):
        class FakeRpcError(grpc.RpcError):
            def __init__(self, code, details):
                self._code, self._details = code, details

            def code(self):
                return self._code

            def details(self):
                return self._details

        error = grpc_client.rpc_error(
            FakeRpcError(grpc.StatusCode.NOT_FOUND, "no such model"),
            "host:1",
            5,
            dict(model="m", label="stable"),
        )
        self.assertIsInstance(error, serving.ServingRequestError)
        self.assertEqual(str(error), "model 'm' label 'stable': NOT_FOUND: no such model")
        down = grpc_client.rpc_error(
            FakeRpcError(grpc.StatusCode.UNAVAILABLE, "refused"), "host:1", 5, {}
        )
        self.assertNotIsInstance(down, serving.ServingRequestError)
        self.assertIn("cannot reach TF Serving's gRPC API at host:1: refused", str(down))

    def test_nothing_listening(self):
        address = f"127.0.0.1:{unused_port()}"
        for use_grpc in (False, True):
            with (
                self.subTest(grpc=use_grpc),
                serving.connect(address, grpc=use_grpc, timeout=10) as client,
            ):
                with self.assertRaises(serving.ServingError) as caught:
                    client.status("vae")
                self.assertNotIsInstance(caught.exception, serving.ServingRequestError)
                self.assertEqual(caught.exception.code, "UNAVAILABLE")
                self.assertIn(address, str(caught.exception))


def unused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# End to end: tiny models exported once for the module and served by the double. ----------

SERVED = SimpleNamespace()


def randomized(model, stddev, seed):
    """`model` with N(0, stddev) weights, so greedy decoding does not repeat one token."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(0.0, stddev, variable.shape).astype("float32"))
    return model


def setUpModule():
    SERVED.tmp = Path(tempfile.mkdtemp(prefix="serving-clients-"))
    models_dir = SERVED.tmp / "models"
    keras.utils.set_random_seed(2)
    SERVED.vae_v1 = VAE(image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM, filters=2)
    SERVED.vae = randomized(
        VAE(image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM, filters=2), 0.3, seed=5
    )
    SERVED.cgan = ConditionalGAN(
        image_shape=IMAGE_SHAPE, latent_dim=4, filters=2, num_classes=NUM_CLASSES
    )
    tokenizer = CharTokenizer.train([TEXT])
    SERVED.gpt = randomized(
        GPT(
            vocab_size=tokenizer.vocab_size,
            context_length=CONTEXT,
            n_layer=1,
            n_head=2,
            n_embd=16,
            tokenizer=tokenizer,
        ),
        1.0,
        seed=1,
    )
    serving.export_saved_model(SERVED.vae_v1, models_dir, "vae")
    serving.export_saved_model(SERVED.vae, models_dir, "vae")
    serving.export_saved_model(SERVED.cgan, models_dir, "cgan")
    SERVED.gpt_dir = serving.export_saved_model(SERVED.gpt, models_dir, "gpt")
    config = SERVED.tmp / "models.config"
    config.write_text(
        textwrap.dedent(f"""
        model_config_list {{
          config {{
            name: "vae" base_path: "{models_dir / "vae"}" model_platform: "tensorflow"
            model_version_policy {{ all {{}} }}
            version_labels {{ key: "stable" value: 1 }}
          }}
          config {{ name: "cgan" base_path: "{models_dir / "cgan"}" model_platform: "tensorflow" }}
          config {{ name: "gpt" base_path: "{models_dir / "gpt"}" model_platform: "tensorflow" }}
        }}""")
    )
    # As tensorflow_model_server --allow_version_labels_for_unavailable_models: "stable" names
    # version 1 from the start, before a config reload could.
    SERVED.server = ServingDouble(
        model_config_file=str(config), allow_version_labels_for_unavailable_models=True
    ).start()
    SERVED.rest = serving.RestClient(SERVED.server.rest_address)
    SERVED.grpc = serving.GrpcClient(SERVED.server.grpc_address)


def tearDownModule():
    SERVED.grpc.close()
    SERVED.server.stop()
    shutil.rmtree(SERVED.tmp, ignore_errors=True)


def each_client():
    """(description, predict function) for REST columnar, REST row and gRPC."""
    return [
        ("rest columnar", SERVED.rest.predict),
        ("rest row", lambda *a, **k: SERVED.rest.predict(*a, format="row", **k)),
        ("grpc", SERVED.grpc.predict),
    ]


def greedy_inputs(prompts, new=6):
    n = len(prompts)
    return {
        "prompt": prompts,
        "max_new_tokens": [new] * n,
        "temperature": [0.0] * n,
        "top_k": [0] * n,
        "top_p": [1.0] * n,
        "seed": [0] * n,
    }


class ServedModelsTest(tf.test.TestCase):
    """Both clients and both REST formats against the double."""

    def test_status(self):
        for client in (SERVED.rest, SERVED.grpc):
            with self.subTest(client=type(client).__name__):
                statuses = client.status("vae")
                self.assertEqual(sorted(s["version"] for s in statuses), [1, 2])
                for status in statuses:
                    self.assertEqual(status["state"], "AVAILABLE")
                    self.assertEqual(status["status"], {"error_code": "OK", "error_message": ""})
                self.assertEqual([s["version"] for s in client.status("vae", version=1)], [1])
                self.assertEqual(len(client.status("gpt")), 1)

    def test_metadata(self):
        rest, grpc_ = SERVED.rest.metadata("vae"), SERVED.grpc.metadata("vae")
        self.assertEqual(rest, grpc_)
        self.assertEqual(
            sorted(rest), ["decode", "encode", "reconstruct", "sample", "serving_default"]
        )
        self.assertEqual(
            rest["decode"].inputs, {"z": tf.TensorSpec([None, LATENT_DIM], tf.float32, "z")}
        )
        self.assertEqual(
            rest["decode"].outputs["pixel_means"].shape.as_list(), [None, *IMAGE_SHAPE]
        )
        self.assertEqual(rest["serving_default"].inputs, rest["sample"].inputs)
        generate = SERVED.grpc.metadata("gpt")["generate"]
        self.assertEqual(sorted(generate.inputs), sorted(greedy_inputs(PROMPTS)))
        self.assertEqual(
            {k: s.dtype for k, s in generate.outputs.items()},
            {"completion": tf.string, "text": tf.string},
        )
        self.assertEqual(SERVED.rest.metadata("cgan", version=1), SERVED.grpc.metadata("cgan"))

    def test_decode_and_version_selection(self):
        z = np.random.default_rng(0).standard_normal([3, LATENT_DIM]).astype("float32")
        latest, first = SERVED.vae.pixel_means(z), SERVED.vae_v1.pixel_means(z)
        self.assertGreater(np.abs(latest - first).max(), 1e-3)  # The versions differ.
        for description, predict in each_client():
            with self.subTest(client=description):
                outputs = predict("vae", {"z": z}, signature_name="decode")
                self.assertEqual(list(outputs), ["pixel_means"])
                self.assertAllClose(outputs["pixel_means"], latest, atol=1e-6)
                self.assertAllClose(
                    predict("vae", {"z": z}, signature_name="decode", version=2)["pixel_means"],
                    latest,
                    atol=1e-6,
                )
                self.assertAllClose(
                    predict("vae", {"z": z}, signature_name="decode", version=1)["pixel_means"],
                    first,
                    atol=1e-6,
                )
                self.assertAllClose(
                    predict("vae", {"z": z}, signature_name="decode", label="stable")[
                        "pixel_means"
                    ],
                    first,
                    atol=1e-6,
                )

    def test_two_outputs(self):
        images = np.random.default_rng(1).uniform(size=[2, *IMAGE_SHAPE]).astype("float32")
        posterior = SERVED.vae.encode(images)
        for description, predict in each_client():
            with self.subTest(client=description):
                outputs = predict("vae", {"images": images}, signature_name="encode")
                self.assertAllClose(outputs["mean"], posterior.mean(), atol=1e-5)
                self.assertAllClose(outputs["stddev"], posterior.stddev(), atol=1e-5)

    def test_seeded_samples_equal_the_models(self):
        for client in (SERVED.rest, SERVED.grpc):
            with self.subTest(client=type(client).__name__):
                images = client.predict("vae", {"num": 5, "seed": 3})["images"]  # serving_default
                self.assertAllClose(images, SERVED.vae.sample_images(5, 3), atol=1e-6)
                cgan = client.predict("cgan", {"num": 4, "seed": 7, "label": 2}, "sample")
                self.assertAllClose(
                    cgan["images"], SERVED.cgan.sample_images(4, 7, labels=[2] * 4), atol=1e-6
                )
        with self.assertRaisesRegex(serving.ServingRequestError, "is a scalar"):
            SERVED.rest.predict("vae", {"num": 5, "seed": 3}, format="row")

    def test_conditional_generate(self):
        z = np.random.default_rng(2).standard_normal([3, 4]).astype("float32")
        labels = [0, 2, 1]
        expected = SERVED.cgan.generate(z, tf.constant(labels))
        for description, predict in each_client():
            with self.subTest(client=description):
                images = predict("cgan", {"z": z, "labels": labels}, signature_name="generate")
                self.assertAllClose(images["images"], expected, atol=1e-6)

    def test_text_generation_equals_the_signature(self):
        signature = tf.saved_model.load(str(SERVED.gpt_dir)).signatures["generate"]
        inputs = greedy_inputs(PROMPTS)
        dtypes = {"prompt": tf.string, "temperature": tf.float32, "top_p": tf.float32}
        expected = {
            k: v.numpy().tolist()
            for k, v in signature(
                **{k: tf.constant(v, dtypes.get(k, tf.int32)) for k, v in inputs.items()}
            ).items()
        }
        self.assertEqual(
            expected["text"],
            [(p + c.decode()).encode() for p, c in zip(PROMPTS, expected["completion"])],
        )
        for description, predict in each_client():
            with self.subTest(client=description):
                outputs = predict("gpt", inputs)  # serving_default is generate.
                self.assertEqual({k: v.tolist() for k, v in outputs.items()}, expected)
        completions = remote_sample.generate_text(SERVED.grpc, "gpt", PROMPTS, 6, 0.0, 0, 1.0, 0)
        self.assertEqual(completions, [c.decode() for c in expected["completion"]])

    def test_malformed_requests(self):
        z = np.zeros([1, LATENT_DIM], np.float32)
        cases = [  # (model, inputs, predict keywords, code, patterns in the message)
            (
                "vae",
                {"zz": z},
                dict(signature_name="decode"),
                "INVALID_ARGUMENT",
                ["signature 'decode'", "unknown input.*'zz'", r"takes exactly: z \(float32"],
            ),
            (
                "vae",
                {"z": z[:, :2]},
                dict(signature_name="decode", version=1),
                "INVALID_ARGUMENT",
                ["model 'vae' version 1", r"shape \[\?, 3\].*got shape \[1, 2\]"],
            ),
            (
                "vae",
                {"num": 2.5, "seed": 0},
                {},
                "INVALID_ARGUMENT",
                ["signature 'serving_default'", "'num'.*int32; got float64"],
            ),
            (
                "vae",
                {"z": z},
                dict(signature_name="decoder"),
                "INVALID_ARGUMENT",
                ["no signature 'decoder'", "signatures are: decode, encode, reconstruct, sample"],
            ),
            (
                "vae",
                {"z": z},
                dict(signature_name="decode", version=9),
                "NOT_FOUND",
                ["model 'vae' version 9", r"Specific\(vae, 9\)"],
            ),
            (
                "vea",
                {"z": z},
                dict(signature_name="decode"),
                "NOT_FOUND",
                ["model 'vea'", r"Latest\(vea\)"],
            ),
            (
                "vae",
                {"z": z},
                dict(signature_name="decode", label="canary"),
                "INVALID_ARGUMENT",
                ["label 'canary'", "Unrecognized servable version label: canary"],
            ),
            # Errors the model's graph raises come back as request errors too.
            ("gpt", greedy_inputs(["ROMEO", ""]), {}, "INVALID_ARGUMENT", ["the prompt is empty"]),
            (
                "cgan",
                {"num": 2, "seed": 0, "label": 5},
                dict(signature_name="sample"),
                "INVALID_ARGUMENT",
                [r"labels must be in \[0, 3\)"],
            ),
        ]
        for description, predict in each_client():
            for model, inputs, keywords, code, patterns in cases:
                if description == "rest row" and model == "cgan":
                    continue  # Scalars: columnar only.
                with self.subTest(client=description, model=model, **keywords):
                    with self.assertRaises(serving.ServingRequestError) as caught:
                        predict(model, inputs, **keywords)
                    self.assertEqual(caught.exception.code, code)
                    for pattern in patterns:
                        self.assertRegex(str(caught.exception), pattern)

    def test_server_side_input_checks_without_the_clients_checks(self):
        # The double's own validation, reached by skipping the client's checks.
        with self.assertRaises(serving.ServingRequestError) as caught:
            SERVED.rest._request(
                SERVED.rest._model_url("vae", None, None) + ":predict",
                {"signature_name": "decode", "inputs": {"zz": [[0.0] * 3]}},
                dict(model="vae", signature="decode"),
            )
        self.assertEqual(
            (caught.exception.code, caught.exception.status), ("INVALID_ARGUMENT", 400)
        )
        self.assertIn("z", caught.exception.message)
        request = grpc_client.predict_pb2.PredictRequest()
        request.model_spec.name, request.model_spec.signature_name = "vae", "decoder"
        request.inputs["z"].CopyFrom(tf.make_tensor_proto(np.zeros([1, 3], np.float32)))
        with self.assertRaises(serving.ServingRequestError) as caught:
            SERVED.grpc._call(SERVED.grpc._predictions.Predict, request, {})
        self.assertEqual(caught.exception.code, "FAILED_PRECONDITION")
        self.assertIn('Serving signature key "decoder" not found', caught.exception.message)

    def test_unknown_model_status_and_metadata(self):
        for client in (SERVED.rest, SERVED.grpc):
            with self.subTest(client=type(client).__name__):
                with self.assertRaisesRegex(serving.ServingRequestError, "model 'vea'.*NOT_FOUND"):
                    client.status("vea")
                with self.assertRaisesRegex(serving.ServingRequestError, "version 3.*NOT_FOUND"):
                    client.metadata("vae", version=3)
                with self.assertRaisesRegex(
                    serving.ServingRequestError, "label 'canary'.*INVALID_ARGUMENT"
                ):
                    client.metadata("vae", label="canary")
                self.assertEqual(
                    client.metadata("vae", label="stable"), client.metadata("vae", version=1)
                )


class RemoteSampleTest(tf.test.TestCase):
    def test_model_kind(self):
        for client in (SERVED.rest, SERVED.grpc):
            self.assertEqual(remote_sample.model_kind(client, "vae"), remote_sample.IMAGES)
            self.assertEqual(remote_sample.model_kind(client, "cgan"), remote_sample.IMAGES)
            self.assertEqual(remote_sample.model_kind(client, "gpt"), remote_sample.TEXT)

    def test_sample_images(self):
        images = remote_sample.sample_images(SERVED.rest, "cgan", 3, seed=4, label=1)
        self.assertAllClose(images, SERVED.cgan.sample_images(3, 4, labels=[1] * 3), atol=1e-6)
        cycling = remote_sample.sample_images(SERVED.grpc, "cgan", 4, seed=4)
        self.assertAllClose(cycling, SERVED.cgan.sample_images(4, 4), atol=1e-6)
        first = remote_sample.sample_images(SERVED.grpc, "vae", 2, seed=0, version=1)
        self.assertAllClose(first, SERVED.vae_v1.sample_images(2, 0), atol=1e-6)
        with self.assertRaisesRegex(
            serving.ServingRequestError, "class-conditional.*sample\\(.*num: int32"
        ):
            remote_sample.sample_images(SERVED.rest, "vae", 2, seed=0, label=1)
        with self.assertRaisesRegex(
            serving.ServingRequestError, "no signature 'sample'.*decode_step, generate, logits"
        ):
            remote_sample.sample_images(SERVED.rest, "gpt", 2, seed=0)


class SampleServerCliTest(tf.test.TestCase):
    """`python -m tfgen.sample --server`: PNG grids, text, and bad flags."""

    def run_cli(self, *args, cwd=None):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        return subprocess.run(
            [sys.executable, "-m", "tfgen.sample", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            cwd=cwd,
        )

    def main(self, *args):
        """Runs `tfgen.sample.main` in this process: `(exit code, stdout, stderr)`."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = sample_cli.main(list(args))
            except SystemExit as exit_:  # argparse's own errors.
                code = exit_.code
        return code, out.getvalue(), err.getvalue()

    def test_writes_a_png_grid_in_the_working_directory(self):
        cwd = self.create_tempdir().full_path
        result = self.run_cli(
            "--server",
            SERVED.server.rest_address,
            "--model",
            "vae",
            "--num",
            "4",
            "--seed",
            "3",
            cwd=cwd,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        png = Path(cwd) / "samples-vae-seed3.png"
        self.assertIn(png.name, result.stdout)
        written = tf.io.decode_png(tf.io.read_file(str(png))).numpy()
        self.assertEqual(written.shape, (16, 16, 1))
        expected = grid(SERVED.vae.sample_images(4, 3), columns=2)
        self.assertLessEqual(np.abs(written.astype(int) - expected.astype(int)).max(), 1)

    def test_grpc_png_with_label_and_out(self):
        out = Path(self.create_tempdir().full_path) / "cgan.png"
        code, stdout, stderr = self.main(
            "--server",
            SERVED.server.grpc_address,
            "--grpc",
            "--model",
            "cgan",
            "--num",
            "5",
            "--label",
            "2",
            "--out",
            str(out),
            "--version",
            "1",
        )
        self.assertEqual(code, 0, stderr)
        self.assertIn(str(out), stdout)
        self.assertEqual(tf.io.decode_png(tf.io.read_file(str(out))).shape, (16, 24, 1))

    def test_prints_text(self):
        expected = remote_sample.generate_text(
            SERVED.rest, "gpt", ["ROMEO: "] * 2, 5, 0.0, 0, 1.0, 0
        )
        result = self.run_cli(
            "--server",
            SERVED.server.grpc_address,
            "--grpc",
            "--model",
            "gpt",
            "--prompt",
            "ROMEO: ",
            "--sampler",
            "greedy",
            "--max-new-tokens",
            "5",
            "--num",
            "2",
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stdout, "\n\n".join("ROMEO: " + text for text in expected) + "\n")
        code, stdout, stderr = self.main(
            "--server",
            SERVED.server.rest_address,
            "--model",
            "gpt",
            "--prompt",
            "the",
            "--sampler",
            "top_p",
            "--top-p",
            "0.8",
            "--top-k",
            "4",
            "--max-new-tokens",
            "4",
            "--seed",
            "3",
        )
        self.assertEqual(code, 0, stderr)
        self.assertTrue(stdout.startswith("the"))
        self.assertIn("temperature 1.0, top_k 4, top_p 0.8", stderr)

    def test_bad_flags(self):
        rest = SERVED.server.rest_address
        cases = [  # (arguments, exit code, pattern in stderr)
            (["--server", rest], 2, "--server needs --model NAME"),
            (["--server", rest, "--run", "runs/x"], 2, "not allowed with argument"),
            ([], 2, "one of the arguments --run --server is required"),
            (
                ["--run", "runs/x", "--model", "vae", "--grpc"],
                2,
                "--model, --grpc apply with --server only",
            ),
            (
                ["--server", rest, "--model", "gpt", "--prompt", "a", "--sampler", "beam"],
                2,
                "--sampler beam is not available with --server.*valid samplers are: greedy, "
                "temperature, top_k, top_p",
            ),
            (
                ["--server", rest, "--model", "gpt", "--prompt", "a", "--top-k", "3"],
                2,
                "--top-k does not apply to sampler 'temperature'",
            ),
            (["--server", rest, "--model", "gpt"], 2, "--prompt is required with --server"),
            (
                ["--server", rest, "--model", "gpt", "--prompt", "a", "--out", "x.png"],
                2,
                "gpt is a language model: --label, --out and --truncation-psi are for image models",
            ),
            (
                ["--server", rest, "--model", "gpt", "--prompt", "x" * 40],
                2,
                f"more tokens than context_length {CONTEXT}",
            ),
            (
                ["--server", rest, "--model", "vae", "--top-p", "0.5"],
                2,
                "--top-p apply to language models; vae is an image model",
            ),
            (
                ["--server", rest, "--model", "vae", "--label", "1"],
                2,
                "a label needs a class-conditional model",
            ),
            (
                ["--server", rest, "--model", "cgan", "--label", "3"],
                2,
                r"labels must be in \[0, 3\)",
            ),
            (["--server", rest, "--model", "vea"], 2, r"NOT_FOUND.*Latest\(vea\)"),
            (["--server", rest, "--model", "vae", "--version", "7"], 2, "version 7.*NOT_FOUND"),
            (
                ["--server", rest, "--model", "vae", "--version", "0"],
                2,
                "--version must be at least 1",
            ),
            (
                ["--server", f"127.0.0.1:{unused_port()}", "--model", "vae"],
                1,
                "UNAVAILABLE.*cannot reach TF Serving's REST API at 127.0.0.1:",
            ),
            (
                ["--server", f"127.0.0.1:{unused_port()}", "--grpc", "--model", "vae"],
                1,
                "UNAVAILABLE.*cannot reach TF Serving's gRPC API at 127.0.0.1:",
            ),
        ]
        for args, expected_code, pattern in cases:
            with self.subTest(args=args):
                code, _, stderr = self.main(*args)
                self.assertEqual(code, expected_code, stderr)
                self.assertRegex(stderr, pattern)
