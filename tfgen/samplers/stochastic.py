"""Samplers that draw from (a truncation of) the softmax of the logits.

Each draw uses `tf.random.stateless_categorical` with the step's seed, so
they run inside XLA and repeat exactly for a repeated seed.
"""

import tensorflow as tf

from tfgen.samplers.base import Sampler, check_int_at_least_one


def draw(logits, seed):
    """One stateless categorical draw per row of float `[batch, n]` logits -> int32 `[batch]`."""
    return tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int32)[:, 0]


def draw_sorted(sorted_logits, sorted_ids, seed):
    """Draws a position in descending-sorted logits and maps it back to a token id."""
    position = draw(sorted_logits, seed)
    return tf.gather(sorted_ids, position[:, None], batch_dims=1)[:, 0]


def static_vocab_size(logits):
    """The vocabulary size, a Python int when known statically (XLA's top_k needs one)."""
    return logits.shape[-1] or tf.shape(logits)[-1]


class TemperatureSampler(Sampler):
    """Draws from `softmax(logits / temperature)` over the whole vocabulary.

    Args:
        temperature: float > 0. Defaults to `1.0` (the model's distribution).
        seed: optional default seed, see `Sampler`.

    Example:

    ```python
    sampler = tfgen.samplers.get("temperature", temperature=0.8)
    tokens = sampler(next_fn, prompt, index=4, seed=42)  # same seed, same text
    ```
    """

    name = "temperature"

    def get_next_token(self, logits, seed):
        return draw(logits, seed)


class TopKSampler(Sampler):
    """Draws from the `k` most likely tokens, renormalised (Fan et al., 2018).

    Exactly `k` tokens stay candidates even when scores tie (the lower ids
    win ties, as in `tf.math.top_k`); `k` above the vocabulary size keeps
    the whole vocabulary.

    Args:
        k: int >= 1, how many tokens stay candidates. Defaults to `5`.
        temperature: float > 0, applied before the draw. Defaults to `1.0`.
        seed: optional default seed, see `Sampler`.

    Raises:
        ValueError: if `k < 1` or `temperature <= 0`.

    Example:

    ```python
    sampler = tfgen.samplers.get("top_k", k=10)
    tokens = sampler(next_fn, prompt, index=4, seed=[1, 2])
    ```
    """

    name = "top_k"

    def __init__(self, k=5, temperature=1.0, seed=None):
        super().__init__(temperature=temperature, seed=seed)
        self.k = check_int_at_least_one("k", k)

    def get_next_token(self, logits, seed):
        vocab_size = static_vocab_size(logits)
        k = min(self.k, vocab_size) if isinstance(vocab_size, int) else self.k
        top_logits, top_ids = tf.math.top_k(logits, k=k, sorted=True)
        return draw_sorted(top_logits, top_ids, seed)

    def get_config(self):
        return {"k": self.k, **super().get_config()}


class TopPSampler(Sampler):
    """Nucleus sampling: draws from the smallest set of tokens whose probability is >= `p`.

    Tokens are sorted by probability and kept while the probability of the
    tokens before them is still below `p`, so the most likely token is
    always kept and `p=1` keeps every token (Holtzman et al., 2019,
    https://arxiv.org/abs/1904.09751).

    Args:
        p: float in (0, 1], the probability mass to keep. Defaults to `0.9`.
        k: optional int >= 1: consider only the `k` most likely tokens
            before the nucleus cut (sorts fewer tokens on large
            vocabularies). Defaults to `None` (the whole vocabulary).
        temperature: float > 0, applied before the probabilities are
            computed. Defaults to `1.0`.
        seed: optional default seed, see `Sampler`.

    Raises:
        ValueError: if `p` is not in (0, 1], `k < 1` or `temperature <= 0`.

    Example:

    ```python
    sampler = tfgen.samplers.get("top_p", p=0.9)
    tokens = sampler(next_fn, prompt, index=4, seed=0)
    ```
    """

    name = "top_p"

    def __init__(self, p=0.9, k=None, temperature=1.0, seed=None):
        super().__init__(temperature=temperature, seed=seed)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise ValueError(f"`p` must be a number in (0, 1], got {p!r}.")
        self.p = p
        self.k = None if k is None else check_int_at_least_one("k", k)

    def get_next_token(self, logits, seed):
        vocab_size = static_vocab_size(logits)
        k = vocab_size
        if self.k is not None:
            k = min(self.k, vocab_size) if isinstance(vocab_size, int) else self.k
        # Probabilities over the whole vocabulary, even when only `k` are sorted.
        sorted_log_probs, sorted_ids = tf.math.top_k(tf.nn.log_softmax(logits), k=k, sorted=True)
        mass_before = tf.cumsum(tf.exp(sorted_log_probs), axis=-1, exclusive=True)
        keep = mass_before < self.p
        sorted_log_probs = tf.where(keep, sorted_log_probs, -float("inf"))
        return draw_sorted(sorted_log_probs, sorted_ids, seed)

    def get_config(self):
        return {"p": self.p, "k": self.k, **super().get_config()}
