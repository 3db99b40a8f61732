"""Ctrl-C reaching one of two launched workers: both stop at the same step and save it.

Saving a step is a collective, so a signal that reaches one worker only (a scheduler
preempting one machine) must still stop every worker at the same batch end: they vote
every few steps (`tfgen.runs.interrupts.SignalVote`). The relaunch resumes from that step.
"""

import re
import signal
import subprocess
import sys
from pathlib import Path

import fault_runs
import pytest
import tensorflow as tf
from test_multi_worker_kill import optimizer_steps, worker_processes

# Two epochs of 200 steps (all 1,600 examples at the global batch 8), a step backup every
# 50 steps: the first one of epoch 2 (step 250) shows that epoch 2 is running, so the
# signal sent then lands mid-epoch whatever the load (a fixed delay after epoch 1's
# checkpoint landed before epoch 2 began when the machine was busy).
TRAIN_EXAMPLES = 1600
TINY = dict(epochs=2, steps_per_epoch=200, backup_every_steps=50)
WORKERS = 2


@pytest.mark.slow
class MultiWorkerSignalTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = fault_runs.write_npz(self.tmp, train=TRAIN_EXAMPLES)

    def launch(self, run_dir):
        env = {**fault_runs.ENV, "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("TF_CONFIG", None)
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfgen.launch",
                "--workers",
                str(WORKERS),
                "--",
                *fault_runs.fit_args("vae", self.npz, run_dir, **TINY),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=fault_runs.REPO,
        )

    def test_sigint_to_one_worker_stops_both_at_the_same_step(self):
        steps = TINY["steps_per_epoch"]
        run_dir = self.tmp / "vae-signalled"
        launcher = self.launch(run_dir)
        workers = worker_processes(launcher, WORKERS)
        # Signal the non-chief worker only, once the second epoch has its first backup.
        fault_runs.wait_for(lambda: fault_runs.backup_step(run_dir) > steps, launcher, timeout=180)
        workers[1].send_signal(signal.SIGINT)
        stdout, stderr = launcher.communicate(timeout=120)
        output = stdout + stderr
        self.assertEqual(launcher.returncode, 128 + signal.SIGINT, output[-4000:])
        # Both workers stopped at the same step, mid-epoch, and the chief backed it up.
        stopped = {int(step) for step in re.findall(r"resume from global step (\d+) ", output)}
        saved = fault_runs.backup_step(run_dir)
        self.assertEqual(stopped, {saved}, output[-4000:])
        self.assertEqual(output.count(f"resume from global step {saved} "), WORKERS)
        self.assertGreater(saved, steps)
        self.assertLess(saved, 2 * steps)

        relaunched = self.launch(run_dir)
        stdout, stderr = relaunched.communicate(timeout=180)
        self.assertEqual(relaunched.returncode, 0, (stdout + stderr)[-4000:])
        for index in range(WORKERS):
            self.assertIn(
                f"[worker {index}] resuming epoch 2 at global step {saved}", stdout + stderr
            )
        self.assertEqual(optimizer_steps(run_dir), TINY["epochs"] * steps)


if __name__ == "__main__":
    tf.test.main()
