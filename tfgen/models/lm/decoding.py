"""Prompt handling for `LanguageModel.generate`, and generation past a Transformer's context.

A model with learned positions (GPT) reads at most `context_length` tokens. To
write more, `generate_in_windows` generates in segments, as nanoGPT's `generate`
crops its input to the last `block_size` tokens: a segment continues each row
until its window is full, then the next segment starts from the row's last
`context_length // 2` tokens (read in one parallel prefill, then cached
decoding again). Every token is therefore predicted from at least
`context_length // 2` tokens of context, and the prefix is recomputed once per
`context_length - context_length // 2` new tokens rather than at every step.
"""

import numpy as np
import tensorflow as tf

from tfgen.text.tokenizers import PAD_ID

_SEGMENT_SEED_STRIDE = 1_000_003


def encode_prompts(tokenizer, prompts):
    """Token ids of each text prompt, `[[id, ...], ...]`.

    Raises:
        ValueError: if `prompts` is not a non-empty list of strings, or a prompt
            encodes to no tokens.
    """
    texts = list(prompts) if isinstance(prompts, (list, tuple)) else None
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError(
            f"prompts must be a string or a non-empty list of strings, got {prompts!r}"
        )
    ids = [tokenizer.encode(text) for text in texts]
    empty = [repr(t) for t, i in zip(texts, ids) if not i]
    if empty:
        raise ValueError(
            f"the prompt {empty[0]} is empty; generation needs at least one prompt token"
        )
    return ids


def stop_token_ids(tokenizer, stop_texts):
    """The token id of each stop text, or None without stop texts.

    Raises:
        ValueError: if a stop text is not exactly one token.
    """
    if not stop_texts:
        return None
    stops = []
    for text in stop_texts:
        encoded = tokenizer.encode(text)
        if len(encoded) != 1:
            raise ValueError(
                f"the stop text {text!r} is {len(encoded)} tokens; a stop "
                f"text must be exactly one token"
            )
        stops.append(encoded[0])
    return stops


def decode_continuations(tokenizer, tokens, prompt_ids, max_new_tokens, stops):
    """Text of each row's continuation: the tokens after its prompt, up to and with a stop token."""
    outputs = []
    for row, prompt in zip(tokens, prompt_ids):
        generated = list(row[len(prompt) : len(prompt) + max_new_tokens])
        ends = [i for i, token in enumerate(generated) if stops and token in stops]
        outputs.append(tokenizer.decode(generated[: ends[0] + 1] if ends else generated))
    return outputs


def without_padding(next_fn, pad_id=PAD_ID):
    """Wraps a `next_fn` so the padding id is never chosen (it is not text; it decodes to "")."""

    def next_fn_without_padding(prompt, cache, index):
        logits, cache = next_fn(prompt, cache, index)
        is_pad = tf.range(tf.shape(logits)[-1]) == pad_id
        return tf.where(is_pad, tf.cast(-1e9, logits.dtype), logits), cache

    return next_fn_without_padding


def as_ragged(prompt_ids):
    """`(ragged int32 prompts [batch, (length)], single)`; `single` for a 1-D prompt."""
    if isinstance(prompt_ids, tf.RaggedTensor):
        return tf.cast(prompt_ids, tf.int32), False
    if (
        isinstance(prompt_ids, (list, tuple))
        and prompt_ids
        and all(isinstance(row, (list, tuple)) for row in prompt_ids)
        and len({len(row) for row in prompt_ids}) > 1
    ):
        return tf.ragged.constant(prompt_ids, tf.int32), False
    prompt = tf.convert_to_tensor(prompt_ids, tf.int32)
    single = prompt.shape.rank == 1
    prompt = prompt[tf.newaxis] if single else prompt
    if prompt.shape.rank != 2:
        raise ValueError(f"prompt_ids must be [batch, length] or [length], got {prompt.shape}")
    return tf.RaggedTensor.from_tensor(prompt), single


def prompt_lengths(ragged):
    """Row lengths as a NumPy array; raises a ValueError when there is no prompt."""
    lengths = ragged.row_lengths().numpy()
    if lengths.size == 0:
        raise ValueError("prompt_ids holds no prompt; generation needs at least one")
    return lengths


def prompt_buffer(ragged, lengths, max_new_tokens):
    """`(buffer, mask)`: prompts left-aligned in `[batch, longest + max_new_tokens]` zeros."""
    total = int(lengths.max()) + max_new_tokens
    buffer = ragged.to_tensor(0, shape=[len(lengths), total])
    return buffer, tf.sequence_mask(lengths, total)


def generate_in_windows(
    generate, ragged, lengths, max_new_tokens, context_length, seed, stop_token_ids
):
    """Generates `max_new_tokens` per row in segments that each fit in `context_length`.

    Args:
        generate: `(prompts, max_new_tokens, seed) -> int32 [batch, longest + n]`, one
            segment (`LanguageModel.generate` with the sampler and options bound).
        ragged: int32 ragged prompts `[batch, (length)]`, each at most `context_length`.
        lengths: their lengths (NumPy).
        max_new_tokens: tokens to generate per row in total.
        context_length: the most tokens a segment may hold.
        seed: int seed; segment `s` uses `seed + s * 1000003` (mod 2**31).
        stop_token_ids: optional ids that end a row; positions after a row's stop
            token repeat it (as the samplers do).

    Returns:
        int32 `[batch, longest + max_new_tokens]`: each prompt, its generated
        tokens, then zeros (for rows shorter than the longest prompt).
    """
    keep = max(1, context_length // 2)
    stops = set(stop_token_ids or ())
    rows = [list(row) for row in ragged.numpy()]
    generated = [[] for _ in rows]
    done = [False] * len(rows)
    segment = 0
    while not all(done):
        contexts = [
            (row + new)[-keep:] if segment or len(row) >= context_length else row
            for row, new in zip(rows, generated)
        ]
        remaining = max(max_new_tokens - len(new) for new, d in zip(generated, done) if not d)
        step = min(remaining, context_length - max(len(c) for c in contexts))
        segment_seed = (seed + segment * _SEGMENT_SEED_STRIDE) % (2**31 - 1)
        contexts_tensor = tf.ragged.constant(contexts, tf.int32)
        tokens = generate(contexts_tensor, step, segment_seed).numpy()
        for i, context in enumerate(contexts):
            if done[i]:
                continue
            new = tokens[i, len(context) : len(context) + step].tolist()
            new = new[: max_new_tokens - len(generated[i])]
            ends = [j for j, token in enumerate(new) if token in stops]
            generated[i] += new[: ends[0] + 1] if ends else new
            done[i] = bool(ends) or len(generated[i]) >= max_new_tokens
        segment += 1
    out = np.zeros([len(rows), int(lengths.max()) + max_new_tokens], np.int32)
    for i, (row, new) in enumerate(zip(rows, generated)):
        if len(new) < max_new_tokens:  # Ended at a stop token: repeat it.
            new = new + [new[-1]] * (max_new_tokens - len(new))
        out[i, : len(row) + max_new_tokens] = row + new
    return tf.constant(out)
