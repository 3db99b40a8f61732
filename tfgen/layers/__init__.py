"""Reusable Keras building blocks."""

from tfgen.layers.conv_nets import conv_decoder, conv_encoder
from tfgen.layers.dcgan_nets import DCGANDiscriminator, DCGANGenerator
from tfgen.layers.per_example_dropout import PerExampleDropout
