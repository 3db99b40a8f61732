"""Computes any registered metrics from feature / probability arrays in one call.

The CLI and the training callback collect the classifier outputs (and cached
reference statistics) and hand them here; shared work is done once (one blocked
distance pass for precision and recall, one for density and coverage).

    results = compute_metrics("fid,kid,is", real_moments=reference,
                              real_features=real, fake_features=fake,
                              fake_probabilities=probs)
    # {"fid": ..., "kid": ..., "kid_std": ..., "is": ..., "is_std": ...}
"""

from tfgen.metrics import registry
from tfgen.metrics.fid import fid_from_moments
from tfgen.metrics.isc import inception_score
from tfgen.metrics.kid import kernel_inception_distance
from tfgen.metrics.manifold import density_coverage, precision_recall
from tfgen.metrics.statistics import StreamingMoments


def _resolve(metrics):
    if isinstance(metrics, str):
        return registry.parse(metrics)
    return list({spec.name: spec for spec in map(registry.get, metrics)}.values())


def _require(value, what, metric):
    if value is None:
        raise ValueError(f"Metric {metric!r} needs {what}.")
    return value


def compute_metrics(
    metrics,
    *,
    real_features=None,
    fake_features=None,
    fake_probabilities=None,
    real_moments=None,
    fake_moments=None,
    kid_subsets=100,
    kid_subset_size=1000,
    is_splits=10,
    pr_k=3,
    dc_k=5,
    seed=0,
):
    """Computes `metrics` and returns `{name: float}` plus `kid_std` / `is_std` if asked.

    Args:
        metrics: names (a list, or a comma-separated string) from `registry.METRICS`.
        real_features, fake_features: `[N, D]` classifier features; required by
            kid/precision/recall/density/coverage, and by fid unless moments are given.
        fake_probabilities: `[N, num_classes]` classifier probabilities, for `is`.
        real_moments, fake_moments: `StreamingMoments` for fid (e.g. cached reference
            statistics); each takes precedence over the matching features.
        kid_subsets, kid_subset_size, seed: see `kernel_inception_distance`.
        is_splits: see `inception_score`.
        pr_k, dc_k: neighbourhood sizes for precision/recall and density/coverage.
    """
    specs = _resolve(metrics)
    wanted = {spec.name for spec in specs}
    results = {}
    if "fid" in wanted:
        real = (
            real_moments
            if real_moments is not None
            else StreamingMoments.from_features(
                _require(real_features, "real_moments or real_features", "fid")
            )
        )
        fake = (
            fake_moments
            if fake_moments is not None
            else StreamingMoments.from_features(
                _require(fake_features, "fake_moments or fake_features", "fid")
            )
        )
        results["fid"] = fid_from_moments(real, fake)
    if "kid" in wanted:
        results["kid"], results["kid_std"] = kernel_inception_distance(
            _require(real_features, "real_features", "kid"),
            _require(fake_features, "fake_features", "kid"),
            num_subsets=kid_subsets,
            subset_size=kid_subset_size,
            seed=seed,
        )
    if "is" in wanted:
        results["is"], results["is_std"] = inception_score(
            _require(fake_probabilities, "fake_probabilities", "is"), splits=is_splits
        )
    for pair, function, k in (
        (("precision", "recall"), precision_recall, pr_k),
        (("density", "coverage"), density_coverage, dc_k),
    ):
        if wanted & set(pair):
            name = sorted(wanted & set(pair))[0]
            values = function(
                _require(real_features, "real_features", name),
                _require(fake_features, "fake_features", name),
                k=k,
            )
            results.update({key: value for key, value in zip(pair, values) if key in wanted})
    return {spec.name: results[spec.name] for spec in specs} | {
        key: value for key, value in results.items() if key.endswith("_std")
    }
