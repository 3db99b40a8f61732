"""Equalized learning-rate dense and convolution layers (Karras et al. 2018, ProGAN).

Weights are stored as `N(0, 1 / lr_multiplier²)` draws and scaled at run time by
`lr_multiplier / sqrt(fan_in)` (He's constant), so every weight sees the same
effective learning rate under Adam whatever its fan-in
(https://arxiv.org/abs/1710.10196, section 4.1). Biases are scaled by
`lr_multiplier`. As in the official StyleGAN2-ADA `FullyConnectedLayer` and
`Conv2dLayer` (networks.py), a leaky-ReLU output is multiplied by √2 so that
activations keep unit variance.
"""

import math

import keras
import tensorflow as tf

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def activate(x, activation):
    """`"linear"` (identity) or `"lrelu"`: leaky ReLU (slope 0.2) times √2."""
    if activation == "linear":
        return x
    if activation == "lrelu":
        return tf.nn.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN
    raise ValueError(f"unknown activation {activation!r}; valid ones are: linear, lrelu")


def pooled_kernel(kernel):
    """The `(k+1)x(k+1)` kernel of a `k x k` convolution followed by 2x2 average pooling.

    Both are linear, so the pooled output is one convolution with the kernel convolved
    with the 2x2 box filter: `K'[u, v] = (k[u, v] + k[u-1, v] + k[u, v-1] + k[u-1, v-1]) / 4`.
    """
    shifts = [
        tf.pad(kernel, [[top, 1 - top], [left, 1 - left], [0, 0], [0, 0]])
        for top in (0, 1)
        for left in (0, 1)
    ]
    return tf.add_n(shifts) * 0.25


def strided_conv_then_pool(x, kernel):
    """`avg_pool2d(conv2d(x, kernel, "SAME"), 2)` as ONE stride-2 convolution.

    The same function (to rounding) at a quarter of the positions: a `k x k` kernel
    costs `(k+1)²/4` multiply-adds per input pixel instead of `k²` (4 instead of 9 for
    3x3). "SAME" padding of the k x k convolution puts `(k-1)//2` zeros before and the
    rest after; those padded inputs are exactly the ones the `(k+1)`-wide kernel reads.
    """
    size = int(kernel.shape[0])
    before = (size - 1) // 2
    after = size - 1 - before
    x = tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]])
    return tf.nn.conv2d(x, pooled_kernel(kernel), strides=2, padding="VALID")


@keras.saving.register_keras_serializable(package="tfgen")
class EqualizedDense(keras.layers.Layer):
    """A dense layer with an equalized learning rate.

    Args:
        units: output size.
        lr_multiplier: scales the effective learning rate of the weights and bias
            (0.01 in StyleGAN's mapping network).
        bias_init: initial value of the bias (1.0 for style affines, so styles start at 1).
        use_bias: whether to add a bias.
        activation: `"linear"` or `"lrelu"`.

    Example:

    >>> layer = EqualizedDense(8, lr_multiplier=0.01, activation="lrelu")
    >>> layer(tf.ones([2, 4])).shape
    TensorShape([2, 8])
    """

    def __init__(
        self, units, lr_multiplier=1.0, bias_init=0.0, use_bias=True, activation="linear", **kwargs
    ):
        super().__init__(**kwargs)
        activate(tf.zeros([]), activation)  # Validates the name now.
        self.units = units
        self.lr_multiplier = lr_multiplier
        self.bias_init = bias_init
        self.use_bias = use_bias
        self.activation = activation

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.weight_gain = self.lr_multiplier / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = (
            self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier),
            )
            if self.use_bias
            else None
        )

    def call(self, inputs):
        x = tf.matmul(inputs, self.kernel * self.weight_gain)
        if self.bias is not None:
            x = x + self.bias * self.lr_multiplier
        return activate(x, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "lr_multiplier": self.lr_multiplier,
            "bias_init": self.bias_init,
            "use_bias": self.use_bias,
            "activation": self.activation,
        }


@keras.saving.register_keras_serializable(package="tfgen")
class EqualizedConv2D(keras.layers.Layer):
    """A 'same'-padded convolution with an equalized learning rate.

    Args:
        filters: output channels.
        kernel_size: side of the square kernel.
        down: if True, average-pools the output 2x (StyleGAN2's discriminator
            downsamples after its second convolution; the official code blurs with
            a [1, 3, 3, 1] FIR filter, a 2x2 average is a cheaper low-pass). Computed as
            one stride-2 convolution with the pooled kernel (`strided_conv_then_pool`).
        use_bias: whether to add a bias.
        activation: `"linear"` or `"lrelu"`.
    """

    def __init__(
        self, filters, kernel_size=3, down=False, use_bias=True, activation="linear", **kwargs
    ):
        super().__init__(**kwargs)
        activate(tf.zeros([]), activation)
        self.filters = filters
        self.kernel_size = kernel_size
        self.down = down
        self.use_bias = use_bias
        self.activation = activation

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.weight_gain = 1.0 / math.sqrt(channels * self.kernel_size**2)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
            if self.use_bias
            else None
        )

    def call(self, inputs):
        kernel = self.kernel * self.weight_gain
        if not self.down:
            x = tf.nn.conv2d(inputs, kernel, strides=1, padding="SAME")
        elif self.kernel_size == 1:  # A 1x1 convolution commutes with the pooling.
            x = tf.nn.conv2d(tf.nn.avg_pool2d(inputs, 2, 2, "VALID"), kernel, 1, "VALID")
        else:
            x = strided_conv_then_pool(inputs, kernel)
        if self.bias is not None:
            x = x + self.bias
        return activate(x, self.activation)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        if self.down:
            height, width = height // 2, width // 2
        return (batch, height, width, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "down": self.down,
            "use_bias": self.use_bias,
            "activation": self.activation,
        }
