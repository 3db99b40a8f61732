"""tfgen's own per-dataset image classifier, trained on demand and cached.

Sample-quality metrics need a network that knows the data: FID, KID and
precision/recall compare its penultimate-layer `features`, IS reads its
`probabilities`, and the class-conditional GAN check reads `predict_labels`.
No pretrained weights can be had offline, so tfgen trains a small CNN on the
dataset's train split the first time one is asked for, measures it on the test
split, and caches it as `<data_dir>/classifiers/<dataset>-<fingerprint[:12]>.keras`
beside a `.json` record. A changed dataset has another fingerprint and retrains.

    python -m tfgen.metrics.classifier --dataset mnist
"""

import argparse
import hashlib
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import tfgen
from tfgen import data
from tfgen.utils.files import write_atomically

VERSION = 1
"""Architecture and training recipe version; bumping it retrains every cached classifier."""
DEFAULT_EPOCHS = 5
BATCH_SIZE = 128
PEAK_LEARNING_RATE = 2e-3
FEATURES = "features"
"""Name of the penultimate layer (128 ReLU units) whose output `features()` returns."""


def checked_info(dataset):
    """Returns the `DatasetInfo` of `dataset`; raises `ValueError` unless it is labelled images."""
    _, info = data.load(dataset, "train")
    if info.modality != "image":
        raise ValueError(
            f"Dataset {dataset!r} has modality {info.modality!r}; a classifier needs images."
        )
    if info.num_classes is None:
        raise ValueError(
            f"Dataset {dataset!r} has no labels (num_classes is None); a classifier needs "
            "labelled images (e.g. class subdirectories, or y_train/y_test arrays)."
        )
    return info


def dataset_fingerprint(dataset):
    """Returns the SHA-256 hex digest of a dataset's contents, as tfgen loads them.

    Hashes the shape, the class count and, per split, every float32 image and int64
    label in order. It works for every source (fetched, `tfds:`, `folder:`, `npz:`)
    and changes when any pixel, label or the order changes. MNIST takes about 2 s.

    Args:
        dataset: a name `tfgen.data.load` accepts.
    """
    digest = hashlib.sha256()
    for split in ("train", "test"):
        examples, info = data.load(dataset, split)
        header = {"split": split, "shape": list(info.shape), "num_classes": info.num_classes}
        digest.update(json.dumps(header, sort_keys=True).encode())
        for batch in examples.batch(8192).as_numpy_iterator():
            digest.update(np.ascontiguousarray(batch["image"], np.float32).tobytes())
            if "label" in batch:
                digest.update(np.ascontiguousarray(batch["label"], np.int64).tobytes())
    return digest.hexdigest()


def build_classifier(shape, num_classes, seed=0):
    """Returns an uncompiled CNN mapping `[N, H, W, C]` images in [0, 1] to class logits.

    Blocks of conv (3x3, ReLU) + 2x2 max-pool, 32 then 64 filters (up to 128), until
    the feature map is at most 7 pixels on its shorter side; then dropout, the
    128-unit `"features"` layer, dropout and the `"logits"` layer (dropout 0.25). Weights and
    dropout masks come from `seed` alone; no global random state is read or set.
    """
    seeds = iter(range(seed * 100, seed * 100 + 100))
    inputs = keras.Input(tuple(shape), name="image")
    x, size, filters = inputs, min(shape[:2]), 32
    while True:
        x = keras.layers.Conv2D(
            filters,
            3,
            padding="same",
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(next(seeds)),
        )(x)
        if size < 2:
            break
        x, size, filters = keras.layers.MaxPooling2D()(x), size // 2, min(2 * filters, 128)
        if size <= 7:
            break
    x = keras.layers.Flatten()(keras.layers.Dropout(0.25, seed=next(seeds))(x))
    x = keras.layers.Dense(
        128,
        activation="relu",
        name=FEATURES,
        kernel_initializer=keras.initializers.GlorotUniform(next(seeds)),
    )(x)
    x = keras.layers.Dropout(0.25, seed=next(seeds))(x)
    logits = keras.layers.Dense(
        num_classes, name="logits", kernel_initializer=keras.initializers.GlorotUniform(next(seeds))
    )(x)
    return keras.Model(inputs, logits, name="dataset_classifier")


def _pairs(dataset, split, max_examples=None):
    examples, _ = data.load(dataset, split)
    if max_examples:
        examples = examples.take(max_examples)
    return examples.map(lambda example: (example["image"], example["label"]))


def train_classifier(dataset, epochs=DEFAULT_EPOCHS, seed=0, max_train_examples=None, verbose=0):
    """Trains `build_classifier` on the train split; returns `(model, test_accuracy)`.

    Adam with a cosine learning-rate decay from `PEAK_LEARNING_RATE` to 0 over the
    run (on MNIST, +0.1% test accuracy over a constant 1e-3 in 4 epochs). The train
    split is shuffled with `seed` (a buffer of all examples, at most 256 MB); the accuracy
    is measured on the whole test split.
    """
    info = checked_info(dataset)
    known = info.num_examples.get("train") or -1
    count = min(known if known > 0 else 60000, max_train_examples or np.inf)
    buffer = max(1000, min(int(count), 2**28 // (4 * int(np.prod(info.shape)))))
    train = _pairs(dataset, "train", max_train_examples).shuffle(buffer, seed=seed)
    train = train.batch(BATCH_SIZE)
    steps = -(-int(count) // BATCH_SIZE)  # batches per epoch, rounded up
    model = build_classifier(info.shape, info.num_classes, seed)
    schedule = keras.optimizers.schedules.CosineDecay(PEAK_LEARNING_RATE, max(1, steps * epochs))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        metrics=["accuracy"],
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(train.prefetch(tf.data.AUTOTUNE), epochs=epochs, verbose=verbose)
    test = _pairs(dataset, "test").batch(512).prefetch(tf.data.AUTOTUNE)
    return model, float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"])


def weights_digest(model):
    """SHA-256 (hex) of a model's weights in order: equal digests, identical networks."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


class DatasetClassifier:
    """A trained classifier of one dataset's images, as `load_or_train` returns it.

    Attributes:
        model: the Keras model, `[N, H, W, C]` images in [0, 1] -> class logits.
        dataset, fingerprint: what it was trained on (see `dataset_fingerprint`).
        weights_digest: SHA-256 of the weights. Training is not bit-reproducible across
            CPUs, so two machines' classifiers of one dataset differ, and so do their
            FIDs: this names the network that measured a number.
        test_accuracy: accuracy on the test split, measured when it was trained.
        path: the cached `.keras` file; `metadata`: the record stored beside it.
        loaded_from_cache: False if this call trained it.
    """

    def __init__(self, model, metadata, path, loaded_from_cache):
        self.model, self.metadata, self.path = model, metadata, Path(path)
        self.loaded_from_cache = loaded_from_cache
        self.dataset, self.fingerprint = metadata["dataset"], metadata["fingerprint"]
        self.test_accuracy = metadata["test_accuracy"]
        self.weights_digest = weights_digest(model)
        self.image_shape = tuple(model.input_shape[1:])
        self.num_classes = int(model.output_shape[-1])
        self._outputs = keras.Model(model.inputs, [model.get_layer(FEATURES).output, model.output])

    def _run(self, images, batch_size):
        if not isinstance(images, tf.data.Dataset):
            images = np.asarray(images, np.float32)
            if images.shape[1:] != self.image_shape:
                expected = ", ".join(map(str, self.image_shape))
                raise ValueError(
                    f"Images shaped {images.shape} given to the {self.dataset!r} "
                    f"classifier; expected (N, {expected})."
                )
            if images.size and (images.min() < -1e-3 or images.max() > 1 + 1e-3):
                raise ValueError(
                    f"Image values span [{images.min():.3g}, {images.max():.3g}]; "
                    f"the {self.dataset!r} classifier expects [0, 1] "
                    "(rescale [-1, 1] outputs)."
                )
        return self._outputs.predict(images, batch_size=batch_size, verbose=0)

    def features(self, images, batch_size=256):
        """Returns the `[N, 128]` penultimate-layer features (for FID, KID, precision/recall).

        Args:
            images: `[N, H, W, C]` float array or tensor in [0, 1], or a `tf.data.Dataset`
                of such batches.
            batch_size: images per forward pass (arrays only).
        """
        return self._run(images, batch_size)[0]

    def probabilities(self, images, batch_size=256):
        """Returns `[N, num_classes]` class probabilities (softmax; for IS). Args as `features`."""
        return tf.nn.softmax(self._run(images, batch_size)[1]).numpy()

    def features_and_probabilities(self, images, batch_size=256):
        """Returns `(features, probabilities)` from one forward pass. Args as `features`."""
        features, logits = self._run(images, batch_size)
        return features, tf.nn.softmax(logits).numpy()

    def predict_labels(self, images, batch_size=256):
        """Returns the `[N]` int64 most probable classes. Args as `features`."""
        return np.argmax(self._run(images, batch_size)[1], axis=-1).astype(np.int64)


def cache_path(dataset, fingerprint, cache_dir=None):
    """Returns `<cache_dir>/<dataset>-<fingerprint[:12]>.keras`; `cache_dir` defaults to
    `<data_dir>/classifiers`. Characters other than letters, digits, `_.-` become `_`."""
    cache_dir = Path(cache_dir) if cache_dir else data.data_dir() / "classifiers"
    return cache_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', dataset)}-{fingerprint[:12]}.keras"


def _file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_cached(path, expected):
    """Returns the cached record if it matches `expected` and the model file, else None."""
    try:
        metadata = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    if any(metadata.get(key) != value for key, value in expected.items()):
        return None
    if not path.is_file() or _file_sha256(path) != metadata.get("model_sha256"):
        return None
    return metadata


def _save(model, path, metadata):
    """Saves the model, then its record, each by one `os.replace`; the record names the model's
    SHA-256, so a crash between the two leaves a pair `_read_cached` rejects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tmp-") as tmp:
        tmp_path = Path(tmp) / path.name
        model.save(tmp_path)
        metadata = {**metadata, "model_sha256": _file_sha256(tmp_path)}
        os.replace(tmp_path, path)
    write_atomically(path.with_suffix(".json"), json.dumps(metadata, indent=2) + "\n")
    return metadata


def load_cached(dataset, cache_dir=None):
    """The cached default classifier of `dataset` (as `load_or_train()` caches it), or None.

    Never trains: for callers whose use of the classifier is optional (projection's
    feature distance). A dataset that cannot be read here also gives None.
    """
    from tfgen.data import DatasetUnavailableError

    prefix = cache_path(dataset, "", cache_dir)  # <cache>/<dataset>-.keras
    if not any(prefix.parent.glob(prefix.stem + "*.json")):
        return None  # Nothing cached: skip fingerprinting the dataset.
    try:
        fingerprint = dataset_fingerprint(dataset)
    except (DatasetUnavailableError, ValueError, OSError):
        return None
    path = cache_path(dataset, fingerprint, cache_dir)
    metadata = _read_cached(
        path,
        {
            "dataset": dataset,
            "fingerprint": fingerprint,
            "version": VERSION,
            "epochs": DEFAULT_EPOCHS,
            "seed": 0,
            "max_train_examples": None,
        },
    )
    if metadata is None:
        return None
    return DatasetClassifier(keras.saving.load_model(path), metadata, path, loaded_from_cache=True)


def load_or_train(
    dataset,
    cache_dir=None,
    epochs=DEFAULT_EPOCHS,
    seed=0,
    max_train_examples=None,
    retrain=False,
    verbose=0,
):
    """Loads the cached classifier of `dataset`, training and caching it first if needed.

    A cached classifier is reused when its dataset fingerprint, `VERSION`, `epochs`,
    `seed` and `max_train_examples` all match; otherwise it is trained again and
    replaces the cached one. Nothing half-written is ever loaded.

    Args:
        dataset: a labelled image dataset name `tfgen.data.load` accepts, e.g. `"mnist"`.
        cache_dir: where classifiers are cached; default `<data_dir>/classifiers`.
        epochs: training epochs over the train split.
        seed: seeds the weights, dropout and the shuffle order.
        max_train_examples: train on only the first this-many examples (for tests).
        retrain: train even if a matching classifier is cached.
        verbose: 0 is silent; 1 or 2 print progress (as in `keras.Model.fit`).

    Returns:
        A `DatasetClassifier`.

    Raises:
        ValueError: if the dataset is unknown, not images or has no labels.
    """
    checked_info(dataset)
    fingerprint = dataset_fingerprint(dataset)
    path = cache_path(dataset, fingerprint, cache_dir)
    expected = {
        "dataset": dataset,
        "fingerprint": fingerprint,
        "version": VERSION,
        "epochs": epochs,
        "seed": seed,
        "max_train_examples": max_train_examples,
    }
    metadata = None if retrain else _read_cached(path, expected)
    if metadata is not None:
        model = keras.saving.load_model(path)
        return DatasetClassifier(model, metadata, path, loaded_from_cache=True)
    if verbose:
        print(f"Training the {dataset!r} classifier ({epochs} epochs); it will be cached at {path}")
    start = time.perf_counter()
    model, accuracy = train_classifier(dataset, epochs, seed, max_train_examples, verbose)
    metadata = _save(
        model,
        path,
        {
            **expected,
            "test_accuracy": accuracy,
            "train_seconds": round(time.perf_counter() - start, 1),
            "tfgen": tfgen.__version__,
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
        },
    )
    return DatasetClassifier(model, metadata, path, loaded_from_cache=False)


def main(argv=None):
    """The command line: trains or loads a classifier, prints its test accuracy, path and time."""
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.metrics.classifier", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--dataset", required=True, help=f"a labelled image dataset: {', '.join(data.names())}"
    )
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="training epochs")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, dropout, shuffle")
    parser.add_argument("--cache-dir", help="default: <data_dir>/classifiers")
    parser.add_argument("--retrain", action="store_true", help="train even if one is cached")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*shuffle=True.*")  # Keras 3.15 warns on every fit
    start = time.perf_counter()
    try:
        classifier = load_or_train(
            args.dataset, args.cache_dir, args.epochs, args.seed, retrain=args.retrain, verbose=2
        )
    except ValueError as error:
        parser.error(str(error))
    how = "loaded from cache" if classifier.loaded_from_cache else "trained"
    print(f"dataset:       {classifier.dataset} (fingerprint {classifier.fingerprint[:12]})")
    print(f"test accuracy: {classifier.test_accuracy:.4f}")
    print(f"cache:         {classifier.path} ({how})")
    print(f"time:          {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
