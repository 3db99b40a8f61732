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
from tfgen.files import write_atomically
from tfgen.metrics import compute, extractors, likelihood
from tfgen.metrics.statistics import StreamingMoments

METRICS_FILE = "metrics.json"
REFERENCE_SPLIT = "test"
GROUPS = {
    "fid": ("fid",), "kid": ("kid",), "is": ("is",), "pr": ("precision", "recall"),
    "dc": ("density", "coverage"), "nll": ("nll",), "ppl": ("ppl",),
}


def parse_groups(text_or_list):
    """`"fid,pr"` -> `["fid", "pr"]`; an unknown group is a ValueError naming the valid ones."""
    names = text_or_list.split(",") if isinstance(text_or_list, str) else list(text_or_list)
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in GROUPS]
    if unknown or not names:
        raise ValueError(f"unknown metric group(s) {', '.join(map(repr, unknown)) or '(none)'}; "
                         f"valid: {', '.join(GROUPS)}")
    return list(dict.fromkeys(names))


def default_groups(model):
    """The groups that apply to `model`, as its family declares them (`metric_groups`)."""
    return list(type(model).metric_groups)


def check_groups(model, groups):
    """Raises a ValueError for a group that does not apply to `model`'s family."""
    valid = set(default_groups(model))
    wrong = [g for g in groups if g not in valid]
    if wrong:
        raise ValueError(f"metric group(s) {', '.join(wrong)} do not apply to "
                         f"{type(model).__name__}; valid for it: {', '.join(default_groups(model))}")


def generated_outputs(model, extractor, num_samples, seed=0, batch_size=500, keep_features=True,
                      shape=None, image_fit="pad"):
    """Features of `num_samples` generated images, batch by batch.

    With `shape` (the dataset's `(height, width, channels)`), images of another size
    are first brought back to it (`tfgen.data.unfit_images`, undoing `image_fit`).

    Returns:
        `(moments, features or None, probabilities or None)`: FID's streaming moments
        always; the full feature array only if `keep_features` (KID, precision/recall).
    """
    moments, features, probabilities = StreamingMoments(), [], []
    for index, start in enumerate(range(0, num_samples, batch_size)):
        count = min(batch_size, num_samples - start)
        images = model.sample_images(count, seed * 1_000_003 + index)
        if shape is not None:
            images = data_lib.unfit_images(images, shape, image_fit)
        batch_features, batch_probabilities = extractor.outputs(images)
        moments.update(batch_features)
        if keep_features:
            features.append(batch_features)
        if batch_probabilities is not None:
            probabilities.append(batch_probabilities)
    return (moments, np.concatenate(features) if keep_features else None,
            np.concatenate(probabilities) if probabilities else None)


def sample_quality(model, dataset, groups, extractor, num_samples=10_000, seed=0,
                   reference_split=REFERENCE_SPLIT, image_fit="pad"):
    """FID, KID, IS, precision/recall and density/coverage of `model`'s samples.

    Args:
        model: an image model (`sample_images(num, seed)` in [0, 1]).
        dataset: the dataset whose `reference_split` the samples are compared with.
        groups: sample-quality groups from `GROUPS`.
        extractor: from `tfgen.metrics.extractors.get_extractor`.
        num_samples: generated images.
        seed: seeds the generated images.
        reference_split: the real images' split.
        image_fit: how the model's training images were fitted to its resolution
            (`pad` or `resize`, the run config's `image_fit`): samples of another size
            than the dataset's are cropped or resized back before the extractor sees
            them, so both sets are framed alike.

    Returns:
        `{name: value}`, e.g. `{"fid": ..., "kid": ..., "kid_std": ..., "precision": ...}`.
    """
    names = [name for group in groups for name in GROUPS[group]]
    if "is" in names and not extractor.has_probabilities:
        raise ValueError(f"the Inception Score needs class probabilities, which the "
                         f"{extractor.description} does not give")
    reference = extractors.reference_features(dataset, reference_split, extractor)
    _, info = data_lib.load(dataset, reference_split)
    keep = any(name != "fid" and name != "is" for name in names)
    moments, features, probabilities = generated_outputs(
        model, extractor, num_samples, seed, keep_features=keep, shape=info.shape,
        image_fit=image_fit)
    return compute.compute_metrics(
        names, real_features=reference["features"], fake_features=features,
        fake_probabilities=probabilities, fake_moments=moments,
        real_moments=StreamingMoments.from_features(reference["features"]), seed=seed)


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
    return {"negative_elbo": float(np.mean(single)), "nll": float(np.mean(bound)),
            "nll_examples": int(images.shape[0]), "nll_importance_samples": num_importance_samples}


def perplexity(model, dataset, batch_size=32):
    """Test loss, perplexity and bits of a language model on the test split's windows, in order."""
    documents, _ = data_lib.load(dataset, REFERENCE_SPLIT)
    tokens = text.tokenize(documents, model.tokenizer)
    windows = text.windows(tokens, model.context_length, batch_size, shuffle=False,
                           name=f"{dataset} {REFERENCE_SPLIT}")
    return likelihood.language_model_metrics(model, windows)


@dataclasses.dataclass
class Evaluation:
    """What `evaluate_run` measured and wrote (`metrics.json`'s content as `record`)."""

    values: dict
    record: dict
    path: Path


def evaluate_run(run_dir, groups=None, num_samples=10_000, extractor="classifier",
                 inception_weights=None, importance_samples=1000, nll_examples=None, seed=0,
                 checkpoint="latest"):
    """Evaluates a run's latest checkpoint and writes `RUN/metrics.json`.

    Values measured earlier with the same weights, extractor and sample count are
    kept beside the new ones, so `--metrics fid` then `--metrics kid` accumulate.
    `checkpoint` is `"latest"` or `"best"` (see `tfgen.training.load_run`).

    Returns:
        An `Evaluation`.
    """
    from tfgen.training import load_run

    run_dir = Path(run_dir)
    model, config, info, epoch = load_run(run_dir, checkpoint)
    groups = parse_groups(groups) if groups else default_groups(model)
    check_groups(model, groups)
    values, settings = {}, {"checkpoint": checkpoint, "seed": seed,
                            "reference_split": REFERENCE_SPLIT}
    quality = [g for g in groups if g in SAMPLE_QUALITY_GROUPS]
    if quality:
        feature_extractor = extractors.get_extractor(extractor, config.dataset, inception_weights)
        values.update(sample_quality(model, config.dataset, quality, feature_extractor,
                                     num_samples, seed,
                                     image_fit=getattr(config, "image_fit", "pad")))
        settings.update(extractor=feature_extractor.id,
                        extractor_description=feature_extractor.description,
                        num_samples=num_samples)
    if "nll" in groups:
        values.update(vae_likelihood(model, config.dataset, importance_samples, nll_examples,
                                     seed))
    if "ppl" in groups:
        values.update(perplexity(model, config.dataset))
    record = {"run": str(run_dir), "model": config.model, "dataset": config.dataset,
              "epoch": epoch, **settings, "tfgen_version": tfgen.__version__,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    path = run_dir / METRICS_FILE
    previous = _read(path)
    same = {k: record.get(k) for k in ("epoch", "checkpoint", "extractor", "num_samples", "seed")}
    if previous and all(previous.get(k) == v for k, v in same.items()):
        values = {**previous.get("metrics", {}), **values}
    record["metrics"] = {k: (float(v) if isinstance(v, float) and math.isfinite(v) else v)
                         for k, v in values.items()}
    write_atomically(path, json.dumps(record, indent=2) + "\n")
    return Evaluation(values, record, path)


def _read(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
