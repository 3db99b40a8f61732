"""One writer per run directory: `RUN/.lock`, held with `fcntl.flock` while a fit runs.

Two fits writing the same run directory would interleave checkpoints and logs, so
the second one stops at once with an error naming the holder's PID. The kernel drops
an `flock` when its process dies (even by SIGKILL), so a lock file left behind by a
dead process is simply taken over, with a notice. The PID inside the file is only
for messages; the `flock` is what excludes.

Example:

>>> with run_lock.hold(run_dir):
...     train_into(run_dir)
"""

import contextlib
import fcntl
import os
import sys
from pathlib import Path

LOCK_FILE = ".lock"


class RunLockedError(RuntimeError):
    """Another live process is writing the run directory; the message names its PID."""

    def __init__(self, run_dir, pid):
        self.run_dir, self.pid = run_dir, pid
        holder = f"process {pid}" if pid else "another process"
        super().__init__(
            f"run directory {run_dir} is in use by {holder} (lock file {run_dir / LOCK_FILE}); "
            f"wait for it to finish or stop it, or pass another --run-dir"
        )


def _read_pid(file):
    file.seek(0)
    text = file.read().strip()
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def hold(run_dir, notice=None):
    """Holds the run directory's lock for the body of a `with` statement.

    Args:
        run_dir: the run directory (created if missing).
        notice: where the notice about a stale lock goes (a text stream;
            default `sys.stderr`).

    Yields:
        The PID of a dead process whose lock was taken over, or `None`.

    Raises:
        RunLockedError: at once, if a live process holds the lock.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+", encoding="ascii") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(run_dir, _read_pid(file)) from None
        stale_pid = _read_pid(file)  # A clean exit empties the file; a PID means a crash.
        if stale_pid is not None and stale_pid != os.getpid():
            print(
                f"note: taking over the lock of {run_dir}: process {stale_pid}, which held "
                f"it, is no longer running.",
                file=notice or sys.stderr,
            )
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        try:
            yield stale_pid
        finally:
            # Emptied, not deleted: deleting would let a process that opened the old file
            # and one that creates a new file both "hold" the lock.
            file.seek(0)
            file.truncate()
            file.flush()
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
