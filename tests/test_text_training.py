"""The fit loop on text: tokenizer saved with the run, windows, resume, text summaries, CLIs."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from support import run_command as run_cli
from support import tiny_config, write_corpus
from tensorboard.backend.event_processing import event_accumulator

from tfgen import runs, text, training
from tfgen.training import run_data as training_data

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


class TextTrainingTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.corpus = write_corpus(self.tmp)

    def train(self, name, model="gpt", **overrides):
        return training.train(
            tiny_config(model, self.corpus, **overrides), run_dir=self.tmp / name, verbose=0
        )

    def test_resume_after_one_epoch_equals_uninterrupted_run(self):
        straight = self.train("straight", epochs=2)
        self.train("resumed", epochs=1)
        resumed = self.train("resumed", epochs=2)
        self.assertEqual(resumed.initial_epoch, 1)
        self.assertEqual(int(resumed.model.optimizer.iterations.numpy()), 6)
        for a, b in zip(straight.model.trainable_variables, resumed.model.trainable_variables):
            self.assertAllEqual(a, b)
        self.assertEqual(straight.history["loss"][1], resumed.history["loss"][0])
        self.assertEqual(straight.history["val_loss"][1], resumed.history["val_loss"][0])

    def test_run_dir_holds_tokenizer_text_samples_and_summaries(self):
        config = tiny_config(
            "char_lstm", self.corpus, tokenizer="subword", vocab_size=200, best_metric="val_loss"
        )
        run = self.tmp / "run"
        result = training.train(config, run_dir=run, verbose=0)
        tokenizer = text.load_tokenizer(run / "tokenizer.json")
        self.assertIsInstance(tokenizer, text.SubwordTokenizer)
        self.assertEqual(result.model.vocab_size, tokenizer.vocab_size)
        self.assertEqual(result.samples, run / "samples.txt")
        self.assertTrue(result.samples.read_text(encoding="utf-8").startswith("ROMEO:"))
        for epoch in (1, 2):
            self.assertTrue((run / "text" / f"samples-epoch{epoch:03d}.txt").exists())
        for key in (
            "loss",
            "bits_per_token",
            "bits_per_character",
            "val_loss",
            "val_bits_per_token",
            "val_bits_per_character",
        ):
            self.assertLen(result.history[key], 2)
        self.assertAllClose(
            np.array(result.history["bits_per_token"]) * np.log(2.0),
            result.history["loss"],
            rtol=1e-5,
        )
        # Bits per character of the validation text, computed directly.
        windows = training_data.prepare(config, run).validation_batches()
        total_bits, total_characters = 0.0, 0
        for inputs, targets in windows.take(2):
            logits = result.model(inputs)
            nats = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
            total_bits += float(tf.reduce_sum(nats)) / np.log(2.0)
            total_characters += sum(len(tokenizer.decode([t])) for t in targets.numpy().ravel())
        self.assertGreater(total_characters, 2 * 4 * 16)  # Subwords: > 1 character per token.
        self.assertAllClose(
            result.history["val_bits_per_character"][-1], total_bits / total_characters, rtol=1e-4
        )

        acc = event_accumulator.EventAccumulator(
            str(run / "logs" / "text"), size_guidance={"tensors": 0}
        )
        acc.Reload()
        events = acc.Tensors("samples")
        self.assertEqual([e.step for e in events], [0, 1])
        self.assertIn("ROMEO:", events[-1].tensor_proto.string_val[0].decode())

        best = json.loads((run / "checkpoints" / "best" / "best.json").read_text())
        self.assertEqual(best["epoch"], int(np.argmin(result.history["val_loss"])) + 1)
        self.assertAllClose(best["value"], min(result.history["val_loss"]))

        # load_run rebuilds the model with the saved tokenizer and the latest weights.
        model, config, info, epoch = runs.load(run)
        self.assertEqual((epoch, config.tokenizer, info.modality), (2, "subword", "text"))
        self.assertEqual(model.tokenizer.vocabulary, tokenizer.vocabulary)
        tokens = tf.constant([tokenizer.encode("ROMEO: to be")])
        self.assertAllClose(model(tokens), result.model(tokens), atol=1e-6)

    def test_sample_cli_prints_text_with_each_sampler(self):
        self.train("cli", epochs=1)
        run = str(self.tmp / "cli")
        top_p = run_cli(
            "tfgen.sample",
            "--run",
            run,
            "--prompt",
            "JULIET:",
            "--sampler",
            "top_p",
            "--top-p",
            "0.9",
            "--max-new-tokens",
            "40",
            "--seed",
            "3",
        )
        self.assertEqual(top_p.returncode, 0, top_p.stderr[-2000:])
        self.assertTrue(top_p.stdout.startswith("JULIET:"))
        # Longer than context_length 16: written in sliding windows.
        self.assertLen(top_p.stdout[:-1], len("JULIET:") + 40)  # print() adds one newline.
        again = run_cli(
            "tfgen.sample",
            "--run",
            run,
            "--prompt",
            "JULIET:",
            "--sampler",
            "top_p",
            "--top-p",
            "0.9",
            "--max-new-tokens",
            "40",
            "--seed",
            "3",
        )
        self.assertEqual(again.stdout, top_p.stdout)
        beam = run_cli(
            "tfgen.sample",
            "--run",
            run,
            "--sampler",
            "beam",
            "--beam-width",
            "4",
            "--max-new-tokens",
            "10",
            "--num",
            "2",
        )
        self.assertEqual(beam.returncode, 0, beam.stderr[-2000:])
        self.assertEqual(beam.stdout.count("ROMEO:"), 2)  # The config's sample_prompt.
        wrong = run_cli("tfgen.sample", "--run", run, "--sampler", "greedy", "--top-k", "3")
        self.assertEqual(wrong.returncode, 2)
        self.assertIn(
            "--top-k does not apply to sampler 'greedy'; it takes: --temperature", wrong.stderr
        )
        unknown = run_cli("tfgen.sample", "--run", run, "--sampler", "nucleus")
        self.assertIn("valid samplers are: beam, greedy, temperature, top_k, top_p", unknown.stderr)

    def test_a_too_short_corpus_is_a_clear_error(self):
        short = self.tmp / "short.txt"
        short.write_text("ROMEO: hi\n" * 30, encoding="utf-8")
        result = run_cli(
            "tfgen.fit",
            "--model",
            "gpt",
            "--set",
            f"dataset=text:{short}",
            "context_length=16",
            "--run-dir",
            str(self.tmp / "short"),
        )
        self.assertEqual(result.returncode, 2, result.stderr[-2000:])
        self.assertRegex(
            result.stderr,
            r"error: text:.*short.txt validation has only \d+ tokens; "
            r"a window of context_length 16 needs at least 17",
        )


if __name__ == "__main__":
    tf.test.main()
