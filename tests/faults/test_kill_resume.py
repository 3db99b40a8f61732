"""SIGKILL during epoch 2, then the same command again: the uninterrupted run's weights."""

import signal
from pathlib import Path

import fault_runs
import pytest
import tensorflow as tf

from tfgen import runs, training


@pytest.mark.slow
class KillResumeTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = fault_runs.write_npz(self.tmp)

    def kill_in_epoch_two_then_resume(self, model):
        steps = fault_runs.SETTINGS[model]["steps_per_epoch"]
        run_dir = self.tmp / f"{model}-killed"
        args = fault_runs.fit_args(model, self.npz, run_dir)
        process = fault_runs.start(args)
        fault_runs.wait_for(lambda: fault_runs.backup_step(run_dir) > steps, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        self.assertEqual(process.returncode, -signal.SIGKILL)
        killed_at = fault_runs.backup_step(run_dir)
        self.assertNotEqual(killed_at % steps, 0)

        # The same command again, run by the CLI's `main` in this process (the state is all on
        # disk; this saves a second interpreter and TensorFlow import).
        code, stderr = fault_runs.run_in_this_process(args)
        self.assertEqual(code, 0, stderr[-3000:])
        self.assertIn(
            f"resuming epoch {killed_at // steps + 1} at global step {killed_at} "
            f"({killed_at % steps} of its {steps} steps done)",
            stderr,
        )
        self.assertIn("taking over the lock", stderr)  # SIGKILL left the PID in RUN/.lock.
        self.assertEqual(runs.load(run_dir)[3], 3)  # load_run: the last finished epoch.

        straight = self.tmp / f"{model}-straight"
        training.train(fault_runs.config(model, self.npz), run_dir=straight, verbose=0)
        expected, actual = (fault_runs.final_checkpoint(d) for d in (straight, run_dir))
        self.assertCountEqual(expected, actual)
        for name, value in expected.items():
            self.assertAllEqual(value, actual[name], msg=name)
        self.assertEqual(actual["epoch/.ATTRIBUTES/VARIABLE_VALUE"], 3)

    def test_vae(self):
        self.kill_in_epoch_two_then_resume("vae")

    def test_dcgan(self):
        self.kill_in_epoch_two_then_resume("dcgan")
