"""The `folder:<path>` loader: a directory of images, optionally with splits and classes.

With `train/` and `test/` subdirectories those are the splits; otherwise a hash of
each file's relative path holds about `HOLDOUT_PERCENT` percent of them out for
`"test"`. Class subdirectories name the labels, in sorted order. Every image's
header is checked when the folder is listed; the files are decoded in the dataset.
"""

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf
from PIL import Image

from tfgen.data.arrays import HOLDOUT_PERCENT, SPLITS
from tfgen.data.info import DatasetInfo

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_DECODABLE_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF")


def _bmp_bits_per_pixel(path: Path) -> int:
    """Reads the bit depth from a BMP's header (BITMAPCOREHEADER or a later one)."""
    with open(path, "rb") as file:
        header = file.read(30)
    dib_header_size = int.from_bytes(header[14:18], "little")
    offset = 24 if dib_header_size == 12 else 28
    return int.from_bytes(header[offset : offset + 2], "little")


def _image_channels(path: Path, image_format: str, mode: str, transparent: bool) -> int:
    """The channel count `tf.io.decode_image(channels=0)` yields for an image Pillow opened."""
    if image_format == "GIF":
        return 3
    if image_format == "BMP":
        # TensorFlow decodes 8-bit BMPs to their raw (palette) values and 32-bit ones to RGBA.
        bits = _bmp_bits_per_pixel(path)
        channels = {8: 1, 24: 3, 32: 4}.get(bits)
        if channels is None or (bits == 8 and mode != "L"):
            raise ValueError(
                f"{path} is a BMP with {bits} bits per pixel{' and a palette' if mode == 'P' else ''}, "
                "which TensorFlow does not decode to its colors; convert it to PNG."
            )
        return channels
    if mode in ("1", "L", "I;16", "I;16B", "I;16L"):
        return 1
    if mode == "LA":
        return 2
    if mode in ("P", "RGB"):
        return 4 if transparent and image_format == "PNG" and mode == "P" else 3
    if mode == "RGBA":
        return 4
    raise ValueError(
        f"{path} is a {image_format} image in Pillow mode {mode!r}, which has no fixed channel "
        "count here; convert it to grayscale (L), RGB or RGBA."
    )


def image_shape(path: Path) -> tuple:
    """Reads an image file's header and returns the shape it decodes to.

    Args:
        path: a PNG, JPEG, BMP or GIF file.

    Returns:
        `(height, width, channels)`: 1 channel for grayscale, 3 for RGB, 4 with alpha.

    Raises:
        ValueError: if the file is not a readable image of those formats.
    """
    try:
        with Image.open(path) as image:
            image_format, mode, (width, height) = image.format, image.mode, image.size
            transparent = "transparency" in image.info
            image.verify()
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"Cannot read image {path}: {error}") from error
    if image_format not in _DECODABLE_FORMATS:
        raise ValueError(
            f"{path} is a {image_format} file; folder datasets read PNG, JPEG, BMP and GIF."
        )
    return (height, width, _image_channels(path, image_format, mode, transparent))


def _describe_shape(shape: tuple) -> str:
    height, width, channels = shape
    return f"{width}x{height} pixels with {channels} channel{'s' if channels != 1 else ''}"


def _common_image_shape(paths: Sequence[Path]) -> tuple:
    """Checks that all images have the first one's size and channels; returns that shape."""
    expected = first = None
    for path in paths:
        shape = image_shape(path)
        if expected is None:
            expected, first = shape, path
        elif shape != expected:
            raise ValueError(
                f"Image {path} is {_describe_shape(shape)}, but the folder's first image, {first}, "
                f"is {_describe_shape(expected)}: all images of a folder dataset must have the "
                "same size and channels. Resize or convert the odd ones out."
            )
    return expected


def _is_visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def _images_under(directory: Path) -> list:
    return sorted(
        path
        for path in directory.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS
        and path.is_file()
        and _is_visible(path, directory)
    )


def _scan_images(directory: Path) -> tuple:
    """Lists a directory's images and, if it has class subdirectories, their class names.

    Returns:
        `(paths, class_names)`, `class_names[i]` being the class of `paths[i]`, or
        `None` when `directory` has no class subdirectories.
    """
    class_dirs = {
        sub.name: _images_under(sub)
        for sub in sorted(directory.iterdir())
        if sub.is_dir() and not sub.name.startswith(".")
    }
    class_dirs = {class_name: paths for class_name, paths in class_dirs.items() if paths}
    if not class_dirs:
        return _images_under(directory), None
    loose = [
        p
        for p in sorted(directory.iterdir())
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    if loose:
        raise ValueError(
            f"{directory} has class subdirectories ({', '.join(class_dirs)}) and images outside "
            f"them, e.g. {loose[0]}; put every image in a class subdirectory, or none."
        )
    paths = [path for class_paths in class_dirs.values() for path in class_paths]
    class_names = [name for name, class_paths in class_dirs.items() for _ in class_paths]
    return paths, class_names


def is_held_out(relative_path: str) -> bool:
    """Whether a file of a folder without `train/` and `test/` belongs to the test split.

    The choice hashes the file's path relative to the folder, so adding or removing
    files never moves other files between the splits.

    Args:
        relative_path: the file's path relative to the folder, `/`-separated.

    Returns:
        True for about `HOLDOUT_PERCENT` percent of paths.
    """
    digest = hashlib.sha256(relative_path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HOLDOUT_PERCENT


@dataclasses.dataclass(frozen=True)
class FolderListing:
    """The checked contents of a folder dataset.

    Args:
        paths: image files by split.
        labels: class indices by split, or `None` without class subdirectories.
        class_names: sorted class subdirectory names; label `i` is `class_names[i]`.
        shape: `(height, width, channels)` shared by every image.
        splits: where each split comes from.
    """

    paths: dict
    labels: dict | None
    class_names: tuple
    shape: tuple
    splits: dict


def list_folder(root: Path) -> FolderListing:
    """Lists and checks a folder of images, splitting it into train and test.

    With `train/` and `test/` subdirectories those are the splits; otherwise about
    `HOLDOUT_PERCENT` percent of the files are held out for test by `is_held_out`.
    Class subdirectories (of the folder, or of each split's directory) name the
    labels, in sorted order. Every image's header is read here, so a bad file
    fails now rather than during training.

    Args:
        root: the folder.

    Returns:
        A `FolderListing`.

    Raises:
        ValueError: if the folder has no images, a file is not a readable image,
            or the images differ in size or channels (naming the file).
    """
    if not root.is_dir():
        raise ValueError(f"folder:{root}: no such directory.")
    if (root / "train").is_dir() and (root / "test").is_dir():
        scanned = {s: _scan_images(root / s) for s in SPLITS}
        if (scanned["train"][1] is None) != (scanned["test"][1] is None):
            raise ValueError(
                f"{root}: only one of train/ and test/ has class subdirectories; give both or neither."
            )
        splits = {s: f"{s}/" for s in SPLITS}
    else:
        paths, class_names = _scan_images(root)
        test = [is_held_out(p.relative_to(root).as_posix()) for p in paths]
        scanned = {}
        for s in SPLITS:
            in_split = [held_out == (s == "test") for held_out in test]
            scanned[s] = (
                [p for p, keep in zip(paths, in_split) if keep],
                None
                if class_names is None
                else [c for c, keep in zip(class_names, in_split) if keep],
            )
        splits = {
            "train": "the files not held out for test",
            "test": f"~{HOLDOUT_PERCENT}% of the files, held out by a hash of their relative paths",
        }
    all_paths = scanned["train"][0] + scanned["test"][0]
    if not all_paths:
        raise ValueError(f"folder:{root} has no images ({', '.join(IMAGE_EXTENSIONS)}).")
    if not scanned["train"][0]:
        raise ValueError(f"folder:{root} has no training images.")
    if not scanned["test"][0]:
        logger.warning("folder:%s has no test images; its test split is empty.", root)
    shape = _common_image_shape(all_paths)
    labels, class_names = None, ()
    if scanned["train"][1] is not None:
        class_names = tuple(sorted(set(scanned["train"][1]) | set(scanned["test"][1])))
        index = {class_name: i for i, class_name in enumerate(class_names)}
        labels = {s: [index[c] for c in scanned[s][1]] for s in SPLITS}
    return FolderListing(
        paths={s: scanned[s][0] for s in SPLITS},
        labels=labels,
        class_names=class_names,
        shape=shape,
        splits=splits,
    )


def _decode_image_file(shape: tuple):
    """Returns a `map` function reading `{"path"[, "label"]}` into a float example."""

    def decode(example):
        contents = tf.io.read_file(example["path"])
        image = tf.io.decode_image(contents, channels=0, dtype=tf.float32, expand_animations=False)
        decoded_shape = tf.shape(image)
        check = tf.debugging.Assert(
            tf.reduce_all(tf.equal(decoded_shape, shape)),
            [example["path"], "decoded to (height, width, channels)", decoded_shape, "not", shape],
        )
        with tf.control_dependencies([check]):
            image = tf.ensure_shape(tf.identity(image), shape)
        output = {"image": image}
        if "label" in example:
            output["label"] = example["label"]
        return output

    return decode


def load_folder(argument: str, name: str, split: str):
    """Loads `folder:<path>`."""
    listing = list_folder(Path(argument).expanduser())
    features = {"path": tf.constant([str(p) for p in listing.paths[split]], dtype=tf.string)}
    if listing.labels is not None:
        labels = listing.labels[split]
        features["label"] = tf.constant(labels, dtype=tf.int64, shape=[len(labels)])
    dataset = tf.data.Dataset.from_tensor_slices(features)
    dataset = dataset.map(_decode_image_file(listing.shape), num_parallel_calls=tf.data.AUTOTUNE)
    info = DatasetInfo(
        name=name,
        modality="image",
        shape=listing.shape,
        num_classes=len(listing.class_names) or None,
        num_examples={s: len(listing.paths[s]) for s in SPLITS},
        splits=listing.splits,
    )
    return dataset, info
