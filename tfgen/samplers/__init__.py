"""Text samplers, looked up by lowercase name: greedy, temperature, top_k, top_p, beam.

Samplers know nothing of models: they decode from a `next_fn(prompt, cache,
index) -> (logits, cache)` (contract in `tfgen.samplers.base`), in fixed
shapes, so a model's `generate` can wrap them in `tf.function(jit_compile=True)`.
`SAMPLERS` is the one registry: `--help`, error messages and `get` read it.

Example:

```python
sampler = tfgen.samplers.get("top_p", p=0.9, temperature=0.8)
tokens = sampler(model_next_fn, prompt, cache=cache, index=prompt_length,
                 stop_token_ids=[end_id], seed=42)
```
"""

import inspect

from tfgen.samplers.base import Sampler
from tfgen.samplers.beam import BeamSampler
from tfgen.samplers.filtered import FilteredSampler
from tfgen.samplers.greedy import GreedySampler
from tfgen.samplers.stochastic import TemperatureSampler, TopKSampler, TopPSampler

SAMPLERS = {
    cls.name: cls
    for cls in (GreedySampler, TemperatureSampler, TopKSampler, TopPSampler, BeamSampler)
}

# FilteredSampler (tensor-valued parameters, for exported graphs) is importable but not
# registered: the names above are the ones a command line can choose.
__all__ = [
    "SAMPLERS",
    "BeamSampler",
    "FilteredSampler",
    "GreedySampler",
    "Sampler",
    "TemperatureSampler",
    "TopKSampler",
    "TopPSampler",
    "get",
    "names",
]


def names():
    """The registered sampler names, sorted."""
    return sorted(SAMPLERS)


def get(identifier, **kwargs):
    """Returns a sampler from a name, a config dict or an instance.

    Args:
        identifier: a registered name (case-insensitive, `-` read as `_`),
            a dict `{"name": ..., **constructor_args}` (what
            `{"name": s.name, **s.get_config()}` gives), or a `Sampler`
            (returned as is).
        **kwargs: constructor arguments, e.g. `k=10` for `"top_k"`.

    Returns:
        A `Sampler`.

    Raises:
        ValueError: for an unknown name (listing the valid ones), an argument
            the sampler does not take (listing the ones it takes), a bad
            value (naming the parameter and its valid range), or arguments
            given with an instance.

    Example:

    ```python
    tfgen.samplers.get("top_k", k=10)
    tfgen.samplers.get({"name": "beam", "num_beams": 4})
    ```
    """
    if isinstance(identifier, Sampler):
        if kwargs:
            raise ValueError(
                f"cannot apply arguments {sorted(kwargs)} to the sampler instance "
                f"{identifier!r}; pass a name instead"
            )
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        if "name" not in config:
            raise ValueError(
                f"a sampler config needs a 'name' (one of: {', '.join(names())}), "
                f"got {identifier!r}"
            )
        return get(config.pop("name"), **{**config, **kwargs})
    if not isinstance(identifier, str):
        raise ValueError(
            f"expected a sampler name, config dict or Sampler, got {identifier!r}; "
            f"valid names are: {', '.join(names())}"
        )
    cls = SAMPLERS.get(identifier.lower().replace("-", "_"))
    if cls is None:
        raise ValueError(
            f"unknown sampler {identifier!r}; valid samplers are: {', '.join(names())}"
        )
    accepted = list(inspect.signature(cls.__init__).parameters)[1:]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"sampler {cls.name!r} got unexpected argument(s) {unknown}; "
            f"it accepts: {', '.join(accepted)}"
        )
    return cls(**kwargs)
