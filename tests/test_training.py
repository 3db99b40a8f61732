"""The fit loop: replica invariance, seeding, resume, divergence, TensorBoard output."""

import glob
import os
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import run_command, tiny_config, write_npz
from tensorboard.backend.event_processing import event_accumulator

from tfgen import config as config_lib
from tfgen import runs, training
from tfgen.models import VAE
from tfgen.runs.callbacks import EpochCheckpoint

REPO = Path(__file__).resolve().parents[1]


def weights(model):
    return [v.numpy() for v in model.trainable_variables]


@pytest.mark.slow
class TrainTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = write_npz(self.tmp)

    def train(self, name, **overrides):
        return training.train(
            tiny_config("vae", self.npz, **overrides), run_dir=self.tmp / name, verbose=0
        )

    def test_same_seed_same_first_epoch_loss(self):
        a = self.train("a", epochs=1)
        b = self.train("b", epochs=1)
        c = self.train("c", epochs=1, seed=4)
        self.assertEqual(a.history["loss"], b.history["loss"])
        self.assertNotEqual(a.history["loss"], c.history["loss"])

    def test_resume_after_one_epoch_equals_uninterrupted_run(self):
        straight = self.train("straight", epochs=2)
        self.train("resumed", epochs=1)
        resumed = self.train("resumed", epochs=2)
        self.assertEqual(resumed.initial_epoch, 1)
        self.assertEqual(int(resumed.model.optimizer.iterations.numpy()), 4)
        for a, b in zip(weights(straight.model), weights(resumed.model)):
            self.assertAllEqual(a, b)
        self.assertEqual(straight.history["loss"][1], resumed.history["loss"][0])

    def test_your_callbacks_run_beside_tfgen_and_may_stop_training(self):
        log = self.tmp / "history.csv"
        # No epoch improves on the first by min_delta: EarlyStopping stops after the second.
        stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=1)
        result = training.train(
            tiny_config("vae", self.npz, epochs=3),
            run_dir=self.tmp / "stopped",
            verbose=0,
            callbacks=[keras.callbacks.CSVLogger(str(log)), stop],
        )
        self.assertLen(result.history["loss"], 2)
        self.assertLen(log.read_text().splitlines(), 3)  # A header and two epochs.
        self.assertEqual(runs.load(self.tmp / "stopped").epoch, 2)  # Its checkpoints are kept.

    def test_finished_run_trains_nothing_more(self):
        first = self.train("done", epochs=1)
        again = self.train("done", epochs=1)
        self.assertEqual(again.history, {})
        for a, b in zip(weights(first.model), weights(again.model)):
            self.assertAllEqual(a, b)

    def test_only_the_last_checkpoints_are_kept(self):
        self.train("keep", epochs=3, steps_per_epoch=1, checkpoints_to_keep=2)
        names = sorted(p.name for p in (self.tmp / "keep" / "checkpoints").glob("ckpt-*.index"))
        self.assertEqual(names, ["ckpt-2.index", "ckpt-3.index"])

    def test_run_dir_refuses_a_different_config(self):
        self.train("run", epochs=1)
        with self.assertRaisesRegex(config_lib.ConfigError, "differs in: latent_dim"):
            self.train("run", epochs=1, latent_dim=3)

    def test_run_dir_contents_and_load_run(self):
        result = self.train("run", epochs=1)
        run = self.tmp / "run"
        for name in ("config.yaml", "dataset_info.json", "samples.png", "model.keras"):
            self.assertTrue((run / name).exists(), name)
        model, config, info, epoch = runs.load(run)
        self.assertEqual((config.latent_dim, info.shape, epoch), (2, (8, 8, 1), 1))
        for a, b in zip(weights(result.model), weights(model)):
            self.assertAllEqual(a, b)
        loaded = keras.models.load_model(run / "model.keras")
        images = np.zeros((2, 8, 8, 1), "float32")
        self.assertAllClose(loaded(images), result.model(images))

    def test_tensorboard_event_files_hold_scalars_images_and_config(self):
        self.train("tb", epochs=2)
        logs = self.tmp / "tb" / "logs"

        def load(subdir):
            acc = event_accumulator.EventAccumulator(
                str(logs / subdir), size_guidance={"tensors": 0}
            )
            acc.Reload()
            return acc

        train_tags = load("train").Tags()["tensors"]
        for tag in ("epoch_loss", "epoch_distortion", "epoch_rate"):
            self.assertIn(tag, train_tags)
        validation = load("validation")
        self.assertIn("epoch_loss", validation.Tags()["tensors"])
        self.assertLen(validation.Tensors("epoch_loss"), 2)
        images = load("images")
        self.assertCountEqual(images.Tags()["tensors"], ["prior_samples", "reconstructions"])
        self.assertLen(images.Tensors("prior_samples"), 2)
        config_text = load("config").Tensors("config")[0].tensor_proto.string_val[0].decode()
        self.assertIn("latent_dim: 2", config_text)

    def test_diverging_loss_raises_and_keeps_no_bad_checkpoint(self):
        with self.assertRaisesRegex(training.TrainingDiverged, "NaN or infinite in epoch 1"):
            self.train("nan", epochs=2, learning_rate=1e12)
        self.assertIsNone(tf.train.latest_checkpoint(str(self.tmp / "nan" / "checkpoints")))


class EpochCheckpointTest(tf.test.TestCase):
    def test_nan_epoch_is_not_saved_and_stops_training(self):
        keras.utils.set_random_seed(0)
        model = VAE(image_shape=(8, 8, 1), latent_dim=2, filters=2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.build_optimizers()
        epoch = tf.Variable(0, dtype=tf.int64)
        directory = self.create_tempdir().full_path
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(model=model, epoch=epoch, optimizer=model.optimizer), directory, 3
        )
        good = np.full((8, 8, 8, 1), 0.5, "float32")
        batches = tf.data.Dataset.from_tensor_slices(np.stack([good, good * np.nan, good]))
        saver = EpochCheckpoint(manager, epoch)
        model.fit(batches, epochs=3, steps_per_epoch=1, callbacks=[saver], verbose=0)
        self.assertEqual(saver.diverged_in_epoch, 1)
        self.assertEqual(manager.checkpoints, [os.path.join(directory, "ckpt-1")])
        self.assertEqual(int(epoch.numpy()), 1)


@pytest.mark.slow
class FitCommandTest(tf.test.TestCase):
    """`python -m tfgen.fit --model vae` on real binarized MNIST, capped to a few steps (run in
    this process: the interrupt tests below start real processes)."""

    def test_fit_prints_run_dir_tensorboard_and_png_then_resumes(self):
        run_dir = Path(self.create_tempdir().full_path) / "run"
        args = [
            "--model",
            "vae",
            "--run-dir",
            str(run_dir),
            "--set",
            "epochs=1",
            "--set",
            "steps_per_epoch=3",
            "--set",
            "validation_steps=2",
        ]
        result = run_command("tfgen.fit", *args)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn(f"run directory: {run_dir}", result.stdout)
        self.assertIn(f"tensorboard --logdir {run_dir / 'logs'}", result.stdout)
        self.assertIn(f"samples:       {run_dir / 'samples.png'}", result.stdout)
        png = tf.io.decode_png(tf.io.read_file(str(run_dir / "samples.png")))
        self.assertEqual(png.shape, (8 * 28, 8 * 28, 1))
        self.assertLen(glob.glob(str(run_dir / "checkpoints" / "ckpt-1.index")), 1)
        again = run_command("tfgen.fit", *args)
        self.assertEqual(again.returncode, 0, again.stderr[-3000:])
        self.assertIn("already finished 1 epochs", again.stdout)
