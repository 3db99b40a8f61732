"""Atomic file writes: readers see the old file or the whole new one, never a part."""

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Opens a temporary file beside `path`; on success it replaces `path` in one rename.

    The directory is created if needed. On any error (or Ctrl-C) the temporary
    file is removed and `path` is left as it was. The new file gets the usual
    permissions (0644 under the default umask), not `mkstemp`'s private 0600.

    Args:
        path: the file to write.
        mode: `"wb"` or `"w"` (text is written as UTF-8).

    Yields:
        The open temporary file.

    Raises:
        OSError: if writing fails; its `filename` is `path` when the operating
            system named no file (a full disk, a file-size limit).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as file:
            yield file
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        if error.errno is None or error.filename is not None:
            raise
        # A failed write (e.g. EFBIG, ENOSPC) names no file: name the one being written.
        raise type(error)(error.errno, error.strerror, str(path)) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path, content):
    """Writes `content` (str or bytes) to `path` with `atomic_write`; returns `path`."""
    with atomic_write(path, "w" if isinstance(content, str) else "wb") as file:
        file.write(content)
    return path
