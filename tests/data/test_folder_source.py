"""Tests for `folder:<path>` datasets: splits, classes, formats and bad files."""

from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from tfgen import data
from tfgen.data import folder_source


def all_examples(dataset, batch_size=10000):
    """Returns a dataset's elements as numpy arrays stacked per key."""
    batches = list(dataset.batch(batch_size).as_numpy_iterator())
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


def write_image(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


class FolderTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.root = Path(self.create_tempdir().full_path)
        self.rng = np.random.default_rng(0)

    def gray(self, height=5, width=7):
        return self.rng.integers(0, 256, (height, width), dtype=np.uint8)

    def rgb(self, height=5, width=7):
        return self.rng.integers(0, 256, (height, width, 3), dtype=np.uint8)

    def test_grayscale_folder_stays_one_channel_with_a_hashed_holdout(self):
        arrays = {f"img{i:02d}.png": self.gray() for i in range(40)}
        for filename, array in arrays.items():
            write_image(self.root / filename, array)
        train, info = data.load(f"folder:{self.root}", "train")
        test, _ = data.load(f"folder:{self.root}", "test")
        self.assertEqual(info.shape, (5, 7, 1))
        self.assertIsNone(info.num_classes)
        self.assertEqual(train.element_spec, {"image": tf.TensorSpec((5, 7, 1), tf.float32)})
        held_out = sorted(f for f in arrays if folder_source.is_held_out(f))
        self.assertNotEmpty(held_out)
        self.assertEqual(info.num_examples, {"train": 40 - len(held_out), "test": len(held_out)})
        test_images = all_examples(test)["image"]
        self.assertAllClose(test_images[:, :, :, 0], [arrays[f] / 255.0 for f in held_out])
        train_images = all_examples(train)["image"]
        self.assertLen(train_images, 40 - len(held_out))
        self.assertAllInRange(train_images, 0.0, 1.0)

    def test_holdout_does_not_move_when_files_are_added(self):
        for i in range(30):
            write_image(self.root / f"a{i}.png", self.gray())
        before = folder_source.list_folder(self.root).paths
        for i in range(30):
            write_image(self.root / f"b{i}.png", self.gray())
        after = folder_source.list_folder(self.root).paths
        for split in ("train", "test"):
            self.assertContainsSubset(before[split], after[split])
        self.assertEmpty(set(after["train"]) & set(after["test"]))

    def test_rgb_class_subdirectories_become_labels(self):
        for class_name, count in (("zebra", 12), ("cat", 11)):
            for i in range(count):
                write_image(self.root / class_name / f"{i}.png", self.rgb())
        listing = folder_source.list_folder(self.root)
        self.assertEqual(listing.class_names, ("cat", "zebra"))
        for split in ("train", "test"):
            dataset, info = data.load(f"folder:{self.root}", split)
            self.assertEqual(info.shape, (5, 7, 3))
            self.assertEqual(info.num_classes, 2)
            self.assertEqual(dataset.element_spec["label"], tf.TensorSpec((), tf.int64))
            labels = [int(e["label"]) for e in dataset]
            expected = [0 if path.parent.name == "cat" else 1 for path in listing.paths[split]]
            self.assertEqual(labels, expected)
        self.assertEqual(sum(info.num_examples.values()), 23)

    def test_train_and_test_subdirectories_are_the_splits(self):
        for split, count in (("train", 6), ("test", 3)):
            for i in range(count):
                write_image(self.root / split / "dog" / f"{i}.jpg", self.rgb())
                write_image(self.root / split / "ant" / f"{i}.jpg", self.rgb())
        train, info = data.load(f"folder:{self.root}", "train")
        self.assertEqual(info.num_examples, {"train": 12, "test": 6})
        self.assertEqual(info.splits, {"train": "train/", "test": "test/"})
        self.assertEqual(info.num_classes, 2)
        test, _ = data.load(f"folder:{self.root}", "test")
        self.assertLen(list(test), 6)
        self.assertEqual(sorted(int(e["label"]) for e in train), [0] * 6 + [1] * 6)

    def test_other_formats_decode_to_their_channels(self):
        write_image(self.root / "gray.jpg", self.gray())
        write_image(self.root / "gray.bmp", self.gray())
        self.assertEqual(folder_source.list_folder(self.root).shape, (5, 7, 1))
        dataset, _ = data.load(f"folder:{self.root}", "train")
        self.assertLen(
            list(dataset), sum(not folder_source.is_held_out(f) for f in ("gray.jpg", "gray.bmp"))
        )

    def test_corrupt_file_is_named(self):
        write_image(self.root / "good.png", self.gray())
        (self.root / "broken.png").write_bytes(b"not an image")
        with self.assertRaisesRegex(ValueError, r"Cannot read image .*broken\.png"):
            data.load(f"folder:{self.root}", "train")

    def test_truncated_file_is_named(self):
        write_image(self.root / "good.png", self.gray())
        full = write_image(self.root / "cut.png", self.gray(50, 50)).read_bytes()
        (self.root / "cut.png").write_bytes(full[: len(full) // 2])
        with self.assertRaisesRegex(ValueError, r"cut\.png"):
            data.load(f"folder:{self.root}", "train")

    def test_odd_sized_image_is_named_with_both_sizes(self):
        write_image(self.root / "a.png", self.gray(5, 7))
        write_image(self.root / "b.png", self.gray(6, 7))
        expected = r"b\.png is 7x6 pixels with 1 channel.*a\.png.*7x5 pixels"
        with self.assertRaisesRegex(ValueError, expected):
            data.load(f"folder:{self.root}", "train")

    def test_mixed_channels_are_named(self):
        write_image(self.root / "a.png", self.rgb())
        write_image(self.root / "b.png", self.gray())
        with self.assertRaisesRegex(ValueError, r"b\.png is 7x5 pixels with 1 channel.*3 channels"):
            data.load(f"folder:{self.root}", "test")

    def test_an_image_changed_after_listing_fails_naming_the_file(self):
        paths = [write_image(self.root / f"{i}.png", self.gray()) for i in range(20)]
        dataset, _ = data.load(f"folder:{self.root}", "train")
        changed = next(p for p in paths if not folder_source.is_held_out(p.name))
        write_image(changed, self.gray(9, 9))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, rf"{changed.name}.*decoded to"):
            list(dataset)

    def test_empty_folder(self):
        (self.root / "notes.txt").write_text("no images here")
        with self.assertRaisesRegex(ValueError, r"has no images \(\.png, \.jpg"):
            data.load(f"folder:{self.root}", "train")

    def test_missing_folder(self):
        with self.assertRaisesRegex(ValueError, r"no such directory"):
            data.load(f"folder:{self.root / 'nope'}", "train")

    def test_images_beside_class_subdirectories(self):
        write_image(self.root / "cat" / "1.png", self.gray())
        write_image(self.root / "stray.png", self.gray())
        with self.assertRaisesRegex(ValueError, r"stray\.png"):
            data.load(f"folder:{self.root}", "train")


if __name__ == "__main__":
    tf.test.main()
