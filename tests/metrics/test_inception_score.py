"""Tests for the Inception Score: its bounds, splits, and a direct computation."""

import numpy as np
import tensorflow as tf

from tfgen.metrics.isc import inception_score


def direct_inception_score(probabilities, splits):
    scores = []
    for chunk in np.array_split(probabilities, splits):  # equal here: N divisible by splits
        marginal = chunk.mean(axis=0)
        kl = [np.sum(p * (np.log(p) - np.log(marginal))) for p in chunk]
        scores.append(np.exp(np.mean(kl)))
    return np.mean(scores), np.std(scores)


class InceptionScoreTest(tf.test.TestCase):
    def test_one_hot_predictions_over_all_classes_score_the_class_count(self):
        probabilities = np.eye(7, dtype=np.float32)[np.arange(700) % 7]
        mean, std = inception_score(probabilities, splits=10)
        self.assertAllClose(mean, 7.0, rtol=1e-12)
        self.assertAllClose(std, 0.0, atol=1e-12)

    def test_uniform_predictions_score_one(self):
        mean, std = inception_score(np.full((100, 10), 0.1), splits=10)
        self.assertAllClose(mean, 1.0, rtol=1e-12)
        self.assertAllClose(std, 0.0, atol=1e-12)

    def test_single_class_predictions_score_one(self):
        mean, _ = inception_score(np.eye(5)[np.zeros(50, int)], splits=5)
        self.assertAllClose(mean, 1.0, rtol=1e-12)

    def test_matches_direct_computation_on_random_probabilities(self):
        probabilities = np.random.default_rng(0).dirichlet(np.full(6, 0.3), size=90)
        probabilities = np.clip(probabilities, 1e-12, None)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        self.assertAllClose(
            inception_score(probabilities, splits=3),
            direct_inception_score(probabilities, 3),
            rtol=1e-10,
        )

    def test_shuffling_only_reorders_the_splits(self):
        probabilities = np.random.default_rng(1).dirichlet(np.ones(4), size=40)
        self.assertAllClose(
            inception_score(probabilities, splits=1),
            inception_score(probabilities, splits=1, shuffle_seed=2020),
        )
        shuffled = probabilities[np.random.RandomState(2020).permutation(40)]
        self.assertAllClose(
            inception_score(probabilities, splits=4, shuffle_seed=2020),
            inception_score(shuffled, splits=4),
        )

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "logits"):
            inception_score(np.random.default_rng(0).normal(size=(20, 3)) + 5.0, splits=2)
        with self.assertRaisesRegex(ValueError, "splits"):
            inception_score(np.full((5, 2), 0.5), splits=10)
        with self.assertRaisesRegex(ValueError, "num_classes"):
            inception_score(np.full(5, 0.2))
