"""Helpers with no TensorFlow model in them: atomic files, image grids and PNGs."""
