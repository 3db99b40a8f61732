"""DCGAN: the TensorFlow DCGAN tutorial's networks inside tfgen's adversarial base.

Radford et al. 2016 (https://arxiv.org/abs/1511.06434); networks, loss and
optimizer as in https://www.tensorflow.org/tutorials/generative/dcgan.
"""

import dataclasses

import keras
import tensorflow as tf

from tfgen.config import ConfigError, TrainConfig, param
from tfgen.models.gan import losses
from tfgen.models.gan.adversarial import AdversarialModel
from tfgen.models.gan.augment import parse_policy
from tfgen.models.gan.networks import DCGANDiscriminator, DCGANGenerator, check_image_shape
from tfgen.ops.precision import PRECISIONS, dtype_policy
from tfgen.ops.schedules import learning_rate


@dataclasses.dataclass
class DCGANConfig(TrainConfig):
    """`TrainConfig` plus the keys of every DCGAN-style model; the `param` fields are
    `DCGAN`'s arguments. The defaults are the TensorFlow DCGAN tutorial's
    (tensorflow.org/tutorials/generative/dcgan).

    Args:
        dataset: grayscale MNIST digits (pixels scaled to [-1, 1] inside the model).
        batch_size: the tutorial's 256.
        epochs: 10 (the tutorial runs 50; digits are formed well before, docs/gans.md).
        validation_steps: D and G losses on 4 test batches: enough to spot an
            overfitting D.
        learning_rate: the tutorial's Adam(1e-4), for the generator.
        lr_schedule: constant, as GANs are usually trained.
        d_learning_rate: the discriminator's learning rate; `None` = `learning_rate`
            (the tutorial's choice).
        beta_1: Adam's first-moment decay, both optimizers (Adam's default, as the tutorial).
        beta_2: Adam's second-moment decay, both optimizers (Adam's default).
        latent_dim: size of z: the tutorial's 100.
        filters: width of the networks: 64, the tutorial's (generator 256-128-64,
            discriminator 64-128).
        dropout: dropout rate in the discriminator: the tutorial's 0.3.
        spectral_norm: spectral normalization of the discriminator's weights (off, as
            the tutorial; it stabilizes a stronger discriminator).
        loss: adversarial loss, a name in `tfgen.models.gan.losses.LOSSES`: the
            tutorial's `non_saturating` (BCE from logits, -log D(G(z)) for G).
        gradient_penalty: WGAN-GP penalty weight λ (0 = off).
        r1_gamma: R1 penalty weight γ on real images (0 = off; try 0.1-10 if D overfits).
        n_critic: discriminator steps per generator step (1, as the tutorial).
        ema_decay: EMA decay of the generator weights used for samples and exports
            (0 = off); ramped up early, it gives smoother digits.
        augment: DiffAugment policy, e.g. `"color,translation,cutout"` (empty = off:
            60,000 images are plenty; use it for small datasets).
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
    lr_schedule: str = "constant"
    d_learning_rate: float | None = None
    beta_1: float = 0.9
    beta_2: float = 0.999
    latent_dim: int = param(100)
    filters: int = param(64)
    dropout: float = param(0.3)
    spectral_norm: bool = param(False)
    loss: str = param("non_saturating", choices=losses.names())
    gradient_penalty: float = param(0.0)
    r1_gamma: float = param(0.0)
    n_critic: int = param(1)
    ema_decay: float = param(0.999)
    augment: str = param("")
    precision: str = param("float32", choices=PRECISIONS)

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
        num_classes: labels of a class-conditional model (see `ConditionalGAN`), or `None`.
        synchronized_batch_norm: global-batch statistics under a strategy.
        seed: seeds the fallback noise for data without per-example seeds.
        **kwargs: the hyper-parameters, the `param` keys of the family's config
            (`DCGANConfig`, `WGANGPConfig`, `CGANConfig`: `latent_dim`, `filters`,
            `dropout`, `spectral_norm`, `loss`, `gradient_penalty`, `r1_gamma`,
            `n_critic`, `ema_decay`, `augment`, `precision`), with its defaults and
            checks; then Keras `Model` arguments.

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
        num_classes=None,
        synchronized_batch_norm=False,
        seed=0,
        **kwargs,
    ):
        params = self.take_params(kwargs)
        check_image_shape(image_shape)
        self.image_shape = tuple(image_shape)
        self.synchronized_batch_norm = synchronized_batch_norm
        latent_dim, filters = params["latent_dim"], params["filters"]

        def generator(name):
            return DCGANGenerator(
                latent_dim, image_shape, filters, num_classes, synchronized_batch_norm, name=name
            )

        with dtype_policy(params["precision"]):
            networks = dict(
                generator=generator("generator"),
                discriminator=DCGANDiscriminator(
                    image_shape,
                    filters,
                    params["dropout"],
                    params["spectral_norm"],
                    num_classes,
                    name="discriminator",
                ),
                ema_generator=generator("ema_generator") if params["ema_decay"] else None,
            )
        super().__init__(
            **networks,
            latent_dim=latent_dim,
            loss=params["loss"],
            gradient_penalty=params["gradient_penalty"],
            r1_gamma=params["r1_gamma"],
            n_critic=params["n_critic"],
            ema_decay=params["ema_decay"],
            augment=params["augment"],
            num_classes=num_classes,
            seed=seed,
            **kwargs,
        )

    @classmethod
    def run_arguments(cls, config, info, steps_per_epoch=1):
        return {
            "image_shape": info.shape,
            "seed": config.seed,
            "synchronized_batch_norm": tf.distribute.get_strategy().num_replicas_in_sync > 1,
        }

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
            "image_shape": self.image_shape,
            "num_classes": self.num_classes,
            "synchronized_batch_norm": self.synchronized_batch_norm,
            "seed": self.seed,
            **self.params,
        }
