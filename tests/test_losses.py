"""GAN losses and regularisers against hand-computed values."""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from tfgen.models.gan import losses

LOG2 = math.log(2.0)


def softplus(x):
    return math.log1p(math.exp(x))


# Logits used throughout: real = [0, 1, -2], fake = [0, -1, 2].
REAL = [0.0, 1.0, -2.0]
FAKE = [0.0, -1.0, 2.0]


class AdversarialLossValuesTest(tf.test.TestCase):
    def test_non_saturating(self):
        # softplus(-real) + softplus(fake): both terms are log 2 at logit 0.
        self.assertAllClose(
            losses.non_saturating_discriminator_loss(REAL, FAKE),
            [2 * LOG2, 2 * math.log1p(math.exp(-1.0)), 2 * math.log1p(math.exp(2.0))],
        )
        self.assertAllClose(losses.non_saturating_discriminator_loss([0.0], [0.0]), [1.3862944])
        # -log sigmoid(fake)
        self.assertAllClose(
            losses.non_saturating_generator_loss(FAKE), [LOG2, 1.3132617, 0.1269280]
        )

    def test_minimax(self):
        self.assertAllClose(
            losses.minimax_discriminator_loss(REAL, FAKE), [1.3862944, 0.6265234, 4.2538560]
        )
        # log(1 - sigmoid(fake)): log(0.5), log(1 - 0.2689), log(1 - 0.8808)
        self.assertAllClose(losses.minimax_generator_loss(FAKE), [-LOG2, -0.3132617, -2.1269280])
        self.assertAllClose(
            losses.minimax_generator_loss([3.0]), [math.log(1 - 1 / (1 + math.exp(-3.0)))]
        )

    def test_wasserstein(self):
        self.assertAllClose(losses.wasserstein_discriminator_loss(REAL, FAKE), [0.0, -2.0, 4.0])
        self.assertAllClose(losses.wasserstein_generator_loss(FAKE), [0.0, 1.0, -2.0])

    def test_hinge(self):
        # relu(1 - [0, 1, -2]) = [1, 0, 3]; relu(1 + [0, -1, 2]) = [1, 0, 3]
        self.assertAllClose(losses.hinge_discriminator_loss(REAL, FAKE), [2.0, 0.0, 6.0])
        self.assertAllClose(losses.hinge_discriminator_loss([1.5], [-1.5]), [0.0])
        self.assertAllClose(losses.hinge_generator_loss(FAKE), [0.0, 1.0, -2.0])

    def test_least_squares(self):
        # 0.5 * [1, 0, 9] + 0.5 * [0, 1, 4]
        self.assertAllClose(losses.least_squares_discriminator_loss(REAL, FAKE), [0.5, 0.5, 6.5])
        # 0.5 * (fake - 1)^2 = 0.5 * [1, 4, 1]
        self.assertAllClose(losses.least_squares_generator_loss(FAKE), [0.5, 2.0, 0.5])

    def test_constants_above_match_math(self):
        self.assertAlmostEqual(softplus(1.0), 1.3132617, places=6)
        self.assertAlmostEqual(softplus(-2.0), 0.1269280, places=6)
        self.assertAlmostEqual(2 * softplus(-1.0), 0.6265234, places=6)


class ShapesTest(tf.test.TestCase):
    def test_column_logits_give_the_same_vector(self):
        real_column = tf.reshape(REAL, [3, 1])
        fake_column = tf.reshape(FAKE, [3, 1])
        for name in losses.names():
            loss = losses.get(name)
            d_loss = loss.discriminator(real_column, fake_column)
            g_loss = loss.generator(fake_column)
            self.assertEqual(d_loss.shape, [3], name)
            self.assertEqual(g_loss.shape, [3], name)
            self.assertAllClose(d_loss, loss.discriminator(REAL, FAKE), msg=name)
            self.assertAllClose(g_loss, loss.generator(FAKE), msg=name)

    def test_other_shapes_are_rejected(self):
        with self.assertRaisesRegex(ValueError, r"\[batch\] or \[batch, 1\].*\(3, 2\)"):
            losses.wasserstein_generator_loss(tf.zeros([3, 2]))
        with self.assertRaisesRegex(ValueError, r"\[batch\] or \[batch, 1\]"):
            losses.hinge_discriminator_loss(tf.zeros([3, 1, 1]), tf.zeros([3, 1, 1]))


class RegistryTest(tf.test.TestCase):
    def test_names_are_sorted(self):
        self.assertEqual(
            losses.names(),
            ["hinge", "least_squares", "minimax", "non_saturating", "wasserstein"],
        )

    def test_get_is_case_insensitive_and_pairs_the_functions(self):
        loss = losses.get("Hinge")
        self.assertIs(loss, losses.LOSSES["hinge"])
        self.assertEqual(loss.name, "hinge")
        self.assertIs(loss.discriminator, losses.hinge_discriminator_loss)
        self.assertIs(loss.generator, losses.hinge_generator_loss)
        for name, loss in losses.LOSSES.items():
            self.assertEqual(loss.discriminator.__name__, f"{name}_discriminator_loss")
            self.assertEqual(loss.generator.__name__, f"{name}_generator_loss")

    def test_unknown_name_lists_the_valid_ones(self):
        with self.assertRaisesRegex(
            ValueError,
            "'wgan'.*hinge, least_squares, minimax, non_saturating, wasserstein",
        ):
            losses.get("wgan")

    def test_entries_are_frozen(self):
        with self.assertRaises(dataclasses.FrozenInstanceError):
            losses.get("hinge").name = "other"


def linear_critic(w):
    """D(x) = sum(w * x): its input gradient is w for every example."""
    return lambda x: tf.reduce_sum(w * x, axis=[1, 2, 3])


def half_squared_norm_critic(x):
    """D(x) = ||x||^2 / 2: its input gradient at x is x itself. Returns [batch, 1]."""
    return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]


class GradientPenaltyTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.real = tf.ones([2, 2, 2, 1])
        self.fake = tf.zeros([2, 2, 2, 1])
        self.epsilon = tf.constant([0.25, 1.0])

    def test_linear_critic(self):
        w = tf.fill([2, 2, 1], 2.0)  # ||w|| = sqrt(4 * 4) = 4
        penalty = losses.gradient_penalty(linear_critic(w), self.real, self.fake, self.epsilon)
        self.assertAllClose(penalty, [9.0, 9.0])  # (4 - 1)^2
        penalty = losses.gradient_penalty(
            linear_critic(w), self.real, self.fake, self.epsilon, target=2.0
        )
        self.assertAllClose(penalty, [4.0, 4.0])

    def test_unit_norm_gives_zero(self):
        w = tf.reshape([0.6, 0.8, 0.0, 0.0], [2, 2, 1])
        penalty = losses.gradient_penalty(linear_critic(w), self.real, self.fake, self.epsilon)
        self.assertAllClose(penalty, [0.0, 0.0], atol=1e-6)

    def test_interpolates_per_example(self):
        # gradient at x_hat = eps * 1 + (1 - eps) * 0 is x_hat; ||x_hat|| = 2 * eps
        penalty = losses.gradient_penalty(
            half_squared_norm_critic, self.real, self.fake, self.epsilon
        )
        self.assertAllClose(penalty, [0.25, 1.0])  # (0.5 - 1)^2, (2 - 1)^2

    def test_gradient_wrt_critic_weights(self):
        w = tf.Variable(tf.fill([2, 2, 1], 2.0))
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(
                losses.gradient_penalty(linear_critic(w), self.real, self.fake, self.epsilon)
            )
        # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 1.5 w = 3, twice (two examples)
        self.assertAllClose(tape.gradient(total, w), tf.fill([2, 2, 1], 6.0))

    def test_zero_input_gradient_gives_finite_weight_gradients(self):
        w = tf.Variable(tf.zeros([2, 2, 1]))
        with tf.GradientTape() as tape:
            penalty = losses.gradient_penalty(linear_critic(w), self.real, self.fake, self.epsilon)
            total = tf.reduce_sum(penalty)
        self.assertAllClose(penalty, [1.0, 1.0], atol=1e-4)
        gradient = tape.gradient(total, w)
        self.assertIsNotNone(gradient)
        self.assertAllEqual(tf.math.is_finite(gradient), tf.ones_like(gradient, tf.bool))

    def test_keras_critic_in_tf_function(self):
        critic = keras.Sequential(
            [
                keras.Input([4, 4, 1]),
                keras.layers.Conv2D(2, 3, activation="leaky_relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(1),
            ]
        )
        real = tf.random.stateless_uniform([3, 4, 4, 1], seed=[1, 2])
        fake = tf.random.stateless_uniform([3, 4, 4, 1], seed=[3, 4])

        @tf.function
        def gradients():
            with tf.GradientTape() as tape:
                penalty = losses.gradient_penalty(critic, real, fake, tf.fill([3], 0.5))
                total = tf.reduce_sum(penalty)
            return penalty, tape.gradient(total, critic.trainable_variables)

        penalty, grads = gradients()
        self.assertEqual(penalty.shape, [3])
        self.assertLen(grads, 4)
        kernels = [(v, g) for v, g in zip(critic.trainable_variables, grads) if "kernel" in v.path]
        self.assertLen(kernels, 2)  # biases may get None: they barely touch input gradients
        for variable, grad in kernels:
            self.assertTrue(np.all(np.isfinite(grad.numpy())), variable.path)
            self.assertGreater(float(tf.reduce_max(tf.abs(grad))), 0.0, variable.path)


class R1PenaltyTest(tf.test.TestCase):
    def test_linear_critic(self):
        w = tf.Variable(tf.fill([2, 2, 1], 2.0))
        real = tf.random.stateless_normal([2, 2, 2, 1], seed=[0, 1])
        with tf.GradientTape() as tape:
            penalty = losses.r1_penalty(linear_critic(w), real)
            total = tf.reduce_sum(penalty)
        self.assertAllClose(penalty, [16.0, 16.0])  # ||w||^2
        # d/dw ||w||^2 = 2 w = 4, twice (two examples)
        self.assertAllClose(tape.gradient(total, w), tf.fill([2, 2, 1], 8.0))

    def test_per_example_norms(self):
        real = tf.reshape(tf.constant([1.0] * 4 + [0.5, 0.0, 0.0, 0.0]), [2, 2, 2, 1])
        self.assertAllClose(losses.r1_penalty(half_squared_norm_critic, real), [4.0, 0.25])
