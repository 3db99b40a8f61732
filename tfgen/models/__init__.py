"""Model families, looked up by lowercase name.

`MODELS` is the one registry: `--help`, error messages and `get` all read it.
"""

from tfgen.models.base import GenerativeModel
from tfgen.models.adversarial import AdversarialModel
from tfgen.models.cgan import CGANConfig, ConditionalGAN
from tfgen.models.char_lstm import CharLSTM, CharLSTMConfig
from tfgen.models.dcgan import DCGAN, DCGANConfig
from tfgen.models.gpt import GPT, GPTConfig
from tfgen.models.lm import LanguageModel, LMConfig
from tfgen.models.stylegan import StyleGAN
from tfgen.models.stylegan_config import StyleGANConfig
from tfgen.models.vae import VAE, VAEConfig
from tfgen.models.wgan_gp import WGANGP, WGANGPConfig

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
        raise ValueError(f"unknown model {name!r}; valid models are: {', '.join(names())}") from None
