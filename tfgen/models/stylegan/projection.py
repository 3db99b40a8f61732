"""Projection of an image into a StyleGAN's latent space W (and its noise maps).

Follows the official StyleGAN2-ADA `projector.py` (Karras et al. 2020,
https://arxiv.org/abs/1912.04958, section 5; https://github.com/NVlabs/stylegan2-ada):

- the mean and spread of W are estimated from 10,000 mapped latents (`w_avg`,
  `w_std = sqrt(Σ‖w − w_avg‖² / N)`); the tracked `w_avg` of the mapping network is
  the starting point when it is suitable (an unconditional model that has been
  trained, so `w_avg ≠ 0`), otherwise the mean of those samples;
- one `w` (broadcast to all `num_ws` style inputs) and the synthesis noise maps are
  optimised with Adam (β = 0.9, 0.999), initial learning rate 0.1 ramped up over the
  first 5% of the steps and down (cosine) over the last 25%;
- Gaussian noise of scale `w_std · 0.05 · max(0, 1 − t/0.75)²` is added to `w` in
  each step (t = step / steps), so early steps explore;
- the noise maps start as N(0, 1), are regularised (weight 1e5) by the squared
  autocorrelation with their one-pixel shifts at every scale down to 8x8, and are
  renormalised to zero mean and unit variance after every step.

The official distance is LPIPS over VGG16 features, whose weights cannot be had
offline. Here the distance is the pixel MSE of images in [0, 1], plus, when a
feature extractor is given (`python -m tfgen.projection` gives tfgen's evaluation
classifier of the run's dataset when it is cached), the squared distance of its
unit-normalised features (LPIPS also compares unit-normalised features).
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from tfgen.data.image_size import DEFAULT_IMAGE_FIT, unfit_images

W_AVG_SAMPLES = 10_000
INITIAL_LEARNING_RATE = 0.1
LR_RAMPUP = 0.05
LR_RAMPDOWN = 0.25
INITIAL_W_NOISE = 0.05
W_NOISE_RAMP = 0.75
NOISE_REGULARIZATION = 1e5
MIN_NOISE_SCALE = 8
"""The multi-scale noise regulariser halves each map down to this side."""
FEATURE_WEIGHT = 0.1
"""Weight of the classifier feature distance beside the pixel MSE. Measured on two MNIST test
digits, 300 steps, a 500-step MNIST run: weight 0 ended at pixel MSE 0.0092 / 0.0159 with
feature distances 0.017 / 0.077; weight 1 at 0.031 / 0.034 (0.011 / 0.017); 0.1 at
0.011 / 0.022 (0.013 / 0.019), most of the feature gain for little pixel loss."""


@dataclasses.dataclass
class Projection:
    """What `project` found.

    Attributes:
        w: the projected latent, `[w_dim]` (the same style at every layer).
        ws: `w` broadcast to every style input, `[num_ws, w_dim]`.
        noise: the optimised noise maps, one `[h, w, 1]` array per synthesis layer.
        image: the projected image `[h, w, c]` in [0, 1].
        target: the image it was projected from, `[h, w, c]` in [0, 1].
        progress: `[k, h, w, c]` images along the way: the start, then every
            `progress_every` steps (the last is `image`).
        progress_steps: the step of each progress image (0 = the start).
        mse: pixel mean squared error of `image` against `target` (values in [0, 1]).
        initial_mse: the same for the starting image (`w_avg` and the initial noise).
        feature_distance: squared distance of the unit-normalised classifier
            features of `image` and `target`, or None without a feature extractor.
        steps: optimisation steps taken.
    """

    w: np.ndarray
    ws: np.ndarray
    noise: list
    image: np.ndarray
    target: np.ndarray
    progress: np.ndarray
    progress_steps: list
    mse: float
    initial_mse: float
    feature_distance: float | None
    steps: int


def learning_rate(
    step, steps, initial=INITIAL_LEARNING_RATE, rampup=LR_RAMPUP, rampdown=LR_RAMPDOWN
):
    """The official schedule: a linear ramp-up, then a cosine ramp-down at the end.

    Args:
        step: the current step, from 0.
        steps: the number of steps.
        initial: the peak learning rate.
        rampup: fraction of the steps over which the rate rises from 0.
        rampdown: fraction of the steps (at the end) over which it falls to 0.
    """
    t = step / steps
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return initial * ramp * min(1.0, t / rampup)


def w_noise_scale(step, steps, w_std, initial=INITIAL_W_NOISE, ramp=W_NOISE_RAMP):
    """Scale of the Gaussian noise added to `w`: `w_std · initial · max(0, 1 − t/ramp)²`."""
    return w_std * initial * max(0.0, 1.0 - step / steps / ramp) ** 2


def noise_regularization(noise_maps, min_scale=MIN_NOISE_SCALE):
    """Σ over maps and scales of the squared mean products with one-pixel shifts.

    Each `[batch, h, w, 1]` map is compared with itself rolled by one pixel along
    each axis, then average-pooled 2x2, until its side is at most `min_scale`
    (the official `reg_loss`). Uncorrelated noise scores near 0; noise that
    has learned image structure scores high.
    """
    total = 0.0
    for noise in noise_maps:
        while True:
            total += tf.square(tf.reduce_mean(noise * tf.roll(noise, 1, axis=2)))
            total += tf.square(tf.reduce_mean(noise * tf.roll(noise, 1, axis=1)))
            if noise.shape[1] <= min_scale:
                break
            noise = tf.nn.avg_pool2d(noise, 2, 2, "VALID")
    return total


def normalize_noise(noise_maps):
    """Renormalises every noise variable in place to zero mean and unit variance."""
    for noise in noise_maps:
        centred = noise - tf.reduce_mean(noise)
        noise.assign(centred * tf.math.rsqrt(tf.reduce_mean(tf.square(centred))))


def w_statistics(model, labels=None, samples=W_AVG_SAMPLES, seed=123):
    """`(w_avg [w_dim], w_std)` of `samples` mapped latents, as in the official projector.

    `w_std = sqrt(Σ‖w − w_avg‖² / samples)`, the root of the total variance. The mean
    is the mapping network's tracked `w_avg` when the model is unconditional and
    `w_avg` has been trained (not all zeros); otherwise the mean of the samples
    (a conditional model's tracked average mixes all classes).

    Args:
        model: a `tfgen.models.StyleGAN`.
        labels: the class of a conditional model (an int), or None.
        samples: how many latents to map.
        seed: seed of the latents (the official projector's 123).
    """
    mapping = model.sampling_generator.mapping
    z = tf.random.stateless_normal([samples, model.latent_dim], seed=[seed, 0])
    label_batch = None if labels is None else tf.fill([samples], int(labels))
    w = tf.cast(model.map_z(z, label_batch), tf.float32)
    tracked = tf.cast(mapping.w_avg, tf.float32)
    if not model.num_classes and bool(tf.reduce_any(tracked != 0.0)):
        w_avg = tracked
    else:
        w_avg = tf.reduce_mean(w, axis=0)
    w_std = tf.sqrt(tf.reduce_sum(tf.square(w - w_avg)) / samples)
    return w_avg.numpy(), float(w_std)


class FeatureDistance:
    """Distance of two images in a feature extractor's space, on the model's images.

    The extractor (e.g. the penultimate layer of tfgen's evaluation classifier, see
    `tfgen.cli.projection`) sees the dataset's native size: the model's images are cropped
    back to it (`image_fit: pad`, undoing the centring) or resized (`resize`).

    Args:
        features_model: a Keras model from `[batch, h, w, c]` images in [0, 1] to
            features `[batch, n]`.
        image_fit: how the run fitted the dataset to the model's resolution.
    """

    def __init__(self, features_model, image_fit=DEFAULT_IMAGE_FIT):
        self.features_model = features_model
        self.image_shape = tuple(features_model.input_shape[1:])
        self.image_fit = image_fit

    def to_native(self, images):
        """`[batch, R, R, c]` model images -> the extractor's `[batch, h, w, c]`
        (`tfgen.data.image_size.unfit_images`)."""
        return unfit_images(images, self.image_shape, self.image_fit)

    def features(self, images):
        """Unit-normalised features `[batch, features]` of model images in [0, 1]."""
        features = self.features_model(self.to_native(images), training=False)
        return tf.math.l2_normalize(tf.cast(features, tf.float32), axis=-1)

    def __call__(self, images, target_features):
        """`[batch]` squared distances (in [0, 4]) of `images` to `target_features`."""
        return tf.reduce_sum(tf.square(self.features(images) - target_features), axis=-1)


def project(
    model,
    target,
    steps=1000,
    labels=None,
    feature_distance=None,
    feature_weight=FEATURE_WEIGHT,
    progress_every=None,
    seed=0,
    w_avg_samples=W_AVG_SAMPLES,
    initial_learning_rate=INITIAL_LEARNING_RATE,
    noise_regularization_weight=NOISE_REGULARIZATION,
    callback=None,
):
    """Finds a `w` and noise maps whose image reproduces `target`.

    Args:
        model: a `tfgen.models.StyleGAN` (its sampling generator is used).
        target: `[h, w, c]` image in [0, 1] of the model's `image_shape`.
        steps: optimisation steps (the official default is 1000).
        labels: the class (an int) of a conditional model; None otherwise.
        feature_distance: a `FeatureDistance`, added to the pixel MSE with
            `feature_weight`; None for the pixel MSE alone.
        feature_weight: weight of the feature distance in the loss.
        progress_every: steps between progress images; default `ceil(steps / 8)`.
        seed: seed of the initial noise maps and of the noise added to `w`.
        w_avg_samples: latents mapped to estimate `w_avg` and `w_std`.
        initial_learning_rate: Adam's peak learning rate.
        noise_regularization_weight: weight of `noise_regularization`.
        callback: called as `callback(step, mse, loss)` after every progress image, with
            the pixel MSE of that image and the loss of the step.

    Returns:
        A `Projection`.

    Raises:
        ValueError: for a target of another shape than the model's images, a
            non-positive `steps`, or labels that do not fit the model.
    """
    target = np.asarray(target, np.float32)
    if target.shape != tuple(model.image_shape):
        raise ValueError(
            f"the target image is shaped {target.shape}; this model makes "
            f"{tuple(model.image_shape)} images (adapt it first)"
        )
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if model.num_classes and labels is None:
        raise ValueError(
            f"this model is class-conditional: pass a label in [0, {model.num_classes})"
        )
    if labels is not None:
        model.check_labels([labels])
    generator = model.sampling_generator
    synthesis = generator.synthesis
    progress_every = progress_every or math.ceil(steps / 8)

    w_avg, w_std = w_statistics(model, labels, w_avg_samples)
    w = tf.Variable(w_avg[None], name="projected_w")
    noise = [
        tf.Variable(
            tf.random.stateless_normal([1, *shape], seed=[seed, 1 + index]),
            name=f"projected_noise{index}",
        )
        for index, shape in enumerate(synthesis.noise_shapes)
    ]
    variables = [w, *noise]
    optimizer = keras.optimizers.Adam(initial_learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    optimizer.build(variables)
    target_batch = tf.constant(target[None])
    target_features = None if feature_distance is None else feature_distance.features(target_batch)

    def render(ws):
        return (
            tf.cast(synthesis(ws, noise=[tf.identity(n) for n in noise]), tf.float32) + 1.0
        ) / 2.0

    @tf.function
    def step_fn(rate, noise_scale, step_seed):
        with tf.GradientTape() as tape:
            w_noise = tf.random.stateless_normal(tf.shape(w), seed=step_seed) * noise_scale
            # Unclipped, so that every pixel has a gradient.
            images = render(generator.broadcast(w + w_noise))
            mse = tf.reduce_mean(tf.square(images - target_batch))
            loss = mse + noise_regularization_weight * noise_regularization(noise)
            if feature_distance is not None and feature_weight:
                loss += feature_weight * tf.reduce_mean(
                    feature_distance(tf.clip_by_value(images, 0.0, 1.0), target_features)
                )
        gradients = tape.gradient(loss, variables)
        optimizer.learning_rate.assign(rate)
        optimizer.apply_gradients(zip(gradients, variables))
        normalize_noise(noise)
        return mse, loss

    @tf.function
    def snapshot():
        return tf.clip_by_value(render(generator.broadcast(w)), 0.0, 1.0)[0]

    def pixel_mse(image):
        return float(np.mean(np.square(image - target)))

    progress, progress_steps = [snapshot().numpy()], [0]
    initial_mse = pixel_mse(progress[0])
    for step in range(steps):
        mse, loss = step_fn(
            tf.constant(learning_rate(step, steps, initial_learning_rate)),
            tf.constant(w_noise_scale(step, steps, w_std)),
            tf.constant([seed, 1000 + step], tf.int64),
        )
        if (step + 1) % progress_every == 0 or step + 1 == steps:
            progress.append(snapshot().numpy())
            progress_steps.append(step + 1)
            if callback is not None:
                callback(step + 1, pixel_mse(progress[-1]), float(loss))

    image = progress[-1]
    distance = None
    if feature_distance is not None:
        distance = float(feature_distance(tf.constant(image[None]), target_features)[0])
    w_final = w.numpy()[0]
    return Projection(
        w=w_final,
        ws=np.tile(w_final[None], [generator.num_ws, 1]),
        noise=[n.numpy()[0] for n in noise],
        image=image,
        target=target,
        progress=np.stack(progress),
        progress_steps=progress_steps,
        mse=pixel_mse(image),
        initial_mse=initial_mse,
        feature_distance=distance,
        steps=steps,
    )
