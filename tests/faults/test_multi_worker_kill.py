"""SIGKILL of one of two launched workers in epoch 2, then the same launch again.

The launcher must stop the surviving worker and fail; the relaunch must resume from
the chief's newest step backup and end with one uninterrupted process's weights.
Nothing the killed worker wrote stays in $TMPDIR.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fault_runs
import psutil
import pytest
import tensorflow as tf
from test_multi_worker import event_writer_pids, run_layout

from tfgen import runs, training

# Three epochs of 10 steps of the global batch 8 (4 examples per worker), a backup
# every 2 steps, so epoch 2 has several backups to be killed after.
TINY = dict(epochs=3, steps_per_epoch=10, backup_every_steps=2)
WORKERS = 2
# Seconds the launcher waits between SIGTERM and SIGKILL of the surviving worker, which
# cannot finish its step without the killed one.
GRACE_PERIOD = 2
ITERATIONS_SUFFIX = "_iterations/.ATTRIBUTES/VARIABLE_VALUE"


def worker_index(process):
    """The worker index in a launched worker's `TF_CONFIG` (`None` before its exec)."""
    tf_config = process.environ().get("TF_CONFIG")
    return json.loads(tf_config)["task"]["index"] if tf_config else None


def worker_processes(launcher, count, timeout=60):
    """The `psutil.Process` of `launcher`'s `count` workers, by worker index, once started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = {worker_index(child): child for child in psutil.Process(launcher.pid).children()}
        if set(workers) == set(range(count)):
            return [workers[index] for index in range(count)]
        time.sleep(0.05)
    raise AssertionError(f"the launcher did not start {count} workers in {timeout} s")


def optimizer_steps(run_dir):
    """The optimizer step counter in the run's last epoch checkpoint."""
    counters = {
        name: int(value)
        for name, value in fault_runs.final_checkpoint(run_dir).items()
        if name.endswith(ITERATIONS_SUFFIX)
    }
    if len(counters) != 1:
        raise AssertionError(f"expected one optimizer step counter, found {sorted(counters)}")
    return next(iter(counters.values()))


@pytest.mark.slow
class MultiWorkerKillTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = fault_runs.write_npz(self.tmp)
        self.worker_tmp = self.tmp / "worker-tmp"  # Where non-chief workers keep their files.
        self.worker_tmp.mkdir()

    def launch_args(self, run_dir):
        return [
            sys.executable,
            "-m",
            "tfgen.launch",
            "--workers",
            str(WORKERS),
            "--grace-period",
            str(GRACE_PERIOD),
            "--",
            *fault_runs.fit_args("vae", self.npz, run_dir, **TINY),
        ]

    def start_launcher(self, run_dir):
        env = {**fault_runs.ENV, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(self.worker_tmp)}
        env.pop("TF_CONFIG", None)
        return subprocess.Popen(
            self.launch_args(run_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=fault_runs.REPO,
        )

    def test_vae_worker_killed_in_epoch_two_then_relaunched(self):
        steps = TINY["steps_per_epoch"]
        run_dir = self.tmp / "vae-killed"
        launcher = self.start_launcher(run_dir)
        workers = worker_processes(launcher, WORKERS)
        fault_runs.wait_for(lambda: fault_runs.backup_step(run_dir) > steps, launcher, timeout=120)
        victim = workers[1]  # Not the chief: it is the launcher that must stop the chief.
        victim.send_signal(signal.SIGKILL)
        stdout, stderr = launcher.communicate(timeout=60)

        # The launcher stopped the other worker and failed with the killed one's status.
        self.assertEqual(launcher.returncode, 128 + signal.SIGKILL, stderr[-3000:])
        self.assertIn(f"exited with status {128 + signal.SIGKILL}; stopping the others", stderr)
        self.assertFalse(
            any(
                worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE
                for worker in workers
            )
        )
        killed_at = fault_runs.backup_step(run_dir)
        self.assertGreater(killed_at, steps)
        self.assertNotEqual(killed_at % steps, 0)  # Killed mid-epoch, after a step backup.
        # The launcher removed its workers' TMPDIR, with what the killed one left there (its
        # scratch directory, TensorFlow's autograph files).
        self.assertEqual(os.listdir(self.worker_tmp), [])

        relaunched = self.start_launcher(run_dir)
        stdout, stderr = relaunched.communicate(timeout=180)
        self.assertEqual(relaunched.returncode, 0, stderr[-4000:])
        for index in range(WORKERS):  # Every worker resumes from the chief's step backup.
            self.assertIn(
                f"[worker {index}] resuming epoch {killed_at // steps + 1} at global "
                f"step {killed_at} ({killed_at % steps} of its {steps} steps done)",
                stdout + stderr,
            )

        self.assertNotIn("worker", " ".join(run_layout(run_dir)))  # Only the chief wrote there.
        self.assertEqual(os.listdir(self.worker_tmp), [])

        # A continuous step counter: every step of every epoch ran exactly once.
        self.assertEqual(optimizer_steps(run_dir), TINY["epochs"] * steps)
        actual, _, _, actual_epoch = runs.load(run_dir)
        self.assertEqual(actual_epoch, TINY["epochs"])

        straight = self.tmp / "vae-one-process"
        training.train(fault_runs.config("vae", self.npz, **TINY), run_dir=straight, verbose=0)
        expected, _, _, _ = runs.load(straight)
        self.assertLen(actual.weights, len(expected.weights))
        for a, e in zip(actual.weights, expected.weights):
            self.assertAllClose(a, e, atol=1e-5, rtol=0, msg=e.path)
        # The files of a one-process run, each log directory written by the chief of each
        # launch only.
        self.assertEqual(run_layout(run_dir), run_layout(straight))
        self.assertLen(event_writer_pids(run_dir), 2)
