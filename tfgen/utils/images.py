"""Image grids and PNG files."""

import math

import numpy as np
import tensorflow as tf

from tfgen.utils.files import write_atomically


def grid(images, columns=None):
    """Tiles `[n, h, w, c]` images in [0, 1] into one uint8 `[rows*h, columns*w, c]` image.

    Args:
        images: array or tensor of images with values in [0, 1]; a 5-D
            `[rows, columns, h, w, c]` array keeps its rows and columns.
        columns: images per row; default is the square root of `n`, rounded up.
    """
    images = np.nan_to_num(np.asarray(images, dtype=np.float32))
    if images.ndim == 5:
        columns = images.shape[1]
        images = images.reshape(-1, *images.shape[2:])
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.zeros((rows * height, columns * width, channels), np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[r * height : (r + 1) * height, c * width : (c + 1) * width] = image
    return np.round(np.clip(canvas, 0.0, 1.0) * 255).astype(np.uint8)


def write_png(path, image):
    """Writes a uint8 `[h, w, c]` image as PNG, atomically; returns `path`."""
    return write_atomically(path, tf.io.encode_png(image).numpy())
