"""The sampler base class: one decoding loop shared by every token-by-token sampler.

A sampler never sees a model. It sees a `next_fn`:

```
logits, cache = next_fn(prompt, cache, index)
```

- `prompt`: int32 `[batch, max_length]`, the token buffer being filled in:
  positions `< index` are final (given or generated), later ones are
  padding or scratch. Under beam search `batch` is `batch * num_beams`.
- `cache`: whatever the model carries between steps (an LSTM state, a
  Transformer's key/value cache): a tensor or a nested structure of tensors
  (`tf.nest`), or `None` when the caller passed no cache. Every tensor keeps
  its shape from step to step (a `tf.while_loop` and XLA need fixed shapes).
- `index`: int32 scalar tensor, the position being predicted (from the
  call's `index` up to `max_length - 1`; with `index=0` the model predicts
  the first token from its initial cache alone).
- returns `logits`, float `[batch, vocab]`: the scores for the token at
  `index` given the tokens before it, and the cache updated with the token at
  `index - 1`. The sampler calls `next_fn` once per position, never on the
  whole prefix again. When no cache was passed, the returned one is ignored.

All randomness is stateless: the token drawn at position `i` depends only on
the call's seed, `i` and the logits, so a seed gives the same text every time.
Eager calls and `tf.function` calls agree; under `jit_compile=True` draws are
just as reproducible but differ from the non-XLA ones (XLA has its own
categorical kernel).
"""

import random

import tensorflow as tf

_MAX_INT32 = 2**31 - 1


class Sampler:
    """Base class of the token-by-token samplers (greedy, temperature, top-k, top-p).

    Subclasses implement `get_next_token(logits, seed)`; `__call__` runs the
    decoding loop: it fills `prompt` from `index` to its end, keeps the
    given prompt tokens, stops rows at a stop token or after
    `max_new_tokens`, and fills what follows a row's end.

    Args:
        temperature: float > 0. Logits are divided by it before a token is
            chosen: below 1 sharpens, above 1 flattens the distribution.
            Defaults to `1.0`.
        seed: optional int or `[2]` seed used when a call passes none.
            With neither, each call draws a fresh Python seed (inside a
            `tf.function` that happens once, at tracing: pass `seed` as a
            tensor argument of the function to vary it per call).

    Call arguments:
        next_fn: `(prompt, cache, index) -> (logits, cache)`, see the module
            docstring for the exact contract.
        prompt: int `[batch, max_length]` buffer; its first `index` positions
            (or, per row, the positions where `mask` is True) hold the
            prompt, the rest is padding.
        cache: optional tensor or nested structure of tensors, threaded
            through `next_fn`.
        index: int (or int32 scalar tensor), the first position to predict.
        mask: optional bool `[batch, max_length]`, True where a token was
            given. Those positions are never overwritten (a row with a longer
            prompt is teacher-forced through it) and never count as
            generated.
        stop_token_ids: optional list of token ids. A row ends at the first
            one it generates; later positions get that stop token, or
            `pad_token_id` when given. Decoding stops once every row ended.
        max_new_tokens: optional int >= 1, the most tokens generated per
            row. Positions after a row's last generated token keep the
            buffer's content (or get `pad_token_id`).
        seed: optional int or int `[2]` tensor for the stateless random ops.
        pad_token_id: optional id written after a row's end instead of its
            stop token / the buffer's content.

    Returns:
        int32 `[batch, max_length]`: the prompt followed by generated tokens.

    Example:

    ```python
    def next_fn(prompt, cache, index):
        logits = tf.one_hot(tf.fill([2], index % 5), 5) * 10.0
        return logits, cache

    prompt = tf.zeros([2, 8], tf.int32)
    tfgen.samplers.get("greedy")(next_fn, prompt, index=1)
    # [[0, 1, 2, 3, 4, 0, 1, 2], [0, 1, 2, 3, 4, 0, 1, 2]]
    ```
    """

    name = None

    def __init__(self, temperature=1.0, seed=None):
        self.temperature = check_positive("temperature", temperature)
        self.seed = seed

    def __call__(
        self,
        next_fn,
        prompt,
        cache=None,
        index=0,
        mask=None,
        stop_token_ids=None,
        max_new_tokens=None,
        seed=None,
        pad_token_id=None,
    ):
        state = DecodeState(prompt, mask, index, stop_token_ids, max_new_tokens, pad_token_id)
        seed = self._resolve_seed(seed)
        has_cache = cache is not None
        cache = cache if has_cache else ()

        def cond(buffer, cache, index, rows):
            return tf.logical_and(
                index < state.max_length, tf.logical_not(tf.reduce_all(rows["done"]))
            )

        def body(buffer, cache, index, rows):
            logits, new_cache = next_fn(buffer, cache if has_cache else None, index)
            step_seed = tf.random.experimental.stateless_fold_in(seed, index)
            token = tf.cast(self.get_next_token(self.scale(logits), step_seed), tf.int32)
            token, rows = state.step(buffer, index, token, rows)
            buffer = write_column(buffer, index, token)
            return buffer, (new_cache if has_cache else cache), index + 1, rows

        buffer, _, _, rows = tf.while_loop(
            cond,
            body,
            (state.prompt, cache, state.index, state.initial_rows()),
            maximum_iterations=state.max_length - state.index,
        )
        return state.finish(buffer, rows)

    def scale(self, logits):
        """float32 logits divided by `temperature`."""
        return tf.cast(logits, tf.float32) / self.temperature

    def get_next_token(self, logits, seed):
        """Chooses one token per row.

        Args:
            logits: float32 `[batch, vocab]`, already divided by `temperature`.
            seed: int32 `[2]` stateless seed for this step.

        Returns:
            int `[batch]` token ids.
        """
        raise NotImplementedError

    def _resolve_seed(self, seed):
        seed = self.seed if seed is None else seed
        if seed is None:
            seed = random.SystemRandom().randrange(_MAX_INT32)
        return as_stateless_seed(seed)

    def get_config(self):
        return {"temperature": self.temperature, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class DecodeState:
    """Bookkeeping of a decoding call that does not depend on how tokens are chosen.

    Per-row loop state (`rows`, a dict of `[batch]` tensors): `done`,
    `count` (tokens generated), `end` (first position after the row's last
    generated token), `fill` and `use_fill` (what goes after `end`).
    """

    def __init__(self, prompt, mask, index, stop_token_ids, max_new_tokens, pad_token_id):
        self.prompt = tf.cast(tf.convert_to_tensor(prompt), tf.int32)
        self.batch_size = tf.shape(self.prompt)[0]
        self.max_length = self.prompt.shape[1] or tf.shape(self.prompt)[1]
        self.index = tf.cast(index, tf.int32)
        if mask is None:
            self.mask = tf.zeros_like(self.prompt, tf.bool)
        else:
            self.mask = tf.cast(mask, tf.bool)
        self.stop_ids = None
        if stop_token_ids is not None:
            self.stop_ids = tf.reshape(tf.cast(stop_token_ids, tf.int32), [-1])
        self.max_new_tokens = check_max_new_tokens(max_new_tokens)
        self.pad_token_id = pad_token_id

    def initial_rows(self):
        zeros = tf.zeros([self.batch_size], tf.int32)
        return {
            "done": tf.zeros([self.batch_size], tf.bool),
            "count": zeros,
            "end": zeros + self.max_length,
            "fill": zeros + (0 if self.pad_token_id is None else self.pad_token_id),
            "use_fill": tf.fill([self.batch_size], self.pad_token_id is not None),
        }

    def generating(self, index):
        """bool `[batch]`: True where position `index` is not a given prompt token."""
        return tf.logical_not(tf.gather(self.mask, index, axis=1))

    def step(self, buffer, index, token, rows):
        """Teacher-forces given tokens and updates the rows' end bookkeeping.

        Returns:
            `(token, rows)`: the token to write at `index` and the new rows.
        """
        forced = tf.logical_not(self.generating(index))
        token = tf.where(forced, tf.gather(buffer, index, axis=1), token)
        gen = tf.logical_and(tf.logical_not(forced), tf.logical_not(rows["done"]))
        count = rows["count"] + tf.cast(gen, tf.int32)
        ended = tf.zeros_like(gen)
        fill, use_fill = rows["fill"], rows["use_fill"]
        if self.stop_ids is not None:
            is_stop = tf.logical_and(gen, is_any(token, self.stop_ids))
            ended = is_stop
            if self.pad_token_id is None:
                fill = tf.where(is_stop, token, fill)
                use_fill = tf.logical_or(use_fill, is_stop)
        if self.max_new_tokens is not None:
            ended = tf.logical_or(ended, tf.logical_and(gen, count >= self.max_new_tokens))
        return token, {
            "done": tf.logical_or(rows["done"], ended),
            "count": count,
            "end": tf.where(ended, index + 1, rows["end"]),
            "fill": fill,
            "use_fill": use_fill,
        }

    def finish(self, buffer, rows):
        """Fills every position after a row's end (given prompt tokens stay)."""
        return fill_after(
            buffer, self.prompt, self.mask, rows["end"], rows["fill"], rows["use_fill"]
        )


def fill_after(buffer, original, mask, end, fill, use_fill):
    """Positions `>= end` (per row) that are not given (`mask`) get `fill` or `original`.

    Args:
        buffer: int32 `[batch, length]` decoded tokens.
        original: int32 `[batch, length]` buffer as passed in.
        mask: bool `[batch, length]`, True at given prompt tokens.
        end: int32 `[batch]`, first position after each row's end.
        fill: int32 `[batch]` token to write there when `use_fill`.
        use_fill: bool `[batch]`; where False, the original content returns.
    """
    positions = tf.range(tf.shape(buffer)[1])[None, :]
    after = tf.logical_and(positions >= end[:, None], tf.logical_not(mask))
    tail = tf.where(use_fill[:, None], tf.broadcast_to(fill[:, None], tf.shape(buffer)), original)
    return tf.where(after, tail, buffer)


def write_column(buffer, index, token):
    """`buffer` with column `index` replaced by `token` (`[batch]`); XLA-friendly."""
    column = tf.range(tf.shape(buffer)[1])[None, :] == index
    return tf.where(column, token[:, None], buffer)


def is_any(token, ids):
    """bool, True where `token` equals one of `ids` (`[n]`)."""
    return tf.reduce_any(tf.equal(token[..., None], ids), axis=-1)


def as_stateless_seed(seed):
    """An int or int tensor (scalar or `[2]`) as an int32 `[2]` stateless seed."""
    if isinstance(seed, int):
        return tf.constant([seed & _MAX_INT32, (seed >> 31) & _MAX_INT32], tf.int32)
    seed = tf.cast(seed, tf.int32)
    if seed.shape.rank == 0:
        return tf.stack([seed, tf.zeros_like(seed)])
    if seed.shape.rank != 1 or (seed.shape[0] is not None and seed.shape[0] != 2):
        raise ValueError(f"`seed` must be an int or a [2] int tensor, got shape {seed.shape}.")
    return seed


def check_positive(name, value):
    """`value` if it is a number > 0; else a ValueError naming `name` and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{name}` must be a number > 0, got {value!r}.")
    return value


def check_int_at_least_one(name, value):
    """`value` if it is an int >= 1; else a ValueError naming `name` and the range."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}.")
    return value


def check_max_new_tokens(value):
    """`None`, an int >= 1, or a tensor (checked by the caller's graph)."""
    if value is None or tf.is_tensor(value):
        return value
    return check_int_at_least_one("max_new_tokens", value)
