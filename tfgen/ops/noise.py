"""Seeded noise that does not depend on how a batch is split over replicas.

The training pipeline gives every example its own stateless seed (a pair of
int64s, see `tfgen.data.pipeline`). Drawing each example's noise from its own
seed makes a step with 2 replicas bit-for-bit comparable to a step with 1.
"""

import enum

import tensorflow as tf


class Stream(enum.IntEnum):
    """Every per-example random stream of a training step: the ids `fold_in` takes.

    One registry, so two draws never share a stream by accident. The numbers are part
    of every run's reproducibility (a resumed run draws the same noise): never renumber.
    """

    LATENT = 0  # z of the generated batch.
    DISCRIMINATOR = 1  # The discriminator's own noise (`DiscriminatorStream`).
    INTERPOLATION = 2  # WGAN-GP: real/fake mixing weights of the gradient penalty.
    AUGMENT_REAL = 3  # DiffAugment of the real batch.
    AUGMENT_FAKE = 4  # DiffAugment of the generated batch.
    MIXING_LATENT = 10  # StyleGAN: the second z of style mixing.
    MIXING_CHOICE = 11  # StyleGAN: whether and where styles mix.
    SYNTHESIS_NOISE = 12  # StyleGAN: the synthesis network's noise maps.
    PATH_LENGTH = 13  # StyleGAN: the batch of the path-length penalty.
    PATH_LENGTH_IMAGE_NOISE = 14  # StyleGAN: its image-space noise.
    EXTRA_CRITIC_STEPS = 100  # Critic step k > 0 of one train step: all streams from 100 + k.


class DiscriminatorStream(enum.IntEnum):
    """Streams inside `Stream.DISCRIMINATOR` (DCGAN's discriminator dropout masks)."""

    FIRST_DROPOUT = 1
    SECOND_DROPOUT = 2


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


def per_example_uniform(seeds, shape, minval=0.0, maxval=1.0, dtype=tf.float32):
    """Uniform noise in `[minval, maxval)` of `[batch, *shape]`, one stateless draw per seed.

    Args:
        seeds: int tensor of shape `[batch, 2]`.
        shape: per-example shape (`[]` for one scalar per example).
        minval: lower bound.
        maxval: upper bound (excluded).
        dtype: float dtype of the result.
    """
    shape = list(shape)
    return tf.map_fn(
        lambda seed: tf.random.stateless_uniform(
            shape, seed=seed, minval=minval, maxval=maxval, dtype=dtype
        ),
        seeds,
        fn_output_signature=tf.TensorSpec(shape, dtype),
    )


# An odd 64-bit constant (the golden ratio's bits); multiples of it spread stream keys apart.
_STREAM_STRIDE = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed int64


def fold_in(seeds, stream):
    """Per-example seeds of an independent random stream `stream` (a Python int).

    Each example's new seed depends only on its own seed and `stream`, so draws
    made from the result stay independent of how the batch is split.

    Args:
        seeds: int tensor of shape `[batch, 2]`.
        stream: a non-negative Python int naming the stream (e.g. 0 for latent
            codes, 1 for dropout masks).

    Returns:
        An int64 tensor of shape `[batch, 2]`.
    """
    seeds = tf.cast(seeds, tf.int64)
    key = seeds[:, 0] + tf.constant(_wrap((stream + 1) * _STREAM_STRIDE), tf.int64)
    return tf.stack([key, seeds[:, 1]], axis=-1)


def _wrap(value):
    """`value` modulo 2**64, as a signed int64."""
    value %= 2**64
    return value - 2**64 if value >= 2**63 else value
