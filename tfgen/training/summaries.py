"""Callbacks that write what a run shows every epoch: sample grids, texts, quality metrics.

Each reads only what a model family declares (`summary_images`, `generate_text`,
`sample_images`), so it works for every family of its modality.
"""

import os

import keras
import tensorflow as tf

from tfgen.data import DEFAULT_IMAGE_FIT
from tfgen.metrics.extractors import get_extractor
from tfgen.metrics.sample_quality import sample_quality
from tfgen.utils.files import write_atomically
from tfgen.utils.images import grid, write_png


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
        grids = {
            name: grid(images)
            for name, images in self.model.summary_images(self.examples, self.seed).items()
        }
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
        texts = [
            prompt + continuation
            for prompt, continuation in zip(
                self.prompts,
                (
                    self.model.generate_text(
                        self.prompts, self.sampler, self.max_new_tokens, seed=self.seed
                    )
                ),
            )
        ]
        with self.writer.as_default(step=epoch):
            tf.summary.text("samples", "\n\n".join(f"```\n{t}\n```" for t in texts))
        self.writer.flush()
        if self.text_dir is not None:
            write_atomically(
                os.path.join(self.text_dir, f"samples-epoch{epoch + 1:03d}.txt"),
                "\n\n".join(texts) + "\n",
            )


class QualityMetrics(keras.callbacks.Callback):
    """Every `every_epochs` epochs, measures sample quality and adds it to the epoch's logs.

    The values (e.g. `fid`, `kid`, `precision`) join the logs that later callbacks see,
    so Keras' `TensorBoard` callback writes them (`epoch_fid`, ...), the progress bar
    prints them, `History` keeps them and `BestCheckpoint` can choose by them.

    Args:
        dataset: the dataset whose test split the samples are compared with.
        groups: metric groups of `tfgen.evaluation.SAMPLE_QUALITY_GROUPS`, e.g. `["fid"]`.
        num_samples: generated images per evaluation.
        every_epochs: evaluate after epochs `every_epochs`, `2 * every_epochs`, ...
            and after the last epoch.
        extractor: `"classifier"` or `"inception"`; built (trained, the first time)
            when training starts.
        seed: fixed seed of the generated images.
        image_fit: how the run fitted images to the model's resolution (`pad` or
            `resize`); samples are brought back to the dataset's size the same way.
    """

    def __init__(
        self,
        dataset,
        groups,
        num_samples,
        every_epochs=1,
        extractor="classifier",
        seed=0,
        image_fit=DEFAULT_IMAGE_FIT,
    ):
        super().__init__()
        self.dataset, self.groups, self.num_samples = dataset, list(groups), num_samples
        self.every_epochs, self.extractor_name, self.seed = every_epochs, extractor, seed
        self.image_fit = image_fit
        self.extractor = None

    def on_train_begin(self, logs=None):
        if self.extractor is None:  # A resumed partial epoch and the rest are two fits.
            self.extractor = get_extractor(self.extractor_name, self.dataset)

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if logs is None or ((epoch + 1) % self.every_epochs and not last):
            return
        logs.update(
            sample_quality(
                self.model,
                self.dataset,
                self.groups,
                self.extractor,
                self.num_samples,
                self.seed,
                image_fit=self.image_fit,
            )
        )
