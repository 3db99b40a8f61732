"""Tests for precision/recall/density/coverage against brute-force distance matrices."""

import numpy as np
import tensorflow as tf

from tfgen.metrics import manifold


def cdist(a, b):
    """Brute-force Euclidean distances (as `scipy.spatial.distance.cdist`)."""
    return np.sqrt(((a[:, None, :].astype(np.float64) - b[None, :, :]) ** 2).sum(axis=-1))


def radii(features, k):
    return np.sort(cdist(features, features), axis=1)[:, k]  # column 0 is the point itself


def brute_force(real, fake, k, inclusive):
    inside = np.less_equal if inclusive else np.less
    distances = cdist(real, fake)
    real_radii, fake_radii = radii(real, k), radii(fake, k)
    in_real_balls = inside(distances, real_radii[:, None])
    return {
        "precision": in_real_balls.any(axis=0).mean(),
        "recall": inside(distances, fake_radii[None, :]).any(axis=1).mean(),
        "density": in_real_balls.sum(axis=0).mean() / k,
        "coverage": inside(distances.min(axis=1), real_radii).mean(),
    }


class ManifoldTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        self.real = rng.normal(size=(120, 5)).astype(np.float32)
        self.fake = rng.normal(0.4, 1.3, size=(90, 5)).astype(np.float32)

    def test_radii_are_kth_neighbour_distances_excluding_self(self):
        for block in (1, 50, 10**6):
            self.assertAllClose(
                manifold.nearest_neighbour_radii(self.real, 3, block),
                radii(self.real, 3),
                rtol=1e-9,
            )

    def test_match_brute_force_for_any_block_size(self):
        for block in (7, 200, 1000, manifold.DEFAULT_BLOCK_ELEMENTS):
            expected = brute_force(self.real, self.fake, 3, inclusive=True)
            self.assertAllClose(
                manifold.precision_recall(self.real, self.fake, k=3, max_block_elements=block),
                (expected["precision"], expected["recall"]),
            )
            expected = brute_force(self.real, self.fake, 5, inclusive=False)
            self.assertAllClose(
                manifold.density_coverage(self.real, self.fake, k=5, max_block_elements=block),
                (expected["density"], expected["coverage"]),
            )
            self.assertAllClose(
                manifold.prdc(self.real, self.fake, k=5, max_block_elements=block), expected
            )

    def test_identical_sets_are_fully_precise_recalled_and_covered(self):
        scores = manifold.prdc(self.real, self.real, k=4)
        self.assertEqual(
            (scores["precision"], scores["recall"], scores["coverage"]), (1.0, 1.0, 1.0)
        )
        expected = brute_force(self.real, self.real, 4, inclusive=False)
        self.assertAllClose(scores["density"], expected["density"])
        self.assertEqual(manifold.precision_recall(self.real, self.real), (1.0, 1.0))

    def test_shifted_fake_set_loses_precision(self):
        rng = np.random.default_rng(1)
        real, same = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
        shifted = rng.normal(3.0, 1.0, size=(300, 4))
        same_precision, _ = manifold.precision_recall(real, same)
        shifted_precision, _ = manifold.precision_recall(real, shifted)
        self.assertGreater(same_precision, 0.8)
        self.assertLess(shifted_precision, 0.3)
        self.assertAllClose(
            manifold.precision_recall(real, shifted),
            [brute_force(real, shifted, 3, True)[key] for key in ("precision", "recall")],
        )
        density, coverage = manifold.density_coverage(real, shifted)
        self.assertLess(density, 0.3)
        self.assertLess(coverage, 0.3)

    def test_fake_set_on_part_of_real_loses_recall_not_precision(self):
        rng = np.random.default_rng(2)
        centres = np.repeat([[-5.0, 0.0, 0.0], [5.0, 0.0, 0.0]], 200, axis=0)
        real = centres + rng.normal(size=(400, 3))
        fake = centres[:200] + rng.normal(size=(200, 3))  # only the first mode
        scores = manifold.prdc(real, fake, k=3)
        self.assertGreater(scores["precision"], 0.9)
        self.assertLess(scores["recall"], 0.6)
        self.assertLess(scores["coverage"], 0.6)
        self.assertAllClose(scores, brute_force(real, fake, 3, inclusive=False))

    def test_inputs_are_not_modified(self):
        real, fake = self.real.astype(np.float64), self.fake.astype(np.float64)
        before = real.copy(), fake.copy()
        manifold.prdc(real, fake)
        self.assertAllEqual(real, before[0])
        self.assertAllEqual(fake, before[1])

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "Feature sizes differ"):
            manifold.prdc(self.real, self.fake[:, :3])
        with self.assertRaisesRegex(ValueError, "k must be between 1"):
            manifold.precision_recall(self.real[:3], self.fake, k=3)
        with self.assertRaisesRegex(ValueError, "k must be between 1"):
            manifold.density_coverage(self.real, self.fake, k=0)
