"""The serving signatures of a language model: text in, text out, and on-device steps.

`language_model_endpoints(model)` builds the `tf.function`s that
`LanguageModel.export_endpoints()` returns and `tfgen.serving` saves:

- `generate`: prompts (strings) and per-prompt sampling parameters in, the
  completions (strings) out. Tokenization runs in the graph with the model's
  tokenizer, so a TF Serving client sends plain text.
- `next_token_logits`: token ids in, the logits of the next token out (one
  full forward pass).
- `decode_step`: one cached step (a token, its position and the cache in;
  logits and the updated cache out), for on-device decoding loops (TFLite).
- `logits`: token ids in, the logits at every position out (for scoring text).

Every input of `generate` is batched on axis 0, as TF Serving's row format
(`{"instances": [...]}`) requires; the columnar format (`{"inputs": {...}}`)
works too, and there a parameter given once (`[1]`) applies to every prompt.
"""

import tensorflow as tf

from tfgen.models.lm import decoding as lm_decoding
from tfgen.samplers.filtered import FilteredSampler


def language_model_endpoints(model):
    """The SavedModel signatures of `model`, a `tfgen.models.LanguageModel`.

    `generate` (the `serving_default`):

    - inputs, each `[batch]` (or `[1]`, applied to every prompt):
      `prompt` string; `max_new_tokens` int32 (>= 1); `temperature` float32
      (<= 0 is greedy decoding); `top_k` int32 (<= 0 keeps every token);
      `top_p` float32 (>= 1 keeps every token); `seed` int32. The cuts chain
      temperature -> top-k -> top-p (`tfgen.samplers.FilteredSampler`).
    - outputs, each `[batch]` string: `completion` (the generated text only)
      and `text` (the prompt as sent, followed by its completion).

    Each prompt is decoded on its own with its own parameters and seed (a
    seed gives the same text every time), through the model's cached
    `next_fn`: the prompt is read one token at a time, then `max_new_tokens`
    tokens are generated, each step reading only the last token and the cache.
    An empty prompt, `max_new_tokens < 1`, a prompt longer than
    `context_length`, or (GPT) prompt tokens + `max_new_tokens` beyond
    `context_length` fail with an `InvalidArgumentError` naming the problem.

    With a `tfgen.text.SubwordTokenizer`, the graph holds tensorflow-text ops:
    a process that loads the SavedModel must `import tensorflow_text` first (a
    `CharTokenizer` needs only TensorFlow). TF Serving's standard build
    includes the tensorflow-text ops.

    `next_token_logits`: `tokens` int32 `[batch, length]` (1 <= length, and for
    GPT length <= context_length) -> `logits` float32 `[batch, vocab]`, the
    scores of the token after the last one.

    `decode_step`: `token` int32 `[batch]`, `position` int32 `[]` (one position
    for the whole batch: the index of `token` in its sequence, from 0; for GPT
    below `context_length`) and `cache` float32 (the family's cache shape,
    `model.initial_cache(batch)` before the first token) -> `logits` float32
    `[batch, vocab]` (scores of the token at `position + 1`) and `cache`
    updated with `token`. Feeding a prompt's tokens at positions 0, 1, ...
    gives the logits of `model(prompt)` one position at a time.

    `logits`: `tokens` int32 `[batch, length]` (as for `next_token_logits`) ->
    `logits` float32 `[batch, length, vocab]`, the scores after each position.

    Args:
        model: a `LanguageModel` with a tokenizer.

    Returns:
        `{name: tf.function}`, each with an input signature.

    Raises:
        ValueError: if the model has no tokenizer.
    """
    if model.tokenizer is None:
        raise ValueError(
            f"this {type(model).__name__} has no tokenizer, so its text `generate` "
            f"signature cannot be exported; build it with tokenizer= (the run's "
            f"tokenizer) or set model.tokenizer"
        )
    return {
        "generate": _generate_endpoint(model),
        "next_token_logits": _next_token_logits_endpoint(model),
        "decode_step": _decode_step_endpoint(model),
        "logits": _logits_endpoint(model),
    }


def _check_lengths(model, lengths, max_new_tokens):
    """Assertions on prompt lengths `[batch]` and `max_new_tokens` `[batch]`, as `check_prompt`."""
    checks = [
        tf.debugging.assert_positive(
            lengths, message="the prompt is empty; generation needs at least one prompt token"
        ),
        tf.debugging.assert_less_equal(
            lengths,
            model.context_length,
            message=f"the prompt has more tokens than context_length {model.context_length}",
        ),
        tf.debugging.assert_positive(max_new_tokens, message="max_new_tokens must be >= 1"),
    ]
    limit = model.max_total_length()
    if limit is not None:
        checks.append(
            tf.debugging.assert_less_equal(
                lengths + max_new_tokens,
                limit,
                message=f"prompt tokens + max_new_tokens exceeds context_length {limit}",
            )
        )
    return checks


def _per_prompt(value, batch, name):
    """`value` `[batch]` or `[1]` as `[batch]`; any other size fails naming the input."""
    size = tf.shape(value)[0]
    check = tf.debugging.assert_equal(
        tf.logical_or(tf.equal(size, batch), tf.equal(size, 1)),
        True,
        message=f"{name} must have one value per prompt, or a single value for all of them",
    )
    with tf.control_dependencies([check]):
        return tf.broadcast_to(value, [batch])


def _generate_endpoint(model):
    tokenizer = model.tokenizer

    def decode_one(row):
        ids, length, max_new_tokens, temperature, top_k, top_p, seed = row
        total = length + max_new_tokens
        buffer = tf.pad(ids[:length], [[0, max_new_tokens]])[None]
        mask = tf.sequence_mask(length[None], total)
        sampler = FilteredSampler(temperature, top_k, top_p)
        # From index 1 with a mask: the prompt is read through the cached step one
        # token at a time (shapes stay dynamic; no prefill of a static length).
        next_fn = lm_decoding.without_padding(model.next_fn)  # As generate(): never padding.
        tokens = sampler(
            next_fn,
            buffer,
            cache=model.initial_cache(1),
            index=1,
            mask=mask,
            seed=seed,
            max_new_tokens=max_new_tokens,
        )
        return tokenizer.tf_decode(tokens[0, length:])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="prompt"),
            tf.TensorSpec([None], tf.int32, name="max_new_tokens"),
            tf.TensorSpec([None], tf.float32, name="temperature"),
            tf.TensorSpec([None], tf.int32, name="top_k"),
            tf.TensorSpec([None], tf.float32, name="top_p"),
            tf.TensorSpec([None], tf.int32, name="seed"),
        ]
    )
    def generate(prompt, max_new_tokens, temperature, top_k, top_p, seed):
        batch = tf.shape(prompt)[0]
        params = [
            _per_prompt(value, batch, name)
            for value, name in (
                (max_new_tokens, "max_new_tokens"),
                (temperature, "temperature"),
                (top_k, "top_k"),
                (top_p, "top_p"),
                (seed, "seed"),
            )
        ]
        ids = tf.cast(tokenizer.tf_encode(prompt), tf.int32)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        with tf.control_dependencies(_check_lengths(model, lengths, params[0])):
            # Everything decoding reads waits for the checks, so their message is the error.
            ids, lengths = ids.to_tensor(0), tf.identity(lengths)
            params = [tf.identity(value) for value in params]
        completion = tf.map_fn(
            decode_one, (ids, lengths, *params), fn_output_signature=tf.TensorSpec([], tf.string)
        )
        return {"completion": completion, "text": tf.strings.join([prompt, completion])}

    return generate


def _checked_logits(model, tokens):
    """`model(tokens)` after asserting `tokens` `[batch, length]` has 1 <= length (<= the limit)."""
    length = tf.shape(tokens)[1]
    checks = [
        tf.debugging.assert_positive(
            length, message="tokens is empty; the logits need at least one token"
        )
    ]
    limit = model.max_total_length()
    if limit is not None:
        checks.append(
            tf.debugging.assert_less_equal(
                length, limit, message=f"tokens is longer than context_length {limit}"
            )
        )
    with tf.control_dependencies(checks):
        tokens = tf.identity(tokens)
    return tf.cast(model(tokens, training=False), tf.float32)


def _next_token_logits_endpoint(model):
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="tokens")])
    def next_token_logits(tokens):
        return {"logits": _checked_logits(model, tokens)[:, -1]}

    return next_token_logits


def _decode_step_endpoint(model):
    cache_shape = model.initial_cache(1).shape[1:]
    limit = model.max_total_length()

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.int32, name="token"),
            tf.TensorSpec([], tf.int32, name="position"),
            tf.TensorSpec([None, *cache_shape], tf.float32, name="cache"),
        ]
    )
    def decode_step(token, position, cache):
        # (TFLite drops assertions: on a device, keeping `position` in range is the caller's job.)
        checks = [tf.debugging.assert_non_negative(position, message="position must be >= 0")]
        if limit is not None:
            checks.append(
                tf.debugging.assert_less(
                    position, limit, message=f"position must be below context_length {limit}"
                )
            )
        with tf.control_dependencies(checks):
            # Every use of `position` waits for the checks (else a gather may fail first).
            position = tf.identity(position)
        # next_fn reads only column `index - 1` of its buffer: every column holds `token`.
        buffer = tf.tile(token[:, None], tf.stack([1, position + 1]))
        logits, cache = model.next_fn(buffer, tf.cast(cache, model.compute_dtype), position + 1)
        return {"logits": tf.cast(logits, tf.float32), "cache": tf.cast(cache, tf.float32)}

    return decode_step


def _logits_endpoint(model):
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="tokens")])
    def logits(tokens):
        return {"logits": _checked_logits(model, tokens)}

    return logits
