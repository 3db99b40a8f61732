"""Tests for the Fréchet distance: zero on identical sets, Gaussian closed forms."""

import numpy as np
import tensorflow as tf

from tfgen.metrics import fid
from tfgen.metrics.statistics import StreamingMoments


def random_covariance(rng, dim, scale=1.0):
    factor = rng.normal(size=(dim, dim))
    return scale * (factor @ factor.T / dim + 0.1 * np.eye(dim))


def sqrtm_reference(sigma1, sigma2):
    """pytorch-fid's route: the principal square root of the (non-symmetric) product."""
    product = tf.constant(sigma1 @ sigma2, tf.float64)
    return float(tf.linalg.trace(tf.linalg.sqrtm(product)).numpy())


class FrechetDistanceTest(tf.test.TestCase):
    def test_identical_feature_sets_give_zero(self):
        features = np.random.default_rng(0).normal(size=(2000, 16)).astype(np.float32)
        self.assertLess(abs(fid.fid_from_features(features, features)), 1e-6)

    def test_diagonal_gaussians_match_closed_form(self):
        rng = np.random.default_rng(1)
        mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
        var1, var2 = rng.uniform(0.1, 3.0, 8), rng.uniform(0.1, 3.0, 8)
        expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
        value = fid.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
        self.assertAllClose(value, expected, rtol=1e-10)

    def test_commuting_covariances_match_closed_form(self):
        rng = np.random.default_rng(2)
        rotation, _ = np.linalg.qr(rng.normal(size=(10, 10)))
        eig1, eig2 = rng.uniform(0.01, 5.0, 10), rng.uniform(0.01, 5.0, 10)
        sigma1, sigma2 = (rotation * eig1) @ rotation.T, (rotation * eig2) @ rotation.T
        mu1, mu2 = rng.normal(size=10), np.zeros(10)
        expected = mu1 @ mu1 + np.sum(eig1 + eig2 - 2 * np.sqrt(eig1 * eig2))
        self.assertAllClose(fid.frechet_distance(mu1, sigma1, mu2, sigma2), expected, rtol=1e-9)

    def test_general_covariances_match_matrix_square_root_of_product(self):
        rng = np.random.default_rng(3)
        sigma1, sigma2 = random_covariance(rng, 12), random_covariance(rng, 12, scale=4.0)
        self.assertAllClose(
            fid.trace_sqrt_product(sigma1, sigma2), sqrtm_reference(sigma1, sigma2), rtol=1e-8
        )
        mu = rng.normal(size=12)
        forward = fid.frechet_distance(mu, sigma1, np.zeros(12), sigma2)
        backward = fid.frechet_distance(np.zeros(12), sigma2, mu, sigma1)
        self.assertAllClose(forward, backward, rtol=1e-9)
        expected = (
            mu @ mu + np.trace(sigma1) + np.trace(sigma2) - 2 * sqrtm_reference(sigma1, sigma2)
        )
        self.assertAllClose(forward, expected, rtol=1e-8)

    def test_samples_of_two_gaussians_approach_the_closed_form(self):
        rng = np.random.default_rng(4)
        real = rng.normal(size=(40000, 4))
        fake = 1.0 + 2.0 * rng.normal(size=(40000, 4))
        expected = 4 * 1.0 + 4 * (1 + 4 - 2 * 2)
        self.assertAllClose(fid.fid_from_features(real, fake), expected, rtol=0.05)

    def test_singular_covariances_stay_finite(self):
        rng = np.random.default_rng(5)
        real, fake = rng.normal(size=(5, 20)), rng.normal(size=(6, 20))  # rank < dimension
        value = fid.fid_from_features(real, fake)
        self.assertTrue(np.isfinite(value))
        self.assertGreater(value, 0.0)
        self.assertTrue(np.isfinite(fid.fid_from_features(real, real)))
        self.assertLess(abs(fid.fid_from_features(real, real)), 1e-8)
        self.assertTrue(np.isfinite(fid.fid_from_features(real, fake, eps=1e-6)))

    def test_fid_from_moments_matches_features(self):
        rng = np.random.default_rng(6)
        real, fake = rng.normal(size=(300, 5)), rng.normal(0.5, 1.0, size=(200, 5))
        from_moments = fid.fid_from_moments(
            StreamingMoments.from_features(real, batch_size=7),
            StreamingMoments.from_features(fake, batch_size=50),
        )
        self.assertAllClose(from_moments, fid.fid_from_features(real, fake), rtol=1e-10)

    def test_shape_errors(self):
        with self.assertRaisesRegex(ValueError, "Means"):
            fid.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
        with self.assertRaisesRegex(ValueError, r"Covariances must have shape \(3, 3\)"):
            fid.frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
