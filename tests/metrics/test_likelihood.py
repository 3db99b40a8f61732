"""The importance-weighted NLL bound against a model whose likelihood is known exactly."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfgen.metrics.likelihood import importance_weighted_nll

tfd = tfp.distributions


class LinearGaussian:
    """z ~ N(0, 1), x | z ~ N(z, 1) on a 1x1x1 "image": p(x) = N(0, 2), p(z|x) = N(x/2, 1/2)."""

    def __init__(self, exact_posterior):
        self.exact_posterior = exact_posterior
        self.prior = tfd.MultivariateNormalDiag(loc=tf.zeros([1]))

    def encode(self, images):
        x = tf.reshape(images, [-1, 1])
        if self.exact_posterior:
            return tfd.MultivariateNormalDiag(
                loc=x / 2.0, scale_diag=tf.fill(tf.shape(x), 0.5**0.5)
            )
        return tfd.MultivariateNormalDiag(loc=tf.zeros_like(x))  # The prior: a poor proposal.

    def decode(self, z):
        return tfd.Independent(tfd.Normal(tf.reshape(z, [-1, 1, 1, 1]), 1.0), 3)


class ImportanceWeightedNLLTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.images = np.array([-2.0, -0.5, 0.0, 1.0, 3.0], np.float32).reshape(-1, 1, 1, 1)
        self.exact = -tfd.Normal(0.0, 2.0**0.5).log_prob(self.images.ravel()).numpy()

    def test_exact_posterior_gives_the_exact_nll_for_any_k(self):
        for k in (1, 7):
            bound = importance_weighted_nll(
                LinearGaussian(True), self.images, num_samples=k, batch_size=2, samples_per_pass=3
            )
            self.assertAllClose(bound, self.exact, atol=1e-5)

    def test_the_bound_tightens_with_more_samples(self):
        model = LinearGaussian(False)
        many = importance_weighted_nll(
            model, self.images, num_samples=2000, seed=1, samples_per_pass=500
        )
        self.assertAllClose(many, self.exact, atol=0.1)  # Converges to the true NLL...
        # ...from above: K = 1 is the ELBO, here -ELBO = log(2 pi) / 2 + (x^2 + 1) / 2.
        repeats = np.repeat(self.images, 2000, axis=0)
        one = importance_weighted_nll(model, repeats, num_samples=1, seed=1, batch_size=1000)
        negative_elbo = 0.5 * np.log(2 * np.pi) + 0.5 * (self.images.ravel() ** 2 + 1)
        # (Standard error of each mean <= 0.07.)
        self.assertAllClose(one.reshape(-1, 2000).mean(axis=1), negative_elbo, atol=0.25)
        self.assertTrue(np.all(negative_elbo > many + 0.1))
        again = importance_weighted_nll(
            model, self.images, num_samples=2000, seed=1, samples_per_pass=500
        )
        self.assertAllEqual(many, again)

    def test_bad_sample_count(self):
        with self.assertRaisesRegex(ValueError, "num_samples must be at least 1"):
            importance_weighted_nll(LinearGaussian(True), self.images, num_samples=0)


if __name__ == "__main__":
    tf.test.main()
