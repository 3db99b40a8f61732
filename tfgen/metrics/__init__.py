"""Sample-quality metrics and the feature extractors they use.

`classifier`: tfgen's own per-dataset image classifier (`load_or_train`), whose
penultimate-layer features serve FID, KID and precision/recall and whose
probabilities serve IS. Submodules are imported on first use, so that
`python -m tfgen.metrics.classifier` runs without a double import.

The metric mathematics is pure NumPy on those arrays:

- `statistics`: `StreamingMoments`, batch-by-batch mean/covariance (cached as `.npz`).
- `fid`: `frechet_distance`, `fid_from_moments`, `fid_from_features`.
- `kid`: `kernel_inception_distance` -> `(mean, std)`.
- `isc`: `inception_score` -> `(mean, std)` (not `inception_score.py`: the module
  would shadow the function of the same name on this package).
- `manifold`: `precision_recall`, `density_coverage`, `prdc` (k-NN manifolds).
- `registry`: `METRICS`, one `MetricSpec` per name (direction, inputs, description).
- `compute`: `compute_metrics(names, ...)`, all requested metrics in one call.
- `extractors`: `get_extractor("classifier" | "inception", dataset)` and
  `reference_features(dataset, split, extractor)`, cached per dataset, split and extractor.
- `likelihood`: `importance_weighted_nll` (VAEs) and `language_model_metrics` (perplexity).
"""

import importlib

_EXPORTS = {
    "DatasetClassifier": "classifier",
    "dataset_fingerprint": "classifier",
    "load_or_train": "classifier",
    "StreamingMoments": "statistics",
    "frechet_distance": "fid",
    "fid_from_moments": "fid",
    "fid_from_features": "fid",
    "kernel_inception_distance": "kid",
    "inception_score": "isc",
    "precision_recall": "manifold",
    "density_coverage": "manifold",
    "prdc": "manifold",
    "MetricSpec": "registry",
    "METRICS": "registry",
    "compute_metrics": "compute",
    "get_extractor": "extractors",
    "reference_features": "extractors",
    "importance_weighted_nll": "likelihood",
    "language_model_metrics": "likelihood",
}
_SUBMODULES = (
    "classifier",
    "statistics",
    "fid",
    "kid",
    "isc",
    "manifold",
    "registry",
    "compute",
    "extractors",
    "likelihood",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"tfgen.metrics.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"tfgen.metrics.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'tfgen.metrics' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS) + list(_SUBMODULES))
