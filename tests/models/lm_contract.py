"""Tests every language-model family passes; a family's test case mixes this in.

Not collected by itself (no `test_` prefix). A test case sets `model_class`,
`config_class`, `cache_shape`, `config_keys` and `run_config_values`, and
implements `new_model(width, num_layers, **kwargs)`; `tiny_model` randomizes
the weights with `weight_stddev` so greedy decoding does not repeat one token.
"""

import math
import os

import keras
import numpy as np
import tensorflow as tf
from support import assert_config_round_trip

from tfgen import config as config_lib
from tfgen.data.info import DatasetInfo
from tfgen.text import CharTokenizer, windows

VOCAB, CONTEXT = 13, 12
PROMPTS = [[[5]], [[3, 4, 5], [1, 2, 9]], [[7, 7, 1, 2, 12, 0]]]


def token_windows(batch_size=4, length=200, context=CONTEXT):
    """`tfgen.text.windows` over a periodic, learnable stream of ids, in order."""
    stream = (np.arange(length) * 7 % VOCAB).astype("int32")
    documents = tf.data.Dataset.from_tensors(stream)
    return windows(documents, context, batch_size, shuffle=False, name="the test stream")


class LanguageModelContract:
    model_class = None
    config_class = None
    cache_shape = None  # After 8 steps of batch 2 of `tiny_model()`.
    config_keys = None  # `{key: value}` that `tiny_model(dropout=0.2)` must report.
    run_config_values = None  # Family keys of a tiny config for `from_run_config`.
    weight_stddev = 1.0

    def new_model(self, width, num_layers, **kwargs):
        raise NotImplementedError

    def tiny_model(self, **kwargs):
        model = self.new_model(8, 2, **kwargs)
        rng = np.random.default_rng(1)
        for variable in model.weights:
            variable.assign(rng.normal(0.0, self.weight_stddev, variable.shape).astype("float32"))
        return model

    # Decoding -------------------------------------------------------------------------

    def test_cached_and_uncached_greedy_decoding_give_identical_tokens(self):
        model = self.tiny_model()
        for prompt in PROMPTS:
            new = CONTEXT - len(prompt[0])
            cached = model.generate(prompt, max_new_tokens=new)
            uncached = model.generate(prompt, max_new_tokens=new, use_cache=False)
            self.assertAllEqual(cached, uncached)
            self.assertAllEqual(cached[:, : len(prompt[0])], prompt)
            # Not a degenerate model: the continuations use several tokens.
            self.assertGreater(len(np.unique(cached[:, len(prompt[0]) :])), 1)

    def test_each_step_matches_the_full_causal_forward(self):
        model = self.tiny_model()
        tokens = tf.constant([[3, 4, 5, 1, 2, 9, 0, 11], [1, 1, 2, 3, 5, 8, 12, 7]])
        full = model(tokens)
        cache = model.prefill(tokens[:, :0])
        for index in range(1, 9):
            logits, cache = model.next_fn(tokens, cache, tf.constant(index))
            self.assertAllClose(logits, full[:, index - 1], atol=1e-5)
        self.assertEqual(cache.shape, self.cache_shape)

    def test_a_step_reads_only_the_last_token_and_the_cache(self):
        model = self.tiny_model()
        tokens = tf.constant([[3, 4, 5, 1, 2, 9, 0, 11]])
        cache = model.prefill(tokens[:, :5])
        garbage = tf.tensor_scatter_nd_update(tf.fill([1, CONTEXT], 12), [[0, 5]], [9])
        real, real_cache = model.next_fn(tf.pad(tokens, [[0, 0], [0, 4]]), cache, tf.constant(6))
        fake, fake_cache = model.next_fn(garbage, cache, tf.constant(6))
        self.assertAllEqual(real, fake)
        self.assertAllEqual(real_cache, fake_cache)
        # One traced step serves every prefix length: its work has a fixed shape.
        step = tf.function(model.next_fn)
        for index in (2, 5, 9):
            step(garbage, cache, tf.constant(index))
        self.assertEqual(step.experimental_get_tracing_count(), 1)

    def test_decoding_compiles_with_xla(self):
        model = self.tiny_model()
        prompt = [[3, 4, 5], [1, 2, 9]]
        eager_graph = model.generate(prompt, max_new_tokens=6)
        xla = model.generate(prompt, max_new_tokens=6, jit_compile=True)
        self.assertAllEqual(eager_graph, xla)
        sampled = model.generate(
            prompt, sampler="top_k", max_new_tokens=6, seed=3, jit_compile=True
        )
        self.assertAllEqual(
            sampled,
            model.generate(prompt, sampler="top_k", max_new_tokens=6, seed=3, jit_compile=True),
        )

    def test_beam_search_reorders_the_cache(self):
        model = self.tiny_model()
        prompt = [[3, 4, 5], [1, 2, 9]]
        one_beam = model.generate(
            prompt, sampler={"name": "beam", "num_beams": 1}, max_new_tokens=5
        )
        self.assertAllEqual(one_beam, model.generate(prompt, max_new_tokens=5))
        beams = {"name": "beam", "num_beams": 3}
        self.assertAllEqual(
            model.generate(prompt, sampler=beams, max_new_tokens=5),
            model.generate(prompt, sampler=beams, max_new_tokens=5, use_cache=False),
        )

    def test_prompts_of_different_lengths_decode_like_single_prompts(self):
        model = self.tiny_model()
        prompts = [[3], [1, 2, 9, 4], [7, 7]]
        cached = model.generate(prompts, max_new_tokens=4)
        self.assertEqual(cached.shape, (3, 8))
        self.assertAllEqual(
            cached, model.generate(tf.ragged.constant(prompts), max_new_tokens=4, use_cache=False)
        )
        for row, prompt in zip(cached.numpy(), prompts):
            alone = model.generate([prompt], max_new_tokens=4)[0]
            self.assertAllEqual(row[: len(prompt) + 4], alone)
            self.assertAllEqual(row[len(prompt) + 4 :], np.zeros(4 - len(prompt)))

    def test_a_1d_prompt_gives_a_1d_sequence(self):
        self.assertEqual(self.tiny_model().generate([3, 4], max_new_tokens=3).shape, (5,))

    def test_bad_prompts_name_the_limit(self):
        model = self.tiny_model()
        with self.assertRaisesRegex(ValueError, "empty"):
            model.generate(np.zeros([1, 0], "int32"), max_new_tokens=2)
        with self.assertRaisesRegex(ValueError, f"13 tokens, more than context_length {CONTEXT}"):
            model.generate([list(range(13))], max_new_tokens=1)
        with self.assertRaisesRegex(ValueError, "max_new_tokens"):
            model.generate([[1, 2, 3]], max_new_tokens=0)

    # Training ---------------------------------------------------------------------------

    def test_fit_reports_nats_and_bits_per_token_and_learns(self):
        model = self.new_model(16, 1, dropout=0.1)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        data = token_windows()
        before = model.evaluate(data, return_dict=True, verbose=0)
        self.assertAllClose(before["loss"], math.log(VOCAB), atol=0.3)
        history = model.fit(data.repeat(), steps_per_epoch=40, epochs=1, verbose=0).history
        self.assertAllClose(history["bits_per_token"][0], history["loss"][0] / math.log(2.0))
        after = model.evaluate(data, return_dict=True, verbose=0)
        self.assertLess(after["loss"], 0.5 * before["loss"])
        self.assertAllClose(after["bits_per_token"], after["loss"] / math.log(2.0))

    # Saving and configs -------------------------------------------------------------------

    def test_the_seed_sets_every_initial_weight(self):
        def weights(seed):
            model = self.new_model(8, 2, seed=seed)
            return [v.numpy() for v in model.weights]

        for first, again in zip(weights(5), weights(5)):
            self.assertAllEqual(first, again)
        self.assertNotAllClose(weights(5)[0], weights(6)[0])

    def test_export_endpoints_match_the_model(self):
        model = self.tiny_model()
        with self.assertRaisesRegex(ValueError, "has no tokenizer"):
            model.export_endpoints()
        model.tokenizer = CharTokenizer(list("abcdefghijk"))  # ids 2..12
        endpoints = model.export_endpoints()
        self.assertIn(model.serving_default, endpoints)
        tokens = tf.constant([[3, 4, 5, 1]])
        self.assertAllClose(endpoints["logits"](tokens)["logits"], model(tokens))
        self.assertAllClose(endpoints["next_token_logits"](tokens)["logits"], model(tokens)[:, -1])
        new = CONTEXT - 4
        out = endpoints["generate"](
            tf.constant(["bcd"]),
            tf.constant([new]),
            tf.constant([0.0]),
            tf.constant([0]),
            tf.constant([1.0]),
            tf.constant([0]),
        )
        expected = model.generate_text("bcd", sampler="greedy", max_new_tokens=new)
        self.assertEqual(out["completion"].numpy()[0].decode(), expected)
        self.assertEqual(out["text"].numpy()[0].decode(), "bcd" + expected)

    def test_get_config_round_trip(self):
        model = self.tiny_model(dropout=0.2, seed=7)
        config = assert_config_round_trip(self, model).get_config()
        self.assertEqual({k: config[k] for k in self.config_keys}, self.config_keys)

    def test_a_checkpoint_holds_every_weight(self):
        # tf.train.Checkpoint (the fit loop's format) must reach every layer, e.g. not
        # miss layers kept in a Python list.
        model = self.tiny_model()
        path = tf.train.Checkpoint(model=model).save(os.path.join(self.get_temp_dir(), "ckpt"))
        fresh = self.new_model(8, 2)
        tf.train.Checkpoint(model=fresh).restore(path).assert_consumed()
        self.assertLen(fresh.weights, len(model.weights))
        for mine, theirs in zip(model.weights, fresh.weights):
            self.assertAllEqual(mine, theirs, msg=mine.path)

    def test_from_run_config_uses_the_tokenizer_vocabulary(self):
        config = config_lib.resolve(
            self.config_class,
            {
                "context_length": 8,
                "lr_schedule": "constant",
                "weight_decay": 0.1,
                **self.run_config_values,
            },
        )
        info = DatasetInfo(name="shakespeare", modality="text", shape=None, value_range=None)
        tokenizer = CharTokenizer(list("abc"))
        model = self.model_class.from_run_config(
            config, info, steps_per_epoch=2, tokenizer=tokenizer
        )
        model.compile_from_run_config(config, jit_compile=False, steps_per_epoch=2)
        self.assertEqual((model.vocab_size, model.context_length), (5, 8))
        self.assertIn("optimizer", model.optimizers())
        self.assertAllClose(model.optimizer.weight_decay, 0.1)
        model.build_optimizers()
        with self.assertRaisesRegex(ValueError, "tokenizer"):
            self.model_class.from_run_config(config, info)
        image_info = DatasetInfo(name="mnist", modality="image", shape=(28, 28, 1))
        with self.assertRaisesRegex(ValueError, "models text"):
            self.model_class.from_run_config(config, image_info, tokenizer=tokenizer)
        with self.assertRaisesRegex(config_lib.ConfigError, "tokenizer"):
            config_lib.resolve(self.config_class, {"tokenizer": "bpe"})
