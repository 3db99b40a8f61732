"""StyleGAN2 inside tfgen's adversarial base (Karras et al. 2020, https://arxiv.org/abs/1912.04958).

The networks are in this package (mapping network, modulated convolutions, noise,
skip generator, residual discriminator with minibatch standard deviation); this
module adds StyleGAN2's training recipe to `AdversarialModel`'s step, following
the official StyleGAN2-ADA `StyleGAN2Loss` (training/loss.py):

- the non-saturating logistic loss;
- lazy R1 on reals, γ/2·‖∇D(x)‖², every `r1_interval` (16) discriminator steps;
- lazy path-length regularisation every `pl_interval` (4) generator steps, with a
  moving target `pl_mean` (decay 0.01);
- style-mixing regularisation: with probability 0.9 an example's styles switch to
  a second latent's at a random layer;
- the EMA generator of the base (ramped up as min(decay, (1+t)/(10+t))) and a
  tracked `w_avg` for the truncation trick.

Lazy regularisation. Each regulariser's gradients are computed under a `tf.cond`
on the optimizer's step counter (`iterations % interval == 0`; zeros otherwise),
with the penalty multiplied by the interval as the paper prescribes (appendix B),
and added to that step's gradients, so their expected gradient equals that of
regularising every step. One traced function serves every step, and the
`tf.cond` returns gradients instead of sitting inside the loss's tape: XLA cannot
compile the gradient of a `tf.cond` whose branch holds a nested gradient (measured:
"Input to reshape is a tensor with 64 values, but the requested shape has 0"),
while a `tf.cond` that takes gradients inside its branch compiles. Every replica
of a `MirroredStrategy` takes the same branch (the counter is mirrored), and
`apply_gradients` sums the replicas' parts of the (globally averaged) loss. The
official code instead runs a separate optimizer step for each regulariser and
rescales Adam's rate and betas by `interval / (interval + 1)`; here there is no
extra step, so no rescaling. Cross-replica means and variable updates (`pl_mean`)
stay outside the branches, where a merge across replicas is allowed.

Style mixing and all other randomness are drawn per example from the example's
own seed (the official code draws one cut-off per batch), so a step under
`strategy: mirrored` gives the same weights as on one device.
"""

import keras
import tensorflow as tf

from tfgen.models.gan import losses
from tfgen.models.gan.adversarial import AdversarialModel
from tfgen.models.stylegan.config import StyleGANConfig
from tfgen.models.stylegan.controls import StyleControls
from tfgen.models.stylegan.discriminator import StyleGANDiscriminator
from tfgen.models.stylegan.generator import StyleGANGenerator, check_resolution
from tfgen.ops.noise import Stream, fold_in, per_example_normal, per_example_uniform

PL_DECAY = 0.01  # The paper's decay of the path-length target `pl_mean`.


@keras.saving.register_keras_serializable(package="tfgen")
class StyleGAN(StyleControls, AdversarialModel):
    """StyleGAN2 with a skip generator and a residual discriminator.

    Args:
        image_shape: `(resolution, resolution, channels)`; the resolution a power of
            two from 8 to 256, channels 1 or 3.
        seed: seeds the fallback noise for data without per-example seeds.
        **kwargs: the hyper-parameters, `StyleGANConfig`'s `param` keys (`latent_dim`,
            `w_dim`, `mapping_layers`, `channel_base`, `channel_max`, `num_classes`,
            `mbstd_group_size`, `r1_gamma`, `r1_interval`, `pl_weight`, `pl_interval`,
            `style_mixing`, `ema_decay`, `augment`), with its defaults and checks; then
            Keras `Model` arguments.

    Raises:
        ValueError: for an image shape that is not square with a valid resolution.
        tfgen.config.ConfigError: for a hyper-parameter `StyleGANConfig` refuses.

    Example:

    >>> gan = tfgen.models.StyleGAN(image_shape=(32, 32, 1))
    >>> gan.compile(d_optimizer=keras.optimizers.Adam(2.5e-3, beta_1=0.0, beta_2=0.99),
    ...             g_optimizer=keras.optimizers.Adam(2.5e-3, beta_1=0.0, beta_2=0.99))
    >>> gan.fit(images_dataset, epochs=1)       # images in [0, 1]
    >>> gan.generate(z, truncation_psi=0.7)     # images in [0, 1]
    """

    config_class = StyleGANConfig
    serving_default = "sample"
    tflite_endpoints = ("synthesis",)
    style_controls = True

    @classmethod
    def data_options(cls, config):
        """Every image is fitted to `resolution` as `image_fit` says."""
        return {"resolution": config.resolution, "image_fit": config.image_fit}

    def __init__(self, image_shape=(32, 32, 1), seed=0, **kwargs):
        params = self.take_params(kwargs)
        image_shape = tuple(image_shape)
        if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
            raise ValueError(
                f"StyleGAN needs square images (resolution, resolution, channels), "
                f"got {image_shape}; set resolution to resize or pad them"
            )
        check_resolution(image_shape[0])
        self.image_shape = image_shape
        self.w_dim, self.mapping_layers = params["w_dim"], params["mapping_layers"]
        self.mbstd_group_size = params["mbstd_group_size"]
        self.lazy_r1_gamma, self.r1_interval = params["r1_gamma"], params["r1_interval"]
        self.pl_weight, self.pl_interval = params["pl_weight"], params["pl_interval"]
        self.pl_decay = PL_DECAY
        self.style_mixing = params["style_mixing"]
        resolution, _, channels = image_shape
        channel_base, channel_max = params["channel_base"], params["channel_max"]
        num_classes = params["num_classes"]

        def generator(name):
            return StyleGANGenerator(
                params["latent_dim"],
                self.w_dim,
                resolution,
                channels,
                self.mapping_layers,
                channel_base,
                channel_max,
                num_classes,
                name=name,
            )

        super().__init__(
            generator=generator("generator"),
            discriminator=StyleGANDiscriminator(
                resolution,
                channels,
                channel_base,
                channel_max,
                num_classes,
                self.mbstd_group_size,
                name="discriminator",
            ),
            ema_generator=generator("ema_generator") if params["ema_decay"] else None,
            latent_dim=params["latent_dim"],
            num_classes=num_classes or None,
            ema_decay=params["ema_decay"],
            augment=params["augment"],
            seed=seed,
            **kwargs,
        )  # The base's R1 (every step) stays off: this one is lazy.
        self.pl_mean = self.add_weight(
            name="pl_mean",
            shape=(),
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )

    def _metric_names(self):
        return super()._metric_names() + ["r1_penalty", "path_length_penalty", "path_length"]

    @classmethod
    def run_arguments(cls, config, info, steps_per_epoch=1):
        if config.num_classes and config.num_classes != info.num_classes:
            raise ValueError(
                f"num_classes is {config.num_classes} but dataset {info.name!r} has "
                f"{info.num_classes or 'no'} class labels; set num_classes to "
                f"{info.num_classes or 0} (0 = unconditional)"
            )
        return {"image_shape": info.shape, "seed": config.seed}

    def compile_from_run_config(self, config, jit_compile, steps_per_epoch):
        def adam():
            return keras.optimizers.Adam(
                config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2, epsilon=1e-8
            )

        self.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=jit_compile)

    # Training ------------------------------------------------------------------------

    def styles(self, labels, seeds, mixing=True, update_w_avg=False):
        """Per-example styles `[batch, num_ws, w_dim]` of the trained generator.

        z is drawn from each example's seed; with probability `style_mixing` (if
        `mixing`) the styles from a random layer in `[1, num_ws)` on come from a
        second latent (the paper's mixing regularisation, section 3.1 of StyleGAN).

        Args:
            labels: int labels of a conditional model, or None.
            seeds: per-example seeds `[batch, 2]`.
            mixing: apply style mixing.
            update_w_avg: move the mapping network's `w_avg` towards these w.
        """
        generator = self.generator
        z = per_example_normal(fold_in(seeds, Stream.LATENT), [self.latent_dim])
        w = generator.mapping(z, labels=labels)
        if update_w_avg:
            generator.mapping.update_w_avg(w)
        ws = generator.broadcast(w)
        if not mixing or not self.style_mixing or generator.num_ws < 2:
            return ws
        z_other = per_example_normal(fold_in(seeds, Stream.MIXING_LATENT), [self.latent_dim])
        ws_other = generator.broadcast(generator.mapping(z_other, labels=labels))
        draws = per_example_uniform(fold_in(seeds, Stream.MIXING_CHOICE), [2])
        cutoff = 1 + tf.cast(tf.floor(draws[:, 0] * (generator.num_ws - 1)), tf.int32)
        cutoff = tf.where(draws[:, 1] < self.style_mixing, cutoff, generator.num_ws)
        return generator.mix(ws, ws_other, cutoff)

    def _fakes(self, labels, seeds, training):
        ws = self.styles(labels, seeds, mixing=training, update_w_avg=training)
        noise = self.generator.synthesis.noise_from_seeds(fold_in(seeds, Stream.SYNTHESIS_NOISE))
        return tf.cast(self.generator.synthesis(ws, noise=noise), tf.float32)

    def discriminator_regularization(self, critic, real, values, variables, training):
        """Lazy R1: gradients of γ/2·‖∇D(x)‖²·r1_interval on every `r1_interval`-th step.

        `values["r1_penalty"]` is the unscaled ‖∇D(x)‖² on those steps and 0 on the others.
        """
        zeros = tf.zeros([tf.shape(real)[0]])
        if not training or not self.lazy_r1_gamma:
            values["r1_penalty"] = zeros
            return None

        def regularize():
            with tf.GradientTape() as tape:
                penalty = losses.r1_penalty(critic, real)
                weighted = penalty * (0.5 * self.lazy_r1_gamma * self.r1_interval)
                loss = tf.nn.compute_average_loss(weighted)  # Over the GLOBAL batch.
            return _gradients(tape, loss, variables), penalty

        def skip():
            return [tf.zeros(v.shape, v.dtype) for v in variables], zeros

        due = tf.equal(self.d_optimizer.iterations % self.r1_interval, 0)
        gradients, values["r1_penalty"] = tf.cond(due, regularize, skip)
        return gradients

    def path_lengths(self, labels, seeds):
        """‖J_wᵀ y‖ per example for fresh styles and a random image-space direction y.

        As in the official `StyleGAN2Loss`: y ~ N(0, I)/sqrt(height·width); the squared
        gradient is summed over w's dimensions and averaged over the style inputs.
        """
        synthesis = self.generator.synthesis
        seeds = fold_in(seeds, Stream.PATH_LENGTH)
        ws = self.styles(labels, seeds)
        noise = synthesis.noise_from_seeds(fold_in(seeds, Stream.SYNTHESIS_NOISE))
        with tf.GradientTape() as tape:
            tape.watch(ws)
            images = tf.cast(synthesis(ws, noise=noise), tf.float32)
            height, width = images.shape[1], images.shape[2]
            direction = (
                per_example_normal(fold_in(seeds, Stream.PATH_LENGTH_IMAGE_NOISE), images.shape[1:])
                / float(height * width) ** 0.5
            )
            projection = tf.reduce_sum(images * direction)
        gradients = tape.gradient(projection, ws)
        return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=2), axis=1))

    def generator_regularization(self, labels, seeds, values, variables, training):
        """Lazy path-length penalty: gradients of pl_weight·(‖J_wᵀ y‖ − a)²·pl_interval.

        On every `pl_interval`-th generator step. The target `a` is `pl_mean` as it
        stood before this step (the official code first moves it by this batch; one
        regularisation step of lag at decay 0.01 is immaterial, and keeps the
        cross-replica mean out of the `tf.cond`). Then `pl_mean` moves towards the
        global batch's mean path length by `pl_decay`.
        """
        zeros = tf.zeros_like(values["g_loss"])
        if not training or not self.pl_weight:
            values["path_length_penalty"] = values["path_length"] = zeros
            return None
        target = tf.identity(self.pl_mean)

        def regularize():
            with tf.GradientTape() as tape:
                lengths = self.path_lengths(labels, seeds)
                penalty = tf.square(lengths - target)
                weighted = penalty * (self.pl_weight * self.pl_interval)
                loss = tf.nn.compute_average_loss(weighted)
            return _gradients(tape, loss, variables), lengths, penalty

        def skip():
            return [tf.zeros(v.shape, v.dtype) for v in variables], zeros, zeros

        due = tf.equal(self.g_optimizer.iterations % self.pl_interval, 0)
        gradients, lengths, penalty = tf.cond(due, regularize, skip)
        batch_mean = tf.reduce_mean(lengths)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            batch_mean = context.all_reduce("mean", batch_mean)
        self.pl_mean.assign(tf.where(due, target + self.pl_decay * (batch_mean - target), target))
        values["path_length_penalty"], values["path_length"] = penalty, lengths
        return gradients

    # Saving --------------------------------------------------------------------------

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "seed": self.seed,
            **self.params,
        }

    @classmethod
    def from_config(cls, config):
        # Files saved before the hyper-parameters moved to StyleGANConfig also list the
        # adversarial base's fixed options and pl_decay, at the only values they had.
        config = dict(config)
        for key, value in _FIXED_OPTIONS.items():
            if key in config and config.pop(key) != value:
                raise ValueError(f"StyleGAN's {key} is {value!r}, the file has another value")
        return super().from_config(config)


# What files of older versions list besides the hyper-parameters, and the values they had.
_FIXED_OPTIONS = {
    "loss": "non_saturating",
    "gradient_penalty": 0.0,
    "n_critic": 1,
    "pl_decay": PL_DECAY,
}


def _gradients(tape, loss, variables):
    """`tape.gradient`, with zeros for variables the loss does not reach."""
    gradients = tape.gradient(loss, variables)
    return [tf.zeros(v.shape, v.dtype) if g is None else g for g, v in zip(gradients, variables)]
