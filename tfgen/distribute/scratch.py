"""Temporary directories of live processes, and the removal of those whose process died.

A non-chief worker of a multi-worker run writes its files into a temporary directory
(`tfgen.training`) that it removes when it returns, and `tfgen.launch` gives its
workers a temporary directory as `TMPDIR` that it removes when they have ended. A
process killed with SIGKILL cannot remove its directory; the next `scratch_dir` or
`locked_dir` of the same family removes it instead. Each
directory holds a `.lock` file that its process keeps locked (`flock`) while it
lives: the kernel releases the lock when the process ends, however it ends, so a
directory whose lock can be taken is abandoned. (A process ID in the name would
not do: IDs are reused, and differ between PID namespaces sharing one /tmp.)
"""

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

LOCK_FILE = ".lock"


def remove_abandoned(prefix, directory=None):
    """Removes this user's `prefix*` directories in `directory` whose process has ended.

    Args:
        prefix: the name prefix given to `scratch_dir`.
        directory: where to look; default `tempfile.gettempdir()` (`$TMPDIR`).

    Returns:
        The paths removed.
    """
    removed = []
    for path in Path(directory or tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_uid != os.getuid():
                continue
            fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:  # Gone, not ours, or without a lock file (not made by scratch_dir).
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # Its process is alive.
            continue
        else:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def locked_dir(prefix, family=None):
    """A new temporary directory `$TMPDIR/<prefix>XXXXXXXX`, removed on exit; yields
    `(path, fd)`, `fd` the open, locked lock file.

    Directories whose names start with `family` (default `prefix`) left by ended
    processes are removed first. The lock file is locked before it gets its name, so
    another process's `remove_abandoned` never takes a live directory for an abandoned
    one. Child processes that inherit `fd` (`subprocess.Popen(pass_fds=[fd])`) hold the
    lock too: the directory counts as live until all of them have ended.
    """
    remove_abandoned(family or prefix)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    fd = os.open(
        path / f"{LOCK_FILE}.new", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(path / f"{LOCK_FILE}.new", path / LOCK_FILE)
        yield path, fd
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


@contextlib.contextmanager
def scratch_dir(prefix, family=None):
    """`locked_dir` for this process only: yields the directory's path."""
    with locked_dir(prefix, family) as (path, _):
        yield path
