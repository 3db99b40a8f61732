"""One fit per run directory: RUN/.lock names the holder; a dead holder's lock is taken over."""

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import fault_runs
import pytest
import tensorflow as tf

from tfgen import training
from tfgen.runs import lock as run_lock

DIE_HOLDING_THE_LOCK = """
import os, signal, sys
from tfgen.runs import lock as run_lock
with run_lock.hold(sys.argv[1]):
    os.kill(os.getpid(), signal.SIGKILL)
"""


class RunLockTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.run_dir = Path(self.create_tempdir().full_path) / "run"

    def test_second_holder_is_refused_with_the_first_ones_pid(self):
        with run_lock.hold(self.run_dir):
            self.assertEqual((self.run_dir / ".lock").read_text(), f"{os.getpid()}\n")
            with self.assertRaisesRegex(
                run_lock.RunLockedError, f"in use by process {os.getpid()} "
            ):
                with run_lock.hold(self.run_dir):
                    pass
        self.assertEqual((self.run_dir / ".lock").read_text(), "")  # Released: emptied.
        with run_lock.hold(self.run_dir) as stale_pid:
            self.assertIsNone(stale_pid)

    def test_lock_of_a_killed_process_is_taken_over_with_a_notice(self):
        child = subprocess.Popen(
            [sys.executable, "-c", DIE_HOLDING_THE_LOCK, str(self.run_dir)],
            env=fault_runs.ENV,
            cwd=fault_runs.REPO,
        )
        self.assertEqual(child.wait(timeout=60), -signal.SIGKILL)
        notice = io.StringIO()
        with run_lock.hold(self.run_dir, notice=notice) as stale_pid:
            self.assertEqual(stale_pid, child.pid)
        self.assertIn(
            f"process {child.pid}, which held it, is no longer running", notice.getvalue()
        )


@pytest.mark.slow
class LockedRunTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = fault_runs.write_npz(self.tmp)
        self.run_dir = self.tmp / "run"

    def test_train_raises_and_the_cli_exits_2_naming_the_holder(self):
        with run_lock.hold(self.run_dir):
            with self.assertRaisesRegex(run_lock.RunLockedError, f"process {os.getpid()} "):
                training.train(fault_runs.config("vae", self.npz), run_dir=self.run_dir, verbose=0)
            code, _, stderr = fault_runs.run(fault_runs.fit_args("vae", self.npz, self.run_dir))
        self.assertEqual(code, 2, stderr[-3000:])
        self.assertIn(
            f"is in use by process {os.getpid()} (lock file {self.run_dir / '.lock'})", stderr
        )
        self.assertEqual(sorted(p.name for p in self.run_dir.iterdir()), [".lock"])  # At once.
        result = training.train(
            fault_runs.config("vae", self.npz, epochs=1), run_dir=self.run_dir, verbose=0
        )
        self.assertEqual(result.initial_epoch, 0)
