"""The README's Python tour, on tiny data: every CLI step is one library call."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgen

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow


class PythonApiTest(tf.test.TestCase):
    def test_readme_tour(self):
        tmp = Path(self.create_tempdir().full_path)
        rng = np.random.default_rng(0)
        np.savez(
            tmp / "digits.npz",
            x_train=rng.integers(0, 256, (32, 8, 8), dtype=np.uint8),
            x_test=rng.integers(0, 256, (8, 8, 8), dtype=np.uint8),
        )
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

        config = tfgen.config.resolve(
            tfgen.models.VAEConfig,
            {
                "dataset": dataset,
                "epochs": 1,
                "batch_size": 8,
                "latent_dim": 2,
                "filters": 2,
                "sample_grid_size": 2,
            },
        )
        result = tfgen.training.train(config, run_dir=tmp / "run", verbose=0)
        self.assertTrue(result.samples.exists())
        report = tfgen.serving.export_run(tmp / "run", out=tmp / "export", tflite=True)
        self.assertEqual(report.version_dir, tmp / "export" / "run" / "1")
        (parity,) = report.tflite.values()
        self.assertLess(parity.max_abs, 1e-5)


class LanguageModelApiTest(tf.test.TestCase):
    def test_readme_language_model_tour(self):
        tmp = Path(self.create_tempdir().full_path)
        (tmp / "plays.txt").write_text(
            "ROMEO: to be or not to be.\nJULIET: that is it.\n" * 80, encoding="utf-8"
        )
        dataset = f"text:{tmp / 'plays.txt'}"

        train, info = tfgen.data.load(dataset, "train")
        tokenizer = tfgen.text.CharTokenizer.train(train)
        batches = tfgen.text.windows(
            tfgen.text.tokenize(train, tokenizer),
            context_length=16,
            batch_size=4,
            seed=0,
            stride=1,
            epochs=2,
            steps_per_epoch=5,
        )
        model = tfgen.models.GPT(
            vocab_size=tokenizer.vocab_size,
            context_length=16,
            n_layer=1,
            n_head=2,
            n_embd=8,
            tokenizer=tokenizer,
        )
        model.compile(optimizer=keras.optimizers.AdamW(1e-3))
        history = model.fit(batches, epochs=2, steps_per_epoch=5, verbose=0)
        self.assertLen(history.history["bits_per_token"], 2)
        sampler = tfgen.samplers.get("top_p", p=0.9)
        text = model.generate_text("ROMEO:", sampler, max_new_tokens=40, seed=0)
        self.assertLen(text, 40)  # One character per token, past the 16-token context.
        model.save(tmp / "gpt.keras")
        loaded = keras.models.load_model(tmp / "gpt.keras")
        self.assertEqual(loaded.generate_text("ROMEO:", sampler, max_new_tokens=40, seed=0), text)

        config = tfgen.config.resolve(
            tfgen.models.GPTConfig,
            {
                "dataset": dataset,
                "epochs": 1,
                "steps_per_epoch": 5,
                "batch_size": 4,
                "context_length": 16,
                "n_layer": 1,
                "n_head": 2,
                "n_embd": 8,
                "sample_tokens": 8,
            },
        )
        result = tfgen.training.train(config, run_dir=tmp / "run", verbose=0)
        self.assertTrue(result.samples.read_text(encoding="utf-8").startswith("ROMEO:"))
