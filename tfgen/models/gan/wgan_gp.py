"""WGAN-GP: a Wasserstein critic with a gradient penalty (Gulrajani et al. 2017,
https://arxiv.org/abs/1704.00028), on the DCGAN networks.

Defaults follow the paper's Algorithm 1: λ = 10, n_critic = 5, Adam(1e-4, β1 = 0.5,
β2 = 0.9), no batch norm and no dropout in the critic (the penalty is per example).
"""

import dataclasses

import keras

from tfgen.config import choices
from tfgen.models.gan import losses
from tfgen.models.gan.dcgan import DCGAN, DCGANConfig


@dataclasses.dataclass
class WGANGPConfig(DCGANConfig):
    """`DCGANConfig` with the WGAN-GP paper's defaults (see configs/wgan_gp_mnist.yaml)."""

    model: str = "wgan_gp"
    batch_size: int = 64
    epochs: int = 5
    beta_1: float = 0.5
    beta_2: float = 0.9
    dropout: float = 0.0
    loss: str = dataclasses.field(default="wasserstein", metadata=choices(*losses.names()))
    gradient_penalty: float = 10.0
    n_critic: int = 5


@keras.saving.register_keras_serializable(package="tfgen")
class WGANGP(DCGAN):
    """DCGAN networks trained as a Wasserstein GAN with gradient penalty.

    Same arguments as `DCGAN`, with WGAN-GP defaults: `loss="wasserstein"`,
    `gradient_penalty=10.0`, `n_critic=5`, `dropout=0.0`.
    """

    config_class = WGANGPConfig

    def __init__(
        self, dropout=0.0, loss="wasserstein", gradient_penalty=10.0, n_critic=5, **kwargs
    ):
        super().__init__(
            dropout=dropout,
            loss=loss,
            gradient_penalty=gradient_penalty,
            n_critic=n_critic,
            **kwargs,
        )
