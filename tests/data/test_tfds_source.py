"""Tests for `tfds:<name>` datasets: mapping, held-out splits and failing fast offline."""

import os
import socket
import time
from unittest import mock

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgen import data
from tfgen.data import tfds_source
from tfgen.data.errors import DatasetUnavailableError


def all_examples(dataset, batch_size=10000):
    """Returns a dataset's elements as numpy arrays stacked per key."""
    batches = list(dataset.batch(batch_size).as_numpy_iterator())
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


class TfdsTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        # An empty TFDS data dir: nothing is prepared, so nothing can be read by accident.
        self.tfds_dir = self.create_tempdir().full_path
        patcher = mock.patch.dict(os.environ, {"TFDS_DATA_DIR": self.tfds_dir})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_mock_mnist_maps_image_and_label(self):
        # `mock_data` makes `download_and_prepare` a no-op: saying the network is up downloads nothing.
        with (
            tfds.testing.mock_data(num_examples=6),
            mock.patch.object(tfds_source, "network_available", return_value=True),
        ):
            dataset, info = data.load("tfds:mnist", "test")
            examples = all_examples(dataset)
        self.assertEqual(info.shape, (28, 28, 1))
        self.assertEqual(info.num_classes, 10)
        self.assertEqual(info.splits, {"train": "train", "test": "test"})
        self.assertEqual(
            dataset.element_spec,
            {"image": tf.TensorSpec((28, 28, 1), tf.float32), "label": tf.TensorSpec((), tf.int64)},
        )
        self.assertEqual(examples["image"].shape, (6, 28, 28, 1))
        self.assertAllInRange(examples["image"], 0.0, 1.0)
        self.assertAllInRange(examples["label"], 0, 9)

    def test_prepared_dataset_without_test_split_holds_out_the_end_of_train(self):
        images = np.random.default_rng(0).integers(0, 256, (20, 4, 6, 3), dtype=np.uint8)
        tfds.dataset_builders.store_as_tfds_dataset(
            name="tfgen_tiny_rgb",
            version="1.0.0",
            features=tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(4, 6, 3))}),
            split_datasets={"train": tf.data.Dataset.from_tensor_slices({"image": images})},
            data_dir=self.tfds_dir,
            disable_shuffling=True,
        )
        with mock.patch.object(
            tfds_source, "network_available", side_effect=AssertionError("probed")
        ):
            train, info = data.load("tfds:tfgen_tiny_rgb", "train")
            test, _ = data.load("tfds:tfgen_tiny_rgb", "test")
        self.assertEqual(info.splits, {"train": "train[:90%]", "test": "train[90%:]"})
        self.assertEqual(info.num_examples, {"train": 18, "test": 2})
        self.assertEqual(info.shape, (4, 6, 3))
        self.assertIsNone(info.num_classes)
        self.assertAllClose(all_examples(test)["image"], images[18:] / 255.0)
        self.assertLen(list(train), 18)

    def test_unprepared_dataset_without_network_fails_fast_and_says_how_to_get_it(self):
        start = time.monotonic()
        with mock.patch.object(tfds_source, "network_available", return_value=False) as probe:
            with self.assertRaises(DatasetUnavailableError) as caught:
                data.load("tfds:mnist", "train")
        self.assertLess(time.monotonic() - start, 30)
        probe.assert_called_once()
        self.assertIn(("storage.googleapis.com", 443), probe.call_args.args[0])
        message = str(caught.exception)
        self.assertIn(f"not prepared in the TFDS data dir {self.tfds_dir}", message)
        self.assertIn("tfds.builder('mnist').download_and_prepare()", message)
        self.assertIn("TFDS_DATA_DIR", message)
        self.assertIn("The offline name `mnist`", message)

    def test_network_probe_is_quick_and_honest(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            self.assertTrue(tfds_source.network_available([listener.getsockname()], timeout=3))
        start = time.monotonic()
        self.assertFalse(
            tfds_source.network_available([("tfgen-no-such-host.invalid", 443)], timeout=3)
        )
        self.assertLess(time.monotonic() - start, 5)


if __name__ == "__main__":
    tf.test.main()
