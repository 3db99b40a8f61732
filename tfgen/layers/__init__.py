"""Reusable Keras building blocks."""

from tfgen.layers.conv_nets import conv_decoder, conv_encoder
from tfgen.layers.dcgan_nets import DCGANDiscriminator, DCGANGenerator
from tfgen.layers.per_example_dropout import PerExampleDropout
from tfgen.layers.equalized import EqualizedConv2D, EqualizedDense
from tfgen.layers.mapping_network import MappingNetwork
from tfgen.layers.minibatch_stddev import MinibatchStdDev
from tfgen.layers.modulated_conv import ModulatedConv2D, ToRGB
from tfgen.layers.noise_injection import NoiseInjection
from tfgen.layers.stylegan_discriminator import ResidualBlock, StyleGANDiscriminator
from tfgen.layers.stylegan_generator import StyleGANGenerator, StyleGANSynthesis, SynthesisLayer
