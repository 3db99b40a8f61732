"""The shipped class-conditional GAN recipe learns to draw the digit it is asked for.

The suite checks that the conditioning is learned early (100 steps); how good the
samples get per CPU-minute (90 % requested digit after 1,200 steps) is measured by
`benchmarks/gan_quality.py --model cgan --steps 600`, not in the tests.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfgen import config as config_lib
from tfgen import training
from tfgen.metrics.classifier import load_or_train
from tfgen.models import CGANConfig


@pytest.mark.slow
class ConditionalQualityTest(tf.test.TestCase):
    def test_cgan_samples_are_the_requested_digit_well_above_chance_after_100_steps(self):
        # tfgen's MNIST classifier (>= 99 % test accuracy): trained once, then cached.
        classifier = load_or_train("mnist")
        self.assertGreaterEqual(classifier.test_accuracy, 0.99)
        # The shipped cgan config, cut to 100 steps; measured: 47 % requested digit at
        # 100 steps, 41 % at 140, 34 % at 200, 68 % at 400 (chance is 10 %).
        config = config_lib.resolve(CGANConfig, {"epochs": 1, "steps_per_epoch": 100})
        result = training.train(config, run_dir=self.create_tempdir().full_path, verbose=0)
        labels = np.repeat(np.arange(10), 50)
        images = result.model.sample_images(len(labels), seed=99, labels=labels).numpy()
        accuracy = np.mean(classifier.predict_labels(images) == labels)
        print(f"cgan, 100 steps: {accuracy:.1%} of samples are the requested digit")
        self.assertGreaterEqual(accuracy, 0.25)
