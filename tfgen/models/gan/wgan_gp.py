"""WGAN-GP: a Wasserstein critic with a gradient penalty (Gulrajani et al. 2017,
https://arxiv.org/abs/1704.00028), on the DCGAN networks.

Defaults follow the paper's Algorithm 1: λ = 10, n_critic = 5, Adam(1e-4, β1 = 0.5,
β2 = 0.9), no batch norm and no dropout in the critic (the penalty is per example).
"""

import dataclasses

import keras

from tfgen.models.gan.dcgan import DCGAN, DCGANConfig


@dataclasses.dataclass
class WGANGPConfig(DCGANConfig):
    """`DCGANConfig` with the WGAN-GP paper's Algorithm 1 defaults.

    Args:
        batch_size: the paper's 64.
        epochs: 5: each step runs `n_critic` critic updates, so an epoch costs about
            3x a DCGAN epoch.
        learning_rate: the paper's α, 1e-4 (constant, as the paper).
        beta_1: the paper's Adam β1, 0.5.
        beta_2: the paper's Adam β2, 0.9.
        dropout: 0: the penalty and the Wasserstein estimate are per example.
        loss: `wasserstein`: the critic maximizes D(x) - D(G(z)), G maximizes D(G(z)).
        gradient_penalty: the paper's λ, 10.
        n_critic: the paper's 5 critic iterations per generator step.
    """

    model: str = "wgan_gp"
    batch_size: int = 64
    epochs: int = 5
    beta_1: float = 0.5
    beta_2: float = 0.9
    dropout: float = 0.0
    loss: str = "wasserstein"
    gradient_penalty: float = 10.0
    n_critic: int = 5


@keras.saving.register_keras_serializable(package="tfgen")
class WGANGP(DCGAN):
    """DCGAN networks trained as a Wasserstein GAN with gradient penalty.

    Same arguments as `DCGAN`, with `WGANGPConfig`'s defaults: `loss="wasserstein"`,
    `gradient_penalty=10.0`, `n_critic=5`, `dropout=0.0`.
    """

    config_class = WGANGPConfig
