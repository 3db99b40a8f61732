"""GAN losses and regularisers as pure functions with paired names.

Every function takes discriminator LOGITS (raw outputs of shape `[batch]` or
`[batch, 1]`) and returns a PER-EXAMPLE loss vector of shape `[batch]`. Nothing
here averages: the caller reduces with `tf.nn.compute_average_loss(per_example,
global_batch_size=...)`, which gives the same update for any replica count.

Adversarial losses are also looked up by lowercase name:

>>> loss = get("hinge")
>>> d_loss = loss.discriminator(real_logits, fake_logits)  # [batch]
>>> g_loss = loss.generator(fake_logits)  # [batch]
"""

import dataclasses
from collections.abc import Callable

import tensorflow as tf


def _flatten(logits):
    """`[batch]` or `[batch, 1]` logits as a `[batch]` tensor.

    Raises:
        ValueError: for any other shape.
    """
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank == 1:
        return logits
    if logits.shape.rank == 2 and logits.shape[-1] in (1, None):
        return tf.squeeze(logits, axis=-1)
    raise ValueError(f"expected logits of shape [batch] or [batch, 1], got {logits.shape}")


# Non-saturating and minimax losses.
# Goodfellow et al. 2014, "Generative Adversarial Networks",
# https://arxiv.org/abs/1406.2661 (section 3 gives the non-saturating generator loss).


def non_saturating_discriminator_loss(real_logits, fake_logits):
    """`-log D(x) - log(1 - D(G(z)))`, with `D = sigmoid(logits)`.

    Args:
        real_logits: logits on real data, `[batch]` or `[batch, 1]`.
        fake_logits: logits on generated data, the same shape.

    Returns:
        Per-example losses, `[batch]`.
    """
    return tf.nn.softplus(-_flatten(real_logits)) + tf.nn.softplus(_flatten(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """`-log D(G(z))`: strong gradients while D still rejects the samples.

    Args:
        fake_logits: logits on generated data, `[batch]` or `[batch, 1]`.

    Returns:
        Per-example losses, `[batch]`.
    """
    return tf.nn.softplus(-_flatten(fake_logits))


def minimax_discriminator_loss(real_logits, fake_logits):
    """The same loss as `non_saturating_discriminator_loss`; see there."""
    return non_saturating_discriminator_loss(real_logits, fake_logits)


def minimax_generator_loss(fake_logits):
    """`log(1 - D(G(z))) = -softplus(fake_logits)`: the original minimax objective.

    It saturates (vanishing gradients) when D confidently rejects the samples.

    Args:
        fake_logits: logits on generated data, `[batch]` or `[batch, 1]`.

    Returns:
        Per-example losses, `[batch]`.
    """
    return -tf.nn.softplus(_flatten(fake_logits))


# Wasserstein loss.
# Arjovsky et al. 2017, "Wasserstein GAN", https://arxiv.org/abs/1701.07875.


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """`D(G(z)) - D(x)`; needs a Lipschitz critic (e.g. `gradient_penalty`).

    Args:
        real_logits: critic outputs on real data, `[batch]` or `[batch, 1]`.
        fake_logits: critic outputs on generated data, the same shape.

    Returns:
        Per-example losses, `[batch]`.
    """
    return _flatten(fake_logits) - _flatten(real_logits)


def wasserstein_generator_loss(fake_logits):
    """`-D(G(z))`.

    Args:
        fake_logits: critic outputs on generated data, `[batch]` or `[batch, 1]`.

    Returns:
        Per-example losses, `[batch]`.
    """
    return -_flatten(fake_logits)


# Hinge loss.
# Lim & Ye 2017, "Geometric GAN", https://arxiv.org/abs/1705.02894;
# Miyato et al. 2018, "Spectral Normalization for GANs", https://arxiv.org/abs/1802.05957.


def hinge_discriminator_loss(real_logits, fake_logits):
    """`relu(1 - D(x)) + relu(1 + D(G(z)))`.

    Args:
        real_logits: logits on real data, `[batch]` or `[batch, 1]`.
        fake_logits: logits on generated data, the same shape.

    Returns:
        Per-example losses, `[batch]`.
    """
    return tf.nn.relu(1.0 - _flatten(real_logits)) + tf.nn.relu(1.0 + _flatten(fake_logits))


def hinge_generator_loss(fake_logits):
    """`-D(G(z))`, the same as `wasserstein_generator_loss`; see there."""
    return -_flatten(fake_logits)


# Least-squares loss.
# Mao et al. 2017, "Least Squares Generative Adversarial Networks",
# https://arxiv.org/abs/1611.04076 (targets a=0, b=1, c=1).


def least_squares_discriminator_loss(real_logits, fake_logits):
    """`0.5 * (D(x) - 1)^2 + 0.5 * D(G(z))^2` on the raw outputs.

    Args:
        real_logits: raw outputs on real data, `[batch]` or `[batch, 1]`.
        fake_logits: raw outputs on generated data, the same shape.

    Returns:
        Per-example losses, `[batch]`.
    """
    return 0.5 * tf.square(_flatten(real_logits) - 1.0) + 0.5 * tf.square(_flatten(fake_logits))


def least_squares_generator_loss(fake_logits):
    """`0.5 * (D(G(z)) - 1)^2`.

    Args:
        fake_logits: raw outputs on generated data, `[batch]` or `[batch, 1]`.

    Returns:
        Per-example losses, `[batch]`.
    """
    return 0.5 * tf.square(_flatten(fake_logits) - 1.0)


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """A named pair of losses.

    Attributes:
        name: lowercase registry name.
        discriminator: `(real_logits, fake_logits) -> [batch]` losses.
        generator: `(fake_logits) -> [batch]` losses.
    """

    name: str
    discriminator: Callable
    generator: Callable


LOSSES = {
    loss.name: loss
    for loss in (
        AdversarialLoss(
            "non_saturating", non_saturating_discriminator_loss, non_saturating_generator_loss
        ),
        AdversarialLoss("minimax", minimax_discriminator_loss, minimax_generator_loss),
        AdversarialLoss("wasserstein", wasserstein_discriminator_loss, wasserstein_generator_loss),
        AdversarialLoss("hinge", hinge_discriminator_loss, hinge_generator_loss),
        AdversarialLoss(
            "least_squares", least_squares_discriminator_loss, least_squares_generator_loss
        ),
    )
}


def names():
    """Sorted names of the registered adversarial losses."""
    return sorted(LOSSES)


def get(name):
    """The `AdversarialLoss` called `name` (case-insensitive).

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in LOSSES:
        raise ValueError(f"unknown adversarial loss {name!r}; valid: {', '.join(names())}")
    return LOSSES[key]


# Added to the squared norm inside the square root of `gradient_penalty`:
# d sqrt(s)/ds is infinite at s=0, which would turn a zero input gradient (e.g.
# a critic that ignores its input) into NaN weight gradients. 1e-10 moves the
# norm by at most 1e-5, and by less than 1e-8 for norms above 1e-2.
_SQRT_EPSILON = 1e-10


def _squared_input_gradient_norms(critic, images):
    """`||d critic(x_i) / d x_i||^2` per example, on a tape the caller can differentiate.

    The gradient of the SUM of the logits is each example's own gradient as long
    as examples do not interact inside the critic (no batch statistics).
    """
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(_flatten(critic(images)))
    gradients = tape.gradient(total, images)
    return tf.reduce_sum(tf.square(gradients), axis=list(range(1, gradients.shape.rank)))


# Gradient penalty.
# Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
# https://arxiv.org/abs/1704.00028 (WGAN-GP).


def gradient_penalty(critic, real, fake, epsilon, target=1.0):
    """`(||grad critic(x_hat)||_2 - target)^2` at `x_hat = eps * real + (1 - eps) * fake`.

    Differentiable with respect to the critic's weights: call it inside the tape
    that computes the critic's update. The paper weights it by 10.

    Args:
        critic: callable `images -> logits` (`[batch]` or `[batch, 1]`).
        real: real images, `[batch, ...]`.
        fake: generated images, the same shape.
        epsilon: `[batch]` interpolation weights from U(0, 1), drawn by the caller
            per example (e.g. with `tfgen.ops.noise.per_example_uniform`).
        target: the gradient norm the penalty pulls towards.

    Returns:
        Per-example penalties, `[batch]`.
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(fake, real.dtype)
    weight = tf.reshape(tf.cast(epsilon, real.dtype), [-1] + [1] * (real.shape.rank - 1))
    interpolated = weight * real + (1.0 - weight) * fake
    squared_norms = _squared_input_gradient_norms(critic, interpolated)
    return tf.square(tf.sqrt(squared_norms + _SQRT_EPSILON) - target)


# R1 penalty.
# Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?",
# https://arxiv.org/abs/1801.04406 (section 4.1).


def r1_penalty(critic, real):
    """`||grad_x D(x)||^2` on real images.

    The paper's regulariser is `gamma / 2` times this: the CALLER multiplies by
    `gamma / 2` (and, for lazy regularisation, by the interval). Differentiable
    with respect to the critic's weights.

    Args:
        critic: callable `images -> logits` (`[batch]` or `[batch, 1]`).
        real: real images, `[batch, ...]`.

    Returns:
        Per-example squared gradient norms, `[batch]`.
    """
    return _squared_input_gradient_norms(critic, tf.convert_to_tensor(real))
