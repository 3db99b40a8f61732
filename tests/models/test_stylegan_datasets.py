"""StyleGAN on the other image sources: an RGB `folder:` resized, `tfds:`, Fashion-MNIST's shape."""

import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from tfgen import config as config_lib
from tfgen import models, training
from tfgen.data import tfds_source
from tfgen.models import StyleGANConfig
from tfgen.training import run_data as training_data

TINY = dict(
    model="stylegan",
    batch_size=4,
    epochs=1,
    steps_per_epoch=2,
    validation_steps=1,
    sample_grid_size=2,
    latent_dim=4,
    w_dim=4,
    mapping_layers=2,
    channel_base=32,
    channel_max=4,
    mbstd_group_size=2,
    r1_interval=2,
    pl_interval=2,
)

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow


class StyleGANDatasetsTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)

    def train(self, name, **overrides):
        config = config_lib.resolve(StyleGANConfig, {**TINY, **overrides})
        return training.train(config, run_dir=self.tmp / name, verbose=0)

    def test_rgb_folder_of_non_square_images_is_resized_to_16(self):
        rng = np.random.default_rng(0)
        for index in range(12):
            Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(
                self.tmp / f"photo{index:02d}.png"
            )
        result = self.train("rgb", dataset=f"folder:{self.tmp}", resolution=16, image_fit="resize")
        self.assertEqual(tuple(result.model.image_shape), (16, 16, 3))
        images = result.model.sample_images(2, seed=0)
        self.assertEqual(images.shape, (2, 16, 16, 3))
        self.assertAllInRange(images, 0.0, 1.0)
        grid = tf.io.decode_png(
            tf.io.read_file(str(result.run_dir / "images" / "style_mixing-epoch001.png"))
        )
        self.assertEqual(grid.shape[-1], 3)

    def test_padding_a_larger_image_names_resize(self):
        Image.fromarray(np.zeros((20, 20), np.uint8)).save(self.tmp / "big.png")
        with self.assertRaisesRegex(ValueError, "use image_fit: resize"):
            self.train("big", dataset=f"folder:{self.tmp}", resolution=16, image_fit="pad")

    def test_tfds_images_are_padded_to_32(self):
        # TFDS's own mock_data stands in for the download (no network here). Padding is the
        # run data's work, so the model is built without a fit (the RGB folder above takes
        # the same path through a whole fit).
        config = config_lib.resolve(
            StyleGANConfig, {**TINY, "dataset": "tfds:fashion_mnist", "resolution": 32}
        )
        with (
            mock.patch.dict(os.environ, {"TFDS_DATA_DIR": str(self.tmp / "tfds")}),
            tfds.testing.mock_data(num_examples=8),
            mock.patch.object(tfds_source, "network_available", return_value=True),
        ):
            run_data = training_data.prepare(config, self.tmp / "tfds-run")
            batch = next(iter(run_data.train_batches(0)))
        images = [t for t in tf.nest.flatten(batch) if t.shape.rank == 4]
        self.assertEqual([tuple(t.shape[1:]) for t in images], [(32, 32, 1)])
        model = models.get("stylegan").from_run_config(
            config, run_data.info, steps_per_epoch=run_data.steps, **run_data.model_kwargs
        )
        self.assertEqual(tuple(model.image_shape), (32, 32, 1))
        self.assertEqual(model.sample_images(1, seed=0).shape, (1, 32, 32, 1))


if __name__ == "__main__":
    tf.test.main()
