"""The GAN family: adversarial step, options, replica invariance, resume, monitoring, errors."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import assert_config_round_trip, save_and_load, tiny_config, write_npz
from tensorboard.backend.event_processing import event_accumulator

from tfgen import config as config_lib
from tfgen import models, runs, training
from tfgen.cli import sample as sample_cli
from tfgen.distribute import make_strategy
from tfgen.models import DCGAN, WGANGP, ConditionalGAN
from tfgen.models.gan.networks import DCGANDiscriminator, DCGANGenerator
from tfgen.utils.images import grid as tfgen_grid

NUM_CLASSES = 3


def all_weights(model):
    return [v.numpy() for v in model.weights]


def tiny_gan(model_class=DCGAN, **kwargs):
    gan = model_class(image_shape=(8, 8, 1), latent_dim=4, filters=2, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    return gan


def tiny_batch(batch=4, labelled=False):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(batch, 8, 8, 1)).astype("float32")
    data = {
        "image": images,
        "seed": np.stack([np.zeros(batch), np.arange(batch)], 1).astype("int64"),
    }
    if labelled:
        data["label"] = rng.integers(0, NUM_CLASSES, batch)
    return data


class NetworksTest(tf.test.TestCase):
    def test_default_networks_are_the_tutorials(self):
        generator = DCGANGenerator()
        self.assertEqual(generator(tf.zeros([2, 100])).shape, (2, 28, 28, 1))
        shapes = [tuple(v.shape) for v in generator.trainable_variables if len(v.shape) > 1]
        self.assertEqual(
            shapes, [(100, 7 * 7 * 256), (5, 5, 128, 256), (5, 5, 64, 128), (5, 5, 1, 64)]
        )
        discriminator = DCGANDiscriminator()
        self.assertEqual(discriminator(tf.zeros([2, 28, 28, 1])).shape, (2,))
        kernels = [tuple(v.shape) for v in discriminator.trainable_variables if len(v.shape) > 1]
        self.assertEqual(kernels, [(5, 5, 1, 64), (5, 5, 64, 128), (7 * 7 * 128, 1)])

    def test_get_config_round_trips(self):
        for layer in (
            DCGANGenerator(4, (8, 12, 3), 2, num_classes=3),
            DCGANDiscriminator((8, 12, 3), 2, 0.1, spectral_norm=True, num_classes=3),
        ):
            assert_config_round_trip(self, layer)

    def test_image_sides_must_divide_by_four(self):
        with self.assertRaisesRegex(ValueError, "divisible by 4"):
            DCGANGenerator(image_shape=(30, 30, 1))

    def test_dropout_masks_do_not_depend_on_batch_split(self):
        discriminator = DCGANDiscriminator((8, 8, 1), filters=2, dropout=0.5)
        data = tiny_batch(4)
        whole = discriminator(data["image"], seeds=data["seed"], training=True)
        halves = [
            discriminator(data["image"][i : i + 2], seeds=data["seed"][i : i + 2], training=True)
            for i in (0, 2)
        ]
        self.assertAllClose(whole, tf.concat(halves, 0))


class TrainStepTest(tf.test.TestCase):
    @pytest.mark.slow
    def test_every_option_trains_and_reports_its_metrics(self):
        cases = [
            (DCGAN, {}, False),
            (
                DCGAN,
                {
                    "loss": "hinge",
                    "spectral_norm": True,
                    "augment": "color,translation,cutout",
                    "r1_gamma": 1.0,
                },
                False,
            ),
            (WGANGP, {"n_critic": 2}, False),
            (WGANGP, {"n_critic": 1, "precision": "mixed_bfloat16"}, False),
            (ConditionalGAN, {"num_classes": NUM_CLASSES, "loss": "least_squares"}, True),
        ]
        for model_class, options, labelled in cases:
            with self.subTest(
                model=model_class.__name__, **{k: str(v) for k, v in options.items()}
            ):
                keras.utils.set_random_seed(0)
                gan = tiny_gan(model_class, **options)
                before = all_weights(gan.discriminator), all_weights(gan.generator)
                logs = gan.train_on_batch(tiny_batch(labelled=labelled), return_dict=True)
                for name in (
                    "d_loss",
                    "g_loss",
                    "d_real",
                    "d_fake",
                    "d_accuracy_real",
                    "d_accuracy_fake",
                ):
                    self.assertTrue(np.isfinite(logs[name]), name)
                if options.get("r1_gamma"):
                    self.assertGreater(logs["r1_penalty"], 0)
                if model_class is WGANGP:
                    self.assertGreater(logs["gradient_penalty"], 0)
                    self.assertEqual(int(gan.d_optimizer.iterations), options["n_critic"])
                if options.get("precision") == "mixed_bfloat16":
                    self.assertEqual(gan.generator.layers[0].compute_dtype, "bfloat16")
                    self.assertEqual(gan.generator.trainable_variables[0].dtype, "float32")
                    self.assertEqual(gan.sample_images(2, seed=0).dtype, tf.float32)
                self.assertEqual(int(gan.g_optimizer.iterations), 1)
                for old, new in zip(
                    before, (all_weights(gan.discriminator), all_weights(gan.generator))
                ):
                    self.assertNotAllClose(old[0], new[0])

    def test_ema_generator_lags_the_generator(self):
        gan = tiny_gan(ema_decay=0.5)
        self.assertAllClose(all_weights(gan.ema_generator), all_weights(gan.generator))
        start = gan.generator.trainable_variables[0].numpy()
        for _ in range(3):
            gan.train_on_batch(tiny_batch())
        trained = gan.generator.trainable_variables[0].numpy()
        averaged = gan.ema_generator.trainable_variables[0].numpy()
        self.assertNotAllClose(averaged, trained)
        # The average lies between the start and the current weights (per coordinate, mostly).
        between = np.abs(averaged - trained) <= np.abs(start - trained) + 1e-7
        self.assertGreater(between.mean(), 0.9)

    def test_fit_accepts_plain_image_and_labelled_tuple_datasets(self):
        images = np.random.default_rng(0).uniform(size=(16, 8, 8, 1)).astype("float32")
        labels = np.arange(16) % NUM_CLASSES
        gan = tiny_gan()
        gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)
        cgan = tiny_gan(ConditionalGAN, num_classes=NUM_CLASSES)
        cgan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(8), epochs=1, verbose=0)
        with self.assertRaisesRegex(ValueError, "needs labels"):
            cgan.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)

    def test_fit_under_mirrored_strategy_without_tfgen_training(self):
        # Keras 3 builds an unbuilt model by calling it on a data batch; a GAN must not need that.
        strategy = make_strategy("mirrored", 2)
        with strategy.scope():
            gan = tiny_gan()
        images = np.random.default_rng(0).uniform(size=(16, 8, 8, 1)).astype("float32")
        history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["d_loss"][-1]))
        self.assertEqual(int(gan.g_optimizer.iterations.numpy()), 2)

    def test_save_and_load_keep_generation(self):
        gan = tiny_gan(ConditionalGAN, num_classes=NUM_CLASSES, spectral_norm=True)
        gan.train_on_batch(tiny_batch(labelled=True))
        loaded = save_and_load(gan, self.get_temp_dir(), "cgan.keras")
        self.assertIsInstance(loaded, ConditionalGAN)
        self.assertAllClose(loaded.sample_images(6, seed=1), gan.sample_images(6, seed=1))
        loaded.train_on_batch(tiny_batch(labelled=True))  # Compiled again from the saved config.


class GenerationTest(tf.test.TestCase):
    def test_conditional_samples_follow_labels_and_reject_bad_ones(self):
        gan = tiny_gan(ConditionalGAN, num_classes=NUM_CLASSES)
        z = tf.random.stateless_normal([2, 4], seed=[0, 0])
        a = gan.generate(z, [0, 0])
        self.assertNotAllClose(a, gan.generate(z, [1, 1]))
        self.assertAllClose(a, gan.generate(z, [0, 0]))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"labels must be in \[0, 3\)"):
            gan.generate(z, [0, 3])
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"labels must be in \[0, 3\)"):
            gan.generate(z, [-1, 0])
        with self.assertRaisesRegex(ValueError, "class-conditional"):
            gan.generate(z)
        with self.assertRaisesRegex(ValueError, "not class-conditional"):
            tiny_gan().generate(z, [0, 1])

    def test_grid_has_one_row_per_class(self):
        gan = tiny_gan(ConditionalGAN, num_classes=NUM_CLASSES)
        grid = gan.sample_grid(2, seed=0)
        self.assertEqual(grid.shape, (NUM_CLASSES, 2, 8, 8, 1))
        self.assertAllInRange(grid, 0.0, 1.0)


class ConfigErrorsTest(tf.test.TestCase):
    def test_bad_values_name_the_problem(self):
        for key, value, message in (
            ("n_critic", 0, "n_critic: must be a positive integer"),
            ("loss", "bce", "not one of the valid choices"),
            ("augment", "zoom", "zoom"),
            ("ema_decay", 1.0, r"ema_decay: must be in \[0, 1\)"),
        ):
            with self.subTest(key=key):
                with self.assertRaisesRegex(config_lib.ConfigError, message):
                    config_lib.resolve(models.DCGANConfig, {key: value})


@pytest.mark.slow
class GANRunTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = write_npz(self.tmp, num_classes=NUM_CLASSES)

    def train(self, model, name, **overrides):
        return training.train(
            tiny_config(model, self.npz, **overrides), run_dir=self.tmp / name, verbose=0
        )

    def test_resume_after_one_epoch_equals_uninterrupted_run(self):
        whole = self.train("cgan", "whole")
        self.train("cgan", "resumed", epochs=1)
        resumed = self.train("cgan", "resumed")
        self.assertEqual(resumed.initial_epoch, 1)
        for a, b in zip(all_weights(whole.model), all_weights(resumed.model)):
            self.assertAllClose(a, b, atol=1e-6)
        for name in ("d_optimizer", "g_optimizer"):
            self.assertEqual(int(getattr(resumed.model, name).iterations), 4)
            for a, b in zip(
                getattr(whole.model, name).variables, getattr(resumed.model, name).variables
            ):
                self.assertAllClose(a, b, atol=1e-6)

    def test_run_writes_scalars_and_a_png_per_epoch(self):
        result = self.train("cgan", "monitored")
        for epoch in (1, 2):
            png = tf.io.decode_png(
                tf.io.read_file(str(result.run_dir / "images" / f"samples-epoch{epoch:03d}.png"))
            )
            self.assertEqual(png.shape, (NUM_CLASSES * 8, 2 * 8, 1))  # One row per class.
        events = event_accumulator.EventAccumulator(str(result.run_dir / "logs" / "train"))
        events.Reload()
        tags = set(events.Tags()["tensors"]) | set(events.Tags()["scalars"])
        for name in ("d_loss", "g_loss", "d_real", "d_fake", "d_accuracy_real", "d_accuracy_fake"):
            self.assertIn(f"epoch_{name}", tags)
        model, config, _, epoch = runs.load(result.run_dir)
        self.assertEqual((config.model, epoch), ("cgan", 2))
        self.assertAllClose(model.sample_images(3, seed=0), result.model.sample_images(3, seed=0))

    def test_cgan_refuses_a_dataset_without_labels(self):
        path = self.tmp / "unlabelled.npz"
        np.savez(path, x_train=np.zeros((16, 8, 8), np.uint8), x_test=np.zeros((8, 8, 8), np.uint8))
        with self.assertRaisesRegex(ValueError, "cgan needs a labelled dataset"):
            training.train(tiny_config("cgan", path), run_dir=self.tmp / "unlabelled", verbose=0)

    def test_sample_cli_draws_a_requested_class(self):
        result = self.train("cgan", "sampled", epochs=1)
        out = self.tmp / "twos.png"
        self.assertEqual(
            sample_cli.main(
                ["--run", str(result.run_dir), "--num", "4", "--label", "2", "--out", str(out)]
            ),
            0,
        )
        png = tf.io.decode_png(tf.io.read_file(str(out)))
        expected = tfgen_grid(result.model.sample_images(4, 0, labels=[2] * 4))
        self.assertAllEqual(png, expected)
        self.assertEqual(sample_cli.main(["--run", str(result.run_dir), "--label", "3"]), 2)
