"""The fit loop behind `python -m tfgen.fit`: one call, also used by the tests.

`train(config)` picks the strategy, locks the run directory (`tfgen.run_lock`),
loads the data, builds and compiles the model inside the strategy scope, restores
the newest checkpoint of the run directory if there is one (an epoch checkpoint
or a step backup, `tfgen.checkpoints`), and runs `model.fit` with TensorBoard,
image-grid, checkpoint and step-backup callbacks (the dataset side, image or
text, is `tfgen.training_data`). Running it again on the same run directory
resumes where it stopped, mid-epoch if it stopped mid-epoch. Ctrl-C and SIGTERM
save the current step and raise `TrainingInterrupted` (`tfgen.interrupts`).

Under `strategy: multi_worker` every worker runs this same function (all-reduces,
checkpoint saves and reads of synchronized variables are collectives that need every
worker), but only the chief (worker 0) takes the run lock and writes the run
directory; every other worker restores from the run directory and writes into a
temporary directory of its own, removed when it returns, or by a later worker if it
was killed (TensorFlow's pattern for checkpoints in multi-worker training). A
multi-worker run directory looks like a one-process one.
"""

import contextlib
import dataclasses
import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import models, run_lock, scratch, training_data
from tfgen.callbacks import BestCheckpoint, EpochCheckpoint, QualityMetrics, StepBackup
from tfgen.checkpoints import RunCheckpoints
from tfgen.distribute import make_strategy, resolve_jit_compile, shard_by_examples, worker_role
from tfgen.files import write_atomically
from tfgen.interrupts import StopSignals

CONFIG_FILE = "config.yaml"
DATASET_INFO_FILE = "dataset_info.json"
MODEL_FILE = "model.keras"
# Files of a run directory that a resumed run reads back (besides checkpoints).
READ_BACK_FILES = (training_data.TOKENIZER_FILE, str(Path("checkpoints", "best", "best.json")))
# Keys that may change when a run is resumed; any other change needs a new run directory.
RESUMABLE_CHANGES = ("epochs", "validation_steps", "eval_every_epochs", "eval_metrics",
                     "eval_num_samples", "eval_extractor", "best_metric", "backup_every_steps")


class WorkerLost(RuntimeError):
    """Under `multi_worker`, another worker stopped or became unreachable during the run."""


class TrainingDiverged(RuntimeError):
    """A metric became NaN or infinite; the run directory keeps the last good checkpoint.

    Attributes:
        divergence: a `tfgen.callbacks.Divergence` (epoch, global step, metric, value).
    """

    def __init__(self, message, divergence=None):
        super().__init__(message)
        self.divergence = divergence


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
    initial_step: int = 0


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
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno is None or error.filename is not None:
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error


def train(config, run_dir=None, verbose="auto"):
    """Trains (or resumes) the run that `config` describes.

    Args:
        config: a resolved `TrainConfig` subclass instance (see `tfgen.config.resolve`).
        run_dir: where checkpoints, TensorBoard logs, the config and samples go;
            default `runs/<model>-<dataset>`.
        verbose: passed to `model.fit` (`"auto"` shows a progress bar); 0 also
            silences the line that says where a resumed run continues.

    Returns:
        A `TrainResult`.

    Raises:
        RunLockedError: at once, if another process is training into `run_dir`.
        TrainingDiverged: if a metric became NaN or infinite; the last good
            checkpoint stays the newest.
        TrainingInterrupted: on Ctrl-C or SIGTERM, after saving the current step.
        CheckpointWriteError: if a checkpoint could not be written (the earlier
            ones stay loadable); an `OSError` names any other file that could not be.
        ConfigError: if `run_dir` holds a run with an incompatible config.
        WorkerLost: under `multi_worker`, if another worker stopped mid-run (e.g.
            the chief refused the run directory); TensorFlow's error is its cause.
    """
    # The strategy first: splitting the CPU into logical devices must precede any op.
    strategy = make_strategy(config.strategy, config.devices)
    keras.utils.set_random_seed(config.seed)
    run_dir = Path(run_dir or default_run_dir(config))
    role = worker_role(strategy)
    try:
        if role.is_chief:
            with run_lock.hold(run_dir):
                return _train_locked(config, run_dir, run_dir, strategy, verbose)
        with _worker_scratch_dir(run_dir, role) as scratch_dir:
            result = _train_locked(config, run_dir, scratch_dir, strategy, verbose)
    except tf.errors.UnavailableError as error:
        if getattr(getattr(strategy, "cluster_resolver", None), "task_type", None) is None:
            raise
        raise WorkerLost(
            f"worker {role.index} lost the other workers of the cluster in TF_CONFIG: one of "
            f"them stopped or cannot be reached. That worker's output says why (e.g. the chief, "
            f"worker 0, refuses a run directory started with a different config); rerun every "
            f"worker to resume from the last checkpoint.") from error
    # The chief's files, which this worker's equal (it has deleted its own).
    return dataclasses.replace(
        result, run_dir=run_dir, samples=run_dir / result.samples.relative_to(scratch_dir),
        model_file=run_dir / result.model_file.relative_to(scratch_dir))


@contextlib.contextmanager
def _worker_scratch_dir(run_dir, role):
    """A temporary directory for a non-chief worker's files, removed afterwards.

    It lives outside the run directory (in `$TMPDIR`), so even a killed worker leaves
    nothing there; the directory a killed worker leaves in `$TMPDIR` is removed by the
    next worker that starts (`tfgen.scratch`). The files a resumed run reads back
    (`READ_BACK_FILES`) are copied in first, so every worker decides as the chief does
    (e.g. when to save a `best` checkpoint, which all of them must do together).
    """
    with scratch.scratch_dir(f"tfgen-worker{role.index}-", family="tfgen-worker") as path:
        for name in READ_BACK_FILES:
            if (run_dir / name).exists():
                (path / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(run_dir / name, path / name)
        yield path


def _train_locked(config, run_dir, write_dir, strategy, verbose):
    """Trains the run of `run_dir`, writing into `write_dir` (`run_dir` on the chief)."""
    model_class = models.get(config.model)
    run_data = training_data.prepare(config, write_dir)
    _check_or_write_config(config, write_dir)
    info, steps = run_data.info, run_data.steps
    write_atomically(write_dir / DATASET_INFO_FILE,
                     json.dumps(dataclasses.asdict(info), indent=2))

    with strategy.scope():
        model = model_class.from_run_config(config, info, steps_per_epoch=steps,
                                            **run_data.model_kwargs)
        model.compile_from_run_config(
            config, resolve_jit_compile(config.jit_compile, strategy), steps_per_epoch=steps
        )
        model.build_optimizers()
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, epoch=epoch, **model.optimizers())
    metric_variables = [v for metric in model.metrics for v in metric.variables]
    backup = tf.train.Checkpoint(model=model, epoch=epoch, metrics=metric_variables,
                                 **model.optimizers())
    checkpoints = RunCheckpoints(write_dir / "checkpoints", checkpoint, backup,
                                 config.checkpoints_to_keep)
    # Every worker resumes from the chief's checkpoints (on a shared or the same disk).
    saved = checkpoints if write_dir == run_dir else RunCheckpoints(
        run_dir / "checkpoints", checkpoint, backup, config.checkpoints_to_keep)
    resume = saved.restore(steps, epoch, model.optimizer.iterations, metric_variables)
    if resume.done and verbose != 0:
        print(f"resuming epoch {resume.epoch + 1} at global step {resume.step} "
              f"({resume.done} of its {steps} steps done) from {resume.path}", file=sys.stderr)

    log_dir = write_dir / "logs"
    _write_config_summary(log_dir, config)
    saver = EpochCheckpoint(checkpoints.epochs, epoch)
    stop_signals = StopSignals()
    callbacks = [
        saver,
        *_quality_callbacks(config, checkpoint, write_dir),
        *run_data.callbacks(log_dir, write_dir),
        keras.callbacks.TensorBoard(str(log_dir), write_graph=False),
        StepBackup(checkpoints, steps, config.backup_every_steps, stop_signals,
                   metric_variables, resume),  # Last: it may stop after the others' epoch end.
    ]
    history = {}
    if resume.epoch < config.epochs:
        # Keras 3.15 warns that `shuffle=True` is ignored even though nobody passed it;
        # the pipeline shuffles (seeded, per epoch).
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
        with stop_signals:
            history = _fit(model, run_data, config, resume, callbacks, verbose)
    if saver.divergence is not None:
        latest, step = checkpoints.latest(steps)
        where = (f"The last good checkpoint, {latest} (global step {step}), is the newest; "
                 f"rerunning resumes from it" if latest else
                 "No checkpoint was written yet; rerunning starts over")
        raise TrainingDiverged(
            f"{saver.divergence}; training stopped. {where}. If it diverges again, start a new "
            f"run (--run-dir) with a lower learning_rate.", saver.divergence)
    samples = run_data.write_samples(model, write_dir)
    model_file = write_dir / MODEL_FILE
    _save_model_atomically(model, model_file)
    return TrainResult(run_dir, model, history, resume.epoch, samples, model_file, resume.step)


def _fit(model, run_data, config, resume, callbacks, verbose):
    """Runs `model.fit` from `resume` to `config.epochs`; returns the merged history.

    A mid-epoch resume takes two fits: the rest of the interrupted epoch (its
    batches after the `resume.done` already trained, in the same order), then the
    remaining whole epochs. Keras gives every epoch of one fit the same number of
    steps, so one fit could not hold both.
    """
    steps = run_data.steps
    validation = shard_by_examples(run_data.validation_batches())

    def fit(batches, first_epoch, last_epoch, steps_per_epoch):
        return model.fit(batches, epochs=last_epoch, initial_epoch=first_epoch,
                         steps_per_epoch=steps_per_epoch, validation_data=validation,
                         validation_steps=config.validation_steps, callbacks=callbacks,
                         verbose=verbose).history

    epoch, history = resume.epoch, {}
    if resume.done:
        rest = run_data.train_batches(epoch).skip(resume.done).take(steps - resume.done)
        rest = shard_by_examples(rest)
        history = fit(rest, epoch, epoch + 1, steps - resume.done)
        epoch += 1
        if model.stop_training or epoch >= config.epochs:
            return history
    more = fit(shard_by_examples(run_data.train_batches(epoch)), epoch, config.epochs, steps)
    return {key: history.get(key, []) + more.get(key, []) for key in {**history, **more}}


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
                                        seed=config.seed,
                                        image_fit=getattr(config, "image_fit", "pad")))
    if config.best_metric:
        callbacks.append(BestCheckpoint(checkpoint, run_dir / "checkpoints" / "best",
                                        config.best_metric))
    return callbacks


def _write_config_summary(log_dir, config):
    writer = tf.summary.create_file_writer(str(log_dir / "config"))
    with writer.as_default(step=0):
        tf.summary.text("config", f"```\n{config_lib.to_yaml(config)}```")
    writer.flush()
