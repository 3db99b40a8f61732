"""Per-pixel noise scaled by a learned per-channel strength (StyleGAN, Karras et al. 2019).

https://arxiv.org/abs/1812.04948, section 2: "a single-channel image of uncorrelated
Gaussian noise ... broadcast to all feature maps using learned per-feature scaling
factors". StyleGAN2 keeps the noise inputs; the strengths start at 0.
"""

import keras
import tensorflow as tf

from tfgen.ops.noise import per_example_normal


@keras.saving.register_keras_serializable(package="tfgen")
class NoiseInjection(keras.layers.Layer):
    """Adds `strength[c] * noise[b, y, x]` to every channel `c`.

    Called as `layer(x, noise=None, seeds=None)`. The noise is, in order of precedence:

    - `noise`: a given `[batch, height, width, 1]` tensor (fixed noise, exports,
      tests);
    - drawn from `seeds` (int `[batch, 2]`, one stateless seed per example), so
      the draw does not depend on how the batch is split over replicas;
    - drawn from the layer's own `keras.random.SeedGenerator`.

    Args:
        seed: seed of the fallback generator.

    Example:

    >>> layer = NoiseInjection()
    >>> noise = tf.random.normal([2, 4, 4, 1])
    >>> layer(tf.zeros([2, 4, 4, 8]), noise=noise).shape
    TensorShape([2, 4, 4, 8])
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(
            name="strength", shape=(int(input_shape[-1]),), initializer="zeros"
        )

    def call(self, x, noise=None, seeds=None):
        if noise is None:
            shape = [x.shape[1], x.shape[2], 1]
            if seeds is not None:
                noise = per_example_normal(seeds, shape, dtype=x.dtype)
            else:
                noise = keras.random.normal(
                    [tf.shape(x)[0], *shape], dtype=x.dtype, seed=self.seed_generator
                )
        return x + noise * self.strength

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
