"""Strategy choice: `multi_worker` needs TF_CONFIG; without a cluster a process is its own chief."""

import os
from unittest import mock

import tensorflow as tf

from tfgen import distribute


class StrategyChoiceTest(tf.test.TestCase):
    def test_multi_worker_without_tf_config_says_how_to_start_workers(self):
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop("TF_CONFIG", None)
            with self.assertRaisesRegex(ValueError, "TF_CONFIG.*tfgen.launch --workers N"):
                distribute.make_strategy("multi_worker")

    def test_a_process_without_a_cluster_is_the_chief(self):
        role = distribute.worker_role(distribute.make_strategy("default"))
        self.assertEqual(role, distribute.WorkerRole(0))
        self.assertTrue(role.is_chief)
        self.assertFalse(distribute.WorkerRole(1).is_chief)

    def test_training_data_is_split_between_workers_by_example(self):
        dataset = distribute.shard_by_examples(tf.data.Dataset.range(4))
        self.assertEqual(
            dataset.options().experimental_distribute.auto_shard_policy,
            tf.data.experimental.AutoShardPolicy.DATA,
        )


class MirroredInAFreshProcessTest(tf.test.TestCase):
    def test_mirrored_splits_the_cpu_when_nothing_else_did(self):
        # The test process's conftest splits the CPU first; `python -m tfgen.fit` does not.
        import subprocess
        import sys

        code = (
            "from tfgen.distribute import make_strategy; "
            "print(make_strategy('mirrored', 2).num_replicas_in_sync)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stdout.strip().splitlines()[-1], "2")
