"""Tests for `windows`: next-token pairs, seeded shuffling, coverage and too-short texts."""

import numpy as np
import tensorflow as tf

from tfgen import text


def documents_of_ids(*lengths, start=0):
    """A dataset of 1-D documents whose ids count up across documents: 0, 1, 2, ..."""
    bounds = np.cumsum((start,) + lengths)
    return tf.data.Dataset.from_generator(
        lambda: (np.arange(a, b, dtype=np.int32) for a, b in zip(bounds[:-1], bounds[1:])),
        output_signature=tf.TensorSpec([None], tf.int32),
    )


def epoch(dataset):
    return [(x.numpy(), y.numpy()) for x, y in dataset]


class WindowsTest(tf.test.TestCase):
    def test_targets_are_the_inputs_shifted_by_one(self):
        dataset = text.windows(documents_of_ids(30, 20), context_length=8, batch_size=2, seed=0)
        self.assertEqual(
            dataset.element_spec,
            (tf.TensorSpec((2, 8), tf.int32), tf.TensorSpec((2, 8), tf.int32)),
        )
        for inputs, targets in epoch(dataset):
            self.assertAllEqual(inputs[:, 1:], targets[:, :-1])
            self.assertAllEqual(targets, inputs + 1)  # Ids count up across the two documents.

    def test_each_epoch_covers_every_window_once_in_a_seeded_order(self):
        # 50 ids, windows of 9 every 8 ids: starts 0, 8, ..., 40 -> 6 windows, 3 batches of 2.
        dataset = text.windows(documents_of_ids(50), context_length=8, batch_size=2, seed=3)
        self.assertEqual(int(dataset.cardinality()), 3)
        first, second = epoch(dataset), epoch(dataset)
        starts = sorted(int(x[0]) for inputs, _ in first for x in inputs)
        self.assertEqual(starts, [0, 8, 16, 24, 32, 40])
        again = epoch(text.windows(documents_of_ids(50), context_length=8, batch_size=2, seed=3))
        self.assertAllEqual(np.stack([x for x, _ in again]), np.stack([x for x, _ in first]))
        self.assertNotAllEqual(np.stack([x for x, _ in second]), np.stack([x for x, _ in first]))
        other = epoch(text.windows(documents_of_ids(50), context_length=8, batch_size=2, seed=4))
        self.assertNotAllEqual(np.stack([x for x, _ in other]), np.stack([x for x, _ in first]))

    def test_each_epoch_order_depends_only_on_seed_and_epoch(self):
        def starts(**kwargs):
            dataset = text.windows(documents_of_ids(50), 8, 2, seed=3, **kwargs)
            return [int(row[0]) for inputs, _ in epoch(dataset) for row in inputs]

        straight = starts(epochs=3, steps_per_epoch=2)
        self.assertLen(straight, 3 * 2 * 2)
        self.assertEqual(starts(epochs=3, initial_epoch=1, steps_per_epoch=2), straight[4:])
        self.assertNotEqual(straight[:4], straight[4:8])  # Reshuffled every epoch.
        full = starts(epochs=2)  # 6 windows, 3 full batches per epoch, each window once.
        self.assertEqual(sorted(full[:6]), [0, 8, 16, 24, 32, 40])
        self.assertEqual(sorted(full[6:]), [0, 8, 16, 24, 32, 40])
        self.assertEqual(text.window_count(50, 8), 6)
        self.assertEqual(text.window_count(50, 8, stride=1), 42)
        self.assertEqual(text.window_count(8, 8), 0)

    def test_unshuffled_windows_are_in_order_and_stride_sets_the_starts(self):
        dataset = text.windows(documents_of_ids(12), 4, 3, shuffle=False, stride=1)
        batches = epoch(dataset)
        self.assertLen(batches, 2)  # 8 windows of 5 -> 2 full batches of 3; 2 windows dropped.
        self.assertAllEqual([row[0] for x, _ in batches for row in x], [0, 1, 2, 3, 4, 5])

    def test_too_short_text_names_the_split_and_the_length_needed(self):
        with self.assertRaisesRegex(
            ValueError,
            r"shakespeare validation has only 7 tokens; .*context_length 8 needs at least 9",
        ):
            text.windows(documents_of_ids(3, 4), 8, 1, seed=0, name="shakespeare validation")
        with self.assertRaisesRegex(ValueError, r"text:a.txt test is empty; .* at least 65 tokens"):
            text.windows(documents_of_ids(0), 64, 1, seed=0, name="text:a.txt test")

    def test_fewer_windows_than_one_batch(self):
        with self.assertRaisesRegex(
            ValueError,
            r"tiny train has 20 tokens, which give 2 windows .* 4; "
            r"it needs at least 33 tokens",
        ):
            text.windows(documents_of_ids(20), 8, 4, seed=0, name="tiny train")

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "needs a seed"):
            text.windows(documents_of_ids(50), 8, 2)
        with self.assertRaisesRegex(ValueError, "context_length must be at least 1"):
            text.windows(documents_of_ids(50), 0, 2, seed=0)

    def test_from_text_documents(self):
        documents = tf.data.Dataset.from_tensor_slices({"text": ["abcdefgh", "ijklmnop"]})
        tokenizer = text.CharTokenizer.train(["abcdefghijklmnop"])
        ((inputs, targets),) = epoch(
            text.windows(text.tokenize(documents, tokenizer), 7, 2, shuffle=False, stride=8)
        )
        self.assertEqual([tokenizer.decode(row) for row in inputs], ["abcdefg", "ijklmno"])
        self.assertEqual([tokenizer.decode(row) for row in targets], ["bcdefgh", "jklmnop"])


if __name__ == "__main__":
    tf.test.main()
