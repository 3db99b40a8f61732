"""The sample-quality metrics, each declared once: name, direction, inputs, description.

`evaluate --metrics`, its `--help` and error messages, and the training callback
that keeps a best checkpoint all read this dict; `compute.compute_metrics` runs
the mathematics.

    spec = registry.get("fid")
    spec.higher_is_better     # False
    spec.is_better(12.0, 15.0)  # True
"""

import dataclasses

FEATURES = "features"
PROBABILITIES = "probabilities"


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """How to read and compare one metric.

    Attributes:
        name: lowercase registry key, also the key of its value in results.
        higher_is_better: direction for "best checkpoint" comparisons.
        inputs: what the metric consumes from the classifier: `"features"`
            (`DatasetClassifier.features`, `[N, 128]`) or `"probabilities"`
            (`DatasetClassifier.probabilities`, `[N, num_classes]`).
        needs_real: whether real (reference) samples are compared against.
        streaming: whether it is computable from `StreamingMoments` alone (FID), so
            features can be discarded batch by batch; otherwise the full array is needed.
        std_name: results key of its spread over subsets/splits, if it reports one.
        description: one line for `--help`.
    """

    name: str
    higher_is_better: bool
    inputs: str
    needs_real: bool
    streaming: bool
    std_name: str | None
    description: str

    def is_better(self, candidate, best):
        """Whether `candidate` beats `best` (`best=None` means no value yet)."""
        if best is None:
            return True
        return candidate > best if self.higher_is_better else candidate < best


METRICS = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "fid",
            False,
            FEATURES,
            True,
            True,
            None,
            "Fréchet distance between Gaussians fitted to real and generated features.",
        ),
        MetricSpec(
            "kid",
            False,
            FEATURES,
            True,
            False,
            "kid_std",
            "Kernel distance: unbiased MMD² (cubic polynomial kernel) averaged over subsets.",
        ),
        MetricSpec(
            "is",
            True,
            PROBABILITIES,
            False,
            False,
            "is_std",
            "Inception Score: exp E[KL(p(y|x) || p(y))] over splits of generated samples.",
        ),
        MetricSpec(
            "precision",
            True,
            FEATURES,
            True,
            False,
            None,
            "Fraction of generated samples inside the real k-NN manifold (k=3).",
        ),
        MetricSpec(
            "recall",
            True,
            FEATURES,
            True,
            False,
            None,
            "Fraction of real samples inside the generated k-NN manifold (k=3).",
        ),
        MetricSpec(
            "density",
            True,
            FEATURES,
            True,
            False,
            None,
            "Mean number of real k-NN balls holding a generated sample, over k (k=5).",
        ),
        MetricSpec(
            "coverage",
            True,
            FEATURES,
            True,
            False,
            None,
            "Fraction of real k-NN balls holding at least one generated sample (k=5).",
        ),
    )
}


def names():
    """Valid metric names, in declaration order."""
    return list(METRICS)


def get(name):
    """The `MetricSpec` called `name` (case-insensitive), or `ValueError` listing valid names."""
    key = str(name).strip().lower()
    if key not in METRICS:
        raise ValueError(f"Unknown metric {name!r}; valid metrics: {', '.join(METRICS)}.")
    return METRICS[key]


def parse(names_text):
    """Specs for a comma-separated list such as `"fid,kid,is"` (duplicates dropped)."""
    specs = [get(part.strip()) for part in str(names_text).split(",") if part.strip()]
    if not specs:
        raise ValueError(f"No metric names given; valid metrics: {', '.join(METRICS)}.")
    return list({spec.name: spec for spec in specs}.values())
