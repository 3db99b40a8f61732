"""TFLite conversion of the on-device endpoints, LiteRT parity, and `export_run` end to end."""

import contextlib
import io
import json
import math
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from support import tiny_config, write_npz

from tfgen import config as config_lib
from tfgen import serving, training
from tfgen.cli import export as export_cli
from tfgen.models import VAE, VAEConfig

LATENT_DIM = 4


class TFLiteTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(5)
        cls.model = VAE(image_shape=(28, 28, 1), latent_dim=LATENT_DIM, filters=4)
        cls.base = Path(tempfile.mkdtemp(prefix="tflite-test-"))
        cls.addClassCleanup(shutil.rmtree, cls.base, ignore_errors=True)
        cls.seen_before_publish = []

        def convert(tmp_dir):
            cls.seen_before_publish = serving.write_tflite_files(
                tmp_dir, cls.model.tflite_endpoints, list(serving.QUANTIZATIONS)
            )

        cls.version_dir = serving.export_saved_model(
            cls.model, cls.base, "vae", before_publish=convert
        )
        cls.files = {
            q: cls.version_dir / serving.TFLITE_DIR / f"decode.{q}.tflite"
            for q in serving.QUANTIZATIONS
        }
        cls.parity = serving.tflite_parity(
            cls.version_dir, cls.files.values(), batch_size=8, seed=0
        )

    def test_files_are_published_with_the_version(self):
        self.assertEqual(
            sorted(p.name for p in (self.version_dir / "tflite").iterdir()),
            ["decode.dynamic_range.tflite", "decode.float16.tflite", "decode.float32.tflite"],
        )
        # Written inside the hidden temporary directory, visible only after the rename.
        self.assertTrue(
            all(p.parent.parent.name.startswith(".tmp-") for p in self.seen_before_publish)
        )
        self.assertEqual(sorted(p.name for p in self.version_dir.parent.iterdir()), ["1"])

    def test_version_directory_stays_a_loadable_saved_model(self):
        self.assertTrue(tf.saved_model.contains_saved_model(str(self.version_dir)))
        loaded = tf.saved_model.load(str(self.version_dir))
        z = tf.random.stateless_normal([2, LATENT_DIM], seed=[1, 2])
        self.assertAllClose(
            loaded.signatures["decode"](z=z)["pixel_means"], self.model.pixel_means(z), atol=1e-6
        )

    def test_litert_signature_keeps_names_and_a_dynamic_batch(self):
        interpreter = Interpreter(model_path=str(self.files["float32"]))
        self.assertEqual(
            interpreter.get_signature_list(),
            {"decode": {"inputs": ["z"], "outputs": ["pixel_means"]}},
        )
        self.assertAllEqual(interpreter.get_input_details()[0]["shape_signature"], [-1, LATENT_DIM])

    def test_float32_parity(self):
        parity = self.parity[self.files["float32"]]
        self.assertLess(parity.max_abs, 1e-5)
        self.assertLessEqual(parity.mean_abs, parity.max_abs)

    def test_quantized_parity_is_loose_but_finite(self):
        for quantization in ("dynamic_range", "float16"):
            parity = self.parity[self.files[quantization]]
            self.assertTrue(math.isfinite(parity.max_abs), quantization)
            self.assertLess(parity.max_abs, 0.05, quantization)
            self.assertBetween(parity.mean_abs, 0.0, parity.max_abs)
        # Quantization changes the numbers, but not beyond recognition.
        self.assertGreater(self.parity[self.files["dynamic_range"]].mean_abs, 0.0)

    def test_parity_at_other_batch_sizes(self):
        for batch_size in (1, 3):
            parity = serving.tflite_parity(
                self.version_dir, [self.files["float32"]], batch_size=batch_size, seed=1
            )
            self.assertLess(parity[self.files["float32"]].max_abs, 1e-5, batch_size)

    def test_litert_matches_the_keras_model(self):
        z = np.random.default_rng(3).standard_normal((5, LATENT_DIM)).astype("float32")
        runner = Interpreter(model_path=str(self.files["float32"])).get_signature_runner("decode")
        self.assertAllClose(runner(z=z)["pixel_means"], self.model.pixel_means(z), atol=1e-5)

    def test_fixed_batch_files_take_that_batch_and_keep_parity(self):
        out_dir = self.create_tempdir().full_path
        (path,) = serving.write_tflite_files(
            self.version_dir, ["decode"], ["float32"], out_dir=out_dir, batch_size=2
        )
        self.assertEqual(path.name, "decode.float32.batch2.tflite")
        interpreter = Interpreter(model_path=str(path))
        self.assertAllEqual(interpreter.get_input_details()[0]["shape_signature"], [2, LATENT_DIM])
        # The parity check runs the file at its own batch, whatever batch_size it is given.
        parity = serving.tflite_parity(self.version_dir, [path], batch_size=8)[path]
        self.assertLess(parity.max_abs, 1e-5)
        z = np.random.default_rng(4).standard_normal((2, LATENT_DIM)).astype("float32")
        runner = interpreter.get_signature_runner("decode")
        self.assertAllClose(runner(z=z)["pixel_means"], self.model.pixel_means(z), atol=1e-5)
        with self.assertRaisesRegex(ValueError, "batch_size must be at least 1"):
            serving.convert(self.version_dir, "decode", batch_size=0)

    def test_unknown_quantization_names_the_valid_ones(self):
        with self.assertRaisesRegex(ValueError, "'int8'.*float32, dynamic_range, float16"):
            serving.write_tflite_files(
                self.version_dir,
                ["decode"],
                ["float32", "int8"],
                out_dir=self.create_tempdir().full_path,
            )

    def test_random_inputs_follow_the_specs_and_the_seed(self):
        specs = {"z": tf.TensorSpec([None, 3], tf.float32), "num": tf.TensorSpec([], tf.int32)}
        a = serving.random_inputs(specs, batch_size=6, seed=0)
        self.assertEqual(a["z"].shape, (6, 3))
        self.assertEqual(a["z"].dtype, np.float32)
        self.assertEqual(a["num"].shape, ())
        self.assertAllEqual(a["z"], serving.random_inputs(specs, batch_size=6, seed=0)["z"])
        self.assertNotAllClose(a["z"], serving.random_inputs(specs, batch_size=6, seed=1)["z"])


def train_tiny_run(test_class, prefix):
    """`(tmp_dir, run_dir, model)`: a one-epoch, two-step VAE run in a temporary directory
    that is removed after `test_class`'s tests."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    test_class.addClassCleanup(shutil.rmtree, tmp, ignore_errors=True)
    config = tiny_config(
        "vae",
        write_npz(tmp, train=32),
        epochs=1,
        validation_steps=1,
        lr_schedule=config_lib.resolve(VAEConfig).lr_schedule,  # The family's default.
    )
    run_dir = tmp / "vae-tiny"
    return tmp, run_dir, training.train(config, run_dir=run_dir, verbose=0).model


@pytest.mark.slow
class ExportRunTest(tf.test.TestCase):
    """A real (one-epoch, two-step) run from the fit loop, exported by the library and the CLI."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp, cls.run_dir, cls.trained = train_tiny_run(cls, "export-run-test-")

    def test_export_run_with_all_quantizations(self):
        out = self.tmp / "models-lib"
        report = serving.export_run(
            self.run_dir, out=out, tflite=True, quantizations=list(serving.QUANTIZATIONS)
        )
        self.assertEqual(report.version_dir, out / "vae-tiny" / "1")
        self.assertEqual(report.model_dir, out / "vae-tiny")
        self.assertEqual((report.version, report.epoch, report.serving_default), (1, 1, "sample"))
        self.assertIn("serving_default", report.signatures)
        self.assertEqual(
            [p.name for p in report.tflite],
            ["decode.float32.tflite", "decode.dynamic_range.tflite", "decode.float16.tflite"],
        )
        self.assertTrue(all(p.is_file() for p in report.tflite))
        float32 = report.tflite[report.version_dir / "tflite" / "decode.float32.tflite"]
        self.assertLess(float32.max_abs, 1e-5)
        self.assertTrue(all(math.isfinite(p.max_abs) for p in report.tflite.values()))
        saved = json.loads((report.version_dir / "tflite" / "parity.json").read_text())
        self.assertEqual(
            saved["files"]["decode.float32.tflite"],
            {"max_abs_difference": float32.max_abs, "mean_abs_difference": float32.mean_abs},
        )
        self.assertLen(saved["files"], 3)
        # The exported weights are the trained ones.
        loaded = tf.saved_model.load(str(report.version_dir))
        z = tf.constant([[0.5, -1.0]])
        self.assertAllClose(
            loaded.signatures["decode"](z=z)["pixel_means"], self.trained.pixel_means(z), atol=1e-6
        )

    def test_cli_prints_version_signatures_and_parity(self):
        out = self.tmp / "models-cli"
        argv = [
            "--run",
            str(self.run_dir),
            "--out",
            str(out),
            "--name",
            "tiny",
            "--tflite",
            "float32,float16",
        ]
        with contextlib.redirect_stdout(io.StringIO()) as stdout:
            self.assertEqual(export_cli.main(argv), 0)
            self.assertEqual(export_cli.main(argv[:6]), 0)  # No TFLite: the next version.
        printed = stdout.getvalue()
        self.assertIn(f"exported:   {out / 'tiny' / '1'}", printed)
        self.assertIn(f"exported:   {out / 'tiny' / '2'}", printed)
        self.assertIn("  decode: z float32 [?, 2] -> pixel_means float32 [?, 8, 8, 1]", printed)
        self.assertIn(
            "  serving_default (= sample): num int32 [], seed int32 [] -> images "
            "float32 [?, 8, 8, 1]",
            printed,
        )
        self.assertRegex(
            printed,
            r"decode\.float16\.tflite  [0-9.]+ KiB  difference vs "
            r"SavedModel: max abs [0-9.e-]+, mean abs [0-9.e-]+",
        )
        self.assertEqual(
            sorted(p.name for p in (out / "tiny" / "1" / "tflite").iterdir()),
            ["decode.float16.tflite", "decode.float32.tflite", "parity.json"],
        )
        self.assertFalse((out / "tiny" / "2" / "tflite").exists())
