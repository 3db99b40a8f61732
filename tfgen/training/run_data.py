"""What the fit loop needs from a dataset, for image and for text runs.

`prepare(config, run)` loads a dataset and returns a `RunData`: the batches
per epoch, extra model-constructor arguments, the training and validation
batches, the per-epoch summary callbacks and the final samples. The fit loop
(`tfgen.training.train`) reads only this interface:

- images (`ImageRunData`): train and test splits through `tfgen.data.pipeline`;
  every epoch, the model's `summary_images` of a fixed test batch go to
  TensorBoard and PNGs; at the end, `samples.png`.
- text (`TextRunData`): a tokenizer is trained on the train split (or read back
  from `RUN/tokenizer.json` when a run resumes) and saved with the run; training
  windows come from the train split, validation windows (in order) from the
  validation split; every epoch, text sampled from `sample_prompt` goes to
  TensorBoard and `RUN/text/`; at the end, `samples.txt`.
"""

import tensorflow as tf

from tfgen import data as data_lib
from tfgen import models, samplers, text
from tfgen.runs import Run
from tfgen.training.summaries import ImageGrids, TextSamples
from tfgen.utils.files import write_atomically
from tfgen.utils.images import grid, write_png

NUM_TEXT_SAMPLES = 3


def prepare(config, run):
    """Loads `config.dataset` and returns the `RunData` of its modality for `run` (a `Run`
    or a path)."""
    run = run if isinstance(run, Run) else Run(run)
    train_examples, info = data_lib.load(
        config.dataset, "train", **models.get(config.model).data_options(config)
    )
    if info.modality == "text":
        return TextRunData(config, run, train_examples, info)
    return ImageRunData(config, run, train_examples, info)


class ImageRunData:
    """Batches and summaries of an image dataset (train and test splits)."""

    def __init__(self, config, run, train_examples, info):
        self.config, self.info, self.train_examples = config, info, train_examples
        self.test_examples, _ = data_lib.load(
            config.dataset, "test", **models.get(config.model).data_options(config)
        )
        self.steps = data_lib.steps_per_epoch(info, config.batch_size, config.steps_per_epoch)
        self.model_kwargs = {}

    def train_batches(self, initial_epoch):
        config = self.config
        batches, _ = data_lib.training_batches(
            self.train_examples,
            self.info,
            config.batch_size,
            seed=config.seed,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps=self.steps,
        )
        return batches

    def validation_batches(self):
        return data_lib.eval_batches(
            self.test_examples, self.info, self.config.batch_size, seed=self.config.seed
        )

    def callbacks(self, run):
        size = self.config.sample_grid_size
        examples = next(
            iter(
                data_lib.eval_batches(self.test_examples, self.info, size**2, seed=self.config.seed)
            )
        )
        return [
            ImageGrids(str(run.log_dir), examples, seed=self.config.seed, png_dir=run.images_dir)
        ]

    def write_samples(self, model, run):
        path = run.samples_file("image")
        size = self.config.sample_grid_size
        write_png(path, grid(model.sample_grid(size, self.config.seed)))
        return path


class TextRunData:
    """Tokenizer, windows and text samples of a text dataset (train and validation splits)."""

    def __init__(self, config, run, train_examples, info):
        self.config, self.info = config, info
        path = run.tokenizer_file
        if path.exists():
            self.tokenizer = text.load_tokenizer(path)
        else:
            self.tokenizer = _train_tokenizer(config, train_examples)
            self.tokenizer.save(path)
        self.train_tokens = text.concatenate(text.tokenize(train_examples, self.tokenizer))
        validation_examples, _ = data_lib.load(config.dataset, "validation")
        self.validation_tokens = text.concatenate(
            text.tokenize(validation_examples, self.tokenizer)
        )
        count = text.window_count(
            self.train_tokens.size, config.context_length, config.window_stride
        )
        full = count // config.batch_size
        self.steps = min(full, config.steps_per_epoch) if config.steps_per_epoch else full
        if self.steps < 1:  # windows() names the split and the length needed.
            self._windows(self.train_tokens, "train", epochs=1)
        self.model_kwargs = {"tokenizer": self.tokenizer}

    def _windows(self, tokens, split, **kwargs):
        return text.windows(
            tf.data.Dataset.from_tensors(tokens),
            self.config.context_length,
            self.config.batch_size,
            name=f"{self.info.name} {split}",
            **kwargs,
        )

    def train_batches(self, initial_epoch):
        config = self.config
        return self._windows(
            self.train_tokens,
            "train",
            seed=config.seed,
            stride=config.window_stride,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=self.steps,
        )

    def validation_batches(self):
        return self._windows(self.validation_tokens, "validation", shuffle=False)

    def sampler(self):
        return samplers.get(self.config.sampler, temperature=self.config.temperature)

    def callbacks(self, run):
        config = self.config
        return [
            TextSamples(
                str(run.log_dir),
                [config.sample_prompt] * NUM_TEXT_SAMPLES,
                self.sampler(),
                config.sample_tokens,
                seed=config.seed,
                text_dir=run.text_dir,
            )
        ]

    def write_samples(self, model, run):
        path = run.samples_file("text")
        config = self.config
        texts = model.generate_text(
            [config.sample_prompt] * NUM_TEXT_SAMPLES,
            self.sampler(),
            config.sample_tokens,
            seed=config.seed,
        )
        write_atomically(path, "\n\n".join(config.sample_prompt + t for t in texts) + "\n")
        return path


def _train_tokenizer(config, documents):
    kind = text.get(config.tokenizer)
    if config.tokenizer == "subword":
        return kind.train(documents, vocab_size=config.vocab_size)
    return kind.train(documents)
