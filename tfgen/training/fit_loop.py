"""The fit loop behind `python -m tfgen.fit`: one call, also used by the tests.

`train(config)` picks the strategy, locks the run directory (`tfgen.runs.lock`),
loads the data, builds and compiles the model inside the strategy scope, restores
the newest checkpoint of the run directory if there is one (an epoch checkpoint
or a step backup, `tfgen.runs.checkpoints`), and runs `model.fit` with TensorBoard,
image-grid, checkpoint and step-backup callbacks (the dataset side, image or
text, is `tfgen.training.run_data`). Running it again on the same run directory
resumes where it stopped, mid-epoch if it stopped mid-epoch. Ctrl-C and SIGTERM
save the current step and raise `TrainingInterrupted` (`tfgen.runs.interrupts`).

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
import os
import shutil
import sys
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from tfgen import config as config_lib
from tfgen import models
from tfgen.distribute import (
    make_strategy,
    resolve_jit_compile,
    scratch,
    shard_by_examples,
    worker_role,
)
from tfgen.runs import Run, RunCheckpoints, checkpoint_schema, default_run_dir
from tfgen.runs import lock as run_lock
from tfgen.runs.callbacks import BestCheckpoint, EpochCheckpoint, StepBackup
from tfgen.runs.interrupts import StopSignals
from tfgen.training import run_data as training_data
from tfgen.training.summaries import QualityMetrics


class WorkerLost(RuntimeError):
    """Under `multi_worker`, another worker stopped or became unreachable during the run."""


class TrainingDiverged(RuntimeError):
    """A metric became NaN or infinite; the run directory keeps the last good checkpoint.

    Attributes:
        divergence: a `tfgen.runs.callbacks.Divergence` (epoch, global step, metric, value).
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


def train(config, run_dir=None, verbose="auto", callbacks=()):
    """Trains (or resumes) the run that `config` describes.

    Args:
        config: a resolved `TrainConfig` subclass instance (see `tfgen.config.resolve`).
        run_dir: where checkpoints, TensorBoard logs, the config and samples go;
            default `runs/<model>-<dataset>`.
        verbose: passed to `model.fit` (`"auto"` shows a progress bar); 0 also
            silences the line that says where a resumed run continues.
        callbacks: your own `keras.callbacks.Callback`s (e.g. `EarlyStopping`,
            `CSVLogger`), run after tfgen's and before the step backup, which may
            stop training after every other callback's epoch end.

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
                return _train_locked(config, run_dir, run_dir, strategy, verbose, callbacks)
        with _worker_scratch_dir(run_dir, role) as scratch_dir:
            result = _train_locked(config, run_dir, scratch_dir, strategy, verbose, callbacks)
    except tf.errors.UnavailableError as error:
        if getattr(getattr(strategy, "cluster_resolver", None), "task_type", None) is None:
            raise
        raise WorkerLost(
            f"worker {role.index} lost the other workers of the cluster in TF_CONFIG: one of "
            f"them stopped or cannot be reached. That worker's output says why (e.g. the chief, "
            f"worker 0, refuses a run directory started with a different config); rerun every "
            f"worker to resume from the last checkpoint."
        ) from error
    # The chief's files, which this worker's equal (it has deleted its own).
    return dataclasses.replace(
        result,
        run_dir=run_dir,
        samples=run_dir / result.samples.relative_to(scratch_dir),
        model_file=run_dir / result.model_file.relative_to(scratch_dir),
    )


@contextlib.contextmanager
def _worker_scratch_dir(run_dir, role):
    """A temporary directory for a non-chief worker's files, removed afterwards.

    It lives outside the run directory (in `$TMPDIR`), so even a killed worker leaves
    nothing there; the directory a killed worker leaves in `$TMPDIR` is removed by the
    next worker that starts (`tfgen.distribute.scratch`). The files a resumed run reads back
    (`Run.read_back_files`) are copied in first, so every worker decides as the chief does
    (e.g. when to save a `best` checkpoint, which all of them must do together).
    """
    with scratch.scratch_dir(f"tfgen-worker{role.index}-", family="tfgen-worker") as path:
        for name in Run(run_dir).read_back_files:
            if (run_dir / name).exists():
                (path / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(run_dir / name, path / name)
        yield path


def _train_locked(config, run_dir, write_dir, strategy, verbose, user_callbacks=()):
    """Trains the run of `run_dir`, writing into `write_dir` (`run_dir` on the chief)."""
    model_class = models.get(config.model)
    run, out = Run(run_dir), Run(write_dir)
    run_data = training_data.prepare(config, out)
    out.write_config(config)
    info, steps = run_data.info, run_data.steps
    out.write_dataset_info(info)

    with strategy.scope():
        model = model_class.from_run_config(
            config, info, steps_per_epoch=steps, **run_data.model_kwargs
        )
        model.compile_from_run_config(
            config, resolve_jit_compile(config.jit_compile, strategy), steps_per_epoch=steps
        )
        model.build_optimizers()
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    metric_variables = [v for metric in model.metrics for v in metric.variables]
    checkpoint = checkpoint_schema(model, epoch, model.optimizers())
    backup = checkpoint_schema(model, epoch, model.optimizers(), metric_variables)
    checkpoints = RunCheckpoints(out.checkpoint_dir, checkpoint, backup, config.checkpoints_to_keep)
    # Every worker resumes from the chief's checkpoints (on a shared or the same disk).
    saved = (
        checkpoints
        if write_dir == run_dir
        else RunCheckpoints(run.checkpoint_dir, checkpoint, backup, config.checkpoints_to_keep)
    )
    resume = saved.restore(steps, epoch, model.optimizer.iterations, metric_variables)
    if resume.done and verbose != 0:
        print(
            f"resuming epoch {resume.epoch + 1} at global step {resume.step} "
            f"({resume.done} of its {steps} steps done) from {resume.path}",
            file=sys.stderr,
        )

    _write_config_summary(out.log_dir, config)
    saver = EpochCheckpoint(checkpoints.epochs, epoch)
    stop_signals = StopSignals()
    callbacks = [
        saver,
        *_quality_callbacks(config, checkpoint, out),
        *run_data.callbacks(out),
        keras.callbacks.TensorBoard(str(out.log_dir), write_graph=False),
        *user_callbacks,
        StepBackup(
            checkpoints, steps, config.backup_every_steps, stop_signals, metric_variables, resume
        ),  # Last: it may stop after the others' epoch end.
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
        where = (
            f"The last good checkpoint, {latest} (global step {step}), is the newest; "
            f"rerunning resumes from it"
            if latest
            else "No checkpoint was written yet; rerunning starts over"
        )
        raise TrainingDiverged(
            f"{saver.divergence}; training stopped. {where}. If it diverges again, start a new "
            f"run (--run-dir) with a lower learning_rate.",
            saver.divergence,
        )
    samples = run_data.write_samples(model, out)
    _save_model_atomically(model, out.model_file)
    return TrainResult(run_dir, model, history, resume.epoch, samples, out.model_file, resume.step)


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
        return model.fit(
            batches,
            epochs=last_epoch,
            initial_epoch=first_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_data=validation,
            validation_steps=config.validation_steps,
            callbacks=callbacks,
            verbose=verbose,
        ).history

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


def _quality_callbacks(config, checkpoint, run):
    """Sample-quality metrics every `eval_every_epochs`, and the `best` checkpoint."""
    callbacks = []
    if config.eval_every_epochs:
        groups = [g.strip() for g in config.eval_metrics.split(",") if g.strip()]
        callbacks.append(
            QualityMetrics(
                config.dataset,
                groups,
                config.eval_num_samples,
                config.eval_every_epochs,
                config.eval_extractor,
                seed=config.seed,
                image_fit=models.get(config.model).image_fit(config),
            )
        )
    if config.best_metric:
        callbacks.append(BestCheckpoint(checkpoint, run.best_dir, config.best_metric))
    return callbacks


def _write_config_summary(log_dir, config):
    writer = tf.summary.create_file_writer(str(log_dir / "config"))
    with writer.as_default(step=0):
        tf.summary.text("config", f"```\n{config_lib.to_yaml(config)}```")
    writer.flush()
