"""`python -m tfgen.sample`: a PNG grid from a run's latest checkpoint."""

from pathlib import Path

import pytest
import tensorflow as tf
from support import run_command, tiny_config, write_npz

from tfgen import training

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def run_sample(*args):
    return run_command("tfgen.sample", *args)


class SampleCliTest(tf.test.TestCase):
    def test_writes_a_seeded_grid(self):
        tmp = Path(self.create_tempdir().full_path)
        training.train(tiny_config("vae", write_npz(tmp), epochs=1), run_dir=tmp / "run", verbose=0)
        result = run_sample("--run", str(tmp / "run"), "--num", "9", "--seed", "5")
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        png = tmp / "run" / "samples-seed5.png"
        self.assertIn(str(png), result.stdout)
        self.assertEqual(tf.io.decode_png(tf.io.read_file(str(png))).shape, (24, 24, 1))

    def test_not_a_run_directory(self):
        result = run_sample("--run", self.create_tempdir().full_path)
        self.assertEqual(result.returncode, 2)
        self.assertIn("is not a run directory", result.stderr)
