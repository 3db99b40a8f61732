"""Reusable Keras building blocks."""

from tfgen.layers.conv_nets import conv_decoder, conv_encoder
