"""Tests for `StreamingMoments`: batch-by-batch mean/covariance, merge, save/load."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgen.metrics.statistics import StreamingMoments


class StreamingMomentsTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        self.features = (rng.normal(size=(257, 6)) @ rng.normal(size=(6, 6))).astype(np.float32)

    def test_batches_of_different_sizes_give_numpy_mean_and_covariance(self):
        moments = StreamingMoments()
        for start, stop in [(0, 1), (1, 64), (64, 64), (64, 200), (200, 257)]:
            moments.update(self.features[start:stop])
        whole = self.features.astype(np.float64)
        self.assertEqual(moments.count, 257)
        self.assertAllClose(moments.mean, whole.mean(axis=0), rtol=1e-12, atol=1e-12)
        self.assertAllClose(moments.covariance, np.cov(whole, rowvar=False), rtol=1e-10, atol=1e-12)

    def test_accepts_tensors_and_from_features_matches_updates(self):
        moments = StreamingMoments().update(tf.constant(self.features))
        batched = StreamingMoments.from_features(self.features, batch_size=10)
        self.assertAllClose(moments.mean, batched.mean, rtol=1e-12)
        self.assertAllClose(moments.covariance, batched.covariance, rtol=1e-10)

    def test_large_offset_does_not_cancel_the_covariance(self):
        rng = np.random.default_rng(1)
        features = 1e6 + rng.normal(size=(5000, 3))
        moments = StreamingMoments.from_features(features, batch_size=97)
        self.assertAllClose(
            moments.covariance, np.cov(features, rowvar=False), rtol=1e-8, atol=1e-8
        )

    def test_merge_equals_one_pass(self):
        first = StreamingMoments.from_features(self.features[:100])
        second = StreamingMoments.from_features(self.features[100:])
        merged = StreamingMoments().merge(first).merge(second).merge(StreamingMoments())
        whole = StreamingMoments.from_features(self.features)
        self.assertEqual(merged.count, whole.count)
        self.assertAllClose(merged.mean, whole.mean, rtol=1e-12)
        self.assertAllClose(merged.covariance, whole.covariance, rtol=1e-10)

    def test_save_and_load_round_trip_with_pytorch_fid_keys(self):
        path = Path(self.create_tempdir().full_path) / "reference.stats"
        moments = StreamingMoments.from_features(self.features)
        moments.save(path)
        self.assertTrue(path.exists())  # no ".npz" appended to the given name
        loaded = StreamingMoments.load(path)
        self.assertEqual(loaded.count, 257)
        self.assertAllEqual(loaded.mean, moments.mean)
        self.assertAllEqual(loaded.covariance, moments.covariance)
        with np.load(path) as stored:
            self.assertAllEqual(stored["mu"], moments.mean)
            self.assertAllEqual(stored["sigma"], moments.covariance)

    def test_load_rejects_other_npz_files(self):
        path = Path(self.create_tempdir().full_path) / "other.npz"
        np.savez(path, mu=np.zeros(3), sigma=np.eye(3))
        with self.assertRaisesRegex(ValueError, "not a StreamingMoments file"):
            StreamingMoments.load(path)

    def test_errors(self):
        moments = StreamingMoments()
        with self.assertRaisesRegex(ValueError, "No features"):
            _ = moments.mean
        with self.assertRaisesRegex(ValueError, r"\[num_samples, num_features\]"):
            moments.update(np.zeros(4))
        moments.update(np.zeros((1, 4)))
        with self.assertRaisesRegex(ValueError, "at least 2 samples"):
            _ = moments.covariance
        with self.assertRaisesRegex(ValueError, "Expected batches of 4 features"):
            moments.update(np.zeros((2, 5)))
        with self.assertRaisesRegex(ValueError, "NaN"):
            moments.update(np.full((2, 4), np.nan))
