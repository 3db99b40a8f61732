"""Square images of a model's resolution: resize or pad the examples of an image dataset.

A model family whose config has a `resolution` key (StyleGAN) needs every image to be
`resolution x resolution`. `fit_images` maps a dataset's examples to that size,
as the config's `image_fit` says, and returns the matching `DatasetInfo`, so every
reader downstream (the model, callbacks, the saved `dataset_info.json`) sees the
size the model was trained on.
"""

import dataclasses

import tensorflow as tf

IMAGE_FITS = ("pad", "resize")
"""`pad`: centre the image on a zero (black) canvas, never scales (MNIST 28 -> 32);
`resize`: bilinear resize to the square, which changes the aspect ratio of
non-square images."""


DEFAULT_IMAGE_FIT = "resize"


def fit_images(dataset, info, resolution, image_fit=DEFAULT_IMAGE_FIT):
    """Maps the `"image"` of every example to `resolution x resolution`.

    Args:
        dataset: unbatched dataset of `{"image", ...}` examples, pixels in [0, 1].
        info: its `DatasetInfo` (`modality == "image"`).
        resolution: side of the square output.
        image_fit: one of `IMAGE_FITS`.

    Returns:
        `(dataset, info)` with the new image shape.

    Raises:
        ValueError: for a text dataset, an unknown `image_fit`, or padding an image
            larger than `resolution` (naming `resize` instead).
    """
    if info.modality != "image":
        raise ValueError(f"resolution applies to image datasets; {info.name!r} is {info.modality}")
    if image_fit not in IMAGE_FITS:
        raise ValueError(f"image_fit must be one of {', '.join(IMAGE_FITS)}, got {image_fit!r}")
    height, width, channels = info.shape
    if (height, width) == (resolution, resolution):
        return dataset, info
    if image_fit == "pad" and (height > resolution or width > resolution):
        raise ValueError(
            f"cannot pad {info.name!r} images of {height}x{width} to {resolution}x{resolution}: "
            f"they are larger; use image_fit: resize (or a larger resolution)"
        )

    def fit(example):
        example = dict(example)
        image = tf.convert_to_tensor(example["image"])
        if image_fit == "pad":
            image = tf.image.pad_to_bounding_box(
                image, (resolution - height) // 2, (resolution - width) // 2, resolution, resolution
            )
        else:
            image = tf.clip_by_value(
                tf.image.resize(image, [resolution, resolution], method="bilinear", antialias=True),
                0.0,
                1.0,
            )
        example["image"] = tf.ensure_shape(
            tf.cast(image, example["image"].dtype), [resolution, resolution, channels]
        )
        return example

    info = dataclasses.replace(info, shape=(resolution, resolution, channels))
    return dataset.map(fit, num_parallel_calls=tf.data.AUTOTUNE), info


def unfit_images(images, shape, image_fit=DEFAULT_IMAGE_FIT):
    """The inverse of `fit_images` on a batch: model-size images back to a dataset's size.

    Evaluation compares generated images with the dataset's own images through an
    extractor built for the dataset's size (tfgen's 28x28 MNIST classifier), so a
    32x32 model's samples are brought back the way the data was brought to 32x32:
    `pad` takes the centre crop (exact: it undoes the padding), `resize` resizes back.

    Args:
        images: `[batch, size, size, channels]` in [0, 1].
        shape: the dataset's `(height, width, channels)`.
        image_fit: how the training data was fitted, one of `IMAGE_FITS`.

    Returns:
        `[batch, height, width, channels]` images (`images` itself when sizes agree).

    Raises:
        ValueError: for an unknown `image_fit`, or a channel count that differs.
    """
    if image_fit not in IMAGE_FITS:
        raise ValueError(f"image_fit must be one of {', '.join(IMAGE_FITS)}, got {image_fit!r}")
    images = tf.convert_to_tensor(images)
    height, width, channels = shape
    size = tuple(images.shape[1:3])
    if images.shape[-1] != channels:
        raise ValueError(
            f"generated images have {images.shape[-1]} channels, the dataset's have {channels}"
        )
    if size == (height, width):
        return images
    if image_fit == "pad" and size[0] >= height and size[1] >= width:
        return tf.image.crop_to_bounding_box(
            images, (size[0] - height) // 2, (size[1] - width) // 2, height, width
        )
    return tf.clip_by_value(
        tf.image.resize(images, [height, width], method="bilinear", antialias=True), 0.0, 1.0
    )
