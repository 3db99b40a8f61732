"""Samplers decode from fake `next_fn`s whose logits force a known output (as KerasHub's tests)."""

import math

import numpy as np
import pytest
import tensorflow as tf
from support import assert_config_round_trip

from tfgen import samplers
from tfgen.samplers import BeamSampler, GreedySampler, TemperatureSampler, TopKSampler, TopPSampler

ALPHABET = "abcdefghijklmnopqrstuvwxyz"
VOCAB = len(ALPHABET)


def ids(text):
    return [ALPHABET.index(c) for c in text]


def text(tokens):
    return ["".join(ALPHABET[i] for i in row) for row in np.asarray(tokens)]


def buffer(rows, length):
    """int32 [batch, length] prompt buffer: each row's prompt, padded with 'z'."""
    return tf.constant([ids(r) + ids("z") * (length - len(r)) for r in rows], tf.int32)


def cyclic_next(prompt, cache, index):
    """Always favours token `index % VOCAB`."""
    batch = tf.shape(prompt)[0]
    return tf.one_hot(tf.fill([batch], index % VOCAB), VOCAB) * 1e9, cache


def target_next(prompt, cache, index):
    """The cache is a `[batch, length]` target; favours its token at `index`."""
    return tf.one_hot(tf.gather(cache, index, axis=1), VOCAB) * 1e9, cache


def table_next(table):
    """Logits read from a fixed `[batch, length, vocab]` table, whatever the prefix."""
    table = tf.constant(table, tf.float32)

    def next_fn(prompt, cache, index):
        return tf.gather(table, index, axis=1), cache

    return next_fn


def distinct_logits(batch, length, vocab, seed=0):
    """A table whose logits per position are a permutation of 0..vocab-1 (no near-ties)."""
    rng = np.random.default_rng(seed)
    return np.stack([[rng.permutation(vocab) for _ in range(length)] for _ in range(batch)])


def counting_next(calls):
    """Favours token `number of previous calls` (read from the cache); logs each call."""

    def next_fn(prompt, cache, index):
        calls.append(1)
        logits = tf.one_hot(cache["calls"] % VOCAB, VOCAB) * 1e9
        return logits, {"calls": cache["calls"] + 1}

    return next_fn


class GreedyLoopTest(tf.test.TestCase):
    """The decoding loop that every token-by-token sampler shares."""

    def test_greedy_produces_the_forced_string(self):
        prompt = buffer(["abc", "xyz"], 12)
        output = GreedySampler()(cyclic_next, prompt, index=3)
        self.assertEqual(text(output), ["abcdefghijkl", "xyzdefghijkl"])
        self.assertEqual(output.dtype, tf.int32)

    def test_stateful_call_reads_the_cache(self):
        cache = tf.constant([ids("sequentially"), ids("stopsequence")], tf.int32)
        output = GreedySampler()(target_next, buffer(["", ""], 12), cache=cache)
        self.assertEqual(text(output), ["sequentially", "stopsequence"])

    def test_cache_is_threaded_and_next_called_once_per_position(self):
        calls = []
        cache = {"calls": tf.zeros([2], tf.int32)}
        output = GreedySampler()(
            counting_next(calls), buffer(["hey", "you"], 10), cache=cache, index=3
        )
        # A recomputed prefix or a dropped cache would not count 0, 1, 2, ...
        self.assertEqual(text(output), ["heyabcdefg", "youabcdefg"])
        self.assertLen(calls, 7)

    def test_stop_token_ends_rows_and_fills_the_rest(self):
        calls = []

        def next_fn(prompt, cache, index):
            calls.append(1)
            return target_next(prompt, cache, index)

        cache = tf.constant([ids("sequentially"), ids("stopsequence")], tf.int32)
        prompt = buffer(["", ""], 12)
        output = GreedySampler()(next_fn, prompt, cache=cache, stop_token_ids=[ids("t")[0]])
        self.assertEqual(text(output), ["sequentttttt", "sttttttttttt"])
        self.assertLen(calls, 7)  # stops once both rows have ended, at position 6
        padded = GreedySampler()(
            target_next, prompt, cache=cache, stop_token_ids=ids("tx"), pad_token_id=ids("z")[0]
        )
        self.assertEqual(text(padded), ["sequentzzzzz", "stzzzzzzzzzz"])

    def test_stop_token_in_given_prompt_does_not_stop(self):
        cache = tf.constant([ids("sequentially")], tf.int32)
        prompt = buffer(["tt"], 12)
        mask = tf.constant([[True, True] + [False] * 10])
        output = GreedySampler()(
            target_next, prompt, cache=cache, mask=mask, stop_token_ids=ids("t")
        )
        self.assertEqual(text(output), ["ttquentttttt"])

    def test_max_new_tokens(self):
        calls = []
        prompt = buffer(["hey", "you"], 10)
        output = GreedySampler()(
            counting_next(calls),
            prompt,
            cache={"calls": tf.zeros([2], tf.int32)},
            index=3,
            max_new_tokens=2,
        )
        self.assertEqual(text(output), ["heyabzzzzz", "youabzzzzz"])
        self.assertLen(calls, 2)

    def test_per_row_prompts_are_teacher_forced_and_kept(self):
        prompt = buffer(["ab", "vwxyz"], 9)
        mask = tf.sequence_mask([2, 5], 9)
        output = GreedySampler()(cyclic_next, prompt, index=2, mask=mask)
        self.assertEqual(text(output), ["abcdefghi", "vwxyzfghi"])
        # Each row counts only its own generated tokens.
        short = GreedySampler()(
            cyclic_next, prompt, index=2, mask=mask, max_new_tokens=2, pad_token_id=ids("q")[0]
        )
        self.assertEqual(text(short), ["abcdqqqqq", "vwxyzfgqq"])

    def test_index_zero_fills_whole_buffer(self):
        output = GreedySampler()(cyclic_next, buffer(["zz"], 4))
        self.assertEqual(text(output), ["abcd"])


class StochasticSamplerTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.table = distinct_logits(batch=4, length=10, vocab=VOCAB)
        self.next_fn = table_next(self.table)
        self.prompt = buffer(["ab"] * 4, 10)
        self.greedy = GreedySampler()(self.next_fn, self.prompt, index=2)

    def test_greedy_is_argmax_of_the_table(self):
        expected = np.argmax(self.table, axis=-1)[:, 2:]
        self.assertAllEqual(self.greedy[:, 2:], expected)

    def test_limits_that_equal_greedy(self):
        for sampler in (
            TopKSampler(k=1),
            TopPSampler(p=1e-6),
            TemperatureSampler(1e-4),
            TopKSampler(k=3, temperature=1e-4),
            TopPSampler(p=0.9, temperature=1e-4),
            BeamSampler(num_beams=1),
        ):
            with self.subTest(sampler=repr(sampler)):
                output = sampler(self.next_fn, self.prompt, index=2, seed=7)
                self.assertAllEqual(output, self.greedy)

    def test_seeded_draws_are_reproducible(self):
        flat = table_next(np.zeros([4, 16, 8]))
        prompt = tf.zeros([4, 16], tf.int32)
        for sampler in (TemperatureSampler(), TopKSampler(k=8), TopPSampler(p=1.0)):
            with self.subTest(repr(sampler)):
                first = sampler(flat, prompt, seed=3)
                # Each position draws with its own seed: a row is not one repeated token.
                self.assertGreater(len(set(first.numpy()[0])), 1)
                self.assertAllEqual(first, sampler(flat, prompt, seed=3))
                self.assertAllEqual(first, sampler(flat, prompt, seed=tf.constant([3, 0])))
                self.assertNotAllEqual(first, sampler(flat, prompt, seed=4))
                self.assertNotAllEqual(sampler(flat, prompt), sampler(flat, prompt))
                seeded = type(sampler).from_config({**sampler.get_config(), "seed": 3})
                self.assertAllEqual(first, seeded(flat, prompt))

    def test_top_k_only_emits_the_top_k(self):
        table = distinct_logits(batch=64, length=9, vocab=10, seed=1) * 0.5
        output = TopKSampler(k=3)(table_next(table), tf.zeros([64, 9], tf.int32), index=1, seed=0)
        top3 = np.argsort(-table, axis=-1)[..., :3]
        emitted = output.numpy()[:, 1:]
        self.assertTrue(np.all((emitted[..., None] == top3[:, 1:]).any(-1)))
        # ... and is not greedy: the second and third choices show up too.
        rank = np.argmax(emitted[..., None] == top3[:, 1:], axis=-1)
        self.assertEqual(set(rank.ravel()), {0, 1, 2})

    def test_top_p_only_emits_the_nucleus(self):
        log_probs = np.log([0.5, 0.3, 0.15, 0.05])
        table = np.broadcast_to(log_probs, [64, 9, 4])
        prompt = tf.zeros([64, 9], tf.int32)
        for p, nucleus in ((0.75, {0, 1}), (0.9, {0, 1, 2}), (1.0, {0, 1, 2, 3})):
            with self.subTest(p=p):
                output = TopPSampler(p=p)(table_next(table), prompt, index=1, seed=0)
                self.assertEqual(set(output.numpy()[:, 1:].ravel()), nucleus)

    def test_top_k_larger_than_vocab_keeps_everything(self):
        table = np.zeros([64, 5, 3])
        output = TopKSampler(k=50)(table_next(table), tf.zeros([64, 5], tf.int32), seed=1)
        self.assertEqual(set(output.numpy().ravel()), {0, 1, 2})


# Tokens of the beam-search examples.
S, A, B, C, ERR = range(5)


def transition_table(rows, vocab):
    """log-probs `[vocab, vocab]` from {previous token: {next token: probability}}."""
    table = np.full([vocab, vocab], 1e-9)
    for prev, nxt in rows.items():
        for token, prob in nxt.items():
            table[prev, token] = prob
    return np.log(table / table.sum(-1, keepdims=True))


# Greedy takes `a` (0.6) and then finds only a flat distribution; `b` (0.4)
# leads to `c` with 0.97, so "s b c" beats "s a ?".
MYOPIC = transition_table(
    {
        S: {A: 0.6, B: 0.4},
        A: {S: 0.25, A: 0.25, B: 0.25, C: 0.25},
        B: {C: 0.97, S: 0.01, A: 0.01, B: 0.01},
        C: {C: 0.9, A: 0.1},
        ERR: {ERR: 1.0},
    },
    vocab=5,
)


def history_next(table):
    """A bigram model whose cache records every token it was fed (`[batch, length]`).

    If the cache row does not match the prompt row it was called with (a beam
    reordered without its cache), it emits ERR.
    """
    table = tf.constant(table, tf.float32)

    def next_fn(prompt, cache, index):
        previous = tf.gather(prompt, index - 1, axis=1)
        positions = tf.range(tf.shape(prompt)[1])[None, :]
        cache = tf.where(positions == index - 1, previous[:, None], cache)
        seen = positions < index
        consistent = tf.reduce_all(tf.logical_or(~seen, tf.equal(cache, prompt)), axis=1)
        err = tf.one_hot(tf.fill(tf.shape(previous), ERR), table.shape[0]) * 1e9
        logits = tf.where(consistent[:, None], tf.gather(table, previous), err)
        return logits, cache

    return next_fn


def sequence_log_prob(table, tokens, start=1):
    return sum(table[tokens[i - 1], tokens[i]] for i in range(start, len(tokens)))


class BeamSamplerTest(tf.test.TestCase):
    def test_beam_beats_myopic_greedy_and_reorders_the_cache(self):
        prompt = tf.constant([[S, S, S, S]], tf.int32)
        cache = tf.identity(prompt)
        next_fn = history_next(MYOPIC)
        greedy = GreedySampler()(next_fn, prompt, cache=cache, index=1).numpy()[0]
        beam = BeamSampler(num_beams=2)(next_fn, prompt, cache=cache, index=1).numpy()[0]
        self.assertEqual(list(beam), [S, B, C, C])
        self.assertNotIn(ERR, list(greedy))
        self.assertGreater(sequence_log_prob(MYOPIC, beam), sequence_log_prob(MYOPIC, greedy))

    def test_return_all_beams_sorted_with_scores(self):
        prompt = tf.constant([[S, S, S, S]] * 2, tf.int32)
        sampler = BeamSampler(num_beams=3, length_penalty=0.0, return_all_beams=True)
        seqs, scores = sampler(history_next(MYOPIC), prompt, cache=tf.identity(prompt), index=1)
        self.assertEqual(seqs.shape, (2, 3, 4))
        self.assertEqual(scores.shape, (2, 3))
        self.assertAllGreaterEqual(scores[:, :-1] - scores[:, 1:], 0.0)
        self.assertEqual(list(seqs.numpy()[0, 0]), [S, B, C, C])
        self.assertAllClose(scores[:, 0], [math.log(0.4 * 0.97 * 0.9)] * 2, atol=1e-4)
        for row in range(3):
            self.assertAllClose(
                scores[0, row], sequence_log_prob(MYOPIC, seqs.numpy()[0, row]), atol=1e-4
            )

    def test_length_penalty_and_stop_tokens(self):
        a, end, x, pad = 1, 2, 3, 4
        table = transition_table(
            {
                S: {end: 0.55, a: 0.45},
                a: {a: 0.9, end: 0.05, x: 0.05},
                end: {S: 1.0},
                x: {x: 0.9, end: 0.1},
                pad: {pad: 1.0},
            },
            5,
        )
        prompt = tf.constant([[S, pad, pad, pad, pad], [S, x, pad, pad, pad]], tf.int32)
        mask = tf.sequence_mask([1, 2], 5)
        next_fn = history_next(table)
        kwargs = dict(cache=tf.identity(prompt), index=1, mask=mask, stop_token_ids=[end])
        raw = BeamSampler(num_beams=2, length_penalty=0.0)(next_fn, prompt, **kwargs)
        # Raw log-prob prefers stopping at once (0.55 > 0.45 * 0.9 ** 3); row 1 is forced
        # through its prompt `x`, which then continues (0.9 ** 3 > 0.1).
        self.assertAllEqual(raw, [[S, end, end, end, end], [S, x, x, x, x]])
        padded = BeamSampler(num_beams=2, length_penalty=0.0)(
            next_fn, prompt, pad_token_id=pad, **kwargs
        )
        self.assertAllEqual(padded[0], [S, end, pad, pad, pad])
        sampler = BeamSampler(num_beams=2, length_penalty=1.0, return_all_beams=True)
        seqs, scores = sampler(next_fn, prompt, **kwargs)
        # Divided by the generated length, 4 tokens of `a` beat one stop token.
        self.assertAllEqual(seqs[0, 0], [S, a, a, a, a])
        self.assertAllClose(scores[0, 0], math.log(0.45 * 0.9**3) / 4, atol=1e-4)
        self.assertAllClose(scores[1, 0], math.log(0.9**3) / 3, atol=1e-4)

    def test_max_new_tokens(self):
        prompt = tf.constant([[S, S, S, S]], tf.int32)
        output = BeamSampler(num_beams=2)(
            history_next(MYOPIC),
            prompt,
            cache=tf.identity(prompt),
            index=1,
            max_new_tokens=2,
            pad_token_id=ERR,
        )
        self.assertAllEqual(output, [[S, B, C, ERR]])

    def test_cache_is_optional(self):
        output = BeamSampler(num_beams=3)(cyclic_next, buffer(["ab"], 6), index=2)
        self.assertEqual(text(output), ["abcdef"])


class XLATest(tf.test.TestCase):
    """Every sampler compiles with `jit_compile=True`, with a cache, stop tokens and a seed."""

    def test_every_sampler_compiles(self):
        targets = tf.constant([ids("sequentially"), ids("stopsequence")], tf.int32)

        def next_fn(prompt, cache, index):
            logits, _ = target_next(prompt, cache["targets"], index)
            return logits, {"targets": cache["targets"], "calls": cache["calls"] + 1}

        cache = {"targets": targets, "calls": tf.zeros([2, 3], tf.int32)}
        prompt = buffer(["se", "st"], 12)
        for name in samplers.names():
            with self.subTest(name):
                sampler = samplers.get(name)

                @tf.function(jit_compile=True)
                def generate(prompt, cache, index, seed):
                    return sampler(  # noqa: B023 (traced within this iteration)
                        next_fn,
                        prompt,
                        cache=cache,
                        index=index,
                        seed=seed,
                        stop_token_ids=ids("a"),
                        max_new_tokens=9,
                    )

                output = generate(prompt, cache, tf.constant(2), tf.constant([1, 2]))
                # Row 0 stops at its first "a"; row 1 at 9 new tokens, keeping the padding.
                self.assertEqual(text(output), ["sequentiaaaa", "stopsequencz"])

    def test_seeded_draws_under_xla(self):
        flat = table_next(np.zeros([4, 12, 8]))
        sampler = TopPSampler(p=1.0)

        @tf.function(jit_compile=True)
        def generate(seed):
            return sampler(flat, tf.zeros([4, 12], tf.int32), seed=seed)

        first = generate(tf.constant([5, 6]))
        self.assertAllEqual(first, generate(tf.constant([5, 6])))
        self.assertNotAllEqual(first, generate(tf.constant([5, 7])))


class RegistryTest(tf.test.TestCase):
    def test_names_and_lookup(self):
        self.assertEqual(samplers.names(), ["beam", "greedy", "temperature", "top_k", "top_p"])
        self.assertIsInstance(samplers.get("Top_K", k=3), TopKSampler)
        self.assertEqual(samplers.get("top-p", p=0.5).p, 0.5)
        instance = BeamSampler(num_beams=2)
        self.assertIs(samplers.get(instance), instance)
        for name, cls in samplers.SAMPLERS.items():
            self.assertEqual(cls.name, name)

    def test_unknown_name_lists_valid_names(self):
        with pytest.raises(ValueError, match=r"'nucleus'.*beam, greedy, temperature, top_k, top_p"):
            samplers.get("nucleus")

    def test_unknown_argument_lists_accepted_ones(self):
        with pytest.raises(ValueError, match=r"\['q'\].*k, temperature, seed"):
            samplers.get("top_k", q=3)
        with pytest.raises(ValueError, match="instance"):
            samplers.get(GreedySampler(), temperature=2.0)

    def test_bad_parameters_name_the_parameter_and_range(self):
        cases = [
            (lambda: TopKSampler(k=0), r"`k` must be an integer >= 1, got 0"),
            (lambda: TopKSampler(k=2.5), r"`k` must be an integer >= 1"),
            (lambda: TopPSampler(p=0.0), r"`p` must be a number in \(0, 1\], got 0.0"),
            (lambda: TopPSampler(p=1.5), r"`p` must be a number in \(0, 1\]"),
            (lambda: TemperatureSampler(temperature=0), r"`temperature` must be a number > 0"),
            (lambda: TopPSampler(temperature=-1.0), r"`temperature` must be a number > 0"),
            (lambda: BeamSampler(num_beams=0), r"`num_beams` must be an integer >= 1, got 0"),
            (lambda: BeamSampler(length_penalty="long"), r"`length_penalty` must be a number"),
            (
                lambda: GreedySampler()(cyclic_next, buffer(["a"], 3), max_new_tokens=0),
                r"`max_new_tokens` must be an integer >= 1, got 0",
            ),
        ]
        for build, message in cases:
            with self.subTest(message), pytest.raises(ValueError, match=message):
                build()

    def test_get_config_round_trips(self):
        for sampler in (
            GreedySampler(),
            TemperatureSampler(0.7, seed=3),
            TopKSampler(k=4),
            TopPSampler(p=0.8, k=20, temperature=0.5),
            BeamSampler(num_beams=3, length_penalty=0.6, return_all_beams=True),
        ):
            with self.subTest(repr(sampler)):
                config = assert_config_round_trip(self, sampler).get_config()
                rebuilt = samplers.get({"name": sampler.name, **config})
                self.assertIsInstance(rebuilt, type(sampler))
                self.assertEqual(rebuilt.get_config(), config)
