"""Distributed training: strategy selection, the local launcher, private network, scratch dirs.

The strategy functions import TensorFlow on first use, so the launcher
(`tfgen.distribute.launch`) starts without it.
"""

import importlib

_STRATEGY_NAMES = (
    "STRATEGIES",
    "WorkerRole",
    "configure_cpu_devices",
    "make_strategy",
    "resolve_jit_compile",
    "shard_by_examples",
    "worker_role",
)


def __getattr__(name):
    if name in _STRATEGY_NAMES:
        return getattr(importlib.import_module("tfgen.distribute.strategy"), name)
    raise AttributeError(f"module 'tfgen.distribute' has no attribute {name!r}")
