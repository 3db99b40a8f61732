"""Training windows for language models: `(inputs, next-token targets)` batches from token ids.

`windows` concatenates the documents of a split (in dataset order) into one
stream of ids held in memory, cuts it into windows of `context_length + 1` ids,
and yields `inputs = window[:-1]`, `targets = window[1:]`. Windows start every
`stride` ids (by default `context_length`, so each id is a target about once per
epoch; `stride=1` gives every start, as nanoGPT's random sampling does). With
`shuffle=True` the window order is a seeded full shuffle, reshuffled every epoch:
the same seed gives the same sequence of epochs. Given `epochs`, the dataset holds
epochs `initial_epoch .. epochs - 1` back to back and epoch `e`'s order is a pure
function of `(seed, e)` (`tf.random.experimental.stateless_shuffle`), so a run
resumed at epoch `e` sees the batches an uninterrupted run would have seen.
Batches are `drop_remainder`, so every batch has the static shape
`(batch_size, context_length)`.
"""

import numpy as np
import tensorflow as tf


def tokenize(documents: tf.data.Dataset, tokenizer) -> tf.data.Dataset:
    """Maps a dataset of `{"text": tf.string}` documents to 1-D int32 token ids per document."""
    return documents.map(
        lambda example: tokenizer.tf_encode(example["text"]), num_parallel_calls=tf.data.AUTOTUNE
    )


def concatenate(token_dataset: tf.data.Dataset) -> np.ndarray:
    """All ids of a dataset of 1-D id tensors, in order, as one int32 NumPy array."""
    pieces = [np.asarray(ids).reshape(-1) for ids in token_dataset.as_numpy_iterator()]
    if not pieces:
        return np.zeros((0,), np.int32)
    return np.concatenate(pieces).astype(np.int32)


def window_count(num_tokens: int, context_length: int, stride: int | None = None) -> int:
    """How many windows of `context_length + 1` ids start every `stride` ids in `num_tokens` ids."""
    stride = context_length if stride is None else stride
    needed = context_length + 1
    return 0 if num_tokens < needed else (num_tokens - needed) // stride + 1


def windows(
    token_dataset: tf.data.Dataset,
    context_length: int,
    batch_size: int,
    seed: int | None = None,
    *,
    shuffle: bool = True,
    stride: int | None = None,
    name: str = "the token dataset",
    epochs: int | None = None,
    initial_epoch: int = 0,
    steps_per_epoch: int | None = None,
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
        epochs: if given, the dataset holds epochs `initial_epoch .. epochs - 1`
            back to back, each shuffled by `(seed, epoch)` alone (for
            `model.fit(..., epochs=epochs, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch)`); if `None`, one epoch that
            reshuffles each time it is iterated.
        initial_epoch: the first epoch to produce, with `epochs`.
        steps_per_epoch: with `epochs`, batches per epoch (at most every full batch).

    Returns:
        A dataset of `(inputs, targets)`, both int32 `(batch_size, context_length)`,
        with `targets[:, t] == inputs[:, t + 1]` for `t < context_length - 1`.

    Raises:
        ValueError: for a non-positive size, or if there are too few ids for one
            window or one batch; the message names `name` and the length needed.
    """
    stride = context_length if stride is None else stride
    for argument, value in (
        ("context_length", context_length),
        ("batch_size", batch_size),
        ("stride", stride),
    ):
        if int(value) < 1:
            raise ValueError(f"windows: {argument} must be at least 1, got {value}.")
    if shuffle and seed is None:
        raise ValueError("windows: shuffle=True needs a seed, so that runs are reproducible.")
    tokens = concatenate(token_dataset)
    needed = context_length + 1
    if tokens.size < needed:
        what = "is empty" if tokens.size == 0 else f"has only {tokens.size} tokens"
        raise ValueError(
            f"{name} {what}; a window of context_length {context_length} needs at least "
            f"{needed} tokens (context_length + 1)."
        )
    num_windows = window_count(tokens.size, context_length, stride)
    if num_windows < batch_size:
        raise ValueError(
            f"{name} has {tokens.size} tokens, which give {num_windows} windows of {needed} "
            f"tokens (stride {stride}), fewer than one batch of {batch_size}; it needs at least "
            f"{(batch_size - 1) * stride + needed} tokens, or a smaller batch_size or stride."
        )
    all_tokens = tf.constant(tokens)
    offsets = tf.range(needed, dtype=tf.int64)

    def to_windows(batch_starts):
        window = tf.gather(all_tokens, batch_starts[:, tf.newaxis] + offsets)
        return window[:, :-1], window[:, 1:]

    def epoch_batches(epoch_seed):
        # A full permutation in one op: a shuffle buffer of millions of starts (stride 1)
        # would take minutes to fill.
        order = tf.range(num_windows, dtype=tf.int64) * stride
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=epoch_seed)
        starts = tf.data.Dataset.from_tensor_slices(order)
        return starts.batch(batch_size, drop_remainder=True)

    if epochs is None:
        # One epoch, a new seeded permutation each time it is iterated.
        def reshuffled(draw):
            return epoch_batches(tf.stack([draw, tf.constant(seed or 0, tf.int64)]))

        draws = tf.data.Dataset.random(seed=seed or 0, rerandomize_each_iteration=True)
        batches = draws.take(1).flat_map(reshuffled)
        count = num_windows // batch_size
    else:
        steps = num_windows // batch_size
        steps = min(steps, steps_per_epoch) if steps_per_epoch else steps

        def one_epoch(epoch):
            return epoch_batches(tf.stack([tf.constant(seed or 0, tf.int64), epoch])).take(steps)

        batches = tf.data.Dataset.range(initial_epoch, epochs).flat_map(one_epoch)
        count = max(0, epochs - initial_epoch) * steps
    batches = batches.apply(tf.data.experimental.assert_cardinality(count))
    return batches.map(to_windows, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
