"""Batched, seeded `tf.data` pipelines for training and evaluation.

The training stream is a pure function of `(seed, epoch)`: epoch `e` always has
the same order, the same dynamic binarization and the same per-example noise
seeds. A run resumed at epoch `e` therefore sees exactly the batches an
uninterrupted run would have seen.
"""

import functools

import tensorflow as tf

# Per-example seeds are `[seed, stream offset + epoch * EPOCH_STRIDE + index]`.
EPOCH_STRIDE = 2**32
EVAL_STREAM = 2**62


def _with_seed(seed, offset):
    """Returns a map fn that gives example `index` its own stateless seed pair."""

    def attach(index, example):
        example = dict(example)
        example["seed"] = tf.stack([tf.constant(seed, tf.int64), offset + index])
        return example

    return attach


def _binarize(example):
    """Draws {0,1} pixels with P(1) = intensity, from the example's own seed."""
    example = dict(example)
    binarize_seed, model_seed = tf.unstack(
        tf.random.experimental.stateless_split(example["seed"], 2)
    )
    draw = tf.random.stateless_uniform(tf.shape(example["image"]), seed=binarize_seed)
    example["image"] = tf.cast(draw < example["image"], example["image"].dtype)
    example["seed"] = model_seed
    return example


def steps_per_epoch(info, batch_size, cap=None, split="train"):
    """Full batches per epoch of `split`, capped at `cap` if given.

    Raises:
        ValueError: if the split has fewer examples than one batch.
    """
    count = info.num_examples.get(split)
    if count is None or count < 0:
        if cap is None:
            raise ValueError(
                f"the size of {info.name!r} split {split!r} is unknown; set steps_per_epoch"
            )
        return cap
    full = count // batch_size
    if full == 0:
        raise ValueError(
            f"batch_size {batch_size} is larger than the {count} examples of "
            f"{info.name!r} split {split!r}; use a smaller batch_size"
        )
    return min(full, cap) if cap else full


def training_batches(
    dataset, info, batch_size, seed=0, epochs=1, initial_epoch=0, steps=None, shuffle_buffer=60000
):
    """Shuffled, seeded batches for epochs `initial_epoch .. epochs - 1`, back to back.

    Use with `model.fit(batches, epochs=epochs, initial_epoch=initial_epoch,
    steps_per_epoch=steps)`.

    Args:
        dataset: unbatched dataset of dict examples (from `tfgen.data.load`).
        info: its `DatasetInfo`.
        batch_size: global batch size; the last partial batch of an epoch is dropped
            so that every replica gets the same number of examples.
        seed: seeds the order, binarization and per-example noise seeds.
        epochs: the epoch to stop before.
        initial_epoch: the first epoch to produce (for resuming).
        steps: batches per epoch (default: every full batch of the split).
        shuffle_buffer: shuffle buffer size; the default covers MNIST completely.

    Returns:
        `(batches, steps)`: the dataset and the batches it holds per epoch.
    """
    steps = steps or steps_per_epoch(info, batch_size)
    buffer = min(shuffle_buffer, info.num_examples.get("train") or shuffle_buffer)

    def one_epoch(epoch):
        examples = dataset.shuffle(
            buffer, seed=seed * 1_000_003 + epoch, reshuffle_each_iteration=False
        )
        examples = examples.enumerate().map(
            _with_seed(seed, epoch * EPOCH_STRIDE), num_parallel_calls=tf.data.AUTOTUNE
        )
        if info.binarized:
            examples = examples.map(_binarize, num_parallel_calls=tf.data.AUTOTUNE)
        return examples.batch(batch_size, drop_remainder=True).take(steps)

    # One dataset per epoch, concatenated: each epoch's shuffle gets a Python-int seed.
    epoch_batches = [one_epoch(epoch) for epoch in range(initial_epoch, epochs)]
    batches = functools.reduce(tf.data.Dataset.concatenate, epoch_batches or [one_epoch(0).take(0)])
    return batches.prefetch(tf.data.AUTOTUNE), steps


def eval_batches(dataset, info, batch_size, seed=0):
    """Batches of a held-out split in a fixed order, with a fixed binarization and noise.

    Every call yields the same batches, so evaluation numbers compare across epochs.
    """
    examples = dataset.enumerate().map(
        _with_seed(seed, EVAL_STREAM), num_parallel_calls=tf.data.AUTOTUNE
    )
    if info.binarized:
        examples = examples.map(_binarize, num_parallel_calls=tf.data.AUTOTUNE)
    return examples.batch(batch_size).prefetch(tf.data.AUTOTUNE)
