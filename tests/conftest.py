"""Test-wide set-up: runs before TensorFlow executes any op.

Two logical CPU devices exist for every test, so `strategy="mirrored"` tests can
compare 2 replicas against 1 on a CPU-only machine.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfgen.distribute import configure_cpu_devices  # noqa: E402

configure_cpu_devices(2)

# tf.test.TestCase.create_tempdir reads absl flags, which pytest never parses.
from absl import flags  # noqa: E402

flags.FLAGS.mark_as_parsed()
