"""The idx file format of MNIST-style datasets, and MD5 checks of raw files."""

import dataclasses
import gzip
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tfgen.data.errors import DatasetUnavailableError

# idx type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_DTYPES = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def md5_hex(data: bytes) -> str:
    """Returns the hexadecimal MD5 digest of `data`."""
    return hashlib.md5(data).hexdigest()


def verify_md5(data: bytes, expected: str, source) -> None:
    """Checks that `data` has the MD5 `expected`.

    Args:
        data: the file's (uncompressed) contents.
        expected: the expected hexadecimal MD5 digest.
        source: the file the data came from, named in the error.

    Raises:
        DatasetUnavailableError: if the digests differ; the message names the
            file and both digests.
    """
    actual = md5_hex(data)
    if actual != expected.lower():
        raise DatasetUnavailableError(
            f"Checksum mismatch for {source}: expected MD5 {expected}, got {actual}."
        )


def parse_idx(data: bytes, source="<bytes>") -> np.ndarray:
    """Parses the contents of an idx file (the MNIST file format).

    The header is two zero bytes, a type code, the number of dimensions and then
    each dimension as a big-endian 32-bit integer; the values follow, big-endian.

    Args:
        data: the uncompressed file contents.
        source: the file the data came from, named in errors.

    Returns:
        A numpy array in native byte order, shaped by the header's dimensions.

    Raises:
        ValueError: if the magic number is not an idx one or the size does not
            match the header.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{source} is not an idx file: its magic number is {data[:4].hex() or 'missing'}, "
            "expected 0000 followed by a type code in "
            f"{sorted(hex(code) for code in _IDX_DTYPES)} and the number of dimensions."
        )
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(f"{source} is truncated: its header declares {ndim} dimensions.")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = int(np.prod(dims, dtype=np.int64))
    expected_size = header_size + count * dtype.itemsize
    if len(data) != expected_size:
        raise ValueError(
            f"{source} has {len(data)} bytes, but its header (shape {dims}, {dtype.name}) "
            f"needs {expected_size}."
        )
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header_size)
    return values.reshape(dims).astype(dtype.newbyteorder("="))


def read_file_bytes(path: Path) -> bytes:
    """Returns a file's contents, gunzipped if its name ends in `.gz`."""
    data = Path(path).read_bytes()
    return gzip.decompress(data) if str(path).endswith(".gz") else data


@dataclasses.dataclass(frozen=True)
class IdxFile:
    """One idx file of a dataset.

    Args:
        key: the array name it becomes in the cached `.npz`, e.g. `"x_train"`.
        filename: its name without `.gz`, e.g. `"train-images-idx3-ubyte"`.
        md5: the MD5 of its uncompressed contents.
    """

    key: str
    filename: str
    md5: str


def read_idx_files(files: Sequence[IdxFile], paths: Mapping[str, Path]) -> dict:
    """Reads, checks and parses a dataset's idx files.

    Args:
        files: the files to read.
        paths: where each file is, by `IdxFile.key` (plain or `.gz`).

    Returns:
        A dict from `IdxFile.key` to the parsed array.

    Raises:
        DatasetUnavailableError: if a file's MD5 is not the expected one.
    """
    arrays = {}
    for file in files:
        data = read_file_bytes(paths[file.key])
        verify_md5(data, file.md5, paths[file.key])
        arrays[file.key] = parse_idx(data, paths[file.key])
    return arrays


def find_raw_files(files: Sequence[IdxFile], directories: Sequence[Path]) -> dict | None:
    """Finds the first directory that holds all `files`, plain or gzipped.

    Args:
        files: the files to look for.
        directories: where to look, in order.

    Returns:
        A dict from `IdxFile.key` to the file's path, or `None` if no directory
        has them all.
    """
    for directory in directories:
        paths = {}
        for file in files:
            for candidate in (directory / file.filename, directory / f"{file.filename}.gz"):
                if candidate.is_file():
                    paths[file.key] = candidate
                    break
        if len(paths) == len(files):
            return paths
    return None
