"""The minibatch standard-deviation layer of ProGAN/StyleGAN discriminators.

Karras et al. 2018 (https://arxiv.org/abs/1710.10196), section 3: the discriminator
sees how varied a group of its inputs is, which discourages mode collapse. As in
the official StyleGAN2-ADA `MinibatchStdLayer`, the features are split into
`num_channels` groups; the standard deviation over each group of `group_size`
examples is averaged over pixels and channels and appended as extra feature maps.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfgen")
class MinibatchStdDev(keras.layers.Layer):
    """Appends `num_channels` maps of the within-group standard deviation.

    Groups are runs of CONSECUTIVE examples (the official code strides them
    across the batch). So as long as each replica's batch divides by the group
    size, the groups, and the step, are the same however a batch is split over
    replicas. The group size is the largest divisor of the batch size that is
    at most `group_size`.

    Args:
        group_size: examples per group (4 in StyleGAN2).
        num_channels: statistics appended (1 in StyleGAN2); must divide the channels.

    Example:

    >>> MinibatchStdDev(4)(tf.random.normal([8, 4, 4, 16])).shape
    TensorShape([8, 4, 4, 17])
    """

    def __init__(self, group_size=4, num_channels=1, **kwargs):
        super().__init__(**kwargs)
        if group_size < 1 or num_channels < 1:
            raise ValueError(
                f"group_size and num_channels must be positive, got {group_size} and {num_channels}"
            )
        self.group_size = group_size
        self.num_channels = num_channels

    def group_size_for(self, batch):
        """The largest divisor of `batch` (a scalar tensor) not above `group_size`."""
        candidates = tf.range(1, self.group_size + 1)
        return tf.reduce_max(tf.where(batch % candidates == 0, candidates, 1))

    def call(self, x):
        shape = tf.shape(x)
        batch, height, width = shape[0], shape[1], shape[2]
        channels = x.shape[-1]
        if channels % self.num_channels:
            raise ValueError(
                f"num_channels {self.num_channels} must divide the {channels} feature channels"
            )
        group = self.group_size_for(batch)
        y = tf.reshape(
            x, [-1, group, height, width, self.num_channels, channels // self.num_channels]
        )
        y = y - tf.reduce_mean(y, axis=1, keepdims=True)
        y = tf.sqrt(tf.reduce_mean(tf.square(y), axis=1) + 1e-8)  # [groups, h, w, F, c]
        y = tf.reduce_mean(y, axis=[1, 2, 4])  # [groups, F]
        y = tf.repeat(y, group, axis=0)  # Back to one row per example.
        y = tf.tile(y[:, None, None, :], [1, height, width, 1])
        return tf.concat([x, tf.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "group_size": self.group_size,
            "num_channels": self.num_channels,
        }
