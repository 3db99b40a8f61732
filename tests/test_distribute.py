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
        self.assertEqual(dataset.options().experimental_distribute.auto_shard_policy,
                         tf.data.experimental.AutoShardPolicy.DATA)
