"""Sample quality of an image model: its samples' features against a real split's.

`sample_quality(model, dataset, groups, extractor)` is what `tfgen.evaluate` and the
training callback both measure.
"""

import numpy as np

from tfgen import data as data_lib
from tfgen.metrics import compute, extractors
from tfgen.metrics.statistics import StreamingMoments

REFERENCE_SPLIT = "test"
QUALITY_GROUPS = {
    "fid": ("fid",),
    "kid": ("kid",),
    "is": ("is",),
    "pr": ("precision", "recall"),
    "dc": ("density", "coverage"),
}
"""Sample-quality groups and the values each one measures."""


def generated_outputs(
    model,
    extractor,
    num_samples,
    seed=0,
    batch_size=500,
    keep_features=True,
    shape=None,
    image_fit=data_lib.DEFAULT_IMAGE_FIT,
):
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
    return (
        moments,
        np.concatenate(features) if keep_features else None,
        np.concatenate(probabilities) if probabilities else None,
    )


def sample_quality(
    model,
    dataset,
    groups,
    extractor,
    num_samples=10_000,
    seed=0,
    reference_split=REFERENCE_SPLIT,
    image_fit=data_lib.DEFAULT_IMAGE_FIT,
):
    """FID, KID, IS, precision/recall and density/coverage of `model`'s samples.

    Args:
        model: an image model (`sample_images(num, seed)` in [0, 1]).
        dataset: the dataset whose `reference_split` the samples are compared with.
        groups: sample-quality groups from `QUALITY_GROUPS`.
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
    names = [name for group in groups for name in QUALITY_GROUPS[group]]
    if "is" in names and not extractor.has_probabilities:
        raise ValueError(
            f"the Inception Score needs class probabilities, which the "
            f"{extractor.description} does not give"
        )
    reference = extractors.reference_features(dataset, reference_split, extractor)
    _, info = data_lib.load(dataset, reference_split)
    keep = any(name != "fid" and name != "is" for name in names)
    moments, features, probabilities = generated_outputs(
        model,
        extractor,
        num_samples,
        seed,
        keep_features=keep,
        shape=info.shape,
        image_fit=image_fit,
    )
    return compute.compute_metrics(
        names,
        real_features=reference["features"],
        fake_features=features,
        fake_probabilities=probabilities,
        fake_moments=moments,
        real_moments=StreamingMoments.from_features(reference["features"]),
        seed=seed,
    )
