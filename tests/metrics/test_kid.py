"""Tests for KID against a direct NumPy computation on small random features."""

import numpy as np
import tensorflow as tf

from tfgen.metrics import kid


def naive_kid(real, fake, num_subsets, subset_size, seed):
    """Averages pair by pair: mean of k over i != j within each set, over all i, j across."""
    rng = np.random.RandomState(seed)
    dim = real.shape[1]
    estimates = []
    for _ in range(num_subsets):
        x = real[rng.choice(len(real), subset_size, replace=False)].astype(np.float64)
        y = fake[rng.choice(len(fake), subset_size, replace=False)].astype(np.float64)
        off_diagonal = ~np.eye(subset_size, dtype=bool)
        k_xx = np.array([[(a @ b / dim + 1) ** 3 for b in x] for a in x])
        k_yy = np.array([[(a @ b / dim + 1) ** 3 for b in y] for a in y])
        k_xy = np.array([[(a @ b / dim + 1) ** 3 for b in y] for a in x])
        estimates.append(k_xx[off_diagonal].mean() + k_yy[off_diagonal].mean() - 2 * k_xy.mean())
    return np.mean(estimates), np.std(estimates)


class KernelInceptionDistanceTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        self.real = rng.normal(size=(60, 8)).astype(np.float32)
        self.fake = rng.normal(0.3, 1.2, size=(45, 8)).astype(np.float32)

    def test_matches_naive_computation_on_the_same_subsets(self):
        mean, std = kid.kernel_inception_distance(
            self.real, self.fake, num_subsets=7, subset_size=20, seed=3
        )
        expected_mean, expected_std = naive_kid(self.real, self.fake, 7, 20, seed=3)
        self.assertAllClose(mean, expected_mean, rtol=1e-10)
        self.assertAllClose(std, expected_std, rtol=1e-8)

    def test_subset_size_is_clipped_to_the_smaller_set(self):
        mean, std = kid.kernel_inception_distance(
            self.real, self.fake, num_subsets=3, subset_size=1000, seed=1
        )
        expected = naive_kid(self.real, self.fake, 3, 45, seed=1)
        self.assertAllClose((mean, std), expected, rtol=1e-8)

    def test_deterministic_for_a_seed_and_different_for_another(self):
        first = kid.kernel_inception_distance(self.real, self.fake, 5, 20, seed=0)
        self.assertEqual(first, kid.kernel_inception_distance(self.real, self.fake, 5, 20, seed=0))
        other = kid.kernel_inception_distance(self.real, self.fake, 5, 20, seed=1)
        self.assertNotEqual(first, other)

    def test_near_zero_for_one_distribution_and_positive_for_a_shift(self):
        rng = np.random.default_rng(1)
        real, same = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
        shifted = rng.normal(0.5, 1.0, size=(1000, 16))
        same_mean, same_std = kid.kernel_inception_distance(real, same, 20, 200)
        shifted_mean, shifted_std = kid.kernel_inception_distance(real, shifted, 20, 200)
        self.assertLess(abs(same_mean), 0.01)
        self.assertLess(abs(same_mean), 3 * same_std / np.sqrt(20) + 1e-3)
        self.assertGreater(shifted_mean, 0.1)
        self.assertGreater(shifted_mean, 10 * shifted_std)

    def test_unbiased_mmd_of_one_fixed_subset_pair(self):
        x, y = self.real[:10].astype(np.float64), self.fake[:10].astype(np.float64)
        kernel = kid.polynomial_kernel
        k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
        expected = (
            (k_xx.sum() - np.trace(k_xx)) / 90
            + (k_yy.sum() - np.trace(k_yy)) / 90
            - 2 * k_xy.mean()
        )
        self.assertAllClose(kid.polynomial_mmd2(x, y), expected, rtol=1e-12)

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "Feature sizes differ"):
            kid.kernel_inception_distance(self.real, self.fake[:, :4])
        with self.assertRaisesRegex(ValueError, "at least 2 samples"):
            kid.kernel_inception_distance(self.real, self.fake[:1])
        with self.assertRaisesRegex(ValueError, "num_subsets"):
            kid.kernel_inception_distance(self.real, self.fake, num_subsets=0)
