"""Seeded noise that does not depend on how a batch is split over replicas.

The training pipeline gives every example its own stateless seed (a pair of
int64s, see `tfgen.data.pipeline`). Drawing each example's noise from its own
seed makes a step with 2 replicas bit-for-bit comparable to a step with 1.
"""

import tensorflow as tf


def per_example_normal(seeds, shape, dtype=tf.float32):
    """Standard-normal noise of `[batch, *shape]`, one stateless draw per seed.

    Args:
        seeds: int tensor of shape `[batch, 2]`.
        shape: per-example shape, e.g. `[latent_dim]`.
        dtype: float dtype of the result.
    """
    shape = list(shape)
    return tf.map_fn(
        lambda seed: tf.random.stateless_normal(shape, seed=seed, dtype=dtype),
        seeds,
        fn_output_signature=tf.TensorSpec(shape, dtype),
    )
