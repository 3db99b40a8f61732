"""Scratch directories of killed workers are removed by the next worker (`tfgen.distribute.scratch`)."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import tensorflow as tf

from tfgen.distribute import scratch

REPO = Path(__file__).resolve().parents[2]
# A process that makes a scratch directory, prints its path, and sleeps in it.
HOLDER = """
import sys, time
from tfgen.distribute import scratch
with scratch.scratch_dir(sys.argv[1], family="tfgen-worker") as path:
    (path / "checkpoint").write_text("x")
    print(path, flush=True)
    time.sleep(60)
"""


class ScratchTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)

    def hold(self, prefix):
        """Starts a process holding a scratch directory; returns it and the directory."""
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, prefix],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(self.tmp)},
        )
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        return process, Path(process.stdout.readline().strip())

    def test_a_killed_workers_directory_is_removed_by_the_next_one(self):
        killed, killed_dir = self.hold("tfgen-worker1-")
        live, live_dir = self.hold("tfgen-worker2-")
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        self.assertTrue((killed_dir / "checkpoint").exists())  # What SIGKILL leaves.
        unrelated = self.tmp / "tfgen-worker1-made-by-hand"  # No lock file: not ours to judge.
        unrelated.mkdir()
        other = self.tmp / "other-dir"
        other.mkdir()

        with mock.patch.object(tempfile, "tempdir", str(self.tmp)):
            with scratch.scratch_dir("tfgen-worker1-", family="tfgen-worker") as mine:
                self.assertEqual(mine.parent, self.tmp)
                self.assertFalse(killed_dir.exists())
                self.assertTrue((live_dir / "checkpoint").exists())  # Its process lives.
                self.assertTrue(unrelated.exists())
                self.assertTrue(other.exists())
            self.assertFalse(mine.exists())
            # Once its process ends, however it ends, the live one is abandoned too.
            live.send_signal(signal.SIGKILL)
            live.wait()
            self.assertEqual(scratch.remove_abandoned("tfgen-worker"), [live_dir])
        self.assertCountEqual(os.listdir(self.tmp), [unrelated.name, other.name])
