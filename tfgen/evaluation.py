"""Evaluating a model: sample quality, likelihood bounds and perplexity, as one call.

`evaluate_run(run_dir, ...)` is what `python -m tfgen.evaluate` runs: it loads a run's
latest checkpoint, computes the requested metric groups and writes `metrics.json` in
the run directory. `sample_quality(model, dataset, ...)` is the part the training
callback reuses every N epochs.

Metric groups (`--metrics`):

| group | values | models |
|---|---|---|
| `fid`, `kid`, `is` | Fréchet / kernel distance to the reference split, Inception Score | image models |
| `pr` | improved precision and recall (k = 3) | image models |
| `dc` | density and coverage (k = 5) | image models |
| `nll` | test −ELBO and the importance-weighted bound on test NLL (nats per image) | VAEs |
| `ppl` | test loss (nats per token), perplexity, bits per token and per character | language models |

Every report names the feature extractor, the number of generated samples and the
reference split, so numbers can be compared.
"""

import dataclasses
import datetime
import json
import math
from pathlib import Path

import numpy as np

import tfgen
from tfgen import data as data_lib
from tfgen import text
from tfgen.config import SAMPLE_QUALITY_GROUPS
from tfgen.metrics import extractors, likelihood
from tfgen.metrics.sample_quality import QUALITY_GROUPS, REFERENCE_SPLIT, sample_quality
from tfgen.runs import Run, load
from tfgen.utils.files import write_atomically

GROUPS = {**QUALITY_GROUPS, "nll": ("nll",), "ppl": ("ppl",)}
"""Metric groups `--metrics` may name, and the values each one measures."""


def parse_groups(text_or_list):
    """`"fid,pr"` -> `["fid", "pr"]`; an unknown group is a ValueError naming the valid ones."""
    names = text_or_list.split(",") if isinstance(text_or_list, str) else list(text_or_list)
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in GROUPS]
    if unknown or not names:
        raise ValueError(
            f"unknown metric group(s) {', '.join(map(repr, unknown)) or '(none)'}; "
            f"valid: {', '.join(GROUPS)}"
        )
    return list(dict.fromkeys(names))


def default_groups(model):
    """The groups that apply to `model`, as its family declares them (`metric_groups`)."""
    return list(type(model).metric_groups)


def check_groups(model, groups):
    """Raises a ValueError for a group that does not apply to `model`'s family."""
    valid = set(default_groups(model))
    wrong = [g for g in groups if g not in valid]
    if wrong:
        raise ValueError(
            f"metric group(s) {', '.join(wrong)} do not apply to "
            f"{type(model).__name__}; valid for it: {', '.join(default_groups(model))}"
        )


def vae_likelihood(model, dataset, num_importance_samples=1000, max_examples=None, seed=0):
    """Test −ELBO and the importance-weighted NLL bound (nats per image) of a VAE."""
    examples, info = data_lib.load(dataset, REFERENCE_SPLIT)
    if max_examples:
        examples = examples.take(max_examples)
    # One fixed binarization of the test split (as validation uses), never trained on.
    batches = data_lib.eval_batches(examples, info, 500, seed=seed)
    images = np.concatenate([batch["image"].numpy() for batch in batches])
    single = likelihood.importance_weighted_nll(model, images, num_samples=1, seed=seed)
    bound = likelihood.importance_weighted_nll(model, images, num_importance_samples, seed=seed)
    return {
        "negative_elbo": float(np.mean(single)),
        "nll": float(np.mean(bound)),
        "nll_examples": int(images.shape[0]),
        "nll_importance_samples": num_importance_samples,
    }


def perplexity(model, dataset, batch_size=32):
    """Test loss, perplexity and bits of a language model on the test split's windows, in order."""
    documents, _ = data_lib.load(dataset, REFERENCE_SPLIT)
    tokens = text.tokenize(documents, model.tokenizer)
    windows = text.windows(
        tokens, model.context_length, batch_size, shuffle=False, name=f"{dataset} {REFERENCE_SPLIT}"
    )
    return likelihood.language_model_metrics(model, windows)


@dataclasses.dataclass
class Evaluation:
    """What `evaluate_run` measured and wrote (`metrics.json`'s content as `record`)."""

    values: dict
    record: dict
    path: Path


def evaluate_run(
    run_dir,
    groups=None,
    num_samples=10_000,
    extractor="classifier",
    inception_weights=None,
    importance_samples=1000,
    nll_examples=None,
    seed=0,
    checkpoint="latest",
):
    """Evaluates a run's latest checkpoint and writes `RUN/metrics.json`.

    Values measured earlier with the same weights, extractor and sample count are
    kept beside the new ones, so `--metrics fid` then `--metrics kid` accumulate.
    `checkpoint` is `"latest"` or `"best"` (see `tfgen.runs.load`).

    Returns:
        An `Evaluation`.
    """
    run = Run(run_dir)
    model, config, info, epoch = load(run, checkpoint)
    groups = parse_groups(groups) if groups else default_groups(model)
    check_groups(model, groups)
    values, settings = (
        {},
        {"checkpoint": checkpoint, "seed": seed, "reference_split": REFERENCE_SPLIT},
    )
    quality = [g for g in groups if g in SAMPLE_QUALITY_GROUPS]
    if quality:
        feature_extractor = extractors.get_extractor(extractor, config.dataset, inception_weights)
        values.update(
            sample_quality(
                model,
                config.dataset,
                quality,
                feature_extractor,
                num_samples,
                seed,
                image_fit=model.image_fit(config),
            )
        )
        settings.update(
            extractor=feature_extractor.id,
            extractor_description=feature_extractor.description,
            num_samples=num_samples,
        )
    if "nll" in groups:
        values.update(vae_likelihood(model, config.dataset, importance_samples, nll_examples, seed))
    if "ppl" in groups:
        values.update(perplexity(model, config.dataset))
    record = {
        "run": str(run_dir),
        "model": config.model,
        "dataset": config.dataset,
        "epoch": epoch,
        **settings,
        "tfgen_version": tfgen.__version__,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    path = run.metrics_file
    previous = _read(path)
    same = {k: record.get(k) for k in ("epoch", "checkpoint", "extractor", "num_samples", "seed")}
    if previous and all(previous.get(k) == v for k, v in same.items()):
        values = {**previous.get("metrics", {}), **values}
    record["metrics"] = {
        k: (float(v) if isinstance(v, float) and math.isfinite(v) else v) for k, v in values.items()
    }
    write_atomically(path, json.dumps(record, indent=2) + "\n")
    return Evaluation(values, record, path)


def _read(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
