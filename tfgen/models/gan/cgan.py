"""Class-conditional GAN: a label embedding in the generator, a projection discriminator.

Mirza & Osindero 2014 (https://arxiv.org/abs/1411.1784) for conditioning G on the
label; Miyato & Koyama 2018 (https://arxiv.org/abs/1802.05637) for the projection
discriminator. `sample_images(num, seed, labels)` draws the requested classes.
"""

import dataclasses

import keras

from tfgen.models.gan.dcgan import DCGAN, DCGANConfig


@dataclasses.dataclass
class CGANConfig(DCGANConfig):
    """`DCGANConfig` for labelled datasets (see configs/cgan_mnist.yaml)."""

    model: str = "cgan"
    batch_size: int = 64
    epochs: int = 5
    learning_rate: float = 2e-4
    beta_1: float = 0.5


@keras.saving.register_keras_serializable(package="tfgen")
class ConditionalGAN(DCGAN):
    """DCGAN networks conditioned on an integer class label.

    Same arguments as `DCGAN`; `num_classes` is required.
    """

    config_class = CGANConfig

    def __init__(self, num_classes=10, **kwargs):
        if not num_classes or num_classes < 2:
            raise ValueError(f"a class-conditional GAN needs num_classes >= 2, got {num_classes}")
        super().__init__(num_classes=num_classes, **kwargs)

    @classmethod
    def from_run_config(cls, config, info, steps_per_epoch=1):
        if not info.num_classes:
            raise ValueError(
                f"cgan needs a labelled dataset; {info.name!r} has no class labels "
                f"(use dcgan or wgan_gp for unlabelled images)"
            )
        return cls(
            image_shape=info.shape,
            num_classes=info.num_classes,
            **cls.constructor_args(config, info),
        )
