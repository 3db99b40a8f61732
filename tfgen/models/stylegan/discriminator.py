"""StyleGAN2's residual discriminator (Karras et al. 2020, figure 7c).

As in the official StyleGAN2-ADA `Discriminator` (networks.py): a 1x1 FromRGB at
full resolution, then per resolution a residual block (two 3x3 convolutions, the
second downsampling, plus a downsampled 1x1 skip, summed and scaled by 1/√2), and
at 4x4 an epilogue: minibatch standard deviation, a 3x3 convolution, a dense layer
and the output. A conditional discriminator projects its last features onto a
learned embedding of the label (the official `cmap` projection, Miyato & Koyama 2018).
"""

import math

import keras
import tensorflow as tf

from tfgen.models.stylegan.equalized import EqualizedConv2D, EqualizedDense
from tfgen.models.stylegan.generator import block_resolutions, channels_at, check_resolution
from tfgen.models.stylegan.minibatch_stddev import MinibatchStdDev
from tfgen.models.stylegan.tracking import track_each


@keras.saving.register_keras_serializable(package="tfgen")
class ResidualBlock(keras.layers.Layer):
    """Two 3x3 convolutions (the second halves the resolution) plus a 1x1 skip, over √2.

    Args:
        in_filters: channels of the first convolution.
        out_filters: channels of the output.
    """

    def __init__(self, in_filters, out_filters, **kwargs):
        super().__init__(**kwargs)
        self.in_filters = in_filters
        self.out_filters = out_filters
        self.conv0 = EqualizedConv2D(in_filters, 3, activation="lrelu", name="conv0")
        self.conv1 = EqualizedConv2D(out_filters, 3, down=True, activation="lrelu", name="conv1")
        self.skip = EqualizedConv2D(out_filters, 1, down=True, use_bias=False, name="skip")

    def build(self, input_shape):
        self.conv0.build(input_shape)
        self.conv1.build((*input_shape[:-1], self.in_filters))
        self.skip.build(input_shape)

    def call(self, x):
        return (self.skip(x) + self.conv1(self.conv0(x))) * math.sqrt(0.5)

    def get_config(self):
        return {
            **super().get_config(),
            "in_filters": self.in_filters,
            "out_filters": self.out_filters,
        }


@keras.saving.register_keras_serializable(package="tfgen")
class StyleGANDiscriminator(keras.Model):
    """Maps images in [-1, 1] (and optional labels) to one real-vs-fake logit each.

    Args:
        resolution: image side, a power of two from 8 to 256.
        image_channels: 1 or 3.
        channel_base: channels at resolution r are `min(channel_base // r, channel_max)`.
        channel_max: the cap on channels.
        num_classes: labels of a projection discriminator; 0 = unconditional.
        mbstd_group_size: group size of the minibatch standard deviation (4).

    Raises:
        ValueError: for a resolution that is not a power of two from 8 to 256.
    """

    def __init__(
        self,
        resolution=32,
        image_channels=1,
        channel_base=2048,
        channel_max=128,
        num_classes=0,
        mbstd_group_size=4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_resolution(resolution)
        self.resolution = resolution
        self.image_channels = image_channels
        self.channel_base = channel_base
        self.channel_max = channel_max
        self.num_classes = num_classes or 0
        self.mbstd_group_size = mbstd_group_size

        def width(res):
            return channels_at(res, channel_base, channel_max)

        self.from_rgb = EqualizedConv2D(width(resolution), 1, activation="lrelu", name="from_rgb")
        self.blocks = track_each(
            self,
            "block_",
            [
                ResidualBlock(width(res), width(res // 2), name=f"block{res}")
                for res in reversed(block_resolutions(resolution)[1:])
            ],
        )
        self.mbstd = MinibatchStdDev(mbstd_group_size, name="mbstd")
        self.conv = EqualizedConv2D(width(4), 3, activation="lrelu", name="conv")
        self.dense = EqualizedDense(width(4), activation="lrelu", name="dense")
        self.out = EqualizedDense(width(4) if self.num_classes else 1, name="out")
        self.label_embedding = (
            EqualizedDense(width(4), name="label_embedding") if self.num_classes else None
        )
        self(
            tf.zeros([1, resolution, resolution, image_channels]),
            labels=tf.zeros([1], tf.int32) if self.num_classes else None,
        )
        self.built = True

    def call(self, images, labels=None, seeds=None, training=False):
        """Logits `[batch]` (float32); `seeds` is accepted for the adversarial base and unused."""
        x = self.from_rgb(images)
        for block in self.blocks:
            x = block(x)
        x = self.conv(self.mbstd(x))
        x = self.out(self.dense(tf.reshape(x, [tf.shape(x)[0], -1])))
        if self.label_embedding is None:
            return tf.cast(x[:, 0], tf.float32)
        if labels is None:
            raise ValueError("this discriminator is class-conditional: pass `labels`")
        embedded = self.label_embedding(tf.one_hot(tf.cast(labels, tf.int32), self.num_classes))
        logits = tf.reduce_sum(x * embedded, axis=-1) / math.sqrt(x.shape[-1])
        return tf.cast(logits, tf.float32)

    def get_config(self):
        return {
            **super().get_config(),
            "resolution": self.resolution,
            "image_channels": self.image_channels,
            "channel_base": self.channel_base,
            "channel_max": self.channel_max,
            "num_classes": self.num_classes,
            "mbstd_group_size": self.mbstd_group_size,
        }
