"""FilteredSampler: tensor-valued temperature/top-k/top-p, checked with fake logits functions."""

import math

import numpy as np
import tensorflow as tf

from tfgen import samplers
from tfgen.samplers import FilteredSampler, GreedySampler

VOCAB = 7


def fixed_next(probabilities):
    """Logits of the same distribution at every position, for every row."""
    logits = tf.math.log(tf.constant(probabilities, tf.float32))

    def next_fn(prompt, cache, index):
        return tf.tile(logits[None], [tf.shape(prompt)[0], 1]), cache

    return next_fn


def table_next(table):
    """Logits read from a fixed `[batch, length, vocab]` table, whatever the prefix."""
    table = tf.constant(table, tf.float32)

    def next_fn(prompt, cache, index):
        return tf.gather(table, index, axis=1), cache

    return next_fn


def distinct_logits(batch, length, seed=0):
    """Logits per position are a permutation of 0..VOCAB-1 (no ties), scaled to be close."""
    rng = np.random.default_rng(seed)
    return np.stack([[rng.permutation(VOCAB) * 0.3 for _ in range(length)] for _ in range(batch)])


def drawn_tokens(sampler, probabilities, rows=64, length=33, seed=0):
    """The set of tokens drawn over `rows * (length - 1)` steps."""
    prompt = tf.zeros([rows, length], tf.int32)
    tokens = sampler(fixed_next(probabilities), prompt, index=1, seed=seed)
    return set(np.unique(tokens[:, 1:].numpy()).tolist())


class FilteredSamplerTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.table = distinct_logits(3, 10)
        self.prompt = tf.zeros([3, 10], tf.int32)
        self.greedy = GreedySampler()(table_next(self.table), self.prompt, index=1)

    def decode(self, seed=5, **kwargs):
        return FilteredSampler(**kwargs)(table_next(self.table), self.prompt, index=1, seed=seed)

    def test_temperature_zero_or_below_is_greedy(self):
        for temperature in (0.0, -1.0, tf.constant(0.0)):
            self.assertAllEqual(self.decode(temperature=temperature), self.greedy)
        # The greedy choice is the argmax, whatever k and p say.
        self.assertAllEqual(self.decode(temperature=0, top_k=3, top_p=0.5), self.greedy)

    def test_top_k_one_and_a_tiny_top_p_are_greedy(self):
        self.assertAllEqual(self.decode(top_k=1, seed=1), self.greedy)
        self.assertAllEqual(self.decode(top_p=1e-6, seed=2), self.greedy)
        self.assertAllEqual(self.decode(top_p=0.0, seed=3), self.greedy)

    def test_the_default_samples_and_the_same_seed_repeats(self):
        sampled = self.decode(seed=7)
        self.assertNotAllEqual(sampled, self.greedy)
        self.assertAllEqual(sampled, self.decode(seed=7))
        self.assertNotAllEqual(sampled, self.decode(seed=8))

    def test_top_k_keeps_exactly_the_k_most_likely_tokens(self):
        probabilities = [0.05, 0.3, 0.1, 0.2, 0.15, 0.12, 0.08]
        self.assertEqual(drawn_tokens(FilteredSampler(top_k=3), probabilities), {1, 3, 4})
        # k <= 0 or beyond the vocabulary keeps every token.
        for k in (0, -1, 100):
            self.assertEqual(
                drawn_tokens(FilteredSampler(top_k=k), probabilities), set(range(VOCAB))
            )

    def test_top_p_keeps_the_nucleus(self):
        probabilities = [0.5, 0.05, 0.3, 0.15, 0.0, 0.0, 0.0]
        # Token 2 is kept (0.5 before it < 0.7); token 3 is not (0.8 before it).
        self.assertEqual(drawn_tokens(FilteredSampler(top_p=0.7), probabilities), {0, 2})
        self.assertEqual(drawn_tokens(FilteredSampler(top_p=1.0), probabilities), {0, 1, 2, 3})

    def test_top_p_cuts_the_renormalised_top_k_distribution(self):
        # Top-2 renormalised is [4/7, 3/7]: p=0.5 keeps only token 0. Cutting the
        # original distribution instead (0.4 before token 1 < 0.5) would keep both.
        probabilities = [0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0]
        self.assertEqual(drawn_tokens(FilteredSampler(top_k=2, top_p=0.5), probabilities), {0})
        self.assertEqual(drawn_tokens(FilteredSampler(top_p=0.5), probabilities), {0, 1})

    def test_filter_logits_scales_by_the_temperature(self):
        logits = tf.constant([[1.0, 3.0, 2.0]])
        filtered, ids = FilteredSampler(temperature=0.5, top_k=2).filter_logits(logits)
        self.assertAllEqual(ids, [[1, 2, 0]])
        self.assertAllClose(filtered, [[6.0, 4.0, -math.inf]])

    def test_per_row_tensor_parameters_in_a_traced_function(self):
        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([], tf.int32),
            ]
        )
        def decode(temperature, top_k, top_p, seed):
            sampler = FilteredSampler(temperature, top_k, top_p)
            return sampler(table_next(self.table), self.prompt, index=1, seed=seed)

        tokens = decode(
            tf.constant([0.0, 1.0, 1.0]),
            tf.constant([0, 1, 0]),
            tf.constant([1.0, 1.0, 0.9]),
            tf.constant(3),
        )
        # Row 0 greedy (temperature 0), row 1 greedy (k=1), row 2 sampled.
        self.assertAllEqual(tokens[:2], self.greedy[:2])
        self.assertAllEqual(
            tokens,
            decode(
                tf.constant([0.0, 1.0, 1.0]),
                tf.constant([0, 1, 0]),
                tf.constant([1.0, 1.0, 0.9]),
                tf.constant(3),
            ),
        )
        self.assertEqual(decode.experimental_get_tracing_count(), 1)

    def test_not_registered_and_python_values_are_checked(self):
        self.assertNotIn("filtered", samplers.names())
        self.assertIn("FilteredSampler", samplers.__all__)
        with self.assertRaisesRegex(ValueError, "`top_k` must be an integer"):
            FilteredSampler(top_k=1.5)
        with self.assertRaisesRegex(ValueError, "`temperature` must be a number"):
            FilteredSampler(temperature="hot")
        self.assertEqual(
            FilteredSampler(0.5, 3, 0.9).get_config(),
            {"temperature": 0.5, "top_k": 3, "top_p": 0.9, "seed": None},
        )
