"""Callbacks that the fit loop adds to `model.fit`.

Each reads only what a model family declares (`summary_images`, `sample_images`,
`generate_text`), so it works for every family of its modality.
"""

import math
import os

import keras
import numpy as np
import tensorflow as tf

from tfgen.files import write_atomically
from tfgen.images import grid, write_png


class ImageGrids(keras.callbacks.Callback):
    """Every epoch, writes the model's `summary_images` to TensorBoard as grids.

    Args:
        log_dir: TensorBoard log directory; images go to its `images` subdirectory.
        examples: a fixed batch of held-out examples (dict with `"image"`).
        seed: fixed seed, so the same latent draws are shown every epoch.
        png_dir: if given, each grid is also written there as
            `<name>-epoch<NNN>.png` (epochs counted from 1).
    """

    def __init__(self, log_dir, examples, seed=0, png_dir=None):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "images"))
        self.examples = examples
        self.seed = seed
        self.png_dir = png_dir

    def on_epoch_end(self, epoch, logs=None):
        grids = {name: grid(images) for name, images in
                 self.model.summary_images(self.examples, self.seed).items()}
        with self.writer.as_default(step=epoch):
            for name, image in grids.items():
                tf.summary.image(name, image[None])
        self.writer.flush()
        if self.png_dir is not None:
            for name, image in grids.items():
                write_png(os.path.join(self.png_dir, f"{name}-epoch{epoch + 1:03d}.png"), image)


class TextSamples(keras.callbacks.Callback):
    """Every epoch, writes text continued from fixed prompts to TensorBoard and text files.

    Args:
        log_dir: TensorBoard log directory; the text goes to its `text` subdirectory
            under the tag `samples` (Markdown, each sample in a code block).
        prompts: the prompts (one sample per prompt; repeat a prompt for several).
        sampler: a sampler name, config dict or `tfgen.samplers.Sampler`.
        max_new_tokens: tokens generated after each prompt.
        seed: fixed seed, so epochs differ only by the model.
        text_dir: if given, the samples are also written there as
            `samples-epoch<NNN>.txt` (epochs counted from 1).
    """

    def __init__(self, log_dir, prompts, sampler, max_new_tokens, seed=0, text_dir=None):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "text"))
        self.prompts, self.sampler = list(prompts), sampler
        self.max_new_tokens, self.seed, self.text_dir = max_new_tokens, seed, text_dir

    def on_epoch_end(self, epoch, logs=None):
        texts = [prompt + continuation for prompt, continuation in zip(self.prompts, (
            self.model.generate_text(self.prompts, self.sampler, self.max_new_tokens,
                                     seed=self.seed)))]
        with self.writer.as_default(step=epoch):
            tf.summary.text("samples", "\n\n".join(f"```\n{t}\n```" for t in texts))
        self.writer.flush()
        if self.text_dir is not None:
            write_atomically(os.path.join(self.text_dir, f"samples-epoch{epoch + 1:03d}.txt"),
                             "\n\n".join(texts) + "\n")


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves a `tf.train.CheckpointManager` checkpoint at the end of every good epoch.

    An epoch whose logged metrics are not finite (a NaN loss) is not saved, so the
    last checkpoint is always the last good state.

    Args:
        manager: the `tf.train.CheckpointManager`.
        epoch: the `tf.Variable` in the checkpoint that counts finished epochs.
    """

    def __init__(self, manager, epoch):
        super().__init__()
        self.manager = manager
        self.epoch = epoch
        self.diverged_in_epoch = None

    def _diverged(self, epoch):
        if self.diverged_in_epoch is None:
            self.diverged_in_epoch = epoch
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not all(math.isfinite(float(np.mean(np.asarray(v)))) for v in (logs or {}).values()):
            self._diverged(self.current_epoch)

    def on_epoch_end(self, epoch, logs=None):
        values = {k: float(np.mean(np.asarray(v))) for k, v in (logs or {}).items()}
        if self.diverged_in_epoch is not None or not all(map(math.isfinite, values.values())):
            self._diverged(epoch)
            return
        self.epoch.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)
