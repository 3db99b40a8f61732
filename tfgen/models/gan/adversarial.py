"""One base for adversarial training: a discriminator phase, then a generator phase.

`AdversarialModel.train_step` reads as the algorithm (Goodfellow et al. 2014,
https://arxiv.org/abs/1406.2661):

    for each of n_critic steps: update D on real images and G's fakes
    update G through the updated D on the last step's fakes
    update the EMA copy of G

Losses come from `tfgen.models.gan.losses` by name; the gradient penalty, R1, DiffAugment,
spectral normalization and the generator EMA are options. All randomness comes
from per-example stateless seeds (supplied by tfgen's data pipeline), and every
loss is averaged over the global batch, so a step under `MirroredStrategy` gives
the same weights as on one device.
"""

import keras
import tensorflow as tf

from tfgen.models.base import GenerativeModel
from tfgen.models.gan import losses
from tfgen.models.gan.augment import diff_augment, parse_policy
from tfgen.ops.noise import Stream, fold_in, per_example_normal, per_example_uniform


def unpack(data):
    """`(images, labels, seeds)` from a tfgen batch dict, an `(images, labels)` tuple or images."""
    if isinstance(data, dict):
        return data["image"], data.get("label"), data.get("seed")
    if isinstance(data, (tuple, list)):
        if isinstance(data[0], dict):  # `train_on_batch(batch_dict)` packs it as `(x,)`.
            return unpack(data[0])
        return data[0], (data[1] if len(data) > 1 else None), None
    return data, None, None


class AdversarialModel(GenerativeModel):
    """A generator and a discriminator trained against each other.

    Subclasses build the two networks and pass them in, with their hyper-parameters
    (validated by the family's config class; the defaults here turn an option off);
    this class owns the training step, the metrics, the EMA generator, sampling and
    export.

    Args:
        generator: a model `(z, labels=None, training) -> images in [-1, 1]`.
        discriminator: a model `(images, labels=None, seeds=None, training) -> logits [batch]`.
        latent_dim: size of z.
        ema_generator: a copy of the generator's architecture for the EMA weights, or `None`.
        loss: name in `tfgen.models.gan.losses.LOSSES` (e.g. `"non_saturating"`, `"wasserstein"`).
        gradient_penalty: weight λ of the WGAN-GP gradient penalty (0 disables it).
        r1_gamma: weight γ of the R1 penalty on real images, applied as γ/2·‖∇D(x)‖² (0 disables it).
        n_critic: discriminator steps per generator step (on the same real batch
            with fresh fakes, as in keras-io's WGAN-GP).
        ema_decay: decay of the exponential moving average of the generator's
            weights used for samples and export; ramped up as min(decay, (1+t)/(10+t));
            0 disables the EMA.
        augment: DiffAugment policy applied to real and fake images before D,
            e.g. `"color,translation,cutout"` (empty disables it).
        num_classes: number of labels of a class-conditional model, or `None`.
        seed: seeds the fallback noise for data without per-example seeds.
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        ema_generator=None,
        ema_decay=0.0,
        loss="non_saturating",
        gradient_penalty=0.0,
        r1_gamma=0.0,
        n_critic=1,
        augment="",
        num_classes=None,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.ema_generator = ema_generator if ema_decay else None
        if self.ema_generator is not None:
            for target, source in zip(self.ema_generator.weights, self.generator.weights):
                target.assign(source)
        self.latent_dim = latent_dim
        self.adversarial_loss = losses.get(loss)
        self.gradient_penalty_weight = gradient_penalty
        self.r1_gamma = r1_gamma
        self.n_critic = n_critic
        self.ema_decay = ema_decay
        self.augment_policy = tuple(parse_policy(augment))
        self.num_classes = num_classes
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self._metric_names()}
        self.built = True

    def _metric_names(self):
        names = ["d_loss", "g_loss", "d_real", "d_fake", "d_accuracy_real", "d_accuracy_fake"]
        if self.gradient_penalty_weight:
            names.append("gradient_penalty")
        if self.r1_gamma:
            names.append("r1_penalty")
        return names

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Configures training with one optimizer per network, and builds both optimizers.

        Call it inside the `tf.distribute` strategy scope you train in: the optimizers'
        slots are created here (Keras would otherwise trace `call` on a data batch to
        build them, which a model whose input is noise cannot serve).

        Args:
            d_optimizer: optimizer of the discriminator.
            g_optimizer: optimizer of the generator (also `model.optimizer`).
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`,
                `steps_per_execution`).
        """
        super().compile(optimizer=g_optimizer, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.build_optimizers()

    def get_compile_config(self):
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
        )

    def optimizers(self):
        return {"d_optimizer": self.d_optimizer, "g_optimizer": self.g_optimizer}

    def build_optimizers(self):
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    # Generation ----------------------------------------------------------------------

    @property
    def sampling_generator(self):
        """The EMA generator if there is one, else the trained generator."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def check_labels(self, labels):
        """Validates labels of a conditional model; returns them as int32 (or None)."""
        if not self.num_classes:
            if labels is not None:
                raise ValueError("this model is not class-conditional; do not pass labels")
            return None
        if labels is None:
            raise ValueError(
                f"this model is class-conditional: pass labels in [0, {self.num_classes})"
            )
        labels = tf.cast(labels, tf.int32)
        message = f"labels must be in [0, {self.num_classes})"
        checks = [
            tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, self.num_classes, message=message),
        ]
        # In a graph (an exported signature) the embedding's gather could otherwise fail
        # first with a bare "indices[0] = 5 is not in [0, 3)": it waits for the checks.
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    def generate(self, z, labels=None):
        """Images in [0, 1] from latent codes `z` (and labels), by the sampling generator."""
        images = self.sampling_generator(z, labels=self.check_labels(labels), training=False)
        return (tf.cast(images, tf.float32) + 1.0) / 2.0

    def sample_images(self, num, seed, labels=None):
        """`num` images in [0, 1] from `z ~ N(0, I)` drawn with `seed`.

        For a conditional model, `labels` defaults to the classes in turn (0, 1, 2, ...).
        """
        z = tf.random.stateless_normal([num, self.latent_dim], seed=[seed, 0])
        if self.num_classes and labels is None:
            labels = tf.range(num) % self.num_classes
        return self.generate(z, labels)

    def sample_grid(self, size, seed):
        """`[rows, columns, height, width, channels]` images in [0, 1] for a grid.

        `size` x `size` samples; for a conditional model one row per class, the
        columns sharing their z, so a column shows one "style" in every class.
        """
        if not self.num_classes:
            return super().sample_grid(size, seed)
        z = tf.random.stateless_normal([size, self.latent_dim], seed=[seed, 0])
        labels = tf.repeat(tf.range(self.num_classes), size)
        images = self.generate(tf.tile(z, [self.num_classes, 1]), labels)
        return tf.reshape(images, [self.num_classes, size, *images.shape[1:]])

    def summary_images(self, examples, seed):
        size = max(1, int(round(examples["image"].shape[0] ** 0.5)))
        return {"samples": self.sample_grid(size, seed)}

    def export_endpoints(self):
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        num_spec = tf.TensorSpec([], tf.int32, name="num")
        seed_spec = tf.TensorSpec([], tf.int32, name="seed")
        if not self.num_classes:

            @tf.function(input_signature=[z_spec])
            def generate(z):
                return {"images": self.generate(z)}

            @tf.function(input_signature=[num_spec, seed_spec])
            def sample(num, seed):
                return {"images": self.sample_images(num, seed)}

            return {"sample": sample, "generate": generate}

        @tf.function(input_signature=[z_spec, tf.TensorSpec([None], tf.int32, name="labels")])
        def generate(z, labels):
            return {"images": self.generate(z, labels)}

        @tf.function(
            input_signature=[num_spec, seed_spec, tf.TensorSpec([], tf.int32, name="label")]
        )
        def sample(num, seed, label):
            """`num` images of class `label`; label -1 cycles through the classes."""
            labels = tf.where(label < 0, tf.range(num) % self.num_classes, tf.fill([num], label))
            return {"images": self.sample_images(num, seed, labels)}

        return {"sample": sample, "generate": generate}

    # Training ------------------------------------------------------------------------

    def _real_and_seeds(self, data):
        images, labels, seeds = unpack(data)
        if self.num_classes and labels is None:
            raise ValueError(
                "a class-conditional GAN needs labels: feed (images, labels) "
                "or {'image', 'label'} batches"
            )
        if seeds is None:
            seeds = tf.random.stateless_uniform(
                [tf.shape(images)[0], 2],
                seed=self.seed_generator.next(),
                minval=None,
                maxval=None,
                dtype=tf.int64,
            )
        real = tf.cast(images, tf.float32) * 2.0 - 1.0
        labels = None if not self.num_classes else tf.cast(labels, tf.int32)
        return real, labels, tf.cast(seeds, tf.int64)

    def _discriminate(self, images, labels, seeds, augment_stream, training):
        if self.augment_policy:
            images = diff_augment(images, self.augment_policy, fold_in(seeds, augment_stream))
        return self.discriminator(
            images, labels=labels, seeds=fold_in(seeds, Stream.DISCRIMINATOR), training=training
        )

    def _fakes(self, labels, seeds, training):
        z = per_example_normal(fold_in(seeds, Stream.LATENT), [self.latent_dim])
        images = self.generator(z, labels=labels, training=training)
        return tf.cast(images, tf.float32)  # Mixed precision computes in bfloat16/float16.

    def discriminator_phase(self, real, fake, labels, seeds, training=True):
        """One discriminator update on `real` and `fake` images (loss only if not `training`).

        Returns:
            Per-example values for the metrics: `d_loss`, `d_real`, `d_fake`,
            the penalties and the subclass's regularization values.
        """
        fake = tf.stop_gradient(fake)

        def critic(images):
            return self._discriminate(images, labels, seeds, Stream.AUGMENT_REAL, training)

        with tf.GradientTape() as tape:
            real_logits = critic(real)
            fake_logits = self._discriminate(fake, labels, seeds, Stream.AUGMENT_FAKE, training)
            per_example = self.adversarial_loss.discriminator(real_logits, fake_logits)
            values = {"d_loss": per_example, "d_real": real_logits, "d_fake": fake_logits}
            if self.gradient_penalty_weight:
                epsilon = per_example_uniform(fold_in(seeds, Stream.INTERPOLATION), [])
                values["gradient_penalty"] = losses.gradient_penalty(critic, real, fake, epsilon)
                per_example += self.gradient_penalty_weight * values["gradient_penalty"]
            if self.r1_gamma:
                values["r1_penalty"] = losses.r1_penalty(critic, real)
                per_example += 0.5 * self.r1_gamma * values["r1_penalty"]
            # Averaged over the GLOBAL batch: the same update for any replica count.
            loss = tf.nn.compute_average_loss(per_example)
        variables = self.discriminator.trainable_variables
        extra = self.discriminator_regularization(critic, real, values, variables, training)
        if training:
            gradients = _add_gradients(tape.gradient(loss, variables), extra)
            self.d_optimizer.apply_gradients(zip(gradients, variables))
        return values

    def generator_phase(self, fake, labels, seeds, tape=None):
        """One generator update through the (just updated) discriminator.

        Args:
            fake: the generator's output, recorded on `tape`.
            labels: their labels (or None).
            seeds: per-example seeds.
            tape: the `tf.GradientTape` that recorded `fake = generator(z)`; the
                generator is updated through it. `None` computes the loss only.

        Returns:
            `{"g_loss": per-example loss}` and the subclass's regularization values.
        """
        with tape or tf.GradientTape():
            fake_logits = self._discriminate(
                fake, labels, seeds, Stream.AUGMENT_FAKE, tape is not None
            )
            per_example = self.adversarial_loss.generator(fake_logits)
            loss = tf.nn.compute_average_loss(per_example)
        values = {"g_loss": per_example}
        variables = self.generator.trainable_variables
        extra = self.generator_regularization(labels, seeds, values, variables, tape is not None)
        if tape is not None:
            gradients = _add_gradients(tape.gradient(loss, variables), extra)
            self.g_optimizer.apply_gradients(zip(gradients, variables))
        return values

    def discriminator_regularization(self, critic, real, values, variables, training):
        """A subclass's extra discriminator gradients (default: none).

        Called after the loss (outside its tape); it returns gradients rather than
        a loss so that a lazy regulariser can be computed under `tf.cond` without
        the tape differentiating through the `tf.cond` (XLA cannot compile that).

        Args:
            critic: `images -> logits`, with the same augmentation as the loss.
            real: the real images.
            values: the per-example metric values so far; add the regulariser's.
            variables: the discriminator's trainable variables.
            training: whether this is a training step.

        Returns:
            Gradients for `variables` (of a loss averaged over the global batch),
            or `None`.
        """
        return None

    def generator_regularization(self, labels, seeds, values, variables, training):
        """A subclass's extra generator gradients (default: none); see
        `discriminator_regularization`.

        Returns:
            Gradients for the generator's trainable `variables`, or `None`.
        """
        return None

    def update_ema(self):
        """ema ← d·ema + (1 − d)·weights for trainable weights; other weights are copied."""
        if self.ema_generator is None:
            return
        step = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        trainable = {id(v) for v in self.generator.trainable_variables}
        pairs = list(zip(self.ema_generator.weights, self.generator.weights))

        def update(strategy):
            for average, weight in pairs:
                rate = decay if id(weight) in trainable else 0.0
                strategy.extended.update(
                    average.value,
                    lambda a, w, rate=rate: a.assign(rate * a + (1.0 - rate) * w),
                    args=(weight.value,),
                    group=False,
                )

        tf.distribute.get_replica_context().merge_call(update)

    def train_step(self, data):
        real, labels, seeds = self._real_and_seeds(data)
        for critic_step in range(1, self.n_critic):  # Extra critic steps: fresh fakes each.
            critic_seeds = fold_in(seeds, Stream.EXTRA_CRITIC_STEPS + critic_step)
            extra_fake = self._fakes(labels, critic_seeds, training=True)
            self.discriminator_phase(real, extra_fake, labels, critic_seeds)
        # G's forward pass runs once: the last critic step and the generator step share it
        # (G's weights do not change in between), as in TensorFlow's DCGAN tutorial.
        with tf.GradientTape() as g_tape:
            fake = self._fakes(labels, seeds, training=True)
        d_values = self.discriminator_phase(real, fake, labels, seeds)
        g_values = self.generator_phase(fake, labels, seeds, g_tape)
        self.update_ema()
        return self._update_metrics({**d_values, **g_values})

    def test_step(self, data):
        real, labels, seeds = self._real_and_seeds(data)
        fake = self._fakes(labels, seeds, training=False)
        values = self.discriminator_phase(real, fake, labels, seeds, training=False)
        values.update(self.generator_phase(fake, labels, seeds))
        return self._update_metrics(values)

    def _update_metrics(self, values):
        values = dict(values)
        values["d_accuracy_real"] = tf.cast(values["d_real"] > 0, tf.float32)
        values["d_accuracy_fake"] = tf.cast(values["d_fake"] < 0, tf.float32)
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def call(self, z, labels=None, training=False):
        """Generated images in [0, 1] for latent codes `z` (and labels)."""
        return self.generate(z, labels)


def _add_gradients(gradients, extra):
    """`gradients + extra` per variable (`extra` may be None)."""
    if extra is None:
        return gradients
    return [g if e is None else e if g is None else g + e for g, e in zip(gradients, extra)]
