"""Seeded training and evaluation pipelines: order, binarization, per-example seeds."""

import numpy as np
import tensorflow as tf

from tfgen.data import DatasetInfo, eval_batches, steps_per_epoch, training_batches


def toy(n=20, binarized=True):
    images = np.linspace(0.05, 0.95, n * 16, dtype="float32").reshape(n, 4, 4, 1)
    dataset = tf.data.Dataset.from_tensor_slices({"image": images, "label": np.arange(n)})
    info = DatasetInfo(
        "toy", "image", (4, 4, 1), num_examples={"train": n, "test": n}, binarized=binarized
    )
    return dataset, info, images


def epochs_of(batches, steps):
    batches = list(batches)
    return [batches[i : i + steps] for i in range(0, len(batches), steps)]


class TrainingBatchesTest(tf.test.TestCase):
    def test_each_epoch_is_a_new_permutation_of_all_full_batches(self):
        dataset, info, _ = toy(binarized=False)
        batches, steps = training_batches(dataset, info, batch_size=6, seed=1, epochs=3)
        self.assertEqual(steps, 3)  # 20 // 6, the remainder is dropped
        orders = [
            np.concatenate([b["label"].numpy() for b in epoch])
            for epoch in epochs_of(batches, steps)
        ]
        self.assertLen(orders, 3)
        for order in orders:
            self.assertLen(set(order), 18)
        self.assertNotAllEqual(orders[0], orders[1])

    def test_resuming_at_an_epoch_reproduces_it(self):
        dataset, info, _ = toy()
        full, steps = training_batches(dataset, info, batch_size=5, seed=2, epochs=3)
        resumed, _ = training_batches(
            dataset, info, batch_size=5, seed=2, epochs=3, initial_epoch=2
        )
        last_epoch = epochs_of(full, steps)[2]
        for a, b in zip(last_epoch, resumed):
            for key in ("image", "label", "seed"):
                self.assertAllEqual(a[key], b[key])

    def test_dynamic_binarization_is_fresh_each_epoch_and_unbiased(self):
        dataset, info, images = toy(n=20)
        batches, steps = training_batches(dataset, info, batch_size=20, seed=0, epochs=100)
        by_label = {e: {} for e in range(2)}
        sums = np.zeros_like(images)
        for epoch, (batch,) in enumerate(epochs_of(batches, steps)):
            pixels, labels = batch["image"].numpy(), batch["label"].numpy()
            self.assertAllInSet(pixels, [0.0, 1.0])
            sums[labels] += pixels
            if epoch < 2:
                by_label[epoch] = dict(zip(labels, pixels))
        self.assertNotAllEqual(by_label[0][3], by_label[1][3])
        # Each pixel is 1 with probability equal to its intensity.
        self.assertAllClose(sums / 100, images, atol=0.2)
        self.assertAllClose(np.mean(sums / 100), np.mean(images), atol=0.01)

    def test_every_example_gets_its_own_seed(self):
        dataset, info, _ = toy(binarized=False)
        batches, steps = training_batches(dataset, info, batch_size=5, seed=0, epochs=2)
        seeds = np.concatenate([b["seed"].numpy() for b in batches])
        self.assertLen({tuple(s) for s in seeds}, len(seeds))

    def test_batch_larger_than_the_split(self):
        _, info, _ = toy()
        with self.assertRaisesRegex(ValueError, "batch_size 64 is larger than the 20 examples"):
            steps_per_epoch(info, 64)


class EvalBatchesTest(tf.test.TestCase):
    def test_fixed_order_binarization_and_seeds_keep_the_remainder(self):
        dataset, info, _ = toy()
        first, second = (list(eval_batches(dataset, info, batch_size=8)) for _ in range(2))
        self.assertEqual([len(b["label"]) for b in first], [8, 8, 4])
        for a, b in zip(first, second):
            self.assertAllEqual(a["image"], b["image"])
            self.assertAllEqual(a["seed"], b["seed"])
        self.assertAllEqual(np.concatenate([b["label"] for b in first]), np.arange(20))
