"""Model families, looked up by lowercase name.

`MODELS` is the one registry: `--help`, error messages and `get` all read it.
"""

from tfgen.models.base import GenerativeModel
from tfgen.models.gan import (
    DCGAN,
    WGANGP,
    AdversarialModel,
    CGANConfig,
    ConditionalGAN,
    DCGANConfig,
    WGANGPConfig,
)
from tfgen.models.lm import GPT, CharLSTM, CharLSTMConfig, GPTConfig, LanguageModel, LMConfig
from tfgen.models.stylegan import StyleGAN, StyleGANConfig
from tfgen.models.vae import VAE, VAEConfig

MODELS = {
    "cgan": ConditionalGAN,
    "char_lstm": CharLSTM,
    "dcgan": DCGAN,
    "gpt": GPT,
    "stylegan": StyleGAN,
    "vae": VAE,
    "wgan_gp": WGANGP,
}


def names():
    return sorted(MODELS)


def get(name):
    """Returns the model class registered as `name`.

    Raises:
        ValueError: naming the valid model names.
    """
    try:
        return MODELS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; valid models are: {', '.join(names())}"
        ) from None
