"""SIGTERM and Ctrl-C (SIGINT) save the current step, say how to resume, and exit 128 + N."""

import re
import shlex
import signal
from pathlib import Path

import fault_runs
import pytest
import tensorflow as tf

from tfgen import training
from tfgen.runs.checkpoints import BACKUP_DIR

STEPS = fault_runs.SETTINGS["vae"]["steps_per_epoch"]


@pytest.mark.slow
class StopSignalTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = fault_runs.write_npz(self.tmp)

    def stop_in_epoch_two_then_resume(self, signum, exit_code, compare_with_straight_run):
        run_dir = self.tmp / "stopped"
        # Backups every 7 steps show where training is; the signal's own save is another step.
        args = fault_runs.fit_args("vae", self.npz, run_dir, backup_every_steps=7)
        process = fault_runs.start(args)
        fault_runs.wait_for(lambda: fault_runs.backup_step(run_dir) > STEPS, process)
        seen = fault_runs.backup_step(run_dir)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
        self.assertEqual(process.returncode, exit_code, stderr[-3000:])

        match = re.search(
            r"interrupted: rerun the same command to resume from global step "
            r"(\d+) \(saved in (\S+)\):\n  (.+)\n",
            stderr,
        )
        self.assertIsNotNone(match, stderr[-3000:])
        saved, path, command = int(match[1]), match[2], match[3]
        self.assertEqual(command, shlex.join(args))  # The exact command that was run.
        self.assertGreater(saved, seen)  # Saved at the step after the signal, not an old one.
        self.assertTrue(Path(f"{path}.index").exists())
        if saved % STEPS:
            self.assertEqual(path, str(run_dir / "checkpoints" / BACKUP_DIR / f"step-{saved}"))
        else:  # The signal came at an epoch's end: the epoch checkpoint holds the step.
            self.assertEqual(path, str(run_dir / "checkpoints" / f"ckpt-{saved // STEPS}"))

        resumed = training.train(fault_runs.config("vae", self.npz), run_dir=run_dir, verbose=0)
        self.assertEqual(resumed.initial_step, saved)
        if not compare_with_straight_run:
            return
        straight = self.tmp / "straight"
        training.train(fault_runs.config("vae", self.npz), run_dir=straight, verbose=0)
        expected, actual = (fault_runs.final_checkpoint(d) for d in (straight, run_dir))
        for name, value in expected.items():
            self.assertAllEqual(value, actual[name], msg=name)

    def test_sigterm(self):
        self.stop_in_epoch_two_then_resume(
            signal.SIGTERM, 128 + signal.SIGTERM, compare_with_straight_run=True
        )

    def test_ctrl_c(self):
        self.stop_in_epoch_two_then_resume(signal.SIGINT, 130, compare_with_straight_run=False)
