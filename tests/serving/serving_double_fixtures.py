"""Shared fixtures of the TF Serving TEST DOUBLE's tests (not a test module).

Builds the tiny SavedModels (`TinyGenerator`, versions 1 and 2) and their
`models.config` once per run (`ModelFixture`; expected values come from the
same SavedModels loaded with `tf.saved_model.load`), and starts the servers the
conformance checks run against: `ServingDouble` (`DoubleServerMixin`) or a
real `tensorflow_model_server` when one is on PATH (`RealServerMixin`, with
`requires_real_server` to skip it otherwise).
"""

import atexit
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import types
import unittest
import urllib.request

import numpy as np
import tensorflow as tf
from serving_double import ServingDouble
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2

MODEL = "gen"  # versions 1 and 2, labels stable=1 and canary=2
LATEST_ONLY_MODEL = "gen_latest"  # same base path, default policy: version 2 only
SCALES = {1: 1.0, 2: 2.0}
TIMEOUT = 30


class TinyGenerator(tf.Module):
    """A SavedModel with single-input, scalar-input, multi-output and string signatures."""

    def __init__(self, scale):
        super().__init__()
        self.scale = tf.Variable(scale)
        self.weights = tf.constant(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4))
        self.suffix = "!" * int(scale)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="z")])
    def decode(self, z):
        tf.debugging.assert_less(tf.abs(z), 100.0, message="latent out of range")
        # matmul makes a wrong rank or width fail in TensorFlow too, as in TF Serving.
        return {"pixel_means": tf.sigmoid(tf.matmul(z, self.weights) * self.scale)}

    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.int32, name="num"),
            tf.TensorSpec([], tf.int32, name="seed"),
        ]
    )
    def sample(self, num, seed):
        images = tf.random.stateless_uniform(tf.stack([num, 2, 2]), seed=tf.stack([seed, 0]))
        return {"images": images * self.scale}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 3], tf.float32, name="z"),
            tf.TensorSpec([None], tf.float32, name="temperature"),
        ]
    )
    def decode_stats(self, z, temperature):
        return {
            "mean": tf.reduce_mean(z, axis=1) * self.scale / temperature,
            "scaled": z * self.scale,
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompt")])
    def generate(self, prompt):
        return {"text": tf.strings.join([prompt, tf.fill(tf.shape(prompt), self.suffix)])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompt")])
    def echo_bytes(self, prompt):
        return {"echo_bytes": prompt, "length": tf.strings.length(prompt)}


def save_model_versions(base_path):
    """Saves `TinyGenerator` as versions 1 and 2 under `base_path`."""
    for version, scale in SCALES.items():
        module = TinyGenerator(scale)
        signatures = {
            "serving_default": module.decode,
            "sample": module.sample,
            "decode_stats": module.decode_stats,
            "generate": module.generate,
            "echo_bytes": module.echo_bytes,
        }
        tf.saved_model.save(module, os.path.join(base_path, str(version)), signatures=signatures)
    os.makedirs(os.path.join(base_path, ".hidden"))  # not a version
    os.makedirs(os.path.join(base_path, "notes"))  # not a version


def write_models_config(path, base_path):
    """Writes a text-format ModelServerConfig with both models."""
    with open(path, "w", encoding="utf-8") as config_file:
        config_file.write(f"""model_config_list {{
  config {{
    name: "{MODEL}"
    base_path: "{base_path}"
    model_platform: "tensorflow"
    model_version_policy {{ specific {{ versions: 1 versions: 2 }} }}
    version_labels {{ key: "stable" value: 1 }}
    version_labels {{ key: "canary" value: 2 }}
  }}
  config {{
    name: "{LATEST_ONLY_MODEL}"
    base_path: "{base_path}"
    model_platform: "tensorflow"
  }}
}}
""")


class ModelFixture:
    """The SavedModels, their models.config and the loaded versions (built once per run)."""

    _instance = None

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="serving_double_test_")
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)
        self.base_path = os.path.join(self.root, "gen")
        save_model_versions(self.base_path)
        self.config_path = os.path.join(self.root, "models.config")
        write_models_config(self.config_path, self.base_path)
        self.loaded = {v: tf.saved_model.load(os.path.join(self.base_path, str(v))) for v in SCALES}

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def expected(self, version, signature, **inputs):
        """Runs a signature directly; returns numpy outputs."""
        outputs = self.loaded[version].signatures[signature](
            **{k: tf.constant(v) for k, v in inputs.items()}
        )
        return {name: tensor.numpy() for name, tensor in outputs.items()}

    def signature_defs_json(self, version):
        """The SignatureDefMap JSON TF Serving derives from saved_model.pb."""
        saved_model = saved_model_pb2.SavedModel()
        with open(os.path.join(self.base_path, str(version), "saved_model.pb"), "rb") as pb_file:
            saved_model.ParseFromString(pb_file.read())
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in saved_model.meta_graphs[0].signature_def.items():
            signature_map.signature_def[key].CopyFrom(signature)
        return signature_map


LATENTS = np.array([[0.5, -1.0, 2.0], [0.0, 0.25, -3.0]], np.float32)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


requires_real_server = unittest.skipUnless(
    shutil.which("tensorflow_model_server"), "tensorflow_model_server is not installed"
)


class DoubleServerMixin:
    """Runs a test class against `ServingDouble`, started once per class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fixture = ModelFixture.get()
        cls.server = ServingDouble(model_config_file=cls.fixture.config_path).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        super().tearDownClass()


class RealServerMixin:
    """Runs a test class against the real `tensorflow_model_server` (with `requires_real_server`)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fixture = ModelFixture.get()
        grpc_port, rest_port = free_port(), free_port()
        cls.process = subprocess.Popen(
            [
                shutil.which("tensorflow_model_server"),
                f"--port={grpc_port}",
                f"--rest_api_port={rest_port}",
                f"--model_config_file={cls.fixture.config_path}",
                "--allow_version_labels_for_unavailable_models=true",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cls.server = types.SimpleNamespace(
            rest_address=f"127.0.0.1:{rest_port}", grpc_address=f"127.0.0.1:{grpc_port}"
        )
        cls._wait_until_ready()

    @classmethod
    def _wait_until_ready(cls, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://{cls.server.rest_address}/v1/models/{MODEL}", timeout=2
                ) as reply:
                    if len(json.loads(reply.read())["model_version_status"]) == 2:
                        return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        cls.process.kill()
        raise RuntimeError("tensorflow_model_server did not become ready")

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        cls.process.wait(timeout=30)
        super().tearDownClass()
