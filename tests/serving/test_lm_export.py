"""Exporting language models: text `generate` in a process without tfgen, logits, TFLite steps."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfgen import serving
from tfgen.models.lm.char_lstm import CharLSTM
from tfgen.models.lm.gpt import GPT
from tfgen.text import CharTokenizer, SubwordTokenizer

CONTEXT = 32
NEW = 12
PROMPTS = ["ROMEO: ", "the fox"]
TEXT = (
    "ROMEO: But soft, what light through yonder window breaks?\n"
    "JULIET: the quick brown fox jumps over the lazy dog, 0123456789.\n"
) * 3

# End-to-end: trains or exports for real (`make test ARGS="-m 'not slow'"` skips it).
pytestmark = pytest.mark.slow

# Runs in a fresh interpreter: TensorFlow (and, for subword models, tensorflow_text) only.
LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    if sys.argv[1] == "subword":
        import tensorflow_text  # Registers the WordPiece ops the SavedModel uses.
    import tensorflow as tf

    prompts, new, results = json.loads(sys.argv[2]), int(sys.argv[3]), {}

    def call(signature, prompts, new=new, temperature=0.0, top_k=0, top_p=1.0, seed=0):
        n = len(prompts)
        out = signature(prompt=tf.constant(prompts), max_new_tokens=tf.fill([n], new),
                        temperature=tf.fill([n], float(temperature)), top_k=tf.fill([n], top_k),
                        top_p=tf.fill([n], float(top_p)), seed=tf.fill([n], seed))
        return {k: [s.decode("utf-8") for s in v.numpy()] for k, v in out.items()}

    def error(signature, prompts, new=new):
        try:
            call(signature, prompts, new)
        except tf.errors.InvalidArgumentError as e:
            return e.message
        return ""

    for version_dir in sys.argv[4:]:
        loaded = tf.saved_model.load(version_dir)
        generate = loaded.signatures["generate"]
        results[version_dir] = {
            "signatures": sorted(loaded.signatures),
            "greedy": call(generate, prompts),
            "default": call(loaded.signatures["serving_default"], prompts),
            "seed3": call(generate, prompts, temperature=1.0, top_k=8, top_p=0.95, seed=3),
            "seed3_again": call(generate, prompts, temperature=1.0, top_k=8, top_p=0.95, seed=3),
            "seed4": call(generate, prompts, temperature=1.0, top_k=8, top_p=0.95, seed=4),
            "empty_error": error(generate, ["ROMEO", ""]),
            "long_error": error(generate, ["x" * 40]),
            "overlong_error": error(generate, ["ROMEO"], new=40),
        }
    assert "tfgen" not in sys.modules and not any(m.startswith("tfgen.") for m in sys.modules)
    print(json.dumps(results))
""")


def randomized(model, stddev):
    """`model` with N(0, stddev) weights, so greedy decoding does not repeat one token."""
    rng = np.random.default_rng(1)
    for variable in model.weights:
        variable.assign(rng.normal(0.0, stddev, variable.shape).astype("float32"))
    return model


def start_fresh_process(kind, version_dirs, work):
    """Starts LOAD_SCRIPT in a new interpreter without tfgen on the path; returns the Popen."""
    script = Path(work) / "load.py"
    script.write_text(LOAD_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            kind,
            json.dumps(PROMPTS),
            str(NEW),
            *[str(Path(d).resolve()) for d in version_dirs],
        ],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process):
    stdout, stderr = process.communicate(timeout=240)
    if process.returncode != 0:
        raise AssertionError(f"the fresh process failed:\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def call_generate(signature, prompts, new=NEW, **params):
    n = len(prompts)
    inputs = {
        "prompt": prompts,
        "max_new_tokens": [new] * n,
        "temperature": [0.0] * n,
        "top_k": [0] * n,
        "top_p": [1.0] * n,
        "seed": [0] * n,
    }
    inputs.update(params)
    dtypes = {"prompt": tf.string, "temperature": tf.float32, "top_p": tf.float32}
    out = signature(**{k: tf.constant(v, dtypes.get(k, tf.int32)) for k, v in inputs.items()})
    return {k: [s.decode("utf-8") for s in v.numpy()] for k, v in out.items()}


class CharModelExportTest(tf.test.TestCase):
    """GPT and CharLSTM with a CharTokenizer: the SavedModel loads with TensorFlow alone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="lm-export-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        tokenizer = CharTokenizer.train([TEXT])
        vocab = tokenizer.vocab_size
        cls.models = {
            "gpt": randomized(
                GPT(
                    vocab_size=vocab,
                    context_length=CONTEXT,
                    n_layer=1,
                    n_head=2,
                    n_embd=16,
                    tokenizer=tokenizer,
                ),
                1.0,
            ),
            "lstm": randomized(
                CharLSTM(
                    vocab_size=vocab,
                    context_length=CONTEXT,
                    embedding_dim=8,
                    units=16,
                    num_layers=1,
                    tokenizer=tokenizer,
                ),
                1.0,
            ),
        }
        cls.dirs = {
            name: serving.export_saved_model(model, cls.tmp / "models", name)
            for name, model in cls.models.items()
        }
        # The fresh process runs while the other tests use the second core.
        cls.process = start_fresh_process("char", cls.dirs.values(), cls.tmp)
        cls.addClassCleanup(lambda: cls.process.poll() is None and cls.process.kill())
        cls.loaded = {name: tf.saved_model.load(str(d)) for name, d in cls.dirs.items()}

    def test_text_generation_in_a_fresh_process_without_tfgen(self):
        results = finish(self.process)
        for name, model in self.models.items():
            with self.subTest(model=name):
                result = results[str(self.dirs[name].resolve())]
                self.assertIn("serving_default", result["signatures"])
                expected = model.generate_text(PROMPTS, sampler="greedy", max_new_tokens=NEW)
                self.assertEqual(result["greedy"]["completion"], expected)
                self.assertGreater(len(set(expected[0])), 1)  # Not one repeated token.
                self.assertEqual(
                    result["greedy"]["text"], [p + c for p, c in zip(PROMPTS, expected)]
                )
                self.assertEqual(result["default"], result["greedy"])
                self.assertEqual(result["seed3"], result["seed3_again"])
                self.assertNotEqual(result["seed3"], result["seed4"])
                self.assertIn("the prompt is empty", result["empty_error"])
                self.assertIn(f"more tokens than context_length {CONTEXT}", result["long_error"])
        gpt = results[str(self.dirs["gpt"].resolve())]
        self.assertIn(
            f"prompt tokens + max_new_tokens exceeds context_length {CONTEXT}",
            gpt["overlong_error"],
        )
        lstm = results[str(self.dirs["lstm"].resolve())]
        self.assertEqual(lstm["overlong_error"], "")  # An LSTM has no total-length limit.

    def test_signatures(self):
        described = serving.describe_signatures(self.dirs["gpt"])
        self.assertEqual(
            sorted(described),
            ["decode_step", "generate", "logits", "next_token_logits", "serving_default"],
        )
        self.assertEqual(described["serving_default"], described["generate"])
        generate = {k: serving.format_spec(s) for k, s in described["generate"]["inputs"].items()}
        self.assertEqual(
            generate,
            {
                "prompt": "string [?]",
                "max_new_tokens": "int32 [?]",
                "temperature": "float32 [?]",
                "top_k": "int32 [?]",
                "top_p": "float32 [?]",
                "seed": "int32 [?]",
            },
        )
        outputs = described["generate"]["outputs"]
        self.assertEqual(
            {k: serving.format_spec(s) for k, s in outputs.items()},
            {"completion": "string [?]", "text": "string [?]"},
        )
        vocab = self.models["gpt"].vocab_size
        step = described["decode_step"]
        self.assertEqual(
            serving.format_spec(step["inputs"]["cache"]), f"float32 [?, 1, 2, {CONTEXT}, 2, 8]"
        )
        self.assertEqual(serving.format_spec(step["inputs"]["position"]), "int32 []")
        self.assertEqual(serving.format_spec(step["outputs"]["logits"]), f"float32 [?, {vocab}]")
        self.assertEqual(
            serving.format_spec(described["next_token_logits"]["outputs"]["logits"]),
            f"float32 [?, {vocab}]",
        )
        serving.check_predict_method(self.dirs["gpt"])
        documented = serving.signatures_markdown(self.dirs["gpt"], "gpt", "generate")
        self.assertIn("| `prompt` | string | [?] |", documented)
        self.assertIn("| `position` | int32 | [] (scalar) |", documented)

    def test_parameters_per_prompt_or_once_for_all(self):
        generate = self.loaded["lstm"].signatures["generate"]
        mixed = call_generate(generate, PROMPTS, temperature=[0.0, 1.0], seed=[0, 5])
        greedy = call_generate(generate, PROMPTS)
        self.assertEqual(mixed["completion"][0], greedy["completion"][0])
        once = call_generate(
            generate,
            PROMPTS,
            max_new_tokens=[3],
            temperature=[0.0],
            top_k=[0],
            top_p=[1.0],
            seed=[0],
        )
        self.assertEqual(once["completion"], [c[:3] for c in greedy["completion"]])
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, "temperature must have one value per prompt"
        ):
            call_generate(generate, PROMPTS * 2, temperature=[0.0, 0.0])
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "max_new_tokens must be >= 1"):
            call_generate(generate, PROMPTS, new=0)

    def test_logits_endpoints_match_the_model(self):
        tokens = tf.constant([[5, 9, 3, 7, 2, 11], [4, 4, 8, 1, 0, 6]])
        for name, model in self.models.items():
            with self.subTest(model=name):
                signatures = self.loaded[name].signatures
                expected = model(tokens)
                self.assertAllClose(
                    signatures["next_token_logits"](tokens=tokens)["logits"],
                    expected[:, -1],
                    atol=1e-5,
                )
                self.assertAllClose(
                    signatures["logits"](tokens=tokens)["logits"], expected, atol=1e-5
                )
                cache = model.initial_cache(2)
                for position in range(tokens.shape[1]):
                    out = signatures["decode_step"](
                        token=tokens[:, position], position=tf.constant(position), cache=cache
                    )
                    cache = out["cache"]
                    self.assertAllClose(out["logits"], expected[:, position], atol=1e-5)
        gpt = self.loaded["gpt"].signatures
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, f"tokens is longer than context_length {CONTEXT}"
        ):
            gpt["next_token_logits"](tokens=tf.zeros([1, CONTEXT + 1], tf.int32))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "tokens is empty"):
            gpt["logits"](tokens=tf.zeros([1, 0], tf.int32))
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, f"position must be below context_length {CONTEXT}"
        ):
            gpt["decode_step"](
                token=tokens[:, 0],
                position=tf.constant(CONTEXT),
                cache=self.models["gpt"].initial_cache(2),
            )

    def test_a_model_without_tokenizer_cannot_export(self):
        model = GPT(vocab_size=20, context_length=8, n_layer=1, n_head=1, n_embd=4)
        with self.assertRaisesRegex(ValueError, "has no tokenizer"):
            serving.export_saved_model(model, self.tmp / "models", "no-tokenizer")
        self.assertEqual(serving.versions(self.tmp / "models" / "no-tokenizer"), [])


class SubwordModelExportTest(tf.test.TestCase):
    """A WordPiece tokenizer in the graph: the loading process imports tensorflow_text."""

    def test_fresh_process_with_tensorflow_text_generates_the_greedy_text(self):
        tmp = Path(self.create_tempdir().full_path)
        tokenizer = SubwordTokenizer.train([TEXT], vocab_size=60)
        model = randomized(
            GPT(
                vocab_size=tokenizer.vocab_size,
                context_length=CONTEXT,
                n_layer=1,
                n_head=2,
                n_embd=16,
                tokenizer=tokenizer,
            ),
            1.0,
        )
        version_dir = serving.export_saved_model(model, tmp / "models", "subword")
        process = start_fresh_process("subword", [version_dir], tmp)
        expected = model.generate_text(PROMPTS, sampler="greedy", max_new_tokens=NEW)
        result = finish(process)[str(version_dir.resolve())]
        self.assertEqual(result["greedy"]["completion"], expected)
        self.assertEqual(result["seed3"], result["seed3_again"])
        self.assertIn("the prompt is empty", result["empty_error"])
