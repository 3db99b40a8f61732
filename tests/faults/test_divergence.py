"""A NaN loss: the report names the global step and the metric; no backup of that state."""

from pathlib import Path

import fault_runs
import keras
import numpy as np
import tensorflow as tf

from tfgen.models import VAE
from tfgen.runs.callbacks import EpochCheckpoint, StepBackup
from tfgen.runs.checkpoints import RunCheckpoints


class NonFiniteStepTest(tf.test.TestCase):
    def test_nan_step_is_reported_and_never_backed_up(self):
        keras.utils.set_random_seed(0)
        model = VAE(image_shape=(8, 8, 1), latent_dim=2, filters=2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.build_optimizers()
        epoch = tf.Variable(0, dtype=tf.int64)
        checkpoint = tf.train.Checkpoint(model=model, epoch=epoch, optimizer=model.optimizer)
        checkpoints = RunCheckpoints(
            Path(self.create_tempdir().full_path), checkpoint, checkpoint, keep=3
        )
        good = np.full((8, 8, 8, 1), 0.5, "float32")
        batches = [good] * 5 + [good * np.nan] + [good] * 4  # Step 6 (counted from 1) is NaN.
        saver = EpochCheckpoint(checkpoints.epochs, epoch)
        backup = StepBackup(checkpoints, steps_per_epoch=10, every_steps=2)
        model.fit(
            tf.data.Dataset.from_tensor_slices(np.stack(batches)),
            epochs=1,
            steps_per_epoch=10,
            callbacks=[saver, backup],
            verbose=0,
        )

        self.assertEqual((saver.divergence.epoch, saver.divergence.step), (0, 6))
        self.assertCountEqual(saver.divergence.values, ["loss", "distortion", "rate"])
        self.assertIn("'loss' (nan)", str(saver.divergence))
        self.assertIn("became NaN or infinite in epoch 1 at global step 6", str(saver.divergence))
        self.assertEqual(
            checkpoints.latest(steps_per_epoch=10), (checkpoints.backups.latest_checkpoint, 4)
        )  # Steps 2 and 4, not 6+.
        self.assertIsNone(checkpoints.epochs.latest_checkpoint)


class DivergedFitCommandTest(tf.test.TestCase):
    def test_fit_exits_1_naming_the_step_and_metric(self):
        tmp = Path(self.create_tempdir().full_path)
        npz = fault_runs.write_npz(tmp)
        args = fault_runs.fit_args("vae", npz, tmp / "run", learning_rate=1e12)
        code, stderr = fault_runs.run_in_this_process(args)
        self.assertEqual(code, 1)
        self.assertRegex(
            stderr,
            r"error: '(loss|distortion|rate)' \((nan|-?inf)\).* "
            r"became NaN or infinite in epoch 1 at global step \d",
        )
        self.assertIn("No checkpoint was written yet", stderr)
