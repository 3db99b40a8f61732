"""StyleGAN2's generator: a mapping network, then a skip-connection synthesis network.

Karras et al. 2020 (https://arxiv.org/abs/1912.04958), figure 7b ("skip" generator)
and the official StyleGAN2-ADA `SynthesisNetwork` (networks.py): a learned 4x4
constant, then per resolution two modulated 3x3 convolutions (the first upsamples)
each followed by per-pixel noise, a bias and a leaky ReLU, and a ToRGB whose
outputs are upsampled and summed. Style input `i` (a row of `ws`) drives
convolution `i`; the ToRGB of a block reads the style of the next block's first
convolution, as in the official code, so a `resolution` R generator has
`num_ws = 2·log2(R) − 2` style inputs, coarse (low resolutions) first.

Channel widths follow the official rule `min(channel_base // resolution, channel_max)`.
"""

import math

import keras
import tensorflow as tf

from tfgen.models.stylegan.equalized import activate
from tfgen.models.stylegan.mapping_network import MappingNetwork
from tfgen.models.stylegan.modulated_conv import ModulatedConv2D, ToRGB
from tfgen.models.stylegan.noise_injection import NoiseInjection
from tfgen.models.stylegan.tracking import track_each
from tfgen.ops.noise import per_example_normal

MIN_RESOLUTION, MAX_RESOLUTION = 8, 256
VALID_RESOLUTIONS = tuple(2**k for k in range(3, 9))


def check_resolution(resolution):
    """Raises `ValueError` unless `resolution` is a power of two from 8 to 256."""
    if resolution not in VALID_RESOLUTIONS:
        raise ValueError(
            f"resolution must be a power of two from {MIN_RESOLUTION} to {MAX_RESOLUTION} "
            f"({', '.join(map(str, VALID_RESOLUTIONS))}), got {resolution!r}"
        )


def block_resolutions(resolution):
    """`[4, 8, ..., resolution]`."""
    return [2**k for k in range(2, int(math.log2(resolution)) + 1)]


def channels_at(resolution, channel_base, channel_max):
    """Feature channels of the blocks at `resolution` (the official rule)."""
    return max(1, min(channel_base // resolution, channel_max))


def num_style_inputs(resolution):
    """`num_ws` of a generator of this resolution: 2·log2(resolution) − 2."""
    return 2 * int(math.log2(resolution)) - 2


@keras.saving.register_keras_serializable(package="tfgen")
class SynthesisLayer(keras.layers.Layer):
    """Modulated convolution, noise injection, bias and leaky ReLU: `layer(x, w, noise=None)`.

    Args:
        filters: output channels.
        up: upsample 2x before the convolution.
    """

    def __init__(self, filters, up=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.up = up
        self.conv = ModulatedConv2D(filters, 3, up=up, name="conv")
        self.noise = NoiseInjection(name="noise")

    def build(self, x_shape, w_shape=None, noise_shape=None):
        self.conv.build(x_shape, w_shape)
        self.noise.build(self.conv.compute_output_shape(x_shape))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x, w, noise=None):
        x = self.noise(self.conv(x, w), noise=noise)
        return activate(x + self.bias, "lrelu")

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "up": self.up}


@keras.saving.register_keras_serializable(package="tfgen")
class StyleGANSynthesis(keras.Model):
    """Maps styles `ws` `[batch, num_ws, w_dim]` (and noise) to images in about [-1, 1].

    Args:
        w_dim: size of w.
        resolution: output side, a power of two from 8 to 256.
        image_channels: 1 (grayscale) or 3 (RGB).
        channel_base: channels at resolution r are `min(channel_base // r, channel_max)`.
        channel_max: the cap on channels.
        noise_seed: seed of the fixed noise maps used when no noise is given.

    Raises:
        ValueError: for a resolution that is not a power of two from 8 to 256.
    """

    def __init__(
        self,
        w_dim=128,
        resolution=32,
        image_channels=1,
        channel_base=2048,
        channel_max=128,
        noise_seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_resolution(resolution)
        self.w_dim = w_dim
        self.resolution = resolution
        self.image_channels = image_channels
        self.channel_base = channel_base
        self.channel_max = channel_max
        self.noise_seed = noise_seed
        self.num_ws = num_style_inputs(resolution)

        def width(res):
            return channels_at(res, channel_base, channel_max)

        convs, to_rgbs, self.noise_shapes = [], [], []
        for res in block_resolutions(resolution):
            for up in (False,) if res == 4 else (True, False):
                convs.append(SynthesisLayer(width(res), up=up, name=f"conv{len(convs)}"))
                self.noise_shapes.append((res, res, 1))
            to_rgbs.append(ToRGB(image_channels, name=f"to_rgb{res}"))
        self.convs = track_each(self, "conv_", convs)
        self.to_rgbs = track_each(self, "to_rgb_", to_rgbs)
        self.const = self.add_weight(
            name="const",
            shape=(4, 4, width(4)),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        # The official "const" noise mode: one fixed map per layer, drawn once.
        self.fixed_noise = track_each(
            self,
            "fixed_noise_",
            [
                self.add_weight(
                    name=f"fixed_noise{index}",
                    shape=(1, *shape),
                    trainable=False,
                    initializer=keras.initializers.RandomNormal(seed=noise_seed + index),
                )
                for index, shape in enumerate(self.noise_shapes)
            ],
        )
        self(tf.zeros([1, self.num_ws, w_dim]))
        self.built = True

    def noise_from_seeds(self, seeds):
        """One noise map per layer, each example's drawn from its own stateless seed.

        One `map_fn` draws every layer's noise of an example at once.
        """
        sizes = [h * w for h, w, _ in self.noise_shapes]
        flat = per_example_normal(seeds, [sum(sizes)])
        return [
            tf.reshape(part, [-1, *shape])
            for part, shape in zip(tf.split(flat, sizes, axis=1), self.noise_shapes)
        ]

    def random_noise(self, batch, seed):
        """One noise map per layer for `batch` images, drawn with stateless `seed` (int)."""
        return [
            tf.random.stateless_normal([batch, *shape], seed=[seed, index])
            for index, shape in enumerate(self.noise_shapes)
        ]

    def call(self, ws, noise=None, training=False):
        """Images `[batch, resolution, resolution, image_channels]`.

        Args:
            ws: styles, `[batch, num_ws, w_dim]`.
            noise: a list of `[batch, h, w, 1]` maps (`noise_shapes`), or `None`
                for the fixed maps (`"const"` noise in the official code).
            training: unused (no layer behaves differently).
        """
        batch = tf.shape(ws)[0]
        if noise is None:
            noise = [tf.repeat(fixed, batch, axis=0) for fixed in self.fixed_noise]
        if len(noise) != len(self.convs):
            raise ValueError(f"expected {len(self.convs)} noise maps, got {len(noise)}")
        x = tf.tile(self.const[None], [batch, 1, 1, 1])
        image, index = None, 0
        for block, to_rgb in enumerate(self.to_rgbs):
            for _ in range(1 if block == 0 else 2):
                x = self.convs[index](x, ws[:, index], noise=noise[index])
                index += 1
            image = to_rgb(x, ws[:, index], skip=image)
        return image

    def get_config(self):
        return {
            **super().get_config(),
            "w_dim": self.w_dim,
            "resolution": self.resolution,
            "image_channels": self.image_channels,
            "channel_base": self.channel_base,
            "channel_max": self.channel_max,
            "noise_seed": self.noise_seed,
        }


@keras.saving.register_keras_serializable(package="tfgen")
class StyleGANGenerator(keras.Model):
    """Mapping network and synthesis network: `generator(z, labels=None)` -> images.

    Args:
        latent_dim: size of z.
        w_dim: size of w.
        resolution: image side, a power of two from 8 to 256.
        image_channels: 1 or 3.
        mapping_layers: depth of the mapping network (8 in the paper).
        channel_base: see `StyleGANSynthesis`.
        channel_max: see `StyleGANSynthesis`.
        num_classes: labels of a conditional generator; 0 = unconditional.
    """

    def __init__(
        self,
        latent_dim=128,
        w_dim=128,
        resolution=32,
        image_channels=1,
        mapping_layers=8,
        channel_base=2048,
        channel_max=128,
        num_classes=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.w_dim = w_dim
        self.resolution = resolution
        self.image_channels = image_channels
        self.mapping_layers = mapping_layers
        self.channel_base = channel_base
        self.channel_max = channel_max
        self.num_classes = num_classes or 0
        self.synthesis = StyleGANSynthesis(
            w_dim, resolution, image_channels, channel_base, channel_max, name="synthesis"
        )
        self.mapping = MappingNetwork(
            latent_dim, w_dim, mapping_layers, self.num_classes, name="mapping"
        )
        self.mapping.build((None, latent_dim))
        self.num_ws = self.synthesis.num_ws
        self.built = True

    def broadcast(self, w):
        """`[batch, w_dim]` -> `[batch, num_ws, w_dim]`: the same style for every layer."""
        return tf.tile(w[:, None, :], [1, self.num_ws, 1])

    def check_crossover(self, crossover):
        """Raises `ValueError` unless `0 <= crossover <= num_ws` (a Python int)."""
        if not isinstance(crossover, int) or not 0 <= crossover <= self.num_ws:
            raise ValueError(
                f"crossover must be a layer index from 0 to {self.num_ws} (this generator has "
                f"{self.num_ws} style inputs; styles before the crossover come from the first "
                f"latent, the rest from the second), got {crossover!r}"
            )

    def mix(self, ws, ws_other, crossover):
        """Styles `0 .. crossover-1` from `ws` (coarse), the rest from `ws_other` (fine).

        `crossover` is a Python int in `[0, num_ws]` or an int tensor `[batch]` (one per
        example); `num_ws` keeps `ws` unchanged.
        """
        if isinstance(crossover, int):
            self.check_crossover(crossover)
        layer = tf.range(self.num_ws)[None, :, None]
        crossover = tf.reshape(tf.cast(crossover, tf.int32), [-1, 1, 1])
        return tf.where(layer < crossover, ws, ws_other)

    def call(self, z, labels=None, truncation_psi=1.0, noise=None, training=False):
        w = self.mapping(z, labels=labels, truncation_psi=truncation_psi)
        return self.synthesis(self.broadcast(w), noise=noise)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "w_dim": self.w_dim,
            "resolution": self.resolution,
            "image_channels": self.image_channels,
            "mapping_layers": self.mapping_layers,
            "channel_base": self.channel_base,
            "channel_max": self.channel_max,
            "num_classes": self.num_classes,
        }
