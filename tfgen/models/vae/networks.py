"""Convolutional encoder and decoder stacks for images whose sides divide by 4."""

import keras
from keras import layers


def _check_shape(image_shape):
    height, width, _ = image_shape
    if height % 4 or width % 4:
        raise ValueError(
            f"convolutional nets need image height and width divisible by 4, got "
            f"{height}x{width}; resize the images (e.g. 28x28, 32x32, 64x64)"
        )


def conv_encoder(image_shape, outputs, filters=32, activation="elu", name="encoder"):
    """Two stride-2 stages (each a 3x3 conv then a 4x4 stride-2 conv) and a Dense head.

    Args:
        image_shape: `(height, width, channels)`; height and width divisible by 4.
        outputs: units of the final Dense layer (e.g. `2 * latent_dim`).
        filters: filters of the first stage; the second stage has twice as many.
        activation: activation of the hidden layers.
        name: name of the returned model.

    Returns:
        A built `keras.Sequential` mapping images to `[batch, outputs]`.
    """
    _check_shape(image_shape)
    return keras.Sequential(
        [
            keras.Input(image_shape),
            layers.Conv2D(filters, 3, padding="same", activation=activation),
            layers.Conv2D(filters, 4, strides=2, padding="same", activation=activation),
            layers.Conv2D(2 * filters, 3, padding="same", activation=activation),
            layers.Conv2D(2 * filters, 4, strides=2, padding="same", activation=activation),
            layers.Flatten(),
            layers.Dense(outputs),
        ],
        name=name,
    )


def conv_decoder(input_dim, image_shape, filters=32, activation="elu", name="decoder"):
    """Mirror of `conv_encoder`: Dense to a quarter-size map, two stride-2 upsamplings.

    Args:
        input_dim: size of the input vector (e.g. `latent_dim`).
        image_shape: `(height, width, channels)` of the output.
        filters: filters of the last stage; the first has twice as many.
        activation: activation of the hidden layers.
        name: name of the returned model.

    Returns:
        A built `keras.Sequential` mapping `[batch, input_dim]` to unbounded
        per-pixel parameters (e.g. logits) of shape `[batch, *image_shape]`.
    """
    _check_shape(image_shape)
    height, width, channels = image_shape
    return keras.Sequential(
        [
            keras.Input((input_dim,)),
            layers.Dense(height // 4 * width // 4 * 2 * filters, activation=activation),
            layers.Reshape((height // 4, width // 4, 2 * filters)),
            layers.Conv2DTranspose(
                2 * filters, 4, strides=2, padding="same", activation=activation
            ),
            layers.Conv2D(2 * filters, 3, padding="same", activation=activation),
            layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation=activation),
            layers.Conv2D(channels, 3, padding="same"),
        ],
        name=name,
    )
