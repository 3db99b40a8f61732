"""Training windows for language models: `(inputs, next-token targets)` batches from token ids.

`windows` concatenates the documents of a split (in dataset order) into one
stream of ids held in memory, cuts it into windows of `context_length + 1` ids,
and yields `inputs = window[:-1]`, `targets = window[1:]`. Windows start every
`stride` ids (by default `context_length`, so each id is a target about once per
epoch; `stride=1` gives every start, as nanoGPT's random sampling does). With
`shuffle=True` the window order is a seeded full shuffle, reshuffled every epoch:
the same seed gives the same sequence of epochs. Batches are `drop_remainder`, so
every batch has the static shape `(batch_size, context_length)`.
"""

from typing import Optional

import numpy as np
import tensorflow as tf


def tokenize(documents: tf.data.Dataset, tokenizer) -> tf.data.Dataset:
    """Maps a dataset of `{"text": tf.string}` documents to 1-D int32 token ids per document."""
    return documents.map(lambda example: tokenizer.tf_encode(example["text"]),
                         num_parallel_calls=tf.data.AUTOTUNE)


def _concatenate(token_dataset: tf.data.Dataset) -> np.ndarray:
    pieces = [np.asarray(ids).reshape(-1) for ids in token_dataset.as_numpy_iterator()]
    if not pieces:
        return np.zeros((0,), np.int32)
    return np.concatenate(pieces).astype(np.int32)


def windows(
    token_dataset: tf.data.Dataset,
    context_length: int,
    batch_size: int,
    seed: Optional[int] = None,
    *,
    shuffle: bool = True,
    stride: Optional[int] = None,
    name: str = "the token dataset",
) -> tf.data.Dataset:
    """Cuts token ids into batched `(inputs, targets)` windows for next-token prediction.

    Args:
        token_dataset: a dataset of 1-D integer ids, one element per document
            (e.g. `tokenize(documents, tokenizer)`). It is read once, here.
        context_length: ids per input; each window holds `context_length + 1` ids.
        batch_size: windows per batch; incomplete batches are dropped.
        seed: the shuffle seed; required when `shuffle` is True.
        shuffle: shuffle the windows (training) or keep them in order (evaluation).
        stride: ids between window starts; `context_length` if `None`.
        name: what the ids are, for error messages, e.g. `"shakespeare validation"`.

    Returns:
        A dataset of `(inputs, targets)`, both int32 `(batch_size, context_length)`,
        with `targets[:, t] == inputs[:, t + 1]` for `t < context_length - 1`.

    Raises:
        ValueError: for a non-positive size, or if there are too few ids for one
            window or one batch; the message names `name` and the length needed.
    """
    stride = context_length if stride is None else stride
    for argument, value in (("context_length", context_length), ("batch_size", batch_size),
                            ("stride", stride)):
        if int(value) < 1:
            raise ValueError(f"windows: {argument} must be at least 1, got {value}.")
    if shuffle and seed is None:
        raise ValueError("windows: shuffle=True needs a seed, so that runs are reproducible.")
    tokens = _concatenate(token_dataset)
    needed = context_length + 1
    if tokens.size < needed:
        what = "is empty" if tokens.size == 0 else f"has only {tokens.size} tokens"
        raise ValueError(
            f"{name} {what}; a window of context_length {context_length} needs at least "
            f"{needed} tokens (context_length + 1)."
        )
    num_windows = (tokens.size - needed) // stride + 1
    if num_windows < batch_size:
        raise ValueError(
            f"{name} has {tokens.size} tokens, which give {num_windows} windows of {needed} "
            f"tokens (stride {stride}), fewer than one batch of {batch_size}; it needs at least "
            f"{(batch_size - 1) * stride + needed} tokens, or a smaller batch_size or stride."
        )
    all_tokens = tf.constant(tokens)
    offsets = tf.range(needed, dtype=tf.int64)
    starts = tf.data.Dataset.range(num_windows).map(lambda i: i * stride)
    if shuffle:
        starts = starts.shuffle(num_windows, seed=seed, reshuffle_each_iteration=True)

    def to_windows(batch_starts):
        window = tf.gather(all_tokens, batch_starts[:, tf.newaxis] + offsets)
        return window[:, :-1], window[:, 1:]

    batches = starts.batch(batch_size, drop_remainder=True)
    return batches.map(to_windows, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
