"""The `npz:<path>` loader: image arrays in an `.npz` file, laid out like Keras' `mnist.npz`.

The file holds either `x_train` and `x_test` (with optional `y_train` and `y_test`),
or a single `x` (with optional `y`), of which every `100 // HOLDOUT_PERCENT`th
example is held out for `"test"`. Images are `(N, height, width[, channels])`,
uint8 or float in [0, 1]; labels are integer class indices.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfgen.data.arrays import HOLDOUT_PERCENT, SPLITS, dataset_from_arrays
from tfgen.data.info import DatasetInfo


def _checked_images(key: str, images: np.ndarray, path: Path, keys: Sequence[str]) -> np.ndarray:
    if images.ndim not in (3, 4):
        raise ValueError(
            f"{path}: {key} has shape {images.shape}; expected (N, height, width) or "
            f"(N, height, width, channels). Arrays in the file: {', '.join(keys)}."
        )
    if images.dtype == np.uint8 or images.dtype == np.bool_:
        return images
    if np.issubdtype(images.dtype, np.floating):
        if images.size and not (
            np.all(np.isfinite(images)) and images.min() >= 0 and images.max() <= 1
        ):
            raise ValueError(
                f"{path}: {key} holds floats in [{np.nanmin(images)}, {np.nanmax(images)}]; "
                "expected floats in [0, 1] or uint8 in [0, 255]."
            )
        return images
    raise ValueError(f"{path}: {key} has dtype {images.dtype}; expected uint8, or float in [0, 1].")


def _checked_labels(key: str, labels: np.ndarray, num_images: int, path: Path) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if (
        labels.ndim != 1
        or labels.shape[0] != num_images
        or not np.issubdtype(labels.dtype, np.integer)
    ):
        raise ValueError(
            f"{path}: {key} has shape {labels.shape} and dtype {labels.dtype}; expected "
            f"{num_images} integer class indices, shape ({num_images},)."
        )
    if labels.size and labels.min() < 0:
        raise ValueError(f"{path}: {key} has negative labels; expected class indices 0, 1, ...")
    return labels


def _read_npz(path: Path) -> tuple:
    """Reads and checks an `.npz`, holding out every 10th example if it has no test split.

    Returns:
        `(images, labels, splits)`: dicts by split (`labels` is `None` without
        labels) and the description of where each split comes from.
    """
    with np.load(path, allow_pickle=False) as npz:
        keys = sorted(npz.files)
        if "x_train" in keys and "x_test" in keys:
            label_keys = [k for k in ("y_train", "y_test") if k in keys]
            if len(label_keys) == 1:
                raise ValueError(
                    f"{path} has {label_keys[0]} but not its partner; give both y_train and y_test "
                    f"or neither. Arrays in the file: {', '.join(keys)}."
                )
            images = {s: _checked_images(f"x_{s}", npz[f"x_{s}"], path, keys) for s in SPLITS}
            labels = None
            if label_keys:
                labels = {
                    s: _checked_labels(f"y_{s}", npz[f"y_{s}"], len(images[s]), path)
                    for s in SPLITS
                }
            return images, labels, {"train": "x_train", "test": "x_test"}
        if "x" in keys:
            every = 100 // HOLDOUT_PERCENT
            x = _checked_images("x", npz["x"], path, keys)
            y = _checked_labels("y", npz["y"], len(x), path) if "y" in keys else None
            held_out = np.arange(len(x)) % every == every - 1
            images = {"train": x[~held_out], "test": x[held_out]}
            labels = None if y is None else {"train": y[~held_out], "test": y[held_out]}
            splits = {
                "train": f"x without every {every}th example",
                "test": f"x[{every - 1}::{every}] (every {every}th example, held out)",
            }
            return images, labels, splits
    raise ValueError(
        f"{path} holds arrays {', '.join(keys) or '(none)'}; expected x_train and x_test (with "
        "optional y_train and y_test) as in Keras' mnist.npz, or a single x (with optional y)."
    )


def load_npz(argument: str, name: str, split: str):
    """Loads `npz:<path>`."""
    path = Path(argument).expanduser()
    if not path.is_file():
        raise ValueError(f"{name}: no such file {path}.")
    images, labels, splits = _read_npz(path)
    shapes = {s: tuple(images[s].shape[1:]) + ((1,) if images[s].ndim == 3 else ()) for s in SPLITS}
    if shapes["train"] != shapes["test"]:
        raise ValueError(
            f"{path}: train images are shaped {shapes['train']}, test images {shapes['test']}."
        )
    num_classes = None
    if labels is not None:
        num_classes = 1 + max((int(labels[s].max()) for s in SPLITS if labels[s].size), default=0)
    info = DatasetInfo(
        name=name,
        modality="image",
        shape=shapes["train"],
        num_classes=num_classes,
        num_examples={s: int(len(images[s])) for s in SPLITS},
        splits=splits,
    )
    return dataset_from_arrays(images[split], None if labels is None else labels[split]), info
