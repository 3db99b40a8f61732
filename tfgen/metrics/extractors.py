"""Feature extractors for FID, KID, IS and precision/recall, and cached reference features.

Two extractors, looked up by name with `get_extractor`:

- `classifier`: tfgen's own per-dataset CNN (`tfgen.metrics.classifier.load_or_train`),
  trained on the dataset's train split the first time and cached: 128-d penultimate
  features, softmax over the dataset's classes. Works offline for any labelled dataset.
- `inception`: Keras' InceptionV3 with ImageNet weights read from a local file (nothing
  is downloaded): 2048-d pool features, softmax over the 1000 ImageNet classes (IS needs
  the weights file *with* the top). Images are resized to 299x299 and grayscale is
  repeated to 3 channels. Numbers are comparable to papers' only in spirit: papers use
  the TF1 Inception graph (pytorch-fid's port), whose weights differ.

Reference features of a dataset split are computed once per extractor and cached as
`<data_dir>/reference/<dataset>-<split>-<extractor id>.npz`.
"""

import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgen import data
from tfgen.utils.files import atomic_write

EXTRACTORS = ("classifier", "inception")
INCEPTION_FILES = {
    True: "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
    False: "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


class ClassifierExtractor:
    """tfgen's classifier of `dataset`: features `[N, 128]`, probabilities `[N, classes]`."""

    name = "classifier"

    def __init__(self, dataset, verbose=0):
        from tfgen.metrics.classifier import load_or_train

        self.classifier = load_or_train(dataset, verbose=verbose)
        # The dataset and the weights: classifiers trained on two CPUs differ.
        self.id = (
            f"classifier-{self.classifier.fingerprint[:12]}-{self.classifier.weights_digest[:8]}"
        )
        self.description = (
            f"tfgen classifier of {dataset} ({self.classifier.test_accuracy:.2%} "
            f"test accuracy; 128-d penultimate features)"
        )
        self.has_probabilities = True

    def outputs(self, images):
        """`(features, probabilities)` of `[N, H, W, C]` images in [0, 1], in one pass."""
        return self.classifier.features_and_probabilities(images)


class InceptionExtractor:
    """InceptionV3 pool features (2048-d) and, with the top, ImageNet probabilities.

    Args:
        weights: path of a Keras InceptionV3 weights file; default: the standard file
            names in `~/.keras/models/` (with top preferred).

    Raises:
        FileNotFoundError: if no weights file is found, saying where to put one.
    """

    name = "inception"

    def __init__(self, weights=None):
        import keras

        path = Path(weights) if weights else _find_inception_weights()
        if not path.is_file():
            raise FileNotFoundError(f"InceptionV3 weights not found at {path}")
        with_top = "notop" not in path.name
        model = keras.applications.InceptionV3(
            weights=str(path), include_top=with_top, pooling=None if with_top else "avg"
        )
        # With the top, "avg_pool" feeds the classifier; without, pooling="avg" is the output.
        outputs = [model.get_layer("avg_pool").output, model.output] if with_top else [model.output]
        self.model = keras.Model(model.inputs, outputs)
        self.has_probabilities = with_top
        self.id = f"inception-{'top' if with_top else 'notop'}"
        self.description = f"Keras InceptionV3 ({path.name}; 2048-d pool features)"

    def _run(self, images):
        import keras

        images = tf.convert_to_tensor(images, tf.float32)
        if images.shape[-1] == 1:
            images = tf.repeat(images, 3, axis=-1)
        images = tf.image.resize(images, (299, 299), method="bilinear")
        images = keras.applications.inception_v3.preprocess_input(images * 255.0)
        outputs = self.model.predict(images, batch_size=32, verbose=0)
        return outputs if isinstance(outputs, list) else [outputs]

    def outputs(self, images):
        """`(features, probabilities or None)` of `[N, H, W, C]` images in [0, 1], in one pass."""
        outputs = self._run(images)
        return outputs[0], (outputs[1] if self.has_probabilities else None)


def _find_inception_weights():
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    for with_top in (True, False):
        if (home / INCEPTION_FILES[with_top]).is_file():
            return home / INCEPTION_FILES[with_top]
    raise FileNotFoundError(
        f"InceptionV3 ImageNet weights are not available offline. Put "
        f"{INCEPTION_FILES[True]} (or the _notop file, without the Inception Score) in {home}, "
        f"or pass --inception-weights PATH; they are at "
        f"https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/. "
        f"Or use --extractor classifier, which needs no download."
    )


def get_extractor(name, dataset, inception_weights=None, verbose=0):
    """Returns the extractor `name` (`classifier` or `inception`) for `dataset`'s images.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
        FileNotFoundError: for `inception` without a local weights file.
    """
    if name == "classifier":
        return ClassifierExtractor(dataset, verbose=verbose)
    if name == "inception":
        return InceptionExtractor(inception_weights)
    raise ValueError(f"unknown extractor {name!r}; valid extractors are: {', '.join(EXTRACTORS)}")


def reference_path(dataset, split, extractor, cache_dir=None):
    """`<cache_dir>/<dataset>-<split>-<extractor.id>.npz` (default `<data_dir>/reference`)."""
    cache_dir = Path(cache_dir) if cache_dir else data.data_dir() / "reference"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset)
    return cache_dir / f"{safe}-{split}-{extractor.id}.npz"


def reference_features(dataset, split, extractor, cache_dir=None, batch_size=500):
    """Features (and probabilities, when the extractor has them) of every image of a split.

    Computed batch by batch the first time and cached (written atomically).

    Returns:
        `{"features": [N, d]}` (+ `"probabilities": [N, classes]`) NumPy arrays.
    """
    path = reference_path(dataset, split, extractor, cache_dir)
    if path.is_file():
        with np.load(path) as cached:
            return {key: cached[key] for key in cached.files}
    examples, _ = data.load(dataset, split)
    parts = {"features": []}
    if extractor.has_probabilities:
        parts["probabilities"] = []
    for batch in examples.batch(batch_size):
        features, probabilities = extractor.outputs(batch["image"])
        parts["features"].append(features)
        if extractor.has_probabilities:
            parts["probabilities"].append(probabilities)
    arrays = {key: np.concatenate(values).astype(np.float32) for key, values in parts.items()}
    with atomic_write(path) as file:
        np.savez(file, **arrays)
    return arrays
