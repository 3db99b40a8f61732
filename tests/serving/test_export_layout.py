"""The deployment folder: models.config kept up to date, signatures.md, --keep, kills mid-write."""

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2
from test_saved_model import TinyVAEExportCase, tiny_vae
from test_tflite import train_tiny_run

from tfgen import serving
from tfgen.cli import export as export_cli


def parse_config(path):
    return text_format.Parse(Path(path).read_text(), model_server_config_pb2.ModelServerConfig())


def entries(path):
    return {c.name: c for c in parse_config(path).model_config_list.config}


class ModelConfigTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.path = Path(self.create_tempdir().full_path) / "models.config"

    def test_created_with_one_entry_serving_the_latest_version(self):
        serving.update_model_config(self.path, "vae", "/srv/models/vae")
        (entry,) = parse_config(self.path).model_config_list.config
        self.assertEqual(
            (entry.name, entry.base_path, entry.model_platform),
            ("vae", "/srv/models/vae", "tensorflow"),
        )
        self.assertEqual(entry.model_version_policy.latest.num_versions, 1)
        self.assertStartsWith(self.path.read_text(), "# TensorFlow Serving model config")

    def test_updates_keep_other_models_and_user_settings(self):
        serving.update_model_config(self.path, "vae", "/a/vae")
        serving.update_model_config(self.path, "gpt", "/a/gpt")
        # A user pins versions and labels the vae entry by hand.
        config = parse_config(self.path)
        vae = config.model_config_list.config[0]
        vae.model_version_policy.specific.versions.extend([1, 2])
        vae.version_labels["stable"] = 1
        self.path.write_text(text_format.MessageToString(config))

        serving.update_model_config(self.path, "vae", "/b/vae")
        found = entries(self.path)
        self.assertEqual(sorted(found), ["gpt", "vae"])
        self.assertEqual(found["vae"].base_path, "/b/vae")
        self.assertEqual(list(found["vae"].model_version_policy.specific.versions), [1, 2])
        self.assertEqual(dict(found["vae"].version_labels), {"stable": 1})
        self.assertEqual(found["gpt"].base_path, "/a/gpt")

    def test_a_broken_file_is_reported_and_left_unchanged(self):
        self.path.write_text("model_config_list { config { nmae: 'x' } }")
        with self.assertRaisesRegex(
            ValueError,
            r"models\.config is not a valid TF Serving model "
            r"config: .*nmae",
        ):
            serving.update_model_config(self.path, "vae", "/a/vae")
        self.assertEqual(self.path.read_text(), "model_config_list { config { nmae: 'x' } }")


class VersionHousekeepingTest(TinyVAEExportCase):
    def test_keep_removes_the_oldest_versions(self):
        for _ in range(4):
            serving.export_saved_model(self.model, self.base, "vae")
        self.assertEqual(serving.remove_old_versions(self.base / "vae", keep=2), [1, 2])
        self.assertEqual(sorted(p.name for p in (self.base / "vae").iterdir()), ["3", "4"])
        with self.assertRaisesRegex(ValueError, "keep must be at least 1"):
            serving.remove_old_versions(self.base / "vae", keep=0)

    def test_the_next_export_removes_directories_of_dead_exports_only(self):
        model_dir = self.base / "vae"
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        abandoned = model_dir / f".tmp-{dead}-0123abcd"
        running = model_dir / f".tmp-{os.getppid()}-0123abcd"  # A live process's export.
        for directory in (abandoned, running):
            (directory / "variables").mkdir(parents=True)
        serving.export_saved_model(self.model, self.base, "vae")
        self.assertFalse(abandoned.exists())
        self.assertTrue(running.exists())

    def test_every_signature_declares_the_predict_method(self):
        version_dir = serving.export_saved_model(self.model, self.base, "vae")
        serving.check_predict_method(version_dir)
        methods = {d.method_name for d in serving.signature_defs(version_dir).values()}
        self.assertEqual(methods, {"tensorflow/serving/predict"})

    def test_signatures_markdown_lists_every_input_and_output(self):
        version_dir = serving.export_saved_model(self.model, self.base, "vae")
        text = serving.signatures_markdown(version_dir, "vae, version 1", "sample")
        for name in ("sample", "decode", "encode", "reconstruct", "serving_default"):
            self.assertIn(f"## `{name}`", text)
        self.assertIn("## `serving_default` (the same function as `sample`)", text)
        self.assertIn("| `z` | float32 | [?, 3] |", text)
        self.assertIn("| `num` | int32 | [] (scalar) |", text)
        self.assertIn("| `pixel_means` | float32 | [?, 8, 8, 1] |", text)
        self.assertEqual(text.count("Method: `tensorflow/serving/predict`"), 5)


@pytest.mark.slow
class ExportRunLayoutTest(tf.test.TestCase):
    """A real two-step run exported through the CLI into a deployment folder."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp, cls.run_dir, _ = train_tiny_run(cls, "export-layout-test-")

    def export(self, *flags):
        with contextlib.redirect_stdout(io.StringIO()) as stdout:
            self.assertEqual(export_cli.main(["--run", str(self.run_dir), *flags]), 0)
        return stdout.getvalue()

    def test_exports_update_the_config_document_signatures_and_keep_n(self):
        deploy = self.tmp / "deploy"
        out = deploy / "models"
        printed = ""
        for _ in range(3):
            printed = self.export("--out", str(out), "--keep", "2", "--tflite", "dynamic")
        self.assertEqual(serving.versions(out / "vae-tiny"), [2, 3])
        self.assertIn("removed:    versions 1 (--keep)", printed)
        self.assertIn(f"--model_config_file={deploy / 'models.config'}", printed)
        self.assertEqual(
            entries(deploy / "models.config")["vae-tiny"].base_path, str(out.resolve() / "vae-tiny")
        )
        version_dir = out / "vae-tiny" / "3"
        self.assertEqual(
            sorted(p.name for p in (version_dir / "tflite").iterdir()),
            ["decode.dynamic_range.tflite", "parity.json"],
        )
        self.assertIn(
            "| `pixel_means` | float32 | [?, 8, 8, 1] |",
            (version_dir / "signatures.md").read_text(),
        )

        # A second name, for a container whose models live under /models.
        self.export("--out", str(out), "--name", "other", "--serving-base-path", "/models/")
        found = entries(deploy / "models.config")
        self.assertEqual(sorted(found), ["other", "vae-tiny"])
        self.assertEqual(found["other"].base_path, "/models/other")

    def test_no_config_writes_none(self):
        out = self.tmp / "bare" / "models"
        self.export("--out", str(out), "--no-config")
        self.assertEqual(sorted(p.name for p in out.parent.iterdir()), ["models"])

    def test_killed_mid_write_leaves_no_version_and_the_next_export_succeeds(self):
        out = self.tmp / "killed" / "models"
        model_dir = out / "vae-tiny"
        # Killed while the SavedModel is being written, then while TFLite files are converted.
        for stage in ("saved_model", "tflite"):
            with self.subTest(killed_during=stage):
                self.kill_export_when(
                    out,
                    lambda tmp, stage=stage: stage == "saved_model" or (tmp / "tflite").exists(),
                )
                self.assertEqual(serving.versions(model_dir), [])
                self.assertEqual(
                    [p.name for p in model_dir.iterdir() if not p.name.startswith(".")], []
                )
                self.assertFalse((out.parent / "models.config").exists())
        self.export("--out", str(out), "--tflite")
        self.assertEqual(sorted(p.name for p in model_dir.iterdir()), ["1"])  # Leftovers removed.
        self.assertTrue(tf.saved_model.contains_saved_model(str(model_dir / "1")))

    def kill_export_when(self, out, ready):
        """Starts `python -m tfgen.export`, SIGKILLs it once a temporary dir satisfies `ready`."""
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfgen.export",
                "--run",
                str(self.run_dir),
                "--out",
                str(out),
                "--tflite",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline and process.poll() is None:
                temporary = list((out / "vae-tiny").glob(".tmp-*")) if out.exists() else []
                if temporary and ready(temporary[0]):
                    process.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.005)
        finally:
            process.kill()
            process.wait()
        self.assertEqual(
            process.returncode, -signal.SIGKILL, "the export ended before it could be killed"
        )


class NonFiniteWeightsTest(tf.test.TestCase):
    def test_export_refuses_nan_weights_naming_the_variable(self):
        model = tiny_vae()
        serving.check_finite_weights(model, "test model")  # Finite: no error.
        variable = next(v for v in model.trainable_variables if "kernel" in v.path)
        value = variable.numpy()
        value.flat[0] = float("nan")
        variable.assign(value)
        with self.assertRaisesRegex(
            ValueError,
            rf"the test model has NaN or infinite weights in "
            rf"1 variable\(s\) \({variable.path}\); nothing "
            rf"was exported",
        ):
            serving.check_finite_weights(model, "test model")
