"""StyleGAN2: lazy regularisers, generation controls, replica invariance, saving, a whole run."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import save_and_load

from tfgen import config as config_lib
from tfgen import models, runs, training
from tfgen.models import StyleGAN, StyleGANConfig

SMALL = dict(
    latent_dim=4, w_dim=4, mapping_layers=2, channel_base=32, channel_max=4, mbstd_group_size=2
)


def tiny_stylegan(**kwargs):
    gan = StyleGAN(image_shape=(8, 8, 1), **{**SMALL, **kwargs})
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99),
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99),
    )
    return gan


def tiny_batch(batch=4, seed=0):
    images = np.random.default_rng(seed).uniform(size=(batch, 8, 8, 1)).astype("float32")
    seeds = np.stack([np.full(batch, seed), np.arange(batch)], 1).astype("int64")
    return {"image": images, "seed": seeds}


def latents(num, seed=0):
    return tf.random.stateless_normal([num, 4], seed=[seed, 0])


class TrainStepTest(tf.test.TestCase):
    def test_losses_are_finite_and_regularisers_fire_at_their_intervals(self):
        keras.utils.set_random_seed(0)
        gan = tiny_stylegan(r1_interval=2, pl_interval=3, num_classes=3)
        fired = {"r1_penalty": [], "path_length_penalty": []}
        for step in range(4):
            data = {**tiny_batch(seed=step), "label": np.array([0, 1, 2, step % 3])}
            logs = gan.train_on_batch(data, return_dict=True)
            for name, value in logs.items():
                self.assertTrue(np.isfinite(value), name)
            for name in fired:
                fired[name].append(logs[name] > 0)
        self.assertEqual(fired["r1_penalty"], [True, False, True, False])
        self.assertEqual(fired["path_length_penalty"], [True, False, False, True])
        self.assertGreater(float(gan.pl_mean), 0.0)
        self.assertGreater(float(tf.norm(gan.generator.mapping.w_avg)), 0.0)
        self.assertEqual(int(gan.g_optimizer.iterations), 4)
        # The EMA generator copies w_avg (a non-trainable weight).
        self.assertAllClose(gan.ema_generator.mapping.w_avg, gan.generator.mapping.w_avg)
        z = latents(2)
        self.assertNotAllClose(gan.generate(z, [0, 0]), gan.generate(z, [1, 1]))

    def test_regularisers_can_be_turned_off(self):
        gan = tiny_stylegan(r1_gamma=0.0, pl_weight=0.0, style_mixing=0.0, ema_decay=0.0)
        logs = gan.train_on_batch(tiny_batch(), return_dict=True)
        self.assertEqual(logs["r1_penalty"], 0.0)
        self.assertEqual(logs["path_length_penalty"], 0.0)
        self.assertIsNone(gan.ema_generator)


class GenerationTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        keras.utils.set_random_seed(1)
        self.gan = tiny_stylegan()
        w_avg = tf.random.stateless_normal([4], seed=[5, 5])  # As if trained.
        self.gan.ema_generator.mapping.w_avg.assign(w_avg)

    def test_truncation_to_zero_gives_the_w_avg_image_for_every_z(self):
        images = self.gan.generate(latents(3), truncation_psi=0.0)
        w_avg = self.gan.ema_generator.mapping.w_avg
        average_image = self.gan.synthesize(w_avg[None])
        for image in tf.unstack(images):
            self.assertAllClose(image, average_image[0], atol=1e-6)
        self.assertNotAllClose(self.gan.generate(latents(3)), images)

    def test_style_mixing_crossover(self):
        coarse, fine = latents(2, 0), latents(2, 1)
        num_ws = self.gan.generator.num_ws
        self.assertAllClose(self.gan.mix_styles(coarse, fine, num_ws), self.gan.generate(coarse))
        self.assertAllClose(self.gan.mix_styles(coarse, fine, 0), self.gan.generate(fine))
        self.assertNotAllClose(self.gan.mix_styles(coarse, fine, 2), self.gan.generate(coarse))
        for bad in (-1, num_ws + 1):
            with self.assertRaisesRegex(
                ValueError, f"crossover must be a layer index from 0 to {num_ws}"
            ):
                self.gan.mix_styles(coarse, fine, bad)

    def test_noise_modes(self):
        z = latents(2)
        fixed = self.gan.generate(z)
        self.assertAllClose(fixed, self.gan.generate(z, noise_mode="fixed"))
        self.gan.ema_generator.synthesis.convs[0].noise.strength.assign([1.0] * 4)
        random_a = self.gan.generate(z, noise_mode="random", noise_seed=1)
        self.assertAllClose(random_a, self.gan.generate(z, noise_mode="random", noise_seed=1))
        self.assertNotAllClose(random_a, self.gan.generate(z, noise_mode="random", noise_seed=2))
        self.assertNotAllClose(random_a, self.gan.generate(z, noise_mode="none"))
        with self.assertRaisesRegex(ValueError, "fixed, random, none"):
            self.gan.generate(z, noise_mode="fresh")

    def test_summary_grids_and_export_endpoints(self):
        grids = self.gan.summary_images({"image": np.zeros((9, 8, 8, 1))}, seed=0)
        self.assertEqual(grids["samples"].shape, (3, 3, 8, 8, 1))
        self.assertEqual(grids["truncation"].shape, (3, 4, 8, 8, 1))
        self.assertEqual(grids["style_mixing"].shape, (4, 4, 8, 8, 1))
        self.assertAllClose(grids["truncation"][0, 3], grids["truncation"][1, 3], atol=1e-6)
        endpoints = self.gan.export_endpoints()
        self.assertEqual(
            endpoints["generate"](latents(2), tf.ones([2]))["images"].shape, (2, 8, 8, 1)
        )
        w = endpoints["mapping"](latents(2), tf.constant([0.5, 0.5]))["w"]
        ws = tf.tile(w[:, None], [1, self.gan.generator.num_ws, 1])
        noise = [tf.repeat(n, 2, axis=0) for n in self.gan.ema_generator.synthesis.fixed_noise]
        images = endpoints["synthesis"](ws, *noise)["images"]
        self.assertAllClose(images, self.gan.generate(latents(2), truncation_psi=0.5), atol=1e-6)


class ErrorsTest(tf.test.TestCase):
    def test_bad_resolution_names_the_valid_range(self):
        with self.assertRaisesRegex(ValueError, r"power of two from 8 to 256 .* got 12"):
            StyleGAN(image_shape=(12, 12, 1), **SMALL)
        with self.assertRaisesRegex(ValueError, "square"):
            StyleGAN(image_shape=(8, 16, 1), **SMALL)
        for value in (4, 48, 512):
            with self.assertRaisesRegex(
                config_lib.ConfigError, r"resolution: must be a power of two from 8 to 256"
            ):
                config_lib.resolve(StyleGANConfig, {"resolution": value})
        with self.assertRaisesRegex(config_lib.ConfigError, "pad, resize"):
            config_lib.resolve(StyleGANConfig, {"image_fit": "crop"})


def all_variables(model):
    """Every weight, trainable or not (w_avg, pl_mean, fixed noise, both generators)."""
    return [v.numpy() for v in model.weights]


@pytest.mark.slow
class SavingTest(tf.test.TestCase):
    def test_checkpoint_round_trip_restores_every_variable(self):
        keras.utils.set_random_seed(2)
        gan = tiny_stylegan()
        gan.train_on_batch(tiny_batch())  # Moves every variable and the optimizers' slots.
        path = tf.train.Checkpoint(model=gan, **gan.optimizers()).save(
            str(Path(self.get_temp_dir()) / "ckpt")
        )
        keras.utils.set_random_seed(3)
        fresh = tiny_stylegan()
        self.assertNotAllClose(fresh.generator.mapping.w_avg, gan.generator.mapping.w_avg)
        tf.train.Checkpoint(model=fresh, **fresh.optimizers()).restore(path).assert_consumed()
        self.assertEqual(len(fresh.variables), len(gan.variables))
        for a, b in zip(all_variables(fresh), all_variables(gan)):
            self.assertAllEqual(a, b)
        for name in ("d_optimizer", "g_optimizer"):
            for a, b in zip(getattr(fresh, name).variables, getattr(gan, name).variables):
                self.assertAllEqual(a, b)
        self.assertAllEqual(fresh.ema_generator.mapping.w_avg, gan.ema_generator.mapping.w_avg)
        self.assertEqual(float(fresh.pl_mean), float(gan.pl_mean))

    def test_keras_file_round_trip(self):
        gan = tiny_stylegan(num_classes=2)
        gan.ema_generator.mapping.w_avg.assign([0.5, -0.5, 1.0, 0.0])  # As if trained.
        loaded = save_and_load(gan, self.get_temp_dir(), "stylegan.keras")
        self.assertIsInstance(loaded, StyleGAN)
        self.assertEqual(loaded.get_config(), gan.get_config())
        self.assertAllClose(loaded.ema_generator.mapping.w_avg, gan.ema_generator.mapping.w_avg)
        self.assertAllClose(loaded.sample_images(4, seed=1), gan.sample_images(4, seed=1))
        self.assertAllClose(
            loaded.generate(latents(2), [1, 0], truncation_psi=0.5),
            gan.generate(latents(2), [1, 0], truncation_psi=0.5),
        )


@pytest.mark.slow
class RunTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        rng = np.random.default_rng(0)
        self.npz = self.tmp / "tiny.npz"
        np.savez(
            self.npz,
            x_train=rng.integers(0, 256, (32, 6, 6), dtype=np.uint8),
            x_test=rng.integers(0, 256, (16, 6, 6), dtype=np.uint8),
        )

    def train(self, name, **overrides):
        values = dict(
            model="stylegan",
            dataset=f"npz:{self.npz}",
            resolution=8,
            batch_size=8,
            epochs=1,
            steps_per_epoch=2,
            validation_steps=1,
            sample_grid_size=2,
            seed=3,
            r1_interval=2,
            pl_interval=2,
            **SMALL,
        )
        config = config_lib.resolve(StyleGANConfig, {**values, **overrides})
        return training.train(config, run_dir=self.tmp / name, verbose=0)

    def test_the_run_pads_to_the_resolution_writes_grids_and_loads(self):
        # Replica invariance (1 vs 2 replicas) is the family contract's.
        one = self.train("one")
        # The 6x6 images were padded to the 8x8 resolution by the data pipeline.
        self.assertEqual(tuple(one.model.image_shape), (8, 8, 1))
        for name, shape in (
            ("samples", (16, 16, 1)),
            ("truncation", (16, 32, 1)),
            ("style_mixing", (24, 24, 1)),
        ):
            png = tf.io.decode_png(
                tf.io.read_file(str(one.run_dir / "images" / f"{name}-epoch001.png"))
            )
            self.assertEqual(png.shape, shape, name)
        model, config, _, epoch = runs.load(one.run_dir)
        self.assertEqual((config.model, epoch), ("stylegan", 1))
        self.assertAllClose(model.sample_images(3, seed=0), one.model.sample_images(3, seed=0))
        self.assertIs(models.get("stylegan"), StyleGAN)
