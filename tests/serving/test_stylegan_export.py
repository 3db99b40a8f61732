"""Exporting a StyleGAN run: truncation ψ in every signature, TFLite synthesis, no tfgen needed."""

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
from test_gan_export import train_tiny_labelled_run

from tfgen import serving
from tfgen.cli import sample as sample_cli
from tfgen.models import StyleGANConfig

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow

NUM_CLASSES = 3

LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(sys.argv[1])
    z = tf.constant(np.load(sys.argv[2])["z"])
    labels = tf.constant([0, 1, 2, 1], tf.int32)
    psi = tf.constant([1.0, 0.7, 0.5, 0.0])
    signatures = loaded.signatures
    w = signatures["mapping"](z=z, labels=labels, truncation_psi=psi)["w"]
    outputs = {
        "generate": signatures["generate"](z=z, labels=labels, truncation_psi=psi)["images"],
        "mapping": w,
        "sample": signatures["sample"](num=tf.constant(4), seed=tf.constant(7),
                                       label=tf.constant(2),
                                       truncation_psi=tf.constant(0.5))["images"],
        "serving_default": signatures["serving_default"](
            num=tf.constant(4), seed=tf.constant(7), label=tf.constant(-1),
            truncation_psi=tf.constant(1.0))["images"],
    }
    np.savez(sys.argv[3], **{name: value.numpy() for name, value in outputs.items()})
    print(json.dumps({"tfgen_imported": any(m.split(".")[0] == "tfgen" for m in sys.modules)}))
""")


class StyleGANExportTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="stylegan-export-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.result = train_tiny_labelled_run(
            cls.tmp,
            StyleGANConfig,
            size=6,
            labels=NUM_CLASSES,
            train=16,
            test=8,
            resolution=8,
            batch_size=4,
            latent_dim=4,
            w_dim=4,
            mapping_layers=2,
            channel_base=32,
            channel_max=4,
            mbstd_group_size=2,
            num_classes=NUM_CLASSES,
        )
        cls.report = serving.export_run(
            cls.result.run_dir, out=cls.tmp / "models", tflite=True, model_config=None
        )

    def test_every_image_signature_takes_truncation_psi(self):
        signatures = self.report.signatures
        self.assertEqual(
            sorted(signatures), ["generate", "mapping", "sample", "serving_default", "synthesis"]
        )
        for name, inputs in (
            ("generate", ["labels", "truncation_psi", "z"]),
            ("mapping", ["labels", "truncation_psi", "z"]),
            ("sample", ["label", "num", "seed", "truncation_psi"]),
        ):
            self.assertEqual(sorted(signatures[name]["inputs"]), inputs, name)
        # One ψ per row where z has rows (TF Serving's row format), a scalar for `sample`.
        self.assertEqual(
            serving.format_spec(signatures["generate"]["inputs"]["truncation_psi"]), "float32 [?]"
        )
        self.assertEqual(
            serving.format_spec(signatures["sample"]["inputs"]["truncation_psi"]), "float32 []"
        )
        self.assertEqual(
            serving.format_spec(signatures["generate"]["outputs"]["images"]), "float32 [?, 8, 8, 1]"
        )
        self.assertIn("`truncation_psi`", (self.report.version_dir / "signatures.md").read_text())

    def test_tflite_synthesis_matches_the_saved_model(self):
        self.assertEqual(
            sorted(path.name for path in self.report.tflite), ["synthesis.float32.tflite"]
        )
        for parity in self.report.tflite.values():
            self.assertLess(parity.max_abs, 1e-4)

    def test_fresh_process_without_tfgen_truncates_per_row(self):
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
        self.assertFalse(json.loads(result.stdout.strip().splitlines()[-1])["tfgen_imported"])
        out = np.load(work / "out.npz")
        model, labels = self.result.model, [0, 1, 2, 1]
        for row, psi in enumerate([1.0, 0.7, 0.5, 0.0]):
            self.assertAllClose(
                out["generate"][row],
                model.generate(z[row : row + 1], labels[row : row + 1], psi)[0],
                atol=1e-6,
            )
            self.assertAllClose(
                out["mapping"][row],
                model.map_z(z[row : row + 1], labels[row : row + 1], psi)[0],
                atol=1e-6,
            )
        w_avg = model.sampling_generator.mapping.w_avg
        self.assertAllClose(out["mapping"][3], w_avg, atol=1e-6)  # ψ = 0 is w_avg.
        self.assertAllClose(out["sample"], model.sample_images(4, 7, [2] * 4, 0.5), atol=1e-6)
        self.assertAllClose(out["serving_default"], model.sample_images(4, 7), atol=1e-6)
        self.assertNotAllClose(out["sample"], model.sample_images(4, 7, [2] * 4), atol=1e-4)

    def test_served_samples_take_truncation_psi_over_rest_and_grpc(self):
        from serving_double import ServingDouble

        from tfgen.serving.remote_sample import sample_images

        model = self.result.model
        expected = model.sample_images(2, 3, [1, 1], 0.7)
        with ServingDouble(models={"sg": str(self.report.version_dir.parent.resolve())}) as server:
            for client in (
                serving.RestClient(server.rest_address),
                serving.GrpcClient(server.grpc_address),
            ):
                images = sample_images(client, "sg", num=2, seed=3, label=1, truncation_psi=0.7)
                self.assertAllClose(images, expected, atol=1e-6)
                self.assertAllClose(
                    sample_images(client, "sg", num=2, seed=3), model.sample_images(2, 3), atol=1e-6
                )
            out = self.tmp / "served.png"
            code = sample_cli.main(
                [
                    "--server",
                    server.rest_address,
                    "--model",
                    "sg",
                    "--num",
                    "2",
                    "--seed",
                    "3",
                    "--label",
                    "1",
                    "--truncation-psi",
                    "0.7",
                    "--out",
                    str(out),
                ]
            )
            self.assertEqual(code, 0)
            self.assertEqual(tf.io.decode_png(tf.io.read_file(str(out))).shape, (8, 16, 1))


if __name__ == "__main__":
    tf.test.main()
