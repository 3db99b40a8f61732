"""DCGAN: the TensorFlow DCGAN tutorial's networks inside tfgen's adversarial base.

Radford et al. 2016 (https://arxiv.org/abs/1511.06434); networks, loss and
optimizer as in https://www.tensorflow.org/tutorials/generative/dcgan.
"""

import dataclasses

import keras
import tensorflow as tf

from tfgen.config import ConfigError, TrainConfig, choices
from tfgen.models.gan import losses
from tfgen.models.gan.adversarial import AdversarialModel
from tfgen.models.gan.augment import parse_policy
from tfgen.models.gan.networks import DCGANDiscriminator, DCGANGenerator, check_image_shape
from tfgen.ops.precision import PRECISIONS, dtype_policy
from tfgen.ops.schedules import learning_rate


@dataclasses.dataclass
class DCGANConfig(TrainConfig):
    """`TrainConfig` plus the keys of every DCGAN-style model (see configs/dcgan_mnist.yaml).

    Args:
        d_learning_rate: the discriminator's learning rate; `None` = `learning_rate`.
        beta_1: Adam's first-moment decay, both optimizers.
        beta_2: Adam's second-moment decay, both optimizers.
        latent_dim: size of z.
        filters: width of the networks (64 = the tutorial's).
        dropout: dropout rate in the discriminator.
        spectral_norm: spectral normalization of the discriminator's weights.
        loss: adversarial loss, a name in `tfgen.models.gan.losses.LOSSES`.
        gradient_penalty: WGAN-GP penalty weight λ (0 = off).
        r1_gamma: R1 penalty weight γ on real images (0 = off).
        n_critic: discriminator steps per generator step.
        ema_decay: EMA decay of the generator weights used for samples (0 = off).
        augment: DiffAugment policy, e.g. `"color,translation,cutout"` (empty = off).
        precision: Keras dtype policy of the networks: `"float32"`, or
            `"mixed_bfloat16"` (float32 weights, bfloat16 math: faster on CPUs
            with AVX512-BF16/AMX and on GPUs; see benchmarks/gan_throughput.py).
    """

    model: str = "dcgan"
    dataset: str = "mnist"
    batch_size: int = 256
    epochs: int = 10
    validation_steps: int | None = 4
    learning_rate: float = 1e-4
    lr_schedule: str = dataclasses.field(default="constant", metadata=choices("constant", "cosine"))
    d_learning_rate: float | None = None
    beta_1: float = 0.9
    beta_2: float = 0.999
    latent_dim: int = 100
    filters: int = 64
    dropout: float = 0.3
    spectral_norm: bool = False
    loss: str = dataclasses.field(default="non_saturating", metadata=choices(*losses.names()))
    gradient_penalty: float = 0.0
    r1_gamma: float = 0.0
    n_critic: int = 1
    ema_decay: float = 0.999
    augment: str = ""
    precision: str = dataclasses.field(default="float32", metadata=choices(*PRECISIONS))

    def __post_init__(self):
        super().__post_init__()
        for name in ("latent_dim", "filters", "n_critic"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be a positive integer, got {getattr(self, name)}")
        for name, low, high in (
            ("dropout", 0, 1),
            ("ema_decay", 0, 1),
            ("beta_1", 0, 1),
            ("beta_2", 0, 1),
        ):
            if not low <= getattr(self, name) < high:
                raise ConfigError(f"{name}: must be in [{low}, {high}), got {getattr(self, name)}")
        for name in ("gradient_penalty", "r1_gamma"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if self.d_learning_rate is not None and self.d_learning_rate <= 0:
            raise ConfigError(f"d_learning_rate: must be positive, got {self.d_learning_rate}")
        try:
            parse_policy(self.augment)
        except ValueError as error:
            raise ConfigError(f"augment: {error}") from None


@keras.saving.register_keras_serializable(package="tfgen")
class DCGAN(AdversarialModel):
    """Deep convolutional GAN with the TensorFlow tutorial's generator and discriminator.

    Args:
        image_shape: `(height, width, channels)` of the data; sides divisible by 4.
        latent_dim: size of z.
        filters: network width (64 = the tutorial's).
        dropout: dropout rate in the discriminator.
        spectral_norm: spectral normalization in the discriminator.
        num_classes: labels of a class-conditional model (see `ConditionalGAN`), or `None`.
        synchronized_batch_norm: global-batch statistics under a strategy.
        precision: dtype policy of the networks (`tfgen.ops.precision.PRECISIONS`).
        **kwargs: `AdversarialModel` options (`loss`, `gradient_penalty`, `r1_gamma`,
            `n_critic`, `ema_decay`, `augment`, `seed`) and Keras `Model` arguments.

    Example:

    >>> gan = tfgen.models.DCGAN(image_shape=(28, 28, 1))
    >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-4),
    ...             g_optimizer=keras.optimizers.Adam(1e-4))
    >>> gan.fit(images_dataset, epochs=1)     # images in [0, 1]
    >>> gan.sample_images(16, seed=0).shape
    TensorShape([16, 28, 28, 1])
    """

    config_class = DCGANConfig
    serving_default = "sample"
    tflite_endpoints = ("generate",)

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=100,
        filters=64,
        dropout=0.3,
        spectral_norm=False,
        num_classes=None,
        synchronized_batch_norm=False,
        precision="float32",
        **kwargs,
    ):
        check_image_shape(image_shape)
        self.precision = precision
        self.image_shape = tuple(image_shape)
        self.filters = filters
        self.dropout = dropout
        self.spectral_norm = spectral_norm
        self.synchronized_batch_norm = synchronized_batch_norm

        def generator(name):
            return DCGANGenerator(
                latent_dim, image_shape, filters, num_classes, synchronized_batch_norm, name=name
            )

        with dtype_policy(precision):
            networks = dict(
                generator=generator("generator"),
                discriminator=DCGANDiscriminator(
                    image_shape, filters, dropout, spectral_norm, num_classes, name="discriminator"
                ),
                ema_generator=(
                    generator("ema_generator") if kwargs.get("ema_decay", 0.999) else None
                ),
            )
        super().__init__(**networks, latent_dim=latent_dim, num_classes=num_classes, **kwargs)

    @classmethod
    def from_run_config(cls, config, info, steps_per_epoch=1):
        """Builds the model `config` describes for the dataset `info` (inside the strategy scope)."""
        if info.modality != "image":
            raise ValueError(
                f"{config.model} models images; dataset {info.name!r} is {info.modality}"
            )
        return cls(image_shape=info.shape, **cls.constructor_args(config, info))

    @classmethod
    def constructor_args(cls, config, info):
        return dict(
            latent_dim=config.latent_dim,
            filters=config.filters,
            dropout=config.dropout,
            spectral_norm=config.spectral_norm,
            loss=config.loss,
            gradient_penalty=config.gradient_penalty,
            r1_gamma=config.r1_gamma,
            n_critic=config.n_critic,
            ema_decay=config.ema_decay,
            augment=config.augment,
            seed=config.seed,
            precision=config.precision,
            synchronized_batch_norm=tf.distribute.get_strategy().num_replicas_in_sync > 1,
        )

    def compile_from_run_config(self, config, jit_compile, steps_per_epoch):
        d_config = dataclasses.replace(
            config, learning_rate=config.d_learning_rate or config.learning_rate
        )

        def adam(lr_config):
            return keras.optimizers.Adam(
                learning_rate(lr_config, steps_per_epoch),
                beta_1=config.beta_1,
                beta_2=config.beta_2,
            )

        self.compile(d_optimizer=adam(d_config), g_optimizer=adam(config), jit_compile=jit_compile)

    def get_config(self):
        return {
            **super().get_config(),
            **self.adversarial_config(),
            "image_shape": self.image_shape,
            "filters": self.filters,
            "dropout": self.dropout,
            "spectral_norm": self.spectral_norm,
            "num_classes": self.num_classes,
            "synchronized_batch_norm": self.synchronized_batch_norm,
            "precision": self.precision,
        }
