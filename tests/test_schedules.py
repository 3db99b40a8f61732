"""Learning-rate schedules chosen by config."""

import tensorflow as tf

from tfgen import config as config_lib
from tfgen.models import VAEConfig
from tfgen.ops.schedules import learning_rate


class LearningRateTest(tf.test.TestCase):
    def test_constant(self):
        config = VAEConfig(lr_schedule="constant", learning_rate=3e-4)
        self.assertEqual(learning_rate(config, steps_per_epoch=10), 3e-4)

    def test_cosine_decays_to_zero_over_all_epochs(self):
        config = VAEConfig(lr_schedule="cosine", learning_rate=2e-3, epochs=4)
        schedule = learning_rate(config, steps_per_epoch=25)
        self.assertAllClose(schedule(0), 2e-3)
        self.assertAllClose(schedule(50), 1e-3)  # halfway: cos(pi/2)
        self.assertAllClose(schedule(100), 0.0)

    def test_unknown_schedule(self):
        with self.assertRaisesRegex(config_lib.ConfigError, "constant, cosine"):
            config_lib.resolve(VAEConfig, {"lr_schedule": "step"})
