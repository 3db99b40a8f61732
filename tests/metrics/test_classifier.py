"""Tests for tfgen's per-dataset classifier: fingerprint, cache, outputs, errors, CLI."""

import contextlib
import dataclasses
import io
import json
import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from tfgen import data
from tfgen.metrics import classifier


def band_images(rng, labels, size=8):
    """Noisy 8x8 images whose bright horizontal band (2 rows) sits at row 2 * label."""
    images = rng.uniform(0.0, 0.3, (len(labels), size, size)).astype(np.float32)
    for image, label in zip(images, labels):
        image[2 * label : 2 * label + 2] += 0.7
    return images


def write_bands_npz(directory, labelled=True, seed=0):
    """Writes a 3-class band dataset (240 train, 60 test) and returns its `npz:` name."""
    rng = np.random.default_rng(seed)
    y_train, y_test = np.arange(240) % 3, np.arange(60) % 3
    arrays = {"x_train": band_images(rng, y_train), "x_test": band_images(rng, y_test)}
    if labelled:
        arrays.update(y_train=y_train, y_test=y_test)
    path = Path(directory) / f"bands-{seed}-{labelled}.npz"
    np.savez(path, **arrays)
    return f"npz:{path}"


def some_images(name, count=32):
    batch = next(data.load(name, "test")[0].batch(count).as_numpy_iterator())
    return batch["image"], batch["label"]


class BandsClassifierTest(tf.test.TestCase):
    """Training, caching and outputs on a tiny synthetic dataset."""

    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.name = write_bands_npz(self.tmp)
        self.cache_dir = self.tmp / "classifiers"

    def test_trains_once_then_loads_the_same_classifier_from_cache(self):
        first = classifier.load_or_train(self.name, self.cache_dir, epochs=3)
        self.assertFalse(first.loaded_from_cache)
        expected_path = classifier.cache_path(self.name, first.fingerprint, self.cache_dir)
        self.assertEqual(first.path, expected_path)
        self.assertTrue(first.path.name.endswith(f"-{first.fingerprint[:12]}.keras"))
        record = json.loads(first.path.with_suffix(".json").read_text())
        self.assertEqual(record["test_accuracy"], first.test_accuracy)
        self.assertEqual((record["epochs"], record["seed"]), (3, 0))
        self.assertGreater(first.test_accuracy, 0.9)
        mtime = os.stat(first.path).st_mtime_ns
        images, labels = some_images(self.name)

        second = classifier.load_or_train(self.name, self.cache_dir, epochs=3)
        self.assertTrue(second.loaded_from_cache)
        self.assertEqual(os.stat(first.path).st_mtime_ns, mtime)
        self.assertEqual(second.test_accuracy, first.test_accuracy)
        self.assertAllEqual(second.probabilities(images), first.probabilities(images))
        self.assertAllEqual(second.features(images), first.features(images))
        self.assertGreater(np.mean(second.predict_labels(images) == labels), 0.9)

    def test_outputs_shapes_and_probabilities(self):
        model = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        images, _ = some_images(self.name, 20)
        probabilities = model.probabilities(images)
        self.assertEqual(model.features(images).shape, (20, 128))
        self.assertEqual(probabilities.shape, (20, 3))
        self.assertAllClose(probabilities.sum(axis=-1), np.ones(20), atol=1e-5)
        self.assertAllGreaterEqual(probabilities, 0.0)
        labels = model.predict_labels(images)
        self.assertEqual(labels.dtype, np.int64)
        self.assertAllEqual(labels, probabilities.argmax(axis=-1))
        batches = tf.data.Dataset.from_tensor_slices(images).batch(7)
        self.assertAllClose(model.features(batches), model.features(images), atol=1e-5)

    def test_rejects_wrong_shapes_and_values_outside_unit_range(self):
        model = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        with self.assertRaisesRegex(ValueError, r"expected \(N, 8, 8, 1\)"):
            model.features(np.zeros((4, 28, 28, 1), np.float32))
        with self.assertRaisesRegex(ValueError, r"expects \[0, 1\]"):
            model.probabilities(np.full((4, 8, 8, 1), -1.0, np.float32))

    def test_other_training_settings_or_retrain_train_again(self):
        def cached(**settings):
            return classifier.load_or_train(self.name, self.cache_dir, **settings).loaded_from_cache

        first = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        self.assertFalse(cached(epochs=2))
        self.assertFalse(cached(epochs=2, seed=1))
        self.assertTrue(cached(epochs=2, seed=1))
        self.assertFalse(cached(epochs=2, seed=1, retrain=True))
        self.assertEqual(
            sorted(p.name for p in self.cache_dir.iterdir()),
            sorted([first.path.name, first.path.with_suffix(".json").name]),
        )

    def test_weights_digest_names_the_trained_network(self):
        first = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        cached = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        self.assertTrue(cached.loaded_from_cache)
        self.assertEqual(cached.weights_digest, first.weights_digest)
        self.assertRegex(first.weights_digest, "^[0-9a-f]{64}$")
        other = classifier.load_or_train(self.name, self.cache_dir, epochs=1, seed=1)
        self.assertEqual(other.fingerprint, first.fingerprint)
        self.assertNotEqual(other.weights_digest, first.weights_digest)

    def test_a_damaged_model_file_is_not_loaded_but_retrained(self):
        first = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        first.path.write_bytes(first.path.read_bytes()[:1000])
        again = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        self.assertFalse(again.loaded_from_cache)
        third = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        self.assertTrue(third.loaded_from_cache)

    def test_a_crash_while_saving_leaves_nothing_behind(self):
        def crash(model, path, *args, **kwargs):
            Path(path).write_bytes(b"PK half a zip")
            raise KeyboardInterrupt

        with mock.patch("keras.Model.save", crash), self.assertRaises(KeyboardInterrupt):
            classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        self.assertEqual(list(self.cache_dir.iterdir()), [])

    def test_a_changed_dataset_has_another_fingerprint_and_cache_file(self):
        first = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        path = Path(self.name.partition(":")[2])
        with np.load(path) as npz:
            arrays = dict(npz)
        arrays["x_train"][0, 0, 0] += 0.01
        np.savez(path, **arrays)
        second = classifier.load_or_train(self.name, self.cache_dir, epochs=1)
        self.assertFalse(second.loaded_from_cache)
        self.assertNotEqual(second.fingerprint, first.fingerprint)
        self.assertNotEqual(second.path, first.path)

    def test_command_line_trains_then_loads(self):
        args = ["--dataset", self.name, "--cache-dir", str(self.cache_dir), "--epochs", "1"]
        outputs = []
        for _ in range(2):
            with contextlib.redirect_stdout(io.StringIO()) as stdout:
                self.assertEqual(classifier.main(args), 0)
            outputs.append(stdout.getvalue())
        self.assertRegex(outputs[0], r"test accuracy: \d\.\d{4}")
        self.assertRegex(outputs[0], r"cache: .*\.keras \(trained\)")
        self.assertRegex(outputs[1], r"cache: .*\.keras \(loaded from cache\)")
        self.assertNotIn("Epoch", outputs[1])


@pytest.mark.slow
class MnistSubsetTest(tf.test.TestCase):
    """One short epoch on 2,048 real MNIST digits, cached in a temporary dir."""

    def test_short_training_on_real_digits_then_cached_load(self):
        cache_dir = Path(self.create_tempdir().full_path)
        first = classifier.load_or_train("mnist", cache_dir, epochs=1, max_train_examples=2048)
        self.assertFalse(first.loaded_from_cache)
        self.assertEqual(first.metadata["max_train_examples"], 2048)
        self.assertGreater(first.test_accuracy, 0.6)
        self.assertEqual((first.image_shape, first.num_classes), ((28, 28, 1), 10))
        images, _ = some_images("mnist", 64)
        mtime = os.stat(first.path).st_mtime_ns
        second = classifier.load_or_train("mnist", cache_dir, epochs=1, max_train_examples=2048)
        self.assertTrue(second.loaded_from_cache)
        self.assertEqual(os.stat(second.path).st_mtime_ns, mtime)
        self.assertEqual(second.features(images).shape, (64, 128))
        self.assertAllEqual(second.predict_labels(images), first.predict_labels(images))
        self.assertAllClose(second.probabilities(images).sum(axis=-1), np.ones(64), atol=1e-5)


class FingerprintAndErrorsTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)

    @pytest.mark.slow
    def test_fingerprint_is_stable_and_differs_across_datasets(self):
        mnist = classifier.dataset_fingerprint("mnist")
        self.assertRegex(mnist, r"^[0-9a-f]{64}$")
        self.assertEqual(classifier.dataset_fingerprint("mnist"), mnist)
        self.assertNotEqual(classifier.dataset_fingerprint("fashion_mnist"), mnist)
        bands = write_bands_npz(self.tmp)
        fingerprint = classifier.dataset_fingerprint(bands)
        self.assertEqual(classifier.dataset_fingerprint(bands), fingerprint)
        other = write_bands_npz(self.tmp, seed=1)
        self.assertNotEqual(classifier.dataset_fingerprint(other), fingerprint)

    def test_unlabelled_dataset_is_refused(self):
        name = write_bands_npz(self.tmp, labelled=False)
        with self.assertRaisesRegex(ValueError, "has no labels"):
            classifier.load_or_train(name, self.tmp / "classifiers")
        self.assertFalse((self.tmp / "classifiers").exists())
        with contextlib.redirect_stderr(io.StringIO()) as stderr, self.assertRaises(SystemExit):
            classifier.main(["--dataset", name, "--cache-dir", str(self.tmp)])
        self.assertIn("has no labels", stderr.getvalue())

    def test_non_image_and_unknown_datasets_are_refused(self):
        examples, info = data.load(write_bands_npz(self.tmp), "train")
        text = (examples, dataclasses.replace(info, modality="text"))
        with mock.patch.object(classifier.data, "load", return_value=text):
            with self.assertRaisesRegex(ValueError, "modality 'text'; a classifier needs images"):
                classifier.load_or_train("some_text", self.tmp)
        with self.assertRaisesRegex(ValueError, "Unknown dataset 'nope'"):
            classifier.load_or_train("nope", self.tmp)

    def test_cache_path_names_dataset_and_fingerprint(self):
        path = classifier.cache_path("folder:/a b/c", "0123456789abcdef", self.tmp)
        self.assertEqual(path, self.tmp / "folder_a_b_c-0123456789ab.keras")
        with mock.patch.dict(os.environ, {"TFGEN_DATA_DIR": str(self.tmp)}):
            path = classifier.cache_path("mnist", "f" * 64)
        self.assertEqual(path, self.tmp / "classifiers" / "mnist-ffffffffffff.keras")


class BuildClassifierTest(tf.test.TestCase):
    def test_same_seed_same_weights_other_seed_other_weights(self):
        weights = [
            classifier.build_classifier((28, 28, 1), 10, seed).get_weights() for seed in (0, 0, 1)
        ]
        for a, b in zip(weights[0], weights[1]):
            self.assertAllEqual(a, b)
        self.assertNotAllClose(weights[0][0], weights[2][0])

    def test_downsamples_to_at_most_seven_pixels(self):
        cases = (((28, 28, 1), 7 * 7 * 64), ((32, 32, 3), 4 * 4 * 128), ((8, 8, 1), 4 * 4 * 32))
        for shape, flat in cases:
            model = classifier.build_classifier(shape, 5)
            self.assertEqual(model.get_layer(classifier.FEATURES).input.shape, (None, flat))
            self.assertEqual(model.output_shape, (None, 5))


@pytest.mark.slow
class RealClassifierTest(tf.test.TestCase):
    """The default classifiers, trained into (or loaded from) the real cache dir."""

    def test_mnist_reaches_99_percent(self):
        model = classifier.load_or_train("mnist", verbose=2)
        self.assertGreaterEqual(model.test_accuracy, 0.99)
        images, labels = some_images("mnist", 1000)
        self.assertGreaterEqual(np.mean(model.predict_labels(images) == labels), 0.98)

    def test_fashion_mnist_reaches_90_percent(self):
        model = classifier.load_or_train("fashion_mnist", verbose=2)
        self.assertGreaterEqual(model.test_accuracy, 0.90)
