"""What every dataset loader shares: the split names, the hold-out share, pixels as floats.

The registry (`tfgen.data.sources`) and each loader (`npz_source`, `folder_source`,
`tfds_source`) import from here; nothing here imports them.
"""

import numpy as np
import tensorflow as tf

SPLITS = ("train", "test")
HOLDOUT_PERCENT = 10
"""Share of examples held out for `"test"` where a source has no test split."""


def to_unit_float(image: tf.Tensor) -> tf.Tensor:
    """Scales uint8 (or other integer) pixels to float32 in [0, 1]; casts floats and bools."""
    if image.dtype == tf.uint8:
        return tf.cast(image, tf.float32) / 255.0
    if image.dtype.is_integer:
        return tf.image.convert_image_dtype(image, tf.float32)
    return tf.cast(image, tf.float32)


def _to_float_example(example: dict) -> dict:
    output = {"image": to_unit_float(example["image"])}
    if "label" in example:
        output["label"] = tf.cast(example["label"], tf.int64)
    return output


def dataset_from_arrays(images: np.ndarray, labels: np.ndarray | None = None) -> tf.data.Dataset:
    """Slices arrays kept in their stored dtype; pixels become float in a `map`.

    Args:
        images: `(N, H, W)` or `(N, H, W, C)`, uint8, bool or float in [0, 1].
        labels: `(N,)` integer class indices, or `None`.

    Returns:
        A dataset of `{"image": float32 (H, W, C)[, "label": int64]}`.
    """
    if images.ndim == 3:
        images = images[..., np.newaxis]
    features = {"image": images}
    if labels is not None:
        features["label"] = labels
    dataset = tf.data.Dataset.from_tensor_slices(features)
    return dataset.map(_to_float_example, num_parallel_calls=tf.data.AUTOTUNE)
