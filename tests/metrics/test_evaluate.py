"""`tfgen.evaluate`: metrics of real runs, metrics.json, reference caching, extractors, CLI."""

import json
import os
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import run_command
from test_classifier import write_bands_npz

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import evaluation, models, runs, training
from tfgen.metrics import extractors, fid_from_features

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, env=None):
    with mock.patch.dict(os.environ, env or {}):
        return run_command("tfgen.evaluate", *args)


class EvaluateTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(cls.create_tempdir_for_class())
        cls.env = mock.patch.dict(os.environ, {"TFGEN_DATA_DIR": str(cls.tmp / "cache")})
        cls.env.start()
        cls.dataset = write_bands_npz(cls.tmp)
        config = config_lib.resolve(
            models.VAEConfig,
            {
                "dataset": cls.dataset,
                "batch_size": 16,
                "epochs": 1,
                "latent_dim": 2,
                "filters": 2,
                "sample_grid_size": 2,
            },
        )
        cls.run_dir = cls.tmp / "vae"
        training.train(config, run_dir=cls.run_dir, verbose=0)

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()
        super().tearDownClass()

    @classmethod
    def create_tempdir_for_class(cls):
        import tempfile

        return tempfile.mkdtemp(prefix="tfgen-evaluate-")

    def test_every_vae_metric_is_written_with_its_provenance(self):
        result = evaluation.evaluate_run(
            self.run_dir, num_samples=64, importance_samples=20, seed=1
        )
        values = result.values
        for name in (
            "fid",
            "kid",
            "kid_std",
            "is",
            "is_std",
            "precision",
            "recall",
            "density",
            "coverage",
            "negative_elbo",
            "nll",
        ):
            self.assertIn(name, values)
            self.assertTrue(np.isfinite(values[name]), name)
        self.assertLessEqual(values["nll"], values["negative_elbo"] + 1.0)  # K=20 vs K=1.
        record = json.loads((self.run_dir / "metrics.json").read_text())
        self.assertEqual(record["num_samples"], 64)
        self.assertEqual(record["reference_split"], "test")
        self.assertIn("test accuracy", record["extractor_description"])
        self.assertIn("tfgen_version", record)
        self.assertEqual(record["metrics"]["nll_examples"], 60)
        # The extractor is named by its dataset and its weights.
        extractor = extractors.get_extractor("classifier", self.dataset)
        classifier = extractor.classifier
        self.assertEqual(
            record["extractor"],
            f"classifier-{classifier.fingerprint[:12]}-{classifier.weights_digest[:8]}",
        )

        # FID equals a direct computation on the same features.
        reference = extractors.reference_features(self.dataset, "test", extractor)
        self.assertEqual(reference["features"].shape, (60, 128))
        model, *_ = runs.load(self.run_dir)
        fake = extractor.outputs(model.sample_images(64, 1 * 1_000_003))[0]
        self.assertAllClose(
            values["fid"], fid_from_features(reference["features"], fake), rtol=1e-5
        )

        # A later evaluation of one group keeps the other values of the same setting.
        again = evaluation.evaluate_run(self.run_dir, groups="fid", num_samples=64, seed=1)
        self.assertAllClose(again.record["metrics"]["fid"], values["fid"], rtol=1e-6)
        self.assertIn("nll", again.record["metrics"])

    def test_cli_table_and_bad_requests(self):
        env = {"TFGEN_DATA_DIR": str(self.tmp / "cache")}
        result = run_cli(
            "--run", str(self.run_dir), "--metrics", "fid,pr", "--num-samples", "32", env=env
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertIn("| fid |", result.stdout)
        self.assertIn("| recall |", result.stdout)
        self.assertIn("32 generated vs the test split", result.stdout)
        wrong = run_cli("--run", str(self.run_dir), "--metrics", "ppl", env=env)
        self.assertEqual(wrong.returncode, 2)
        self.assertIn("do not apply to VAE; valid for it: fid, kid, is, pr, dc, nll", wrong.stderr)
        unknown = run_cli("--run", str(self.run_dir), "--metrics", "fdi", env=env)
        self.assertIn(
            "unknown metric group(s) 'fdi'; valid: fid, kid, is, pr, dc, nll, ppl", unknown.stderr
        )

    def test_inception_extractor_reads_local_weights_only(self):
        home = self.tmp / "keras-home"
        with mock.patch.dict(os.environ, {"KERAS_HOME": str(home)}):
            with self.assertRaisesRegex(FileNotFoundError, "--inception-weights PATH"):
                extractors.get_extractor("inception", self.dataset)
        # Random weights saved locally stand in for the ImageNet file (nothing downloads).
        path = home / "inception_notop.weights.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        keras.applications.InceptionV3(
            weights=None, include_top=False, pooling="avg", input_shape=(299, 299, 3)
        ).save_weights(path)
        extractor = extractors.get_extractor("inception", self.dataset, inception_weights=path)
        self.assertFalse(extractor.has_probabilities)
        model, *_ = runs.load(self.run_dir)
        values = evaluation.sample_quality(model, self.dataset, ["fid"], extractor, num_samples=8)
        self.assertTrue(np.isfinite(values["fid"]))
        reference = extractors.reference_features(self.dataset, "test", extractor)
        self.assertEqual(reference["features"].shape, (60, 2048))
        with self.assertRaisesRegex(ValueError, "Inception Score needs class probabilities"):
            evaluation.sample_quality(model, self.dataset, ["is"], extractor, num_samples=8)

    def test_samples_of_a_larger_resolution_are_framed_like_the_dataset(self):
        # A 32x32 model trained on padded images: its samples are cropped back before the
        # extractor, so the padded test images themselves are at FID 0 and precision 1.
        examples, info = data_lib.load(self.dataset, "test")
        real = np.stack([example["image"].numpy() for example in examples])
        padded = tf.image.pad_to_bounding_box(real, 2, 2, info.shape[0] + 4, info.shape[1] + 4)

        class PaddedTestImages:
            def sample_images(self, num, seed):
                return padded[:num]

        extractor = extractors.get_extractor("classifier", self.dataset)
        values = evaluation.sample_quality(
            PaddedTestImages(),
            self.dataset,
            ["fid", "pr"],
            extractor,
            num_samples=len(real),
            image_fit="pad",
        )
        self.assertAllClose(values["fid"], 0.0, atol=1e-3)
        self.assertAllClose(values["precision"], 1.0)
        resized = evaluation.sample_quality(
            PaddedTestImages(),
            self.dataset,
            ["fid"],
            extractor,
            num_samples=len(real),
            image_fit="resize",
        )
        self.assertGreater(resized["fid"], 0.1)  # Shrunk digits are not the test images.

    def test_training_measures_fid_and_keeps_the_best_epoch(self):
        config = config_lib.resolve(
            models.VAEConfig,
            {
                "dataset": self.dataset,
                "batch_size": 16,
                "epochs": 3,
                "latent_dim": 2,
                "filters": 2,
                "sample_grid_size": 2,
                "eval_every_epochs": 1,
                "eval_metrics": "fid,pr",
                "eval_num_samples": 32,
                "best_metric": "fid",
            },
        )
        run = self.tmp / "vae-best"
        history = training.train(config, run_dir=run, verbose=0).history
        self.assertLen(history["fid"], 3)
        self.assertLen(history["recall"], 3)
        best_epoch = int(np.argmin(history["fid"])) + 1
        record = json.loads((run / "checkpoints" / "best" / "best.json").read_text())
        self.assertEqual(record["epoch"], best_epoch)
        self.assertAllClose(record["value"], min(history["fid"]))
        self.assertFalse(record["higher_is_better"])
        # The best checkpoint holds that epoch's weights and counter.
        model, _, _, epoch = runs.load(run, checkpoint="best")
        self.assertEqual(epoch, best_epoch)
        values = evaluation.sample_quality(
            model,
            self.dataset,
            ["fid"],
            extractors.get_extractor("classifier", self.dataset),
            num_samples=32,
            seed=config.seed,
        )
        self.assertAllClose(values["fid"], record["value"], rtol=1e-4)
        # TensorBoard got the values through Keras' own callback.
        from tensorboard.backend.event_processing import event_accumulator

        acc = event_accumulator.EventAccumulator(
            str(run / "logs" / "train"), size_guidance={"tensors": 0}
        )
        acc.Reload()
        self.assertLen(acc.Tensors("epoch_fid"), 3)


if __name__ == "__main__":
    tf.test.main()
