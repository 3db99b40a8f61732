"""What every tfgen model family declares, once, on its class.

Shared machinery (the fit loop, callbacks, checkpoints, export) reads these
declarations and never asks which model it has.
"""

import keras
import tensorflow as tf

from tfgen import config as config_lib
from tfgen.config import SAMPLE_QUALITY_GROUPS
from tfgen.data import DEFAULT_IMAGE_FIT


class GenerativeModel(keras.Model):
    """Base class of tfgen's model families.

    A family sets `config_class` (its `TrainConfig` subclass, whose `param` fields are
    the model's hyper-parameters: keyword arguments of `__init__`, taken with
    `tfgen.config.take_params`, and keys of `get_config()`) and implements:

    - `run_arguments(config, info, steps_per_epoch, **kwargs)`: the constructor
      arguments besides the hyper-parameters, from the dataset (image shape,
      labels, tokenizer) and the run (seed, strategy); it refuses a dataset the
      family cannot model. `from_run_config` adds the config's hyper-parameters.
    - `compile_from_run_config(config, jit_compile, steps_per_epoch)`: compiles with
      its optimizers (learning rates from `tfgen.ops.schedules.learning_rate`).
    - `optimizers()`: the optimizers whose state a checkpoint must hold.
    - `sample_images(num, seed)`: images in [0, 1], `[num, height, width, channels]`.
    - `sample_grid(size, seed)`: `[rows, columns, h, w, c]` samples for a grid
      (default: `size` x `size` of `sample_images`).
    - `summary_images(examples, seed)`: `{name: images}` written to TensorBoard
      and as PNGs every epoch, given a fixed batch of test examples.
    - `export_endpoints()`: `{name: tf.function}` with input signatures, the
      SavedModel's signatures; `serving_default` names the default one.
    - `tflite_endpoints`: names of the endpoints that convert to TFLite (they
      take noise as an input rather than drawing it).
    - `export_resources()`: `{name: trackable}` the endpoints read besides the
      model's variables (e.g. a tokenizer's lookup tables); the SavedModel
      tracks them so they are saved (default: none).
    - `metric_groups`: the `tfgen.evaluation` groups that apply to the family,
      in the order `tfgen.evaluate` measures them by default (default: the
      sample-quality groups of an image model; a VAE adds `nll`, a language
      model has `ppl` only).
    """

    config_class = None
    serving_default = None
    tflite_endpoints = ()
    metric_groups = SAMPLE_QUALITY_GROUPS
    modality = "image"
    """What the family models, `"image"` or `"text"`: the dataset's `modality` must match."""
    style_controls = False
    """Whether the model takes StyleGAN's controls (w inputs, style mixing, truncation)."""
    num_classes = None
    """Labels of a class-conditional model; `None` for an unconditional one."""

    @classmethod
    def data_options(cls, config):
        """Keyword arguments of `tfgen.data.load` that the run config implies (default none).

        A family that fits images to its own resolution returns `resolution` and
        `image_fit`; the fit loop, evaluation and projection load data with them.
        """
        return {}

    @classmethod
    def image_fit(cls, config):
        """How the run fits images to the model's size (`data_options`' `image_fit`)."""
        return cls.data_options(config).get("image_fit", DEFAULT_IMAGE_FIT)

    @classmethod
    def from_run_config(cls, config, info, steps_per_epoch=1, **kwargs):
        """Builds the model `config` describes for dataset `info` (inside the strategy scope).

        Args:
            config: a resolved `config_class`.
            info: the dataset's `tfgen.data.DatasetInfo`.
            steps_per_epoch: optimizer steps per epoch (for keys counted in epochs).
            **kwargs: what the run directory holds besides the config (a tokenizer).

        Raises:
            ValueError: for a dataset of another modality, or one `run_arguments` refuses.
        """
        if info.modality != cls.modality:
            noun = "images" if cls.modality == "image" else cls.modality
            raise ValueError(
                f"{config.model} models {noun}; dataset {info.name!r} is {info.modality}"
            )
        arguments = cls.run_arguments(config, info, steps_per_epoch, **kwargs)
        return cls(**arguments, **config_lib.params_of(config))

    @classmethod
    def run_arguments(cls, config, info, steps_per_epoch=1, **kwargs):
        raise NotImplementedError(f"{cls.__name__} must implement run_arguments")

    def take_params(self, kwargs):
        """Pops the hyper-parameters out of `__init__`'s `kwargs`; returns them validated.

        Defaults and checks are `config_class`'s (`tfgen.config.take_params`); the
        values are kept for `params` and `get_config()`.
        """
        params = config_lib.take_params(self.config_class, kwargs)
        object.__setattr__(self, "_params", params)  # Plain values: not tracked by Keras.
        return params

    @property
    def params(self):
        """`{name: value}` of the hyper-parameters the model was built with."""
        return dict(self._params)

    def check_label(self, label, name="--label", what="this model"):
        """Raises a ValueError unless `label` is a class of this (conditional) model.

        `name` is the argument the label came in and `what` the model, for the message.
        """
        if not self.num_classes:
            raise ValueError(f"{name} needs a class-conditional model; {what} is not one")
        if not 0 <= label < self.num_classes:
            raise ValueError(f"{name} must be in [0, {self.num_classes}), got {label}")

    def compile_from_run_config(self, config, jit_compile, steps_per_epoch):
        raise NotImplementedError(f"{type(self).__name__} must implement compile_from_run_config")

    def optimizers(self):
        return {"optimizer": self.optimizer}

    def build_optimizers(self):
        """Creates optimizer slots now, so a checkpoint can restore into them."""
        for optimizer in self.optimizers().values():
            optimizer.build(self.trainable_variables)

    def sample_images(self, num, seed):
        raise NotImplementedError(f"{type(self).__name__} must implement sample_images")

    def sample_grid(self, size, seed):
        images = self.sample_images(size * size, seed)
        return tf.reshape(images, [size, size, *images.shape[1:]])

    def summary_images(self, examples, seed):
        return {"samples": self.sample_images(examples["image"].shape[0], seed)}

    def export_endpoints(self):
        raise NotImplementedError(f"{type(self).__name__} must implement export_endpoints")

    def export_resources(self):
        return {}
