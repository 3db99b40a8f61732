"""tfgen: train, evaluate and serve generative models with TensorFlow and Keras 3.

Submodules are imported on first use, so `import tfgen` stays cheap and
`tfgen.models.VAE(...)`, `tfgen.data.load(...)` and `tfgen.cli.fit.train(...)`
work without importing each submodule by hand.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "cli",
    "config",
    "data",
    "distribute",
    "evaluation",
    "metrics",
    "models",
    "ops",
    "runs",
    "samplers",
    "serving",
    "text",
    "training",
    "utils",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"tfgen.{name}")
    raise AttributeError(f"module 'tfgen' has no attribute {name!r}")
