"""A write that fails part-way (a file-size limit) leaves the last checkpoint loadable."""

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import fault_runs
import pytest
import tensorflow as tf

from tfgen import runs, training


def file_size_limit(limit):
    """A `preexec_fn`: files may grow to `limit` bytes; a larger write fails with EFBIG
    (SIGXFSZ ignored, so the write raises instead of killing the process)."""

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


WRITE_ATOMICALLY = """
import sys
from tfgen.utils.files import write_atomically
write_atomically(sys.argv[1], "new " * 5000)
"""


class AtomicWriteTest(tf.test.TestCase):
    def test_failed_write_names_the_file_and_keeps_the_old_one(self):
        directory = Path(self.create_tempdir().full_path)
        path = directory / "record.json"
        path.write_text("old\n")
        child = subprocess.run(
            [sys.executable, "-c", WRITE_ATOMICALLY, str(path)],
            capture_output=True,
            text=True,
            env=fault_runs.ENV,
            cwd=fault_runs.REPO,
            preexec_fn=file_size_limit(4096),
            timeout=60,
        )
        self.assertNotEqual(child.returncode, 0)
        self.assertIn(
            f"OSError: [Errno {errno.EFBIG}] {os.strerror(errno.EFBIG)}: '{path}'", child.stderr
        )
        self.assertEqual(path.read_text(), "old\n")
        self.assertEqual(os.listdir(directory), ["record.json"])  # No temporary file left.


@pytest.mark.slow
class CheckpointWriteFailureTest(tf.test.TestCase):
    def test_run_stays_resumable_after_a_checkpoint_write_fails(self):
        tmp = Path(self.create_tempdir().full_path)
        npz = fault_runs.write_npz(tmp)
        run_dir = tmp / "run"
        training.train(fault_runs.config("vae", npz, epochs=1), run_dir=run_dir, verbose=0)
        data = run_dir / "checkpoints" / "ckpt-1.data-00000-of-00001"
        args = fault_runs.fit_args("vae", npz, run_dir)
        code, _, stderr = fault_runs.run(args, preexec_fn=file_size_limit(data.stat().st_size // 2))

        self.assertEqual(code, 1, stderr[-3000:])
        steps, every = (fault_runs.COMMON[k] for k in ("steps_per_epoch", "backup_every_steps"))
        first_backup = run_dir / "checkpoints" / "backup" / f"step-{steps + every}"
        self.assertIn(f"error: could not write checkpoint {first_backup}: File too large", stderr)
        self.assertIn("rerun the same command to resume", stderr)
        self.assertEqual(
            tf.train.latest_checkpoint(str(run_dir / "checkpoints")),
            str(run_dir / "checkpoints" / "ckpt-1"),
        )
        self.assertEqual(runs.load(run_dir)[3], 1)

        self.assertFalse(list((run_dir / "checkpoints").glob("**/*_temp")))  # Cleaned up.
        resumed = training.train(fault_runs.config("vae", npz), run_dir=run_dir, verbose=0)
        self.assertEqual((resumed.initial_epoch, resumed.initial_step), (1, 40))
        self.assertEqual(int(resumed.model.optimizer.iterations), 3 * 40)
