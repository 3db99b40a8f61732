"""Fitting image datasets to a model's square resolution: pad, resize, errors."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgen import data as data_lib
from tfgen.data import DatasetInfo, fit_images, unfit_images
from tfgen.models import VAE, StyleGAN, StyleGANConfig, VAEConfig


def images(shape, count=2):
    values = np.random.default_rng(0).uniform(size=(count, *shape)).astype("float32")
    return tf.data.Dataset.from_tensor_slices({"image": values, "label": np.arange(count)}), values


def info(shape):
    return DatasetInfo(name="tiny", modality="image", shape=shape, num_classes=2)


class FitImagesTest(tf.test.TestCase):
    def test_pad_centres_the_image_on_black(self):
        dataset, values = images((28, 28, 1))
        fitted, fitted_info = fit_images(dataset, info((28, 28, 1)), 32, "pad")
        self.assertEqual(fitted_info.shape, (32, 32, 1))
        example = next(iter(fitted))
        self.assertEqual(example["image"].shape, (32, 32, 1))
        self.assertAllEqual(example["image"][2:30, 2:30], values[0])
        self.assertEqual(float(tf.reduce_sum(example["image"])), float(values[0].sum()))
        self.assertEqual(int(example["label"]), 0)

    def test_resize_keeps_the_value_range_and_channels(self):
        dataset, _ = images((20, 30, 3))
        fitted, fitted_info = fit_images(dataset, info((20, 30, 3)), 16, "resize")
        self.assertEqual(fitted_info.shape, (16, 16, 3))
        image = next(iter(fitted))["image"]
        self.assertEqual(image.shape, (16, 16, 3))
        self.assertAllInRange(image, 0.0, 1.0)

    def test_same_size_is_untouched_and_errors_name_the_fix(self):
        dataset, _ = images((8, 8, 1))
        self.assertIs(fit_images(dataset, info((8, 8, 1)), 8, "pad")[0], dataset)
        with self.assertRaisesRegex(ValueError, "larger; use image_fit: resize"):
            fit_images(dataset, info((40, 40, 1)), 32, "pad")
        with self.assertRaisesRegex(ValueError, "pad, resize"):
            fit_images(dataset, info((8, 8, 1)), 16, "stretch")

    def test_unfit_undoes_pad_exactly_and_resize_approximately(self):
        dataset, values = images((28, 28, 1))
        padded = next(iter(fit_images(dataset, info((28, 28, 1)), 32, "pad")[0].batch(2)))
        self.assertAllEqual(unfit_images(padded["image"], (28, 28, 1), "pad"), values)
        smooth = np.tile(np.linspace(0, 1, 20, dtype="float32")[None, :, None, None], (1, 1, 20, 1))
        resized = tf.image.resize(smooth, [32, 32], method="bilinear")
        back = unfit_images(resized, (20, 20, 1), "resize")
        self.assertEqual(back.shape, (1, 20, 20, 1))
        self.assertAllClose(back, smooth, atol=0.05)
        self.assertIs(unfit_images(back, (20, 20, 1), "pad"), back)
        with self.assertRaisesRegex(ValueError, "3 channels, the dataset's have 1"):
            unfit_images(tf.zeros([1, 32, 32, 3]), (28, 28, 1), "pad")
        with self.assertRaisesRegex(ValueError, "pad, resize"):
            unfit_images(back, (28, 28, 1), "crop")

    def test_load_applies_a_configs_resolution(self):
        self.assertEqual(VAE.data_options(VAEConfig()), {})
        self.assertEqual(VAE.image_fit(VAEConfig()), "resize")
        options = StyleGAN.data_options(StyleGANConfig())
        self.assertEqual(options, {"resolution": 32, "image_fit": "pad"})
        path = Path(self.get_temp_dir()) / "tiny.npz"
        np.savez(path, x_train=np.zeros((4, 6, 6), np.uint8), x_test=np.zeros((2, 6, 6), np.uint8))
        dataset, loaded_info = data_lib.load(f"npz:{path}", "test", resolution=8, image_fit="pad")
        self.assertEqual(loaded_info.shape, (8, 8, 1))
        self.assertEqual(next(iter(dataset))["image"].shape, (8, 8, 1))
