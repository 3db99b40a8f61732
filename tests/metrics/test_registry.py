"""Tests for the metric registry and `compute_metrics`."""

import numpy as np
import tensorflow as tf

from tfgen import metrics
from tfgen.metrics import compute, registry


class RegistryTest(tf.test.TestCase):
    def test_every_metric_declares_direction_and_inputs(self):
        self.assertEqual(
            registry.names(), ["fid", "kid", "is", "precision", "recall", "density", "coverage"]
        )
        lower = {name for name, spec in registry.METRICS.items() if not spec.higher_is_better}
        self.assertEqual(lower, {"fid", "kid"})
        self.assertEqual(registry.get("IS").inputs, registry.PROBABILITIES)
        self.assertEqual(
            {spec.inputs for name, spec in registry.METRICS.items() if name != "is"},
            {registry.FEATURES},
        )
        self.assertTrue(registry.get("fid").streaming)
        for spec in registry.METRICS.values():
            self.assertTrue(spec.description)

    def test_is_better_follows_the_direction(self):
        self.assertTrue(registry.get("fid").is_better(10.0, 12.0))
        self.assertFalse(registry.get("precision").is_better(0.5, 0.6))
        self.assertTrue(registry.get("kid").is_better(1.0, None))

    def test_unknown_names_list_the_valid_ones(self):
        with self.assertRaisesRegex(ValueError, "Unknown metric 'fd'.*fid, kid, is, precision"):
            registry.get("fd")
        with self.assertRaisesRegex(ValueError, "Unknown metric 'nope'"):
            registry.parse("fid, nope")
        self.assertEqual([spec.name for spec in registry.parse("kid, FID,kid")], ["kid", "fid"])

    def test_package_exports(self):
        self.assertIs(metrics.inception_score, metrics.isc.inception_score)
        self.assertIs(metrics.StreamingMoments, metrics.statistics.StreamingMoments)
        self.assertIn("compute_metrics", dir(metrics))


class ComputeMetricsTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        self.real = rng.normal(size=(80, 6))
        self.fake = rng.normal(0.2, 1.0, size=(70, 6))
        self.probabilities = rng.dirichlet(np.ones(4), size=50)

    def test_all_metrics_match_the_individual_functions(self):
        results = compute.compute_metrics(
            registry.names(),
            real_features=self.real,
            fake_features=self.fake,
            fake_probabilities=self.probabilities,
            kid_subsets=5,
            kid_subset_size=30,
            is_splits=5,
        )
        self.assertEqual(list(results), registry.names() + ["kid_std", "is_std"])
        self.assertAllClose(results["fid"], metrics.fid_from_features(self.real, self.fake))
        self.assertAllClose(
            (results["kid"], results["kid_std"]),
            metrics.kernel_inception_distance(self.real, self.fake, 5, 30),
        )
        self.assertAllClose(
            (results["is"], results["is_std"]),
            metrics.inception_score(self.probabilities, splits=5),
        )
        self.assertAllClose(
            (results["precision"], results["recall"]),
            metrics.precision_recall(self.real, self.fake, k=3),
        )
        self.assertAllClose(
            (results["density"], results["coverage"]),
            metrics.density_coverage(self.real, self.fake, k=5),
        )

    def test_fid_from_cached_reference_moments_and_a_subset_of_metrics(self):
        reference = metrics.StreamingMoments.from_features(self.real, batch_size=16)
        results = compute.compute_metrics(
            "fid,coverage", real_moments=reference, real_features=self.real, fake_features=self.fake
        )
        self.assertEqual(list(results), ["fid", "coverage"])
        self.assertAllClose(results["fid"], metrics.fid_from_features(self.real, self.fake))

    def test_missing_inputs_name_the_metric(self):
        with self.assertRaisesRegex(ValueError, "'is' needs fake_probabilities"):
            compute.compute_metrics(["is"], fake_features=self.fake)
        with self.assertRaisesRegex(ValueError, "'fid' needs real_moments or real_features"):
            compute.compute_metrics("fid", fake_features=self.fake)


class FamilyMetricGroupsTest(tf.test.TestCase):
    """Each model family declares its metric groups; `tfgen.evaluate` reads only that."""

    def test_every_family_declares_known_groups(self):
        from tfgen import evaluation, models

        for name in models.names():
            groups = models.get(name).metric_groups
            self.assertTrue(groups, name)
            self.assertEqual(set(groups) - set(evaluation.GROUPS), set(), name)
        self.assertEqual(models.get("vae").metric_groups, ("fid", "kid", "is", "pr", "dc", "nll"))
        self.assertEqual(models.get("dcgan").metric_groups, ("fid", "kid", "is", "pr", "dc"))
        self.assertEqual(models.get("stylegan").metric_groups, models.get("cgan").metric_groups)
        self.assertEqual(models.get("gpt").metric_groups, ("ppl",))
        self.assertEqual(models.get("char_lstm").metric_groups, ("ppl",))
