"""Tests for `npz:<path>` datasets: the Keras layout, a single `x`, and bad arrays."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgen import data


def all_examples(dataset, batch_size=10000):
    """Returns a dataset's elements as numpy arrays stacked per key."""
    batches = list(dataset.batch(batch_size).as_numpy_iterator())
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


class NpzTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.directory = Path(self.create_tempdir().full_path)
        self.rng = np.random.default_rng(0)

    def npz(self, **arrays) -> str:
        path = self.directory / "arrays.npz"
        np.savez(path, **arrays)
        return f"npz:{path}"

    def test_keras_layout_uint8_gets_a_channel_axis_and_is_scaled(self):
        x_train = self.rng.integers(0, 256, (8, 4, 6), dtype=np.uint8)
        x_test = self.rng.integers(0, 256, (3, 4, 6), dtype=np.uint8)
        name = self.npz(
            x_train=x_train, y_train=np.arange(8) % 4, x_test=x_test, y_test=np.array([1, 2, 6])
        )
        train, info = data.load(name, "train")
        test, _ = data.load(name, "test")
        self.assertEqual(info.shape, (4, 6, 1))
        self.assertEqual(info.num_classes, 7)
        self.assertEqual(info.num_examples, {"train": 8, "test": 3})
        self.assertEqual(
            train.element_spec,
            {"image": tf.TensorSpec((4, 6, 1), tf.float32), "label": tf.TensorSpec((), tf.int64)},
        )
        examples = all_examples(test)
        self.assertAllClose(examples["image"][..., 0], x_test / 255.0)
        self.assertAllEqual(examples["label"], [1, 2, 6])

    def test_single_x_holds_out_every_tenth_example(self):
        x = self.rng.uniform(size=(30, 3, 3, 3)).astype(np.float32)
        name = self.npz(x=x)
        train, info = data.load(name, "train")
        test, _ = data.load(name, "test")
        self.assertIsNone(info.num_classes)
        self.assertEqual(info.num_examples, {"train": 27, "test": 3})
        self.assertEqual(set(train.element_spec), {"image"})
        self.assertAllClose(all_examples(test)["image"], x[9::10])
        self.assertAllClose(all_examples(train)["image"], np.delete(x, [9, 19, 29], axis=0))

    def test_single_x_with_labels(self):
        x = self.rng.integers(0, 256, (20, 2, 2), dtype=np.uint8)
        y = np.arange(20).reshape(20, 1) % 3
        _, info = data.load(self.npz(x=x, y=y), "train")
        test, _ = data.load(self.npz(x=x, y=y), "test")
        self.assertEqual(info.num_classes, 3)
        self.assertAllEqual(all_examples(test)["label"], [9 % 3, 19 % 3])

    def test_missing_keys_are_named(self):
        expected = r"holds arrays images, labels; expected x_train and x_test"
        with self.assertRaisesRegex(ValueError, expected):
            data.load(self.npz(images=np.zeros((2, 2, 2)), labels=np.zeros(2)), "train")

    def test_wrong_dims_are_named(self):
        expected = r"x has shape \(4, 4\); expected \(N, height, width\).*Arrays in the file: x"
        with self.assertRaisesRegex(ValueError, expected):
            data.load(self.npz(x=np.zeros((4, 4), np.uint8)), "train")

    def test_floats_outside_the_unit_range(self):
        with self.assertRaisesRegex(ValueError, r"floats in \[0\.0, 255\.0\]"):
            data.load(self.npz(x=np.linspace(0, 255, 40).reshape(10, 2, 2)), "train")

    def test_labels_that_do_not_match_the_images(self):
        with self.assertRaisesRegex(ValueError, r"y_train has shape \(3,\).*expected 4"):
            data.load(
                self.npz(
                    x_train=np.zeros((4, 2, 2), np.uint8),
                    y_train=np.zeros(3, np.int64),
                    x_test=np.zeros((1, 2, 2), np.uint8),
                    y_test=np.zeros(1, np.int64),
                ),
                "train",
            )

    def test_one_label_array_without_its_partner(self):
        with self.assertRaisesRegex(ValueError, r"has y_train but not its partner"):
            data.load(
                self.npz(
                    x_train=np.zeros((4, 2, 2), np.uint8),
                    y_train=np.zeros(4, np.int64),
                    x_test=np.zeros((1, 2, 2), np.uint8),
                ),
                "test",
            )


if __name__ == "__main__":
    tf.test.main()
