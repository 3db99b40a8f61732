"""SavedModel export: TF Serving's version layout, signatures, loading without tfgen, the CLI."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen import serving
from tfgen.cli import export as export_cli
from tfgen.models import VAE

IMAGE_SHAPE = (8, 8, 1)
LATENT_DIM = 3
BIN_DIR = Path(sys.executable).parent


def _captured_stderr():
    return contextlib.redirect_stderr(io.StringIO())


def tiny_vae():
    keras.utils.set_random_seed(2)
    return VAE(image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM, filters=2)


class TinyVAEExportCase(tf.test.TestCase):
    """A tiny VAE shared by the class (`self.model`) and a fresh export base per test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = tiny_vae()

    def setUp(self):
        super().setUp()
        self.base = Path(self.create_tempdir().full_path)


class VersionLayoutTest(TinyVAEExportCase):
    def test_first_export_is_version_1(self):
        version_dir = serving.export_saved_model(self.model, self.base, "vae")
        self.assertEqual(version_dir, self.base / "vae" / "1")
        self.assertTrue(tf.saved_model.contains_saved_model(str(version_dir)))

    def test_next_version_after_existing_ones_ignoring_other_names(self):
        model_dir = self.base / "vae"
        for child in ("1", "2", ".tmp-1234-leftover", "latest"):
            (model_dir / child).mkdir(parents=True)
        (model_dir / "7").write_text("a file, not a version")
        (model_dir / ".tmp-1234-leftover" / "saved_model.pb").write_bytes(b"half-written")
        self.assertEqual(serving.versions(model_dir), [1, 2])

        version_dir = serving.export_saved_model(self.model, self.base, "vae")

        self.assertEqual(version_dir.name, "3")
        # The leftover is untouched and this export left no temporary directory.
        self.assertEqual(
            sorted(p.name for p in model_dir.iterdir()),
            [".tmp-1234-leftover", "1", "2", "3", "7", "latest"],
        )
        self.assertEqual(serving.next_version(model_dir), 4)

    def test_version_taken_meanwhile_takes_the_next_number(self):
        model_dir = self.base / "vae"

        def concurrent_export(tmp_dir):
            # Another exporter publishes version 1 while this one is writing.
            self.assertTrue(tmp_dir.name.startswith(serving.saved_model.TMP_PREFIX))
            self.assertEqual(serving.versions(model_dir), [])
            (model_dir / "1").mkdir()
            (model_dir / "1" / "saved_model.pb").write_bytes(b"someone else's")

        version_dir = serving.export_saved_model(
            self.model, self.base, "vae", before_publish=concurrent_export
        )

        self.assertEqual(version_dir.name, "2")
        self.assertEqual((model_dir / "1" / "saved_model.pb").read_bytes(), b"someone else's")
        self.assertTrue(tf.saved_model.contains_saved_model(str(version_dir)))

    def test_failed_export_publishes_nothing_and_cleans_up(self):
        def fail(tmp_dir):
            self.assertTrue((tmp_dir / "saved_model.pb").exists())
            raise RuntimeError("conversion failed")

        with self.assertRaisesRegex(RuntimeError, "conversion failed"):
            serving.export_saved_model(self.model, self.base, "vae", before_publish=fail)
        self.assertEqual(list((self.base / "vae").iterdir()), [])

    def test_name_must_be_one_path_component(self):
        for name in ("", "..", "a/b"):
            with self.assertRaisesRegex(ValueError, "one path component"):
                serving.export_saved_model(self.model, self.base, name)

    def test_serving_default_must_name_an_endpoint(self):
        class Misdeclared(VAE):
            serving_default = "generate"

        model = Misdeclared(image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM, filters=2)
        with self.assertRaisesRegex(ValueError, "'generate'.*sample, decode, encode, reconstruct"):
            serving.export_saved_model(model, self.base, "vae")
        self.assertEqual(serving.versions(self.base / "vae"), [])


# Runs in a fresh interpreter: only TensorFlow and NumPy, never tfgen.
FRESH_PROCESS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    version_dir, inputs_npz, outputs_npz = sys.argv[1:]
    loaded = tf.saved_model.load(version_dir)
    inputs = np.load(inputs_npz)
    calls = {
        "decode": {"z": inputs["z"]},
        "encode": {"images": inputs["images"]},
        "reconstruct": {"images": inputs["images"]},
        "sample_seed7": {"num": np.int32(5), "seed": np.int32(7)},
        "sample_seed7_again": {"num": np.int32(5), "seed": np.int32(7)},
        "sample_seed8": {"num": np.int32(5), "seed": np.int32(8)},
        "serving_default_seed7": {"num": np.int32(5), "seed": np.int32(7)},
    }
    outputs = {}
    for call, kwargs in calls.items():
        signature = call.split("_seed")[0]
        result = loaded.signatures[signature](**{k: tf.constant(v) for k, v in kwargs.items()})
        outputs.update({f"{call}/{k}": v.numpy() for k, v in result.items()})
    # Endpoints are also methods of the loaded object.
    outputs["method_decode/pixel_means"] = loaded.decode(tf.constant(inputs["z"]))["pixel_means"].numpy()
    np.savez(outputs_npz, **outputs)
    print(json.dumps({"signatures": sorted(loaded.signatures),
                      "tfgen_imported": any(m.split(".")[0] == "tfgen" for m in sys.modules)}))
""")


class LoadWithoutTfgenTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = tiny_vae()
        cls.tmp = Path(tempfile.mkdtemp(prefix="load_without_tfgen-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.version_dir = serving.export_saved_model(cls.model, cls.tmp, "vae")

    def test_saved_model_cli_lists_every_signature(self):
        result = subprocess.run(
            [str(BIN_DIR / "saved_model_cli"), "show", "--all", "--dir", str(self.version_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        for name in ("sample", "decode", "encode", "reconstruct", "serving_default"):
            self.assertIn(f"signature_def['{name}']", result.stdout)
        self.assertIn("inputs['z'] tensor_info", result.stdout)
        self.assertIn(f"shape: (-1, {LATENT_DIM})", result.stdout)
        self.assertIn("outputs['pixel_means'] tensor_info", result.stdout)
        self.assertIn("Method name is: tensorflow/serving/predict", result.stdout)

    def test_describe_signatures(self):
        described = serving.describe_signatures(self.version_dir)
        self.assertEqual(
            sorted(described), ["decode", "encode", "reconstruct", "sample", "serving_default"]
        )
        self.assertEqual(described["serving_default"], described["sample"])
        decode = described["decode"]
        self.assertEqual(serving.format_spec(decode["inputs"]["z"]), f"float32 [?, {LATENT_DIM}]")
        self.assertEqual(
            serving.format_spec(decode["outputs"]["pixel_means"]), "float32 [?, 8, 8, 1]"
        )
        self.assertEqual(sorted(described["encode"]["outputs"]), ["mean", "stddev"])
        self.assertEqual(serving.format_spec(described["sample"]["inputs"]["num"]), "int32 []")

    @pytest.mark.slow
    def test_fresh_process_without_tfgen_matches_the_keras_model(self):
        rng = np.random.default_rng(0)
        z = rng.standard_normal((4, LATENT_DIM)).astype("float32")
        images = rng.random((4, *IMAGE_SHAPE)).astype("float32")
        work = self.tmp / "fresh"
        work.mkdir(exist_ok=True)
        np.savez(work / "inputs.npz", z=z, images=images)
        (work / "load.py").write_text(FRESH_PROCESS_SCRIPT)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        result = subprocess.run(
            [
                sys.executable,
                "load.py",
                str(self.version_dir.resolve()),
                "inputs.npz",
                "outputs.npz",
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        report = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertFalse(report["tfgen_imported"])
        self.assertIn("serving_default", report["signatures"])
        out = np.load(work / "outputs.npz")

        posterior = self.model.encode(images)
        self.assertAllClose(out["decode/pixel_means"], self.model.pixel_means(z), atol=1e-6)
        self.assertAllClose(out["method_decode/pixel_means"], out["decode/pixel_means"], atol=0)
        self.assertAllClose(out["encode/mean"], posterior.mean(), atol=1e-6)
        self.assertAllClose(out["encode/stddev"], posterior.stddev(), atol=1e-6)
        self.assertAllClose(out["reconstruct/reconstructions"], self.model(images), atol=1e-6)
        samples = out["sample_seed7/images"]
        self.assertEqual(samples.shape, (5, *IMAGE_SHAPE))
        self.assertAllClose(samples, self.model.sample_images(5, 7), atol=1e-6)
        self.assertAllEqual(samples, out["sample_seed7_again/images"])
        self.assertAllEqual(samples, out["serving_default_seed7/images"])
        self.assertGreater(np.max(np.abs(samples - out["sample_seed8/images"])), 1e-4)


class ExportCliTest(tf.test.TestCase):
    def test_not_a_run_directory_exits_2(self):
        missing = Path(self.create_tempdir().full_path) / "no-such-run"
        with _captured_stderr() as stderr:
            code = export_cli.main(["--run", str(missing)])
        self.assertEqual(code, 2)
        self.assertIn("is not a run directory", stderr.getvalue())

    def test_unknown_quantization_exits_2_naming_the_valid_ones(self):
        run_dir = self.create_tempdir().full_path
        with _captured_stderr() as stderr, self.assertRaises(SystemExit) as exit_:
            export_cli.main(["--run", run_dir, "--tflite", "float32,int8"])
        self.assertEqual(exit_.exception.code, 2)
        self.assertIn(
            "unknown quantization 'int8'; valid: float32, dynamic_range, float16 "
            "(dynamic = dynamic_range)",
            stderr.getvalue(),
        )

    def test_missing_run_exits_2(self):
        with _captured_stderr() as stderr, self.assertRaises(SystemExit) as exit_:
            export_cli.main([])
        self.assertEqual(exit_.exception.code, 2)
        self.assertIn("--run", stderr.getvalue())

    @pytest.mark.slow
    def test_module_entry_point_exit_code(self):
        result = subprocess.run(
            [sys.executable, "-m", "tfgen.export", "--run", "/nonexistent/run"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(result.returncode, 2, result.stderr[-2000:])
        self.assertIn("error: /nonexistent/run is not a run directory", result.stderr)
