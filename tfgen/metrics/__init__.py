"""Sample-quality metrics and the feature extractors they use.

`classifier`: tfgen's own per-dataset image classifier (`load_or_train`), whose
penultimate-layer features serve FID, KID and precision/recall and whose
probabilities serve IS. Submodules are imported on first use, so that
`python -m tfgen.metrics.classifier` runs without a double import.
"""

import importlib

_EXPORTS = {
    "DatasetClassifier": "classifier",
    "dataset_fingerprint": "classifier",
    "load_or_train": "classifier",
}
_SUBMODULES = ("classifier",)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"tfgen.metrics.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"tfgen.metrics.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'tfgen.metrics' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS) + list(_SUBMODULES))
