"""Beam search with a length penalty, in fixed shapes so it compiles with XLA.

Each row of the batch keeps `num_beams` live hypotheses, flattened to a
`[batch * num_beams, ...]` batch for `next_fn`. Hypotheses that generate a
stop token leave the live set for a pool of finished ones (as in Hugging
Face's `BeamHypotheses`), ranked by `log_prob / length ** length_penalty`
with `length` the number of generated tokens (the stop token included).

Cache contract (in addition to `Sampler`'s): every tensor of the cache
(a tensor or any `tf.nest` structure) has the batch on axis 0. The sampler
repeats each tensor `num_beams` times on axis 0 (`tf.repeat`, so the rows of
batch element `b` are `b * num_beams ... b * num_beams + num_beams - 1`) and,
after each step, reorders it with `tf.gather(tensor, beam_rows, axis=0)` so
row `j` always holds the state of the hypothesis now in row `j`.
"""

import tensorflow as tf

from tfgen.samplers.base import (
    DecodeState,
    Sampler,
    check_int_at_least_one,
    fill_after,
    is_any,
    write_column,
)

_NEG_INF = -float("inf")


class BeamSampler(Sampler):
    """Keeps the `num_beams` most likely hypotheses per row and returns the best one.

    Deterministic: `seed` is accepted (for a uniform sampler interface) and
    ignored. With `num_beams=1` and no stop tokens it equals greedy decoding.

    Args:
        num_beams: int >= 1, hypotheses kept per row. Defaults to `5`.
        length_penalty: float, exponent of the length normalisation
            `score = log_prob / generated_length ** length_penalty`.
            `> 0` favours longer, `< 0` shorter sequences, `0` ranks by raw
            log-probability. Only matters between hypotheses of different
            lengths (with stop tokens). Defaults to `1.0` (as Hugging Face).
        return_all_beams: bool. If True a call returns
            `(sequences [batch, num_beams, max_length], scores [batch, num_beams])`
            sorted best first; else the best sequence `[batch, max_length]`.
            Defaults to `False`.
        temperature: float > 0 dividing the logits before the log-softmax.
            Defaults to `1.0`.
        seed: ignored.

    Raises:
        ValueError: if `num_beams < 1`, `temperature <= 0` or
            `length_penalty` is not a number.

    Example:

    ```python
    sampler = tfgen.samplers.get("beam", num_beams=4, length_penalty=0.6)
    tokens = sampler(next_fn, prompt, cache=cache, index=prompt_length,
                     stop_token_ids=[end_id])
    ```
    """

    name = "beam"

    def __init__(
        self, num_beams=5, length_penalty=1.0, return_all_beams=False, temperature=1.0, seed=None
    ):
        super().__init__(temperature=temperature, seed=seed)
        self.num_beams = check_int_at_least_one("num_beams", num_beams)
        if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)):
            raise ValueError(f"`length_penalty` must be a number, got {length_penalty!r}.")
        self.length_penalty = length_penalty
        self.return_all_beams = bool(return_all_beams)

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
        search = _BeamSearch(self, state, next_fn, has_cache=cache is not None)
        (loop_vars,) = tf.while_loop(
            search.cond,
            search.body,
            (search.initial(cache),),
            maximum_iterations=state.max_length - state.index,
        )
        sequences, scores = search.finalize(loop_vars)
        if self.return_all_beams:
            return sequences, scores
        return sequences[:, 0]

    def get_config(self):
        return {
            "num_beams": self.num_beams,
            "length_penalty": self.length_penalty,
            "return_all_beams": self.return_all_beams,
            **super().get_config(),
        }


class _BeamSearch:
    """The loop of one `BeamSampler` call. Loop state is a dict:

    - `live`: int32 `[batch * beams, length]` live hypotheses (what
      `next_fn` sees), `cache`, `index`;
    - `scores`: float32 `[batch, beams]` summed log-probs of live hypotheses;
    - `count`, `end`, `done`: int32/int32/bool `[batch]`: tokens generated,
      first position after the last one written, row finished;
    - `pool_seqs`, `pool_scores`: `[batch, beams, length]` finished
      hypotheses (already filled after their stop token) and their
      length-penalised scores, `-inf` where empty.
    """

    def __init__(self, sampler, state, next_fn, has_cache):
        self.sampler, self.state, self.next_fn = sampler, state, next_fn
        self.has_cache = has_cache
        self.beams = sampler.num_beams
        self.penalty = float(sampler.length_penalty)
        self.batch = state.batch_size
        self.length = state.max_length
        self.beam_mask = tf.repeat(state.mask, self.beams, axis=0)
        positions = tf.range(self.length)[None, :]
        generatable = tf.logical_and(tf.logical_not(state.mask), positions >= state.index)
        self.max_generated = tf.reduce_sum(tf.cast(generatable, tf.int32), axis=1)
        if state.max_new_tokens is not None:
            self.max_generated = tf.minimum(self.max_generated, state.max_new_tokens)

    def initial(self, cache):
        repeat = lambda t: tf.repeat(t, self.beams, axis=0)  # noqa: E731
        first_beam_only = tf.constant([0.0] + [_NEG_INF] * (self.beams - 1), tf.float32)
        zeros = tf.zeros([self.batch], tf.int32)
        return {
            "live": repeat(self.state.prompt),
            "cache": tf.nest.map_structure(repeat, cache) if self.has_cache else (),
            "index": self.state.index,
            "scores": tf.tile(first_beam_only[None, :], [self.batch, 1]),
            "count": zeros,
            "end": zeros + self.length,
            "done": tf.zeros([self.batch], tf.bool),
            "pool_seqs": tf.zeros([self.batch, self.beams, self.length], tf.int32),
            "pool_scores": tf.fill([self.batch, self.beams], _NEG_INF),
        }

    def cond(self, v):
        return tf.logical_and(v["index"] < self.length, tf.logical_not(tf.reduce_all(v["done"])))

    def normalize(self, log_probs, count):
        """Length-penalised score of `[batch, ...]` log-probs with `count` `[batch]` tokens."""
        length = tf.cast(tf.maximum(count, 1), tf.float32) ** self.penalty
        return log_probs / tf.reshape(length, [-1] + [1] * (log_probs.shape.rank - 1))

    def body(self, v):
        index, state = v["index"], self.state
        logits, cache = self.next_fn(v["live"], v["cache"] if self.has_cache else None, index)
        log_probs = tf.nn.log_softmax(self.sampler.scale(logits))
        vocab = log_probs.shape[-1] or tf.shape(log_probs)[-1]
        log_probs = tf.reshape(log_probs, [self.batch, self.beams, vocab])
        forced = tf.logical_not(state.generating(index))
        forced_token = tf.gather(state.prompt, index, axis=1)
        log_probs = self.force_tokens(log_probs, forced, forced_token, vocab)
        active = tf.logical_not(v["done"])
        gen = tf.logical_and(tf.logical_not(forced), active)
        count = v["count"] + tf.cast(gen, tf.int32)
        candidates = v["scores"][:, :, None] + log_probs
        new = dict(v, count=count, index=index + 1, end=tf.where(gen, index + 1, v["end"]))
        if state.stop_ids is not None:
            new.update(self.add_finished(v, candidates, gen, count, index))
            is_stop = is_any(tf.range(vocab), state.stop_ids)
            candidates = tf.where(tf.logical_and(gen[:, None, None], is_stop), _NEG_INF, candidates)
        new.update(self.advance(v, candidates, cache, forced, forced_token, index))
        new = self.freeze(v, new, active)
        new["done"] = tf.logical_or(v["done"], self.row_done(new, gen))
        # Gathers by computed indices lose static shapes; the loop needs them back.
        return (tf.nest.map_structure(lambda n, o: tf.ensure_shape(n, o.shape), new, v),)

    def force_tokens(self, log_probs, forced, forced_token, vocab):
        """At given prompt positions only the given token continues, at no cost."""
        only = tf.where(tf.one_hot(forced_token, vocab) > 0, 0.0, _NEG_INF)
        return tf.where(forced[:, None, None], only[:, None, :], log_probs)

    def add_finished(self, v, candidates, gen, count, index):
        """Moves the stop-token continuations into the pool of finished hypotheses."""
        stop_ids = self.state.stop_ids
        scores = self.normalize(tf.gather(candidates, stop_ids, axis=2), count)
        scores = tf.where(gen[:, None, None], scores, _NEG_INF)  # [batch, beams, stops]
        positions = tf.range(self.length)
        seqs = tf.reshape(v["live"], [self.batch, self.beams, 1, self.length])
        tokens = stop_ids[None, None, :, None]
        seqs = tf.where(positions == index, tokens, seqs)
        fill = tokens if self.state.pad_token_id is None else self.state.pad_token_id
        after = tf.logical_and(positions > index, tf.logical_not(self.state.mask)[:, None, None, :])
        seqs = tf.where(after, fill, seqs)
        num_new = self.beams * stop_ids.shape[0]
        all_scores = tf.concat([v["pool_scores"], tf.reshape(scores, [self.batch, num_new])], 1)
        all_seqs = tf.concat(
            [v["pool_seqs"], tf.reshape(seqs, [self.batch, num_new, self.length])], 1
        )
        pool_scores, best = tf.math.top_k(all_scores, k=self.beams)
        return {"pool_scores": pool_scores, "pool_seqs": tf.gather(all_seqs, best, batch_dims=1)}

    def advance(self, v, candidates, cache, forced, forced_token, index):
        """Keeps the best `beams` continuations; reorders hypotheses and cache to follow them."""
        vocab = candidates.shape[-1] or tf.shape(candidates)[-1]
        flat = tf.reshape(candidates, [self.batch, -1])
        scores, chosen = tf.math.top_k(flat, k=self.beams)
        source = chosen // vocab
        token = tf.where(forced[:, None], forced_token[:, None], chosen % vocab)
        rows = tf.reshape(source + tf.range(self.batch)[:, None] * self.beams, [-1])
        live = write_column(tf.gather(v["live"], rows), index, tf.reshape(token, [-1]))
        if self.has_cache:
            cache = tf.nest.map_structure(lambda t: tf.gather(t, rows, axis=0), cache)
        else:
            cache = ()
        return {"live": live, "cache": cache, "scores": scores}

    def freeze(self, old, new, active):
        """Rows that were already done keep their hypotheses and pool."""
        beam_active = tf.repeat(active, self.beams)[:, None]
        new["live"] = tf.where(beam_active, new["live"], old["live"])
        new["scores"] = tf.where(active[:, None], new["scores"], old["scores"])
        new["pool_scores"] = tf.where(active[:, None], new["pool_scores"], old["pool_scores"])
        new["pool_seqs"] = tf.where(active[:, None, None], new["pool_seqs"], old["pool_seqs"])
        return new

    def row_done(self, v, gen):
        """Rows that hit `max_new_tokens`, or whose pool no live hypothesis can beat."""
        done = tf.zeros_like(gen)
        if self.state.max_new_tokens is not None:
            done = tf.logical_and(gen, v["count"] >= self.state.max_new_tokens)
        if self.state.stop_ids is None:
            return done
        # Live log-probs only fall; the best final length is the longest when the
        # penalty rewards length, the current one otherwise.
        length = self.max_generated if self.penalty > 0 else v["count"]
        best_live = self.normalize(tf.reduce_max(v["scores"], axis=1), length)
        worst_pool = tf.reduce_min(v["pool_scores"], axis=1)
        return tf.logical_or(done, worst_pool >= best_live)

    def finalize(self, v):
        """Live hypotheses join the pool; returns all, sorted best first."""
        live = fill_after(
            v["live"],
            tf.repeat(self.state.prompt, self.beams, axis=0),
            self.beam_mask,
            tf.repeat(v["end"], self.beams),
            tf.fill([self.batch * self.beams], self.state.pad_token_id or 0),
            tf.fill([self.batch * self.beams], self.state.pad_token_id is not None),
        )
        seqs = tf.reshape(live, [self.batch, self.beams, self.length])
        scores = self.normalize(v["scores"], v["count"])
        if self.state.stop_ids is not None:
            seqs = tf.concat([v["pool_seqs"], seqs], axis=1)
            scores = tf.concat([v["pool_scores"], scores], axis=1)
        scores, best = tf.math.top_k(scores, k=self.beams, sorted=True)
        return tf.gather(seqs, best, batch_dims=1), scores
