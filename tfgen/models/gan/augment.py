"""DiffAugment: differentiable augmentation for data-efficient GAN training.

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training", https://arxiv.org/abs/2006.10738. The transformations follow the
official TensorFlow code (mit-han-lab/data-efficient-gans, `DiffAugment_tf.py`);
the randomness does not: every example draws its few random numbers from its
OWN stateless seed, so augmenting a batch in two halves (e.g. on two replicas)
gives exactly the result of augmenting it whole. The transformations are
vectorized over the batch and compile with XLA.

The discriminator sees `diff_augment(real, ...)` and `diff_augment(fake, ...)`
in both phases; gradients flow through to the generator.
"""

import tensorflow as tf

from tfgen.ops.noise import per_example_uniform

POLICIES = ("color", "translation", "cutout")

# Each example draws _NUM_DRAWS uniforms; every transformation reads only its own columns.
_BRIGHTNESS, _SATURATION, _CONTRAST, _SHIFT_ROWS, _SHIFT_COLS, _CUT_ROWS, _CUT_COLS = range(7)
_NUM_DRAWS = 7

# Folded into each example's seed first, so that the augmentation draws are
# independent of other noise (e.g. latent vectors) drawn from the same seeds.
_SALT = 0x446966  # "Dif"


def parse_policy(policy):
    """The names of a DiffAugment policy, in the order they are applied.

    Args:
        policy: `None`, `""`, a comma-separated string such as
            `"color,translation,cutout"`, or a list/tuple of names.

    Returns:
        A tuple of names from `POLICIES` (empty for no augmentation).

    Raises:
        ValueError: for an unknown or repeated name; the message lists the valid ones.
    """
    if not policy:
        return ()
    entries = policy.split(",") if isinstance(policy, str) else list(policy)
    names = []
    for entry in entries:
        name = str(entry).strip().lower()
        if not name:
            continue
        if name not in POLICIES:
            raise ValueError(
                f"unknown DiffAugment policy {entry!r}; valid: {', '.join(POLICIES)} "
                "(comma-separated, e.g. 'color,translation,cutout')"
            )
        if name in names:
            raise ValueError(f"DiffAugment policy {name!r} is given twice in {policy!r}")
        names.append(name)
    return tuple(names)


def diff_augment(images, policy, seeds):
    """Randomly augments `images` with the transformations named in `policy`.

    Args:
        images: float tensor `[batch, height, width, channels]` in [-1, 1].
        policy: anything `parse_policy` accepts.
        seeds: int tensor `[batch, 2]`, one stateless seed per example. Use
            different seeds for the real and the fake batch (e.g. split them
            with `tf.random.experimental.stateless_split`) unless both should
            get the same transformations.

    Returns:
        The augmented images, same shape and dtype; `images` itself for an
        empty policy. Differentiable with respect to `images`.

    Raises:
        ValueError: for a bad `policy`.
    """
    names = parse_policy(policy)
    if not names:
        return images
    draws = augment_draws(seeds)
    return apply_policy(images, names, draws)


def augment_draws(seeds):
    """The `[batch, 7]` U(0, 1) draws `diff_augment` uses, from per-example `seeds`."""
    seeds = tf.convert_to_tensor(seeds)
    salted = tf.map_fn(
        lambda seed: tf.random.experimental.stateless_fold_in(seed, tf.cast(_SALT, seed.dtype)),
        seeds,
    )
    return per_example_uniform(salted, [_NUM_DRAWS])


def apply_policy(images, names, draws):
    """Applies the transformations `names` given the `[batch, 7]` uniform `draws`."""
    transforms = {
        "color": lambda x: _contrast(
            _saturation(_brightness(x, draws[:, _BRIGHTNESS]), draws[:, _SATURATION]),
            draws[:, _CONTRAST],
        ),
        "translation": lambda x: _translation(x, draws[:, _SHIFT_ROWS], draws[:, _SHIFT_COLS]),
        "cutout": lambda x: _cutout(x, draws[:, _CUT_ROWS], draws[:, _CUT_COLS]),
    }
    for name in names:
        images = transforms[name](images)
    return images


def _per_image(values, images):
    """`[batch]` values as `[batch, 1, 1, 1]` in the dtype of `images`."""
    return tf.reshape(tf.cast(values, images.dtype), [-1, 1, 1, 1])


def _brightness(images, uniform):
    """Adds U(-0.5, 0.5) to every pixel of an image."""
    return images + _per_image(uniform - 0.5, images)


def _saturation(images, uniform):
    """Scales each pixel's deviation from its channel mean by U(0, 2)."""
    mean = tf.reduce_mean(images, axis=3, keepdims=True)
    return (images - mean) * _per_image(uniform * 2.0, images) + mean


def _contrast(images, uniform):
    """Scales each image's deviation from its mean by U(0.5, 1.5)."""
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * _per_image(uniform + 0.5, images) + mean


def _random_integers(uniform, count):
    """`[batch]` integers uniform in `[0, count)` from U(0, 1) draws."""
    scaled = tf.floor(uniform * tf.cast(count, uniform.dtype))
    return tf.minimum(tf.cast(scaled, tf.int32), count - 1)


def _shift(images, offsets, axis):
    """`out[b, i] = images[b, i + offsets[b]]` along `axis` (1 or 2), zero outside."""
    size = tf.shape(images)[axis]
    source = tf.range(size)[None, :] + offsets[:, None]
    # Index 0 and size + 1 of the padded tensor are zeros.
    source = tf.clip_by_value(source + 1, 0, size + 1)
    padding = [[0, 0]] * 4
    padding[axis] = [1, 1]
    return tf.gather(tf.pad(images, padding), source, axis=axis, batch_dims=1)


def _translation(images, uniform_rows, uniform_cols):
    """Shifts each image by whole pixels, up to 1/8 of its size per axis; zero padding."""
    for axis, uniform in ((1, uniform_rows), (2, uniform_cols)):
        limit = tf.shape(images)[axis] // 8
        offsets = _random_integers(uniform, 2 * limit + 1) - limit
        images = _shift(images, offsets, axis)
    return images


def _cutout_band(uniform, size):
    """`[batch, size]` booleans: the rows (or columns) inside each example's cutout.

    As in the official code the cutout is `size // 2` long and its centre lies in
    `[0, size]` (`[0, size - 1]` for odd lengths), so it may be clipped at the border.
    """
    length = size // 2
    centre = _random_integers(uniform, size + 1 - length % 2)
    start = (centre - length // 2)[:, None]
    index = tf.range(size)[None, :]
    return (index >= start) & (index < start + length)


def _cutout(images, uniform_rows, uniform_cols):
    """Sets a random square (rectangle for non-square images) of half the size to 0."""
    rows = _cutout_band(uniform_rows, tf.shape(images)[1])
    cols = _cutout_band(uniform_cols, tf.shape(images)[2])
    inside = rows[:, :, None, None] & cols[:, None, :, None]
    return images * tf.cast(tf.logical_not(inside), images.dtype)
