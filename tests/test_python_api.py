"""The README's Python tour, on tiny data: every CLI step is one library call."""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import tfgen


class PythonApiTest(tf.test.TestCase):
    def test_readme_tour(self):
        tmp = Path(self.create_tempdir().full_path)
        rng = np.random.default_rng(0)
        np.savez(tmp / "digits.npz", x_train=rng.integers(0, 256, (32, 8, 8), dtype=np.uint8),
                 x_test=rng.integers(0, 256, (8, 8, 8), dtype=np.uint8))
        dataset = f"npz:{tmp / 'digits.npz'}"

        train, info = tfgen.data.load(dataset, "train")
        batches, steps = tfgen.data.training_batches(train, info, batch_size=8, seed=0, epochs=2)
        model = tfgen.models.VAE(image_shape=info.shape, latent_dim=2, filters=2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = model.fit(batches, epochs=2, steps_per_epoch=steps, verbose=0)
        self.assertLen(history.history["loss"], 2)
        model.save(tmp / "vae.keras")
        loaded = keras.models.load_model(tmp / "vae.keras")
        self.assertAllClose(loaded.sample_images(4, seed=0), model.sample_images(4, seed=0))

        config = tfgen.config.resolve(tfgen.models.VAEConfig, {
            "dataset": dataset, "epochs": 1, "batch_size": 8, "latent_dim": 2, "filters": 2,
            "sample_grid_size": 2})
        result = tfgen.training.train(config, run_dir=tmp / "run", verbose=0)
        self.assertTrue(result.samples_png.exists())
        report = tfgen.serving.export_run(tmp / "run", out=tmp / "export", tflite=True)
        self.assertEqual(report.version_dir, tmp / "export" / "run" / "1")
        (parity,) = report.tflite.values()
        self.assertLess(parity, 1e-5)
