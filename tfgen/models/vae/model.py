"""Variational autoencoder whose loss is the negative ELBO from TFP distributions.

The encoder yields a diagonal-Gaussian posterior q(z|x), the prior p(z) is a
standard Normal and the decoder yields a distribution p(x|z) over pixels:

    -ELBO = distortion + beta * rate
    distortion = -E_q[log p(x|z)]          (one reparameterized sample)
    rate       = KL(q(z|x) || p(z))         (analytic)

both in nats per image (Kingma & Welling 2014, https://arxiv.org/abs/1312.6114;
beta from Higgins et al. 2017).
"""

import dataclasses

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from tfgen.config import SAMPLE_QUALITY_GROUPS, ConfigError, TrainConfig, param
from tfgen.models.base import GenerativeModel
from tfgen.models.vae.networks import conv_decoder, conv_encoder
from tfgen.ops.noise import per_example_normal
from tfgen.ops.schedules import learning_rate

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "continuous_bernoulli")


@dataclasses.dataclass
class VAEConfig(TrainConfig):
    """`TrainConfig` plus the VAE's keys; the `param` fields are `VAE`'s arguments.

    Args:
        dataset: MNIST with {0, 1} pixels drawn afresh every epoch, the standard
            density-modelling benchmark.
        batch_size: 32: on a CPU an epoch costs about the same at 32 as at 128, and
            4x the updates reach a lower bound sooner.
        epochs: 20; the bound still improves slowly after that (docs/vae.md).
        latent_dim: size of the latent code z: 32 is enough for MNIST (larger codes
            stay unused: the rate stops growing).
        beta: weight of the rate (KL) term: 1 gives the true ELBO, a bound on
            -log p(x) in nats.
        kl_warmup_epochs: epochs over which the KL weight rises linearly from 0 to
            `beta` (0 = no warm-up, not needed at this size; raise it if the
            posterior collapses).
        likelihood: pixel distribution of the decoder: `"bernoulli"` (binary or
            [0,1] data treated as probabilities; natural for binary pixels) or
            `"continuous_bernoulli"` (a normalized density on [0, 1]).
        filters: filters of the first convolutional stage (the second has twice as many).
    """

    batch_size: int = 32
    epochs: int = 20
    latent_dim: int = param(32)
    beta: float = param(1.0)
    kl_warmup_epochs: int = param(0)
    likelihood: str = param("bernoulli", choices=LIKELIHOODS)
    filters: int = param(32)

    def __post_init__(self):
        super().__post_init__()
        for name in ("latent_dim", "filters"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be a positive integer, got {getattr(self, name)}")
        for name in ("beta", "kl_warmup_epochs"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}")


def _images_and_seeds(data):
    """Accepts what `fit` may feed: a dict from tfgen's pipeline, a tuple or a tensor."""
    if isinstance(data, dict):
        return data["image"], data.get("seed")
    if isinstance(data, (tuple, list)):
        return data[0], None
    return data, None


@keras.saving.register_keras_serializable(package="tfgen")
class VAE(GenerativeModel):
    """Convolutional VAE trained by maximizing the ELBO.

    Args:
        image_shape: `(height, width, channels)`; sides divisible by 4.
        steps_per_epoch: optimizer steps per epoch, the unit of `kl_warmup_epochs`.
        seed: seeds the noise when training data carry no per-example seeds.
        **kwargs: the hyper-parameters, `VAEConfig`'s `param` keys (`latent_dim`,
            `beta`, `kl_warmup_epochs`, `likelihood`, `filters`), with its defaults
            and checks; then Keras `Model` arguments.

    Example:

    >>> model = tfgen.models.VAE(image_shape=(28, 28, 1), latent_dim=16)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> model.fit(images_dataset, epochs=1)
    >>> model.sample_images(16, seed=0).shape
    TensorShape([16, 28, 28, 1])
    """

    config_class = VAEConfig
    serving_default = "sample"
    tflite_endpoints = ("decode",)
    # The likelihood bound needs `encode`, `decode` and `prior`, which only a VAE has.
    metric_groups = (*SAMPLE_QUALITY_GROUPS, "nll")

    def __init__(self, image_shape=(28, 28, 1), steps_per_epoch=1, seed=0, **kwargs):
        params = self.take_params(kwargs)
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.latent_dim = params["latent_dim"]
        self.beta = params["beta"]
        self.likelihood = params["likelihood"]
        self.steps_per_epoch = steps_per_epoch
        self.kl_warmup_steps = params["kl_warmup_epochs"] * steps_per_epoch
        self.seed = seed
        self.encoder = conv_encoder(self.image_shape, 2 * self.latent_dim, params["filters"])
        self.decoder = conv_decoder(self.latent_dim, self.image_shape, params["filters"])
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.distortion_tracker = keras.metrics.Mean(name="distortion")
        self.rate_tracker = keras.metrics.Mean(name="rate")
        self.built = True

    @classmethod
    def run_arguments(cls, config, info, steps_per_epoch=1):
        if None in info.shape:
            raise ValueError(
                f"the VAE needs images of one fixed size; {info.name!r} has images "
                f"shaped {info.shape} (None = varies)"
            )
        return {"image_shape": info.shape, "steps_per_epoch": steps_per_epoch, "seed": config.seed}

    def compile_from_run_config(self, config, jit_compile, steps_per_epoch):
        optimizer = keras.optimizers.Adam(learning_rate(config, steps_per_epoch))
        self.compile(optimizer=optimizer, jit_compile=jit_compile)

    @property
    def metrics(self):
        return [self.loss_tracker, self.distortion_tracker, self.rate_tracker]

    # Distributions ----------------------------------------------------------------

    @property
    def prior(self):
        """p(z): a standard Normal over the latent code."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros([self.latent_dim]))

    def encode(self, images, training=False):
        """q(z|x): a diagonal Gaussian per image."""
        params = self.encoder(images, training=training)
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return tfd.MultivariateNormalDiag(loc=loc, scale_diag=tf.nn.softplus(raw_scale) + 1e-5)

    def decode(self, z, training=False):
        """p(x|z): independent per-pixel distributions over an image."""
        logits = self.decoder(z, training=training)
        if self.likelihood == "continuous_bernoulli":
            pixels = tfd.ContinuousBernoulli(logits=logits)
        else:
            pixels = tfd.Bernoulli(logits=logits, dtype=logits.dtype)
        return tfd.Independent(pixels, reinterpreted_batch_ndims=3)

    def pixel_means(self, z):
        """Mean image of p(x|z), in [0, 1]."""
        return self.decode(z).mean()

    # Loss ---------------------------------------------------------------------------

    def kl_weight(self):
        """`beta`, ramped up linearly over the first `kl_warmup_steps` steps."""
        if not self.kl_warmup_steps or self.optimizer is None:
            return tf.constant(self.beta, tf.float32)
        progress = tf.cast(self.optimizer.iterations, tf.float32) / float(self.kl_warmup_steps)
        return self.beta * tf.minimum(1.0, progress)

    def elbo_terms(self, images, noise, training=False):
        """Per-example distortion and rate, in nats per image.

        Args:
            images: a batch of images.
            noise: standard-normal draws `[batch, latent_dim]` for the
                reparameterized posterior sample.
            training: passed to the sub-networks.

        Returns:
            `(distortion, rate)`, each of shape `[batch]`.
        """
        posterior = self.encode(images, training=training)
        z = posterior.loc + posterior.stddev() * noise
        distortion = -self.decode(z, training=training).log_prob(images)
        rate = tfd.kl_divergence(posterior, self.prior)
        return distortion, rate

    def _noise(self, images, seeds):
        if seeds is not None:
            return per_example_normal(seeds, [self.latent_dim])
        return keras.random.normal([tf.shape(images)[0], self.latent_dim], seed=self.seed_generator)

    def _update_metrics(self, distortion, rate):
        self.loss_tracker.update_state(distortion + self.beta * rate)
        self.distortion_tracker.update_state(distortion)
        self.rate_tracker.update_state(rate)
        return {m.name: m.result() for m in self.metrics}

    # Keras hooks --------------------------------------------------------------------

    def call(self, inputs, training=False):
        """Reconstructs images through the posterior mean: `x -> E[p(x | E[q(z|x)])]`."""
        images, _ = _images_and_seeds(inputs)
        return self.pixel_means(self.encode(images, training=training).mean())

    def train_step(self, data):
        images, seeds = _images_and_seeds(data)
        noise = self._noise(images, seeds)
        with tf.GradientTape() as tape:
            distortion, rate = self.elbo_terms(images, noise, training=True)
            per_example_loss = distortion + self.kl_weight() * rate
            # Averaged over the GLOBAL batch: the update is the same for any replica count.
            loss = tf.nn.compute_average_loss(per_example_loss)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._update_metrics(distortion, rate)

    def test_step(self, data):
        images, seeds = _images_and_seeds(data)
        distortion, rate = self.elbo_terms(images, self._noise(images, seeds))
        return self._update_metrics(distortion, rate)

    # Sampling and export --------------------------------------------------------------

    def sample_images(self, num, seed):
        """Pixel means of `num` images decoded from prior draws."""
        z = tf.random.stateless_normal([num, self.latent_dim], seed=[seed, 0])
        return self.pixel_means(z)

    def summary_images(self, examples, seed):
        images = examples["image"]
        return {
            "prior_samples": self.sample_images(images.shape[0], seed),
            "reconstructions": tf.concat([images, self(images)], axis=2),
        }

    def export_endpoints(self):
        image_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        latent_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")

        @tf.function(
            input_signature=[
                tf.TensorSpec([], tf.int32, name="num"),
                tf.TensorSpec([], tf.int32, name="seed"),
            ]
        )
        def sample(num, seed):
            return {"images": self.sample_images(num, seed)}

        @tf.function(input_signature=[latent_spec])
        def decode(z):
            return {"pixel_means": self.pixel_means(z)}

        @tf.function(input_signature=[image_spec])
        def encode(images):
            posterior = self.encode(images)
            return {"mean": posterior.mean(), "stddev": posterior.stddev()}

        @tf.function(input_signature=[image_spec])
        def reconstruct(images):
            return {"reconstructions": self(images)}

        return {"sample": sample, "decode": decode, "encode": encode, "reconstruct": reconstruct}

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "steps_per_epoch": self.steps_per_epoch,
            "seed": self.seed,
            **self.params,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "kl_warmup_steps" in config:  # Saved before the warm-up was counted in epochs.
            steps = config.pop("kl_warmup_steps")
            config.update(kl_warmup_epochs=1 if steps else 0, steps_per_epoch=max(steps, 1))
        return super().from_config(config)
