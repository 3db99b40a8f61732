"""StyleGAN projection: the official schedules, the noise regulariser, a projection."""

import keras
import numpy as np
import tensorflow as tf
from test_stylegan import latents, tiny_stylegan

from tfgen.models.stylegan import projection as projection_lib


class ScheduleTest(tf.test.TestCase):
    def test_learning_rate_ramps_up_then_down(self):
        rates = [projection_lib.learning_rate(step, 100) for step in range(100)]
        self.assertEqual(rates[0], 0.0)
        self.assertAlmostEqual(rates[2], 0.1 * 2 / 5)  # Linear over the first 5 steps.
        self.assertAlmostEqual(max(rates), 0.1)
        self.assertAllClose(rates[5:75], [0.1] * 70)
        self.assertAlmostEqual(rates[-1], 0.1 * (0.5 - 0.5 * np.cos(np.pi / 25)), places=6)
        self.assertTrue(all(a >= b for a, b in zip(rates[75:], rates[76:])))

    def test_w_noise_falls_to_zero_over_three_quarters(self):
        self.assertAlmostEqual(projection_lib.w_noise_scale(0, 100, w_std=2.0), 0.1)
        self.assertAlmostEqual(projection_lib.w_noise_scale(375, 1000, w_std=2.0), 0.1 * 0.25)
        self.assertEqual(projection_lib.w_noise_scale(750, 1000, w_std=2.0), 0.0)
        self.assertEqual(projection_lib.w_noise_scale(999, 1000, w_std=2.0), 0.0)


class NoiseTest(tf.test.TestCase):
    def test_regularization_penalises_correlated_noise(self):
        white = [tf.Variable(tf.random.stateless_normal([1, 16, 16, 1], seed=[0, 0]))]
        smooth = [
            tf.Variable(
                tf.image.resize(tf.random.stateless_normal([1, 4, 4, 1], seed=[0, 1]), [16, 16])
            )
        ]
        projection_lib.normalize_noise(white + smooth)
        self.assertLess(float(projection_lib.noise_regularization(white)), 0.01)
        self.assertGreater(float(projection_lib.noise_regularization(smooth)), 1.0)

    def test_normalize_noise(self):
        noise = [tf.Variable(3.0 + 2.0 * tf.random.stateless_normal([1, 8, 8, 1], seed=[1, 0]))]
        projection_lib.normalize_noise(noise)
        self.assertAllClose(tf.reduce_mean(noise[0]), 0.0, atol=1e-6)
        self.assertAllClose(tf.reduce_mean(tf.square(noise[0])), 1.0, atol=1e-5)


class ProjectTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        keras.utils.set_random_seed(4)
        self.gan = tiny_stylegan()
        generator = self.gan.sampling_generator
        for conv in generator.synthesis.convs:  # As if trained: the noise matters a little.
            conv.noise.strength.assign(tf.fill(conv.noise.strength.shape, 0.02))
        self.w_avg = tf.reduce_mean(self.gan.map_z(latents(1000, seed=9)), axis=0)
        generator.mapping.w_avg.assign(self.w_avg)
        self.w = self.gan.map_z(latents(1, seed=7))
        self.target = self.gan.synthesize(self.w)[0].numpy()

    def test_projection_reproduces_a_generated_image(self):
        result = projection_lib.project(
            self.gan, self.target, steps=300, w_avg_samples=1000, progress_every=100
        )
        generator = self.gan.sampling_generator
        self.assertEqual(result.w.shape, (generator.w_dim,))
        self.assertEqual(result.ws.shape, (generator.num_ws, generator.w_dim))
        self.assertAllEqual(result.ws, np.tile(result.w[None], [generator.num_ws, 1]))
        # The start is the tracked w_avg (an unconditional model, trained).
        start = self.gan.synthesize(self.w_avg[None], _initial_noise(generator))[0]
        self.assertAllClose(result.progress[0], start, atol=1e-5)
        self.assertGreater(result.initial_mse, 1e-3)
        self.assertLess(result.mse, 0.25 * result.initial_mse)
        self.assertEqual(result.progress_steps, [0, 100, 200, 300])
        self.assertEqual(result.progress.shape, (4, 8, 8, 1))
        self.assertAllClose(result.progress[-1], result.image)
        # The image is what the returned w and noise maps draw.
        redrawn = self.gan.synthesize(result.ws[None], [n[None] for n in result.noise])[0]
        self.assertAllClose(redrawn, result.image, atol=1e-5)
        self.assertAllClose(result.mse, np.mean(np.square(result.image - self.target)))
        self.assertIsNone(result.feature_distance)
        for noise, shape in zip(result.noise, generator.synthesis.noise_shapes):
            self.assertEqual(noise.shape, shape)
            self.assertAllClose(noise.mean(), 0.0, atol=1e-5)
            self.assertAllClose(np.mean(np.square(noise)), 1.0, atol=1e-4)

    def test_feature_distance_on_the_native_size(self):
        features_model = keras.Sequential(
            [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]
        )
        distance = projection_lib.FeatureDistance(features_model, image_fit="pad")
        images = tf.random.stateless_uniform([2, 8, 8, 1], seed=[2, 0])
        self.assertAllEqual(distance.to_native(images), images[:, 1:7, 1:7])
        resized = projection_lib.FeatureDistance(features_model, image_fit="resize")
        self.assertEqual(resized.to_native(images).shape, (2, 6, 6, 1))
        result = projection_lib.project(
            self.gan, self.target, steps=10, w_avg_samples=100, feature_distance=distance
        )
        self.assertBetween(result.feature_distance, 0.0, 4.0)
        self.assertEqual(result.progress_steps[-1], 10)

    def test_a_conditional_model_starts_from_its_class_average(self):
        conditional = tiny_stylegan(num_classes=3)
        conditional.sampling_generator.mapping.w_avg.assign([1.0, 2.0, 3.0, 4.0])  # Not used.
        z = tf.random.stateless_normal([100, 4], seed=[123, 0])
        w_avg = tf.reduce_mean(conditional.map_z(z, tf.fill([100], 2)), axis=0)
        result = projection_lib.project(
            conditional, self.target, steps=2, labels=2, w_avg_samples=100
        )
        start = conditional.synthesize(w_avg[None], _initial_noise(conditional.sampling_generator))
        self.assertAllClose(result.progress[0], start[0], atol=1e-5)

    def test_bad_input(self):
        with self.assertRaisesRegex(
            ValueError,
            r"shaped \(6, 6, 1\); this model makes "
            r"\(8, 8, 1\) images",
        ):
            projection_lib.project(self.gan, np.zeros((6, 6, 1)), steps=1)
        with self.assertRaisesRegex(ValueError, "steps must be a positive integer"):
            projection_lib.project(self.gan, self.target, steps=0)
        conditional = tiny_stylegan(num_classes=3)
        with self.assertRaisesRegex(ValueError, r"pass a label in \[0, 3\)"):
            projection_lib.project(conditional, self.target, steps=1)


def _initial_noise(generator, seed=0):
    """The noise maps `project` starts from with `seed`."""
    return [
        tf.random.stateless_normal([1, *shape], seed=[seed, 1 + index])
        for index, shape in enumerate(generator.synthesis.noise_shapes)
    ]
