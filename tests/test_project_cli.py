"""`python -m tfgen.projection` and `python -m tfgen.sample --mix` on a tiny StyleGAN run."""

import contextlib
import dataclasses
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
from support import run_command, tiny_config, write_npz

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import models, runs
from tfgen.cli import projection as project
from tfgen.cli import sample
from tfgen.models import StyleGANConfig
from tfgen.utils.files import write_atomically

REPO = Path(__file__).resolve().parents[1]
TINY_STYLEGAN = dict(
    model="stylegan",
    resolution=8,
    image_fit="pad",
    latent_dim=4,
    w_dim=4,
    mapping_layers=2,
    channel_base=32,
    channel_max=4,
    mbstd_group_size=2,
    seed=3,
)

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow


def make_run(run_dir, config, info):
    """A run directory as `training.train` leaves it (config, dataset info, an epoch-1
    checkpoint), for `training.load_run`, without training: seconds instead of a trace."""
    run_dir = Path(run_dir)
    write_atomically(run_dir / runs.Run.CONFIG, config_lib.to_yaml(config))
    write_atomically(
        run_dir / runs.Run.DATASET_INFO, json.dumps(dataclasses.asdict(info), indent=2)
    )
    model = models.get(config.model).from_run_config(config, info)
    epoch = tf.Variable(1, dtype=tf.int64, name="epoch")
    tf.train.Checkpoint(model=model, epoch=epoch).save(str(run_dir / "checkpoints" / "ckpt"))
    return run_dir


def write_image(path, image):
    Path(path).write_bytes(tf.io.encode_png(np.asarray(image, np.uint8)).numpy())
    return Path(path)


def run_cli(module, *args):
    return run_command(module, *args)


def call(main, *args):
    """`(exit code, stdout, stderr)` of a CLI's `main` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit:  # argparse
            code = exit.code
    return code, out.getvalue(), err.getvalue()


class ProjectCliTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="tfgen-project-test-"))
        cls.npz = write_npz(cls.tmp)
        config = config_lib.resolve(StyleGANConfig, {**TINY_STYLEGAN, "dataset": f"npz:{cls.npz}"})
        _, info = data_lib.load(
            config.dataset, "train", **models.get(config.model).data_options(config)
        )
        cls.run_dir = make_run(cls.tmp / "stylegan", config, info)
        rng = np.random.default_rng(0)
        cls.gray28 = write_image(cls.tmp / "digit.png", rng.integers(0, 256, (28, 28, 1)))
        cls.rgb = write_image(cls.tmp / "colour.png", rng.integers(0, 256, (8, 8, 3)))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def test_projects_a_28x28_digit_and_mixes_the_result(self):
        result = run_cli(
            "tfgen.projection",
            "--run",
            self.run_dir,
            "--image",
            self.gray28,
            "--steps",
            "30",
            "--seed",
            "1",
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertIn("notice: ", result.stderr)
        self.assertIn(
            "scaled to 8x8 and centred on a black canvas as the run's image_fit: pad "
            "(28x28x1 -> 8x8x1)",
            result.stderr,
        )
        out = self.run_dir / "projections" / "digit"
        for name, shape in (
            ("target", (8, 8, 1)),
            ("projected", (8, 8, 1)),
            ("progress", (8, 8 * 9, 1)),
        ):  # The start and 8 steps.
            png = tf.io.decode_png(tf.io.read_file(str(out / f"{name}.png")))
            self.assertEqual(png.shape, shape, name)
        self.assertEqual(np.load(out / "w.npy").shape, (4,))
        noise = np.load(out / "noise.npz")
        self.assertEqual(
            [noise[f"noise{i}"].shape for i in range(3)], [(4, 4, 1), (8, 8, 1), (8, 8, 1)]
        )
        meta = json.loads((out / "projection.json").read_text())
        self.assertLess(meta["pixel_mse"], meta["initial_pixel_mse"])
        self.assertIn(f"pixel MSE: {meta['pixel_mse']:.5f}", result.stdout)
        self.assertIn("feature distance: n/a (no cached evaluation classifier", result.stdout)

        code, stdout, stderr = call(
            sample.main,
            "--run",
            self.run_dir,
            "--mix",
            out / "w.npy",
            out / "w.npy",
            "--crossover",
            "2",
        )
        self.assertEqual(code, 0, stderr)
        png = self.run_dir / "mix-digit-digit-crossover2.png"
        self.assertIn(str(png), stdout)
        row = tf.io.decode_png(tf.io.read_file(str(png))).numpy()
        self.assertEqual(row.shape, (8, 24, 1))
        # A and B are the same w here, so the mix is that image too.
        self.assertAllEqual(row[:, 16:], row[:, :8])
        for bad in ("5", "-1"):
            code, _, stderr = call(
                sample.main,
                "--run",
                self.run_dir,
                "--mix",
                out / "w.npy",
                out / "w.npy",
                "--crossover",
                bad,
            )
            self.assertEqual(code, 2)
            self.assertIn("crossover must be a layer index from 0 to 4", stderr)

    def test_rgb_image_becomes_grayscale_with_a_notice(self):
        out = self.tmp / "rgb-out"
        code, stdout, stderr = call(
            project.main, "--run", self.run_dir, "--image", self.rgb, "--steps", "2", "--out", out
        )
        self.assertEqual(code, 0, stderr)
        self.assertIn("converted RGB to grayscale by luminance (8x8x3 -> 8x8x1)", stderr)
        self.assertNotIn("image_fit", stderr)  # Already 8x8.
        target = tf.io.decode_png(tf.io.read_file(str(out / "target.png"))).numpy()
        self.assertEqual(target.shape, (8, 8, 1))
        self.assertIn(f"to {out}", stdout)

    def test_mix_checks_the_w_files(self):
        wrong = self.tmp / "wrong.npy"
        np.save(wrong, np.zeros((3, 5), np.float32))
        ws = self.tmp / "ws.npy"
        np.save(ws, np.zeros((4, 4), np.float32))
        code, _, stderr = call(sample.main, "--run", self.run_dir, "--mix", ws, wrong)
        self.assertEqual(code, 2)
        self.assertIn(
            f"{wrong} holds an array shaped (3, 5); this generator takes a w shaped (4,) or (1, 4)",
            stderr,
        )
        self.assertIn("or styles shaped (4, 4)", stderr)
        code, _, stderr = call(sample.main, "--run", self.run_dir, "--mix", ws, self.gray28)
        self.assertEqual(code, 2)
        self.assertIn(f"{self.gray28} is not a NumPy .npy array", stderr)
        code, stdout, stderr = call(
            sample.main, "--run", self.run_dir, "--mix", ws, ws, "--out", self.tmp / "mix.png"
        )
        self.assertEqual(code, 0, stderr)
        self.assertIn("styles 0-2 from A, 3-3 from B", stdout)  # The default crossover, 3.
        code, _, stderr = call(sample.main, "--run", self.run_dir, "--crossover", "2")
        self.assertEqual(code, 2)
        self.assertIn("--crossover goes with --mix", stderr)

    def test_truncation_psi(self):
        code, stdout, stderr = call(
            sample.main, "--run", self.run_dir, "--num", "4", "--truncation-psi", "0"
        )
        self.assertEqual(code, 0, stderr)
        grid = tf.io.decode_png(tf.io.read_file(str(self.run_dir / "samples-seed0-psi0.png")))
        grid = grid.numpy()
        self.assertAllEqual(grid[:8, :8], grid[8:, 8:])  # Every sample is the w_avg image.

    def test_uses_a_cached_classifier_and_never_trains_one(self):
        from tfgen.metrics import classifier as classifier_lib

        rng = np.random.default_rng(1)
        npz = self.tmp / "labelled.npz"
        np.savez(
            npz,
            x_train=rng.integers(0, 256, (64, 6, 6), dtype=np.uint8),
            y_train=rng.integers(0, 2, 64),
            x_test=rng.integers(0, 256, (16, 6, 6), dtype=np.uint8),
            y_test=rng.integers(0, 2, 16),
        )
        config = config_lib.resolve(StyleGANConfig, {**TINY_STYLEGAN, "dataset": f"npz:{npz}"})
        _, info = data_lib.load(
            config.dataset, "train", **models.get(config.model).data_options(config)
        )
        run_dir = make_run(self.tmp / "labelled-run", config, info)
        data_dir = self.tmp / "data"
        with mock.patch.dict(os.environ, {"TFGEN_DATA_DIR": str(data_dir)}):
            self.assertIsNone(classifier_lib.load_cached(config.dataset))
            self.assertFalse((data_dir / "classifiers").exists())  # Not trained on demand.
            classifier_lib.load_or_train(config.dataset)  # 6x6 inputs: the 8x8 images are cropped.
            code, stdout, stderr = call(
                project.main,
                "--run",
                run_dir,
                "--image",
                self.gray28,
                "--steps",
                "2",
                "--out",
                self.tmp / "p2",
            )
        self.assertEqual(code, 0, stderr)
        self.assertRegex(stdout, r"feature distance: [0-9.]+ \('npz:.*' classifier features")
        meta = json.loads((self.tmp / "p2" / "projection.json").read_text())
        self.assertBetween(meta["feature_distance"], 0.0, 4.0)

    def test_defaults_match_the_library(self):
        from tfgen.models.stylegan import projection as stylegan_projection

        self.assertEqual(project.FEATURE_WEIGHT, stylegan_projection.FEATURE_WEIGHT)

    def test_bad_input(self):
        junk = self.tmp / "junk.png"
        junk.write_bytes(b"not an image")
        cases = [
            (["--image", junk], f"cannot read image {junk}: not a PNG, JPEG, GIF or BMP image"),
            (
                ["--image", self.tmp / "missing.png"],
                f"cannot read image {self.tmp / 'missing.png'}: no such file",
            ),
            (["--image", self.tmp], f"cannot read image {self.tmp}: not a file"),
            (
                ["--image", self.gray28, "--steps", "0"],
                "--steps must be a positive number of optimisation steps, got 0",
            ),
            (["--image", self.gray28, "--steps", "many"], "invalid int value: 'many'"),
            (
                ["--image", self.gray28, "--feature-weight", "-1"],
                "--feature-weight must be 0 or more, got -1.0",
            ),
            (["--image", self.gray28, "--label", "1"], "--label needs a class-conditional model"),
        ]
        for args, message in cases:
            code, _, stderr = call(project.main, "--run", self.run_dir, *args)
            self.assertEqual(code, 2, args)
            self.assertIn(message, stderr)

    def test_a_run_that_is_not_a_stylegan(self):
        config = tiny_config("vae", self.npz)
        _, info = data_lib.load(config.dataset, "train")
        run_dir = make_run(self.tmp / "vae", config, info)
        code, _, stderr = call(project.main, "--run", run_dir, "--image", self.gray28)
        self.assertEqual(code, 2)
        self.assertIn(f"{run_dir} is a 'vae' run; projection needs a `stylegan` run", stderr)
        code, _, stderr = call(sample.main, "--run", run_dir, "--mix", "a.npy", "b.npy")
        self.assertEqual(code, 2)
        self.assertIn(f"--mix applies only to stylegan runs; {run_dir} is a 'vae' run", stderr)
