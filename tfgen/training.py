"""The fit loop behind `python -m tfgen.fit`: one call, also used by the tests.

`train(config)` picks the strategy, loads the data, builds and compiles the model
inside the strategy scope, restores the latest checkpoint of the run directory if
there is one, and runs `model.fit` with TensorBoard, image-grid and checkpoint
callbacks (the dataset side, image or text, is `tfgen.training_data`). Running it again on the same run directory resumes where it stopped.
"""

import dataclasses
import json
import os
import re
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import models, training_data
from tfgen.callbacks import BestCheckpoint, EpochCheckpoint, QualityMetrics
from tfgen.distribute import make_strategy, resolve_jit_compile
from tfgen.files import write_atomically

CONFIG_FILE = "config.yaml"
DATASET_INFO_FILE = "dataset_info.json"
MODEL_FILE = "model.keras"
# Keys that may change when a run is resumed; any other change needs a new run directory.
RESUMABLE_CHANGES = ("epochs", "validation_steps", "eval_every_epochs", "eval_metrics",
                     "eval_num_samples", "eval_extractor", "best_metric")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the run directory keeps the last good checkpoint."""


@dataclasses.dataclass
class TrainResult:
    """What a finished (or resumed and finished) run left behind.

    `samples` is `samples.png` (image models) or `samples.txt` (language models).
    """

    run_dir: Path
    model: keras.Model
    history: dict
    initial_epoch: int
    samples: Path
    model_file: Path


def default_run_dir(config, root="runs"):
    """`runs/<model>-<dataset>`, so the same command finds the same run again."""
    dataset = re.sub(r"[^A-Za-z0-9_.-]+", "-", config.dataset).strip("-")
    return Path(root) / f"{config.model}-{dataset}"


def _check_or_write_config(config, run_dir):
    """Keeps the resolved config in the run directory; refuses to mix configs."""
    path = run_dir / CONFIG_FILE
    if path.exists():
        saved = config_lib.load_yaml(path)
        current = config_lib.to_dict(config)
        changed = sorted(
            k for k in set(saved) | set(current)
            if k not in RESUMABLE_CHANGES and _plain(saved.get(k)) != _plain(current.get(k))
        )
        if changed:
            raise config_lib.ConfigError(
                f"run directory {run_dir} was started with a different config "
                f"(differs in: {', '.join(changed)}). Resume it with the same config "
                f"(only {', '.join(RESUMABLE_CHANGES)} may change) or pass a new --run-dir."
            )
    write_atomically(path, config_lib.to_yaml(config))


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _save_model_atomically(model, path):
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def train(config, run_dir=None, verbose="auto"):
    """Trains (or resumes) the run that `config` describes.

    Args:
        config: a resolved `TrainConfig` subclass instance (see `tfgen.config.resolve`).
        run_dir: where checkpoints, TensorBoard logs, the config and samples go;
            default `runs/<model>-<dataset>`.
        verbose: passed to `model.fit` (`"auto"` shows a progress bar).

    Returns:
        A `TrainResult`.

    Raises:
        TrainingDiverged: if the loss became NaN; the last good checkpoint stays.
        ConfigError: if `run_dir` holds a run with an incompatible config.
    """
    # The strategy first: splitting the CPU into logical devices must precede any op.
    strategy = make_strategy(config.strategy, config.devices)
    keras.utils.set_random_seed(config.seed)
    run_dir = Path(run_dir or default_run_dir(config))
    model_class = models.get(config.model)
    run_data = training_data.prepare(config, run_dir)
    _check_or_write_config(config, run_dir)
    info, steps = run_data.info, run_data.steps
    write_atomically(run_dir / DATASET_INFO_FILE, json.dumps(dataclasses.asdict(info), indent=2))

    with strategy.scope():
        model = model_class.from_run_config(config, info, steps_per_epoch=steps,
                                            **run_data.model_kwargs)
        model.compile_from_run_config(
            config, resolve_jit_compile(config.jit_compile, strategy), steps_per_epoch=steps
        )
        model.build_optimizers()
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, epoch=epoch, **model.optimizers())
    manager = tf.train.CheckpointManager(
        checkpoint, str(run_dir / "checkpoints"), max_to_keep=config.checkpoints_to_keep
    )
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    initial_epoch = int(epoch.numpy())

    log_dir = run_dir / "logs"
    _write_config_summary(log_dir, config)
    saver = EpochCheckpoint(manager, epoch)
    callbacks = [
        saver,
        *_quality_callbacks(config, checkpoint, run_dir),
        *run_data.callbacks(log_dir, run_dir),
        keras.callbacks.TensorBoard(str(log_dir), write_graph=False),
    ]
    history = {}
    if initial_epoch < config.epochs:
        # Keras 3.15 warns that `shuffle=True` is ignored even though nobody passed it;
        # the pipeline shuffles (seeded, per epoch).
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
        history = model.fit(
            run_data.train_batches(initial_epoch),
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps,
            validation_data=run_data.validation_batches(),
            validation_steps=config.validation_steps,
            callbacks=callbacks,
            verbose=verbose,
        ).history
    if saver.diverged_in_epoch is not None:
        raise TrainingDiverged(
            f"the loss became NaN or infinite in epoch {saver.diverged_in_epoch + 1}; training "
            f"stopped. The last good checkpoint is {manager.latest_checkpoint or '(none yet)'}; "
            f"rerunning resumes from it. If it diverges again, start a new run (--run-dir) "
            f"with a lower learning_rate."
        )
    samples = run_data.write_samples(model, run_dir)
    model_file = run_dir / MODEL_FILE
    _save_model_atomically(model, model_file)
    return TrainResult(run_dir, model, history, initial_epoch, samples, model_file)


def load_run(run_dir, checkpoint="latest"):
    """Rebuilds a run's model from its config and a checkpoint.

    Needs only the run directory (config, dataset info, checkpoints), not the data.

    Args:
        run_dir: a run directory written by `train`.
        checkpoint: `"latest"` (the last finished epoch) or `"best"` (the epoch
            with the best `best_metric`, see `tfgen.callbacks.BestCheckpoint`).

    Returns:
        `(model, config, info, epoch)`: the model with the weights of the last
        finished epoch, the resolved config, the `DatasetInfo` and that epoch.

    Raises:
        FileNotFoundError: if `run_dir` is not a run directory or has no checkpoint.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE}); "
                                f"pass the directory that `python -m tfgen.fit` printed")
    values = config_lib.load_yaml(run_dir / CONFIG_FILE)
    model_class = models.get(values.get("model", ""))
    config = config_lib.resolve(model_class.config_class, values)
    info_fields = json.loads((run_dir / DATASET_INFO_FILE).read_text())
    info = data_lib.DatasetInfo(**{k: tuple(v) if isinstance(v, list) else v
                                   for k, v in info_fields.items()})
    if checkpoint not in ("latest", "best"):
        raise ValueError(f"checkpoint must be 'latest' or 'best', got {checkpoint!r}")
    directory = run_dir / "checkpoints" / ("best" if checkpoint == "best" else "")
    latest = tf.train.latest_checkpoint(str(directory))
    if latest is None and checkpoint == "best":
        raise FileNotFoundError(f"{run_dir} has no best checkpoint: train with best_metric set "
                                f"(e.g. --set eval_every_epochs=1 best_metric=fid)")
    if latest is None:
        raise FileNotFoundError(f"{run_dir} has no checkpoint yet: train at least one epoch")
    model = model_class.from_run_config(config, info, **training_data.saved_model_kwargs(run_dir))
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    status = tf.train.Checkpoint(model=model, epoch=epoch).restore(latest)
    status.assert_existing_objects_matched().expect_partial()  # Optimizer slots are not needed.
    return model, config, info, int(epoch.numpy())


def _quality_callbacks(config, checkpoint, run_dir):
    """Sample-quality metrics every `eval_every_epochs`, and the `best` checkpoint."""
    callbacks = []
    if config.eval_every_epochs:
        groups = [g.strip() for g in config.eval_metrics.split(",") if g.strip()]
        callbacks.append(QualityMetrics(config.dataset, groups, config.eval_num_samples,
                                        config.eval_every_epochs, config.eval_extractor,
                                        seed=config.seed))
    if config.best_metric:
        callbacks.append(BestCheckpoint(checkpoint, run_dir / "checkpoints" / "best",
                                        config.best_metric))
    return callbacks


def _write_config_summary(log_dir, config):
    writer = tf.summary.create_file_writer(str(log_dir / "config"))
    with writer.as_default(step=0):
        tf.summary.text("config", f"```\n{config_lib.to_yaml(config)}```")
    writer.flush()
