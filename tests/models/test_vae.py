"""The VAE's ELBO terms, Keras contract and sampling."""

import keras
import numpy as np
import tensorflow as tf
from support import assert_config_round_trip, save_and_load

from tfgen.models import VAE


def tiny_vae(**kwargs):
    keras.utils.set_random_seed(1)
    return VAE(image_shape=(8, 8, 1), latent_dim=3, filters=2, **kwargs)


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


class ElboTest(tf.test.TestCase):
    def test_terms_match_hand_computation(self):
        model = tiny_vae()
        rng = np.random.default_rng(0)
        images = (rng.random((4, 8, 8, 1)) > 0.5).astype("float32")
        noise = rng.standard_normal((4, 3)).astype("float32")
        distortion, rate = model.elbo_terms(images, noise)

        # By hand from the networks' raw outputs.
        params = model.encoder(images).numpy()
        loc, scale = params[:, :3], np.log1p(np.exp(params[:, 3:])) + 1e-5
        logits = model.decoder(loc + scale * noise).numpy()
        expected_distortion = -np.sum(
            images * log_sigmoid(logits) + (1 - images) * log_sigmoid(-logits), axis=(1, 2, 3)
        )
        expected_rate = np.sum(0.5 * (loc**2 + scale**2 - 1) - np.log(scale), axis=1)
        self.assertAllClose(distortion, expected_distortion, rtol=1e-5)
        self.assertAllClose(rate, expected_rate, rtol=1e-5, atol=1e-6)

    def test_continuous_bernoulli_is_normalized(self):
        model = tiny_vae(likelihood="continuous_bernoulli")
        # A density on [0,1]: integrating exp(log_prob) of one pixel over [0,1] gives 1.
        z = tf.zeros([1, 3])
        pixel = model.decode(z).distribution[0, 0, 0, 0]
        grid = np.linspace(0.0005, 0.9995, 1000, dtype="float32")
        self.assertAllClose(np.mean(np.exp(pixel.log_prob(grid))), 1.0, atol=1e-3)

    def test_metrics_report_loss_as_distortion_plus_rate(self):
        model = tiny_vae()
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        images = np.ones((4, 8, 8, 1), "float32")
        seeds = np.stack([np.zeros(4), np.arange(4)], 1).astype("int64")
        logs = model.evaluate(
            {"image": images, "seed": seeds}, batch_size=4, return_dict=True, verbose=0
        )
        self.assertAllClose(logs["loss"], logs["distortion"] + logs["rate"], rtol=1e-6)
        self.assertGreater(logs["rate"], 0.0)

    def test_kl_warmup_ramps_the_weight(self):
        model = tiny_vae(beta=2.0, kl_warmup_epochs=2, steps_per_epoch=5)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.build_optimizers()
        self.assertAllClose(model.kl_weight(), 0.0)
        model.optimizer.iterations.assign(5)
        self.assertAllClose(model.kl_weight(), 1.0)
        model.optimizer.iterations.assign(50)
        self.assertAllClose(model.kl_weight(), 2.0)


class KerasContractTest(tf.test.TestCase):
    def test_get_config_round_trip(self):
        model = tiny_vae(beta=0.5, likelihood="continuous_bernoulli")
        self.assertIsInstance(assert_config_round_trip(self, model), VAE)

    def test_fit_on_plain_images_then_save_and_load(self):
        model = tiny_vae()
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        images = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
        history = model.fit(images, batch_size=8, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))
        loaded = save_and_load(model, self.get_temp_dir(), "vae.keras")
        self.assertAllClose(loaded(images[:2]), model(images[:2]))

    def test_bad_likelihood(self):
        with self.assertRaisesRegex(ValueError, "bernoulli, continuous_bernoulli"):
            VAE(likelihood="gaussian")

    def test_image_sides_must_divide_by_4(self):
        with self.assertRaisesRegex(ValueError, "divisible by 4, got 30x30"):
            VAE(image_shape=(30, 30, 1))


class SamplingTest(tf.test.TestCase):
    def test_samples_are_seeded_and_in_range(self):
        model = tiny_vae()
        a, b, c = (model.sample_images(5, seed) for seed in (3, 3, 4))
        self.assertEqual(a.shape, (5, 8, 8, 1))
        self.assertAllEqual(a, b)
        self.assertNotAllClose(a, c)
        self.assertAllInRange(a, 0.0, 1.0)

    def test_summary_images(self):
        model = tiny_vae()
        images = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
        grids = model.summary_images({"image": images}, seed=0)
        self.assertEqual(grids["prior_samples"].shape, (4, 8, 8, 1))
        self.assertEqual(grids["reconstructions"].shape, (4, 8, 16, 1))


class FromRunConfigTest(tf.test.TestCase):
    def test_variable_size_images_are_refused(self):
        from tfgen.data import DatasetInfo
        from tfgen.models import VAEConfig

        info = DatasetInfo("tfds:flowers", "image", (None, None, 3))
        with self.assertRaisesRegex(ValueError, "one fixed size.*None = varies"):
            VAE.from_run_config(VAEConfig(), info)
