"""Callbacks that the fit loop adds to `model.fit`.

Each reads only what a model family declares (`summary_images`, `sample_images`,
`generate_text`), so it works for every family of its modality.
"""

import json
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
    """

    def __init__(self, dataset, groups, num_samples, every_epochs=1, extractor="classifier",
                 seed=0):
        super().__init__()
        self.dataset, self.groups, self.num_samples = dataset, list(groups), num_samples
        self.every_epochs, self.extractor_name, self.seed = every_epochs, extractor, seed
        self.extractor = None

    def on_train_begin(self, logs=None):
        from tfgen.metrics.extractors import get_extractor

        self.extractor = get_extractor(self.extractor_name, self.dataset)

    def on_epoch_end(self, epoch, logs=None):
        from tfgen.evaluation import sample_quality

        last = epoch + 1 == self.params.get("epochs")
        if logs is None or ((epoch + 1) % self.every_epochs and not last):
            return
        logs.update(sample_quality(self.model, self.dataset, self.groups, self.extractor,
                                   self.num_samples, self.seed))


class BestCheckpoint(keras.callbacks.Callback):
    """Keeps a `best` checkpoint: the epoch with the best value of one logged metric.

    Sample-quality metrics declare their direction (`tfgen.metrics.registry`); any
    other logged value (e.g. `val_loss`) is taken as lower-is-better. The best value
    and its epoch are kept in `<directory>/best.json`, so a resumed run compares
    against it. Epochs whose logs lack the metric (between evaluations) are skipped.

    Args:
        checkpoint: the `tf.train.Checkpoint` to save (model, optimizers, epoch).
        directory: where the best checkpoint goes, e.g. `RUN/checkpoints/best`.
        metric: the log key to choose by, e.g. `"fid"` or `"val_loss"`.
    """

    def __init__(self, checkpoint, directory, metric):
        super().__init__()
        from tfgen.metrics import registry

        self.metric = metric
        spec = registry.METRICS.get(metric)
        self.higher_is_better = bool(spec and spec.higher_is_better)
        self.manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=1,
                                                  checkpoint_name="best")
        self.record_path = os.path.join(str(directory), "best.json")
        self.best = None
        if os.path.exists(self.record_path):
            with open(self.record_path, encoding="utf-8") as file:
                record = json.load(file)
            if record.get("metric") == metric:  # Another metric's best does not compare.
                self.best = record["value"]
        self.seen = set()

    def is_better(self, value):
        if self.best is None:
            return True
        return value > self.best if self.higher_is_better else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        self.seen.update(logs or {})
        value = (logs or {}).get(self.metric)
        if value is None or not math.isfinite(float(np.mean(value))):
            return
        value = float(np.mean(value))
        if self.is_better(value):
            self.best = value
            self.manager.save(checkpoint_number=epoch + 1)
            write_atomically(self.record_path, json.dumps(
                {"metric": self.metric, "value": value, "epoch": epoch + 1,
                 "higher_is_better": self.higher_is_better}, indent=2) + "\n")

    def on_train_end(self, logs=None):
        if self.best is None and self.seen:
            print(f"warning: best_metric {self.metric!r} was never logged, so no best "
                  f"checkpoint was kept; logged: {', '.join(sorted(self.seen))} (sample-quality "
                  f"metrics need eval_every_epochs > 0)")
