"""The VAE family: a convolutional encoder/decoder trained on the ELBO (TFP distributions)."""

from tfgen.models.vae.model import VAE, VAEConfig
from tfgen.models.vae.networks import conv_decoder, conv_encoder
