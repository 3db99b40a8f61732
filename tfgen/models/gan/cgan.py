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
    """`DCGANConfig` for labelled datasets; the networks are DCGAN's.

    Args:
        dataset: MNIST with its labels (cgan refuses datasets without labels).
        batch_size: 64, smaller than the tutorial's 256: 4x the updates per epoch,
            digits form sooner.
        epochs: 5: samples are the requested digit most of the time well before (docs/gans.md).
        learning_rate: 2e-4, Radford et al.'s DCGAN rate.
        beta_1: 0.5, Radford et al.'s: momentum 0.9 made their training oscillate.
    """

    model: str = "cgan"
    batch_size: int = 64
    epochs: int = 5
    learning_rate: float = 2e-4
    beta_1: float = 0.5


@keras.saving.register_keras_serializable(package="tfgen")
class ConditionalGAN(DCGAN):
    """DCGAN networks conditioned on an integer class label.

    Same arguments as `DCGAN`; `num_classes` (the dataset's) is required.
    """

    config_class = CGANConfig

    def __init__(self, num_classes=10, **kwargs):
        if not num_classes or num_classes < 2:
            raise ValueError(f"a class-conditional GAN needs num_classes >= 2, got {num_classes}")
        super().__init__(num_classes=num_classes, **kwargs)

    @classmethod
    def run_arguments(cls, config, info, steps_per_epoch=1):
        if not info.num_classes:
            raise ValueError(
                f"cgan needs a labelled dataset; {info.name!r} has no class labels "
                f"(use dcgan or wgan_gp for unlabelled images)"
            )
        return {**super().run_arguments(config, info), "num_classes": info.num_classes}
