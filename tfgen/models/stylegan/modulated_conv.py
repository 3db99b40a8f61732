"""StyleGAN2's modulated convolution and its skip-connection ToRGB output layer.

Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"
(https://arxiv.org/abs/1912.04958), section 2.2: a per-example style `s` scales the
convolution's input channels (modulation), and each output channel is divided by
the norm of its effective weights `w'_{ijk} = s_i w_{ijk}` (demodulation), which
replaces AdaIN's instance normalization without its droplet artifacts.

Both layers use the official StyleGAN2-ADA "non-fused" form (`modulated_conv2d`
with `fused_modconv=False`, networks.py): scale the input by `s`, run one ordinary
convolution shared by the batch, scale the output by the demodulation
coefficients. It is the same function as a per-example grouped convolution, and
plain `tf.nn.conv2d` is fast on CPUs and converts to TFLite builtins.
"""

import math

import keras
import tensorflow as tf

from tfgen.models.stylegan.equalized import EqualizedDense


def upsample_2x(x):
    """Bilinear 2x upsampling (the official code uses a [1, 3, 3, 1] FIR filter)."""
    height, width = x.shape[1], x.shape[2]
    return tf.image.resize(x, [2 * height, 2 * width], method="bilinear")


@keras.saving.register_keras_serializable(package="tfgen")
class ModulatedConv2D(keras.layers.Layer):
    """A convolution whose input channels are scaled by a style computed from `w`.

    Called as `layer(x, w)`: `x` `[batch, height, width, channels]`, `w`
    `[batch, w_dim]`. A learned affine map (bias initialized to 1) turns `w` into
    one scale per input channel.

    Args:
        filters: output channels.
        kernel_size: side of the square kernel (3 in the synthesis layers, 1 in ToRGB).
        demodulate: divide each output channel by the L2 norm of its modulated
            weights, so unit-variance inputs give unit-variance outputs.
        up: upsample the input 2x (bilinear) before the convolution.

    Example:

    >>> conv = ModulatedConv2D(8, 3)
    >>> conv(tf.ones([2, 4, 4, 16]), tf.ones([2, 32])).shape
    TensorShape([2, 4, 4, 8])
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, up=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.up = up

    def build(self, x_shape, w_shape=None):
        channels = int(x_shape[-1])
        self.affine = EqualizedDense(channels, bias_init=1.0, name="affine")
        if w_shape is not None:
            self.affine.build(w_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        # Without demodulation (ToRGB) He's constant keeps the output's scale, as in ToRGBLayer.
        self.weight_gain = (
            1.0 if self.demodulate else 1.0 / math.sqrt(channels * self.kernel_size**2)
        )

    def styles(self, w):
        """The per-example input-channel scales, `[batch, channels]`."""
        return self.affine(w) * self.weight_gain

    def call(self, x, w):
        styles = self.styles(w)
        x = x * styles[:, None, None, :]
        if self.up:
            x = upsample_2x(x)
        x = tf.nn.conv2d(x, self.kernel, strides=1, padding="SAME")
        if self.demodulate:
            # ||w'_j||² = Σ_{k, i} (s_i w_{kij})² for every example and output channel j.
            squared = tf.reduce_sum(tf.square(self.kernel), axis=[0, 1])  # [channels, filters]
            norms = tf.matmul(tf.square(styles), squared)  # [batch, filters]
            x = x * tf.math.rsqrt(norms + 1e-8)[:, None, None, :]
        return x

    def compute_output_shape(self, x_shape, w_shape=None):
        batch, height, width, _ = x_shape
        if self.up:
            height, width = height * 2, width * 2
        return (batch, height, width, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "demodulate": self.demodulate,
            "up": self.up,
        }


@keras.saving.register_keras_serializable(package="tfgen")
class ToRGB(keras.layers.Layer):
    """A modulated 1x1 convolution to image channels, added to the upsampled previous image.

    StyleGAN2's "skip" generator (figure 7b of the paper): every resolution's block
    contributes an RGB (or grayscale) image; `layer(x, w, skip)` returns
    `torgb(x, w) + upsample(skip)`.

    Args:
        channels: image channels (1 for grayscale, 3 for RGB).
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.conv = ModulatedConv2D(channels, kernel_size=1, demodulate=False, name="conv")

    def build(self, x_shape, w_shape=None, skip_shape=None):
        self.conv.build(x_shape, w_shape)
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")

    def call(self, x, w, skip=None):
        rgb = self.conv(x, w) + self.bias
        if skip is not None:
            rgb = rgb + upsample_2x(skip)
        return rgb

    def compute_output_shape(self, x_shape, w_shape=None, skip_shape=None):
        return (*x_shape[:-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}
