"""Dropout whose masks are drawn per example from that example's own seed."""

import keras
import tensorflow as tf

from tfgen.ops.noise import per_example_uniform


@keras.saving.register_keras_serializable(package="tfgen")
class PerExampleDropout(keras.layers.Layer):
    """Dropout that gives the same masks however a batch is split over replicas.

    Given `seeds` (int `[batch, 2]`, one stateless seed per example), example `i`'s
    mask is a function of `seeds[i]` alone. Without seeds it behaves like
    `keras.layers.Dropout`, drawing from its own `keras.random.SeedGenerator`.

    Args:
        rate: fraction of the units to drop, in `[0, 1)`.
        seed: seed of the fallback generator used when no `seeds` are passed.

    Example:

    >>> layer = PerExampleDropout(0.5)
    >>> seeds = tf.constant([[0, 1], [0, 2]], tf.int64)
    >>> y = layer(tf.ones([2, 4]), seeds=seeds, training=True)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, seeds=None, training=False):
        if not training or self.rate == 0:
            return inputs
        if seeds is None:
            return keras.random.dropout(inputs, self.rate, seed=self.seed_generator)
        keep = per_example_uniform(seeds, inputs.shape[1:], dtype=inputs.dtype) >= self.rate
        return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
