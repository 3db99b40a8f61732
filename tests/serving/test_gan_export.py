"""Exporting GAN runs: generate/sample signatures, TFLite parity, loading without tfgen."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfgen import config as config_lib
from tfgen import serving, training
from tfgen.models import CGANConfig

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow

NUM_CLASSES = 10

LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(sys.argv[1])
    z = np.load(sys.argv[2])["z"]
    outputs = {
        "generate": loaded.signatures["generate"](
            z=tf.constant(z), labels=tf.constant([0, 1, 2, 9], tf.int32))["images"].numpy(),
        "sample_label3": loaded.signatures["sample"](
            num=tf.constant(4), seed=tf.constant(7), label=tf.constant(3))["images"].numpy(),
        "serving_default": loaded.signatures["serving_default"](
            num=tf.constant(4), seed=tf.constant(7), label=tf.constant(-1))["images"].numpy(),
    }
    try:
        loaded.signatures["generate"](z=tf.constant(z), labels=tf.constant([0, 1, 2, 10]))
        error = ""
    except tf.errors.InvalidArgumentError as e:
        error = e.message
    np.savez(sys.argv[3], **outputs)
    print(json.dumps({"error": error,
                      "tfgen_imported": any(m.split(".")[0] == "tfgen" for m in sys.modules)}))
""")


def train_tiny_labelled_run(directory, config_class, size, labels, train=32, test=16, **overrides):
    """A 2-step run in `directory/run` on random `size`x`size` images, labels 0..`labels`-1."""
    rng = np.random.default_rng(0)
    npz = Path(directory) / "digits.npz"
    np.savez(
        npz,
        x_train=rng.integers(0, 256, (train, size, size), dtype=np.uint8),
        y_train=np.arange(train) % labels,
        y_test=np.arange(test) % labels,
        x_test=rng.integers(0, 256, (test, size, size), dtype=np.uint8),
    )
    config = config_lib.resolve(
        config_class,
        dict(
            dataset=f"npz:{npz}",
            epochs=1,
            steps_per_epoch=2,
            validation_steps=1,
            sample_grid_size=2,
            **overrides,
        ),
    )
    return training.train(config, run_dir=Path(directory) / "run", verbose=0)


class CGANExportTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="gan-export-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.result = train_tiny_labelled_run(
            cls.tmp, CGANConfig, size=8, labels=NUM_CLASSES, batch_size=8, latent_dim=4, filters=2
        )
        cls.report = serving.export_run(
            cls.result.run_dir,
            out=cls.tmp / "models",
            tflite=True,
            quantizations=list(serving.QUANTIZATIONS),
        )

    def test_signatures(self):
        signatures = self.report.signatures
        self.assertEqual(sorted(signatures), ["generate", "sample", "serving_default"])
        self.assertEqual(self.report.serving_default, "sample")
        generate = signatures["generate"]
        self.assertEqual(serving.format_spec(generate["inputs"]["z"]), "float32 [?, 4]")
        self.assertEqual(serving.format_spec(generate["inputs"]["labels"]), "int32 [?]")
        self.assertEqual(serving.format_spec(generate["outputs"]["images"]), "float32 [?, 8, 8, 1]")
        self.assertEqual(sorted(signatures["sample"]["inputs"]), ["label", "num", "seed"])
        documented = (self.report.version_dir / "signatures.md").read_text()
        self.assertIn("| `labels` | int32 | [?] |", documented)
        self.assertIn("| `label` | int32 | [] (scalar) |", documented)

    def test_tflite_generate_matches_the_saved_model(self):
        names = sorted(path.name for path in self.report.tflite)
        self.assertEqual(names, [f"generate.{q}.tflite" for q in sorted(serving.QUANTIZATIONS)])
        for path, parity in self.report.tflite.items():
            self.assertLess(parity.max_abs, 1e-4 if "float32" in path.name else 5e-2, path.name)

    def test_fresh_process_without_tfgen_generates_the_requested_classes(self):
        work = self.tmp / "fresh"
        work.mkdir(exist_ok=True)
        z = np.random.default_rng(1).standard_normal((4, 4)).astype("float32")
        np.savez(work / "z.npz", z=z)
        (work / "load.py").write_text(LOAD_SCRIPT)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        result = subprocess.run(
            [sys.executable, "load.py", str(self.report.version_dir.resolve()), "z.npz", "out.npz"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        report = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertFalse(report["tfgen_imported"])
        self.assertIn("labels must be in [0, 10)", report["error"])
        out = np.load(work / "out.npz")
        model = self.result.model
        self.assertAllClose(out["generate"], model.generate(z, [0, 1, 2, 9]), atol=1e-6)
        self.assertAllClose(
            out["sample_label3"], model.sample_images(4, 7, labels=[3] * 4), atol=1e-6
        )
        self.assertAllClose(out["serving_default"], model.sample_images(4, 7), atol=1e-6)
