"""Resuming from a step backup in this process: text windows, two replicas, epoch means.

A finished run keeps its last step backup (in its last epoch). Deleting the epoch
checkpoint that followed it leaves the run directory as a kill after that backup
would have; training again must end with the finished run's state.
"""

from pathlib import Path

import fault_runs
import pytest
import tensorflow as tf
from support import tiny_config, write_corpus

from tfgen import training
from tfgen.runs.checkpoints import checkpoint_number

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow


def forget_last_epoch(run_dir):
    """Deletes the newest epoch checkpoint, as if the run had been killed before it."""
    directory = run_dir / "checkpoints"
    latest = tf.train.latest_checkpoint(str(directory))
    for path in directory.glob(f"{Path(latest).name}.*"):
        path.unlink()
    kept = [
        Path(p).name
        for p in tf.train.get_checkpoint_state(str(directory)).all_model_checkpoint_paths
        if p != latest
    ]
    (directory / "checkpoint").write_text(
        f'model_checkpoint_path: "{kept[-1]}"\n'
        + "".join(f'all_model_checkpoint_paths: "{name}"\n' for name in kept)
    )


class MidEpochResumeTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)

    def assert_resume_from_backup_repeats_the_run(self, config, steps):
        run_dir = self.tmp / "run"
        finished = training.train(config, run_dir=run_dir, verbose=0)
        expected = fault_runs.final_checkpoint(run_dir)
        forget_last_epoch(run_dir)
        backup = checkpoint_number(
            tf.train.latest_checkpoint(str(run_dir / "checkpoints" / "backup"))
        )
        self.assertEqual(backup // steps, config.epochs - 1)
        self.assertNotEqual(backup % steps, 0)

        resumed = training.train(config, run_dir=run_dir, verbose=0)
        self.assertEqual((resumed.initial_epoch, resumed.initial_step), (config.epochs - 1, backup))
        actual = fault_runs.final_checkpoint(run_dir)
        for name, value in expected.items():
            self.assertAllEqual(value, actual[name], msg=name)
        # The resumed epoch's means continue the backed-up metric state.
        for key, values in resumed.history.items():
            self.assertAllClose(values, finished.history[key][-1:], rtol=1e-6, msg=key)

    def test_language_model_windows(self):
        config = tiny_config("gpt", write_corpus(self.tmp), steps_per_epoch=5, backup_every_steps=3)
        self.assert_resume_from_backup_repeats_the_run(config, steps=5)

    def test_vae_on_two_replicas(self):
        npz = fault_runs.write_npz(self.tmp, train=80)
        config = fault_runs.config(
            "vae",
            npz,
            epochs=2,
            steps_per_epoch=7,
            backup_every_steps=3,
            strategy="mirrored",
            devices=2,
        )
        self.assert_resume_from_backup_repeats_the_run(config, steps=7)
