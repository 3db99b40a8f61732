"""The StyleGAN2 family: its model, config, controls (truncation, mixing), projection into W
and its layers."""

from tfgen.models.stylegan.config import StyleGANConfig
from tfgen.models.stylegan.discriminator import ResidualBlock, StyleGANDiscriminator
from tfgen.models.stylegan.equalized import EqualizedConv2D, EqualizedDense
from tfgen.models.stylegan.generator import StyleGANGenerator, StyleGANSynthesis, SynthesisLayer
from tfgen.models.stylegan.mapping_network import MappingNetwork
from tfgen.models.stylegan.minibatch_stddev import MinibatchStdDev
from tfgen.models.stylegan.model import StyleGAN
from tfgen.models.stylegan.modulated_conv import ModulatedConv2D, ToRGB
from tfgen.models.stylegan.noise_injection import NoiseInjection
