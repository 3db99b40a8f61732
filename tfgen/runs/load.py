"""`load(run_dir)`: a run's model rebuilt from its config and a checkpoint."""

from typing import NamedTuple

import tensorflow as tf

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import models, text
from tfgen.runs.checkpoints import checkpoint_schema
from tfgen.runs.directory import Run


class LoadedRun(NamedTuple):
    """A run's model with the weights of one checkpoint, and what it was trained with.

    Unpacks as `model, config, info, epoch = tfgen.runs.load(path)`.
    """

    model: "models.GenerativeModel"
    config: config_lib.TrainConfig
    info: data_lib.DatasetInfo
    epoch: int


def model_kwargs(run):
    """Constructor arguments a run directory holds besides the config (its tokenizer)."""
    path = (run if isinstance(run, Run) else Run(run)).tokenizer_file
    return {"tokenizer": text.load_tokenizer(path)} if path.exists() else {}


def load(run_dir, checkpoint="latest"):
    """Rebuilds a run's model from its config and a checkpoint.

    Needs only the run directory (config, dataset info, checkpoints), not the data.

    Args:
        run_dir: a run directory written by `tfgen.training.train` (or a `Run`).
        checkpoint: `"latest"` (the last finished epoch) or `"best"` (the epoch
            with the best `best_metric`).

    Returns:
        A `LoadedRun`: `model, config, info, epoch = load(run_dir)`.

    Raises:
        FileNotFoundError: if `run_dir` is not a run directory or has no checkpoint.
        ValueError: for a `checkpoint` other than `"latest"` or `"best"`.
    """
    run = run_dir if isinstance(run_dir, Run) else Run(run_dir)
    config = run.read_config()
    info = run.read_dataset_info()
    path = run.checkpoint_path(checkpoint)
    model = models.get(config.model).from_run_config(config, info, **model_kwargs(run))
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    status = checkpoint_schema(model, epoch).restore(path)
    status.assert_existing_objects_matched().expect_partial()  # Optimizer slots are not needed.
    return LoadedRun(model, config, info, int(epoch.numpy()))
