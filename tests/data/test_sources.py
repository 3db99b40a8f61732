"""Tests for the dataset registry: the named datasets, `names()` and bad names or splits."""

import numpy as np
import tensorflow as tf

from tfgen import data
from tfgen.data import sources


def all_examples(dataset, batch_size=10000):
    """Returns a dataset's elements as numpy arrays stacked per key."""
    batches = list(dataset.batch(batch_size).as_numpy_iterator())
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


class NamedDatasetsTest(tf.test.TestCase):
    """mnist, binarized_mnist and fashion_mnist, from the real cache (`make data` fetches it)."""

    def test_mnist_test_split(self):
        dataset, info = data.load("mnist", "test")
        self.assertEqual(info.shape, (28, 28, 1))
        self.assertEqual(info.num_classes, 10)
        self.assertEqual(info.num_examples, {"train": 60000, "test": 10000})
        self.assertFalse(info.binarized)
        self.assertEqual(
            dataset.element_spec,
            {"image": tf.TensorSpec((28, 28, 1), tf.float32), "label": tf.TensorSpec((), tf.int64)},
        )
        examples = all_examples(dataset)
        self.assertEqual(examples["image"].shape, (10000, 28, 28, 1))
        self.assertEqual(examples["image"].min(), 0.0)
        self.assertEqual(examples["image"].max(), 1.0)
        self.assertAllEqual(
            np.bincount(examples["label"]), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
        )

    def test_train_and_test_are_the_disjoint_60000_and_10000(self):
        for name in ("mnist", "binarized_mnist", "fashion_mnist"):
            train, info = data.load(name, "train")
            test, _ = data.load(name, "test")
            self.assertEqual(int(train.cardinality()), 60000)
            self.assertEqual(int(test.cardinality()), 10000)
            self.assertEqual(info.splits, {"train": "train", "test": "test"})

    def test_binarized_mnist_leaves_binarizing_to_the_pipeline(self):
        dataset, info = data.load("binarized_mnist", "test")
        self.assertTrue(info.binarized)
        self.assertEqual(info.name, "binarized_mnist")
        images = next(iter(dataset.batch(100)))["image"].numpy()
        self.assertTrue(np.any((images > 0) & (images < 1)))  # Intensities, not {0, 1} draws.

    def test_fashion_mnist_has_6000_training_images_per_class(self):
        dataset, info = data.load("fashion_mnist", "train")
        self.assertEqual(info.num_classes, 10)
        labels = np.concatenate(
            list(dataset.map(lambda e: e["label"]).batch(20000).as_numpy_iterator())
        )
        self.assertAllEqual(np.bincount(labels), [6000] * 10)


class RegistryTest(tf.test.TestCase):
    def test_names_come_from_the_registry(self):
        self.assertEqual(
            data.names(),
            [
                "mnist",
                "binarized_mnist",
                "fashion_mnist",
                "shakespeare",
                "tfds:<name>",
                "folder:<path>",
                "npz:<path>",
                "text:<path>",
            ],
        )
        self.assertEqual(data.names()[:4], list(sources.DATASETS))

    def test_unknown_name_lists_names_and_prefixes(self):
        expected = r"Unknown dataset 'cifar10'; valid names: mnist, .*tfds:<name>, folder:<path>, npz:<path>"
        with self.assertRaisesRegex(ValueError, expected):
            data.load("cifar10")

    def test_prefix_without_argument(self):
        with self.assertRaisesRegex(ValueError, r"needs a <path> after 'folder:'"):
            data.load("folder:")

    def test_unknown_split(self):
        expected = r"Unknown split 'validation'; valid splits: train, test"
        with self.assertRaisesRegex(ValueError, expected):
            data.load("mnist", "validation")


if __name__ == "__main__":
    tf.test.main()
