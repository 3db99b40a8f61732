"""Callbacks that keep a run's checkpoints: every good epoch, step backups, the best epoch.

A step or epoch whose metrics or weights are not finite is never saved, so the newest
checkpoint is always the last good state.
"""

import dataclasses
import json
import math
import os

import keras
import numpy as np
import tensorflow as tf

from tfgen.metrics import registry
from tfgen.runs.checkpoints import save_checkpoint
from tfgen.runs.directory import Run
from tfgen.runs.interrupts import SignalVote, TrainingInterrupted
from tfgen.utils.files import write_atomically


@dataclasses.dataclass
class Divergence:
    """Where training first produced non-finite values.

    Attributes:
        epoch: the epoch, counted from 0.
        step: the global step (optimizer updates done, counting the bad one).
        values: `{metric: value}` of every logged metric (or `"weights"`) that
            was NaN or infinite there.
    """

    epoch: int
    step: int
    values: dict

    @property
    def metric(self):
        """The first metric that became NaN or infinite (in log order)."""
        return next(iter(self.values))

    def __str__(self):
        names = ", ".join(f"{name!r} ({value})" for name, value in self.values.items())
        return (
            f"{names} became NaN or infinite in epoch {self.epoch + 1} at global step {self.step}"
        )


def nonfinite_values(logs):
    """`{name: value}` of the logged values that are NaN or infinite (empty if none)."""
    means = {name: float(np.mean(np.asarray(value))) for name, value in (logs or {}).items()}
    return {name: value for name, value in means.items() if not math.isfinite(value)}


def weights_finite(model):
    """Whether every trainable weight of `model` is finite."""
    return all(np.isfinite(np.asarray(v)).all() for v in model.trainable_variables)


def _global_step(model):
    return int(model.optimizer.iterations.numpy())


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves a `tf.train.CheckpointManager` checkpoint at the end of every good epoch.

    A step or epoch whose logged metrics (or, at the epoch's end, weights) are not
    finite stops training and is not saved, so the last checkpoint is always the
    last good state; `divergence` says where it happened.

    Args:
        manager: the `tf.train.CheckpointManager`.
        epoch: the `tf.Variable` in the checkpoint that counts finished epochs.
    """

    def __init__(self, manager, epoch):
        super().__init__()
        self.manager = manager
        self.epoch = epoch
        self.divergence = None

    @property
    def diverged_in_epoch(self):
        return None if self.divergence is None else self.divergence.epoch

    def _diverged(self, epoch, values):
        if self.divergence is None:
            self.divergence = Divergence(epoch, _global_step(self.model), values)
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = nonfinite_values(logs)
        if bad:
            self._diverged(self.current_epoch, bad)

    def on_epoch_end(self, epoch, logs=None):
        bad = nonfinite_values(logs)
        if not bad and not weights_finite(self.model):
            bad = {"weights": math.nan}
        if self.divergence is not None or bad:
            self._diverged(epoch, bad)
            return
        self.epoch.assign(epoch + 1)
        save_checkpoint(self.manager, epoch + 1)


class StepBackup(keras.callbacks.Callback):
    """Backs up the training state every `every_steps` steps, and on Ctrl-C or SIGTERM.

    Saves to `checkpoints.backups` (numbered by global step) at batch ends: every
    `every_steps` steps, and at the first batch end after `stop_signals` recorded a
    signal, after which it raises `TrainingInterrupted` (raising there, between two
    steps, skips validation and the epoch-end callbacks of an unfinished epoch). An
    epoch's last batch is left to `EpochCheckpoint` (the epoch checkpoint follows
    validation); a signal that arrives then, or during validation or the epoch-end
    callbacks, stops training right after the epoch checkpoint, so this callback goes
    last in the list. A state with non-finite metrics or weights is never saved, and
    nothing is saved after another callback stopped training (a divergence).

    The global step is counted in Python (one read of the optimizer's counter when
    training begins), so a batch end costs no device read. Under several workers the
    stop decision is a collective vote (`tfgen.runs.interrupts.SignalVote`), taken
    every `vote_every_steps` global steps, at every backup and at every epoch end: a
    signal stops every worker at the same step, at most `vote_every_steps` steps later.

    When a run resumes mid-epoch, `resume` (a `tfgen.runs.checkpoints.ResumePoint`)
    carries the metric trackers' state, which is re-applied after Keras resets the
    metrics at the start of the epoch, so the epoch's logged means equal the
    uninterrupted run's.

    Args:
        checkpoints: the run's `tfgen.runs.checkpoints.RunCheckpoints`.
        steps_per_epoch: batches per epoch.
        every_steps: steps between backups; 0 backs up only on a signal.
        stop_signals: a `tfgen.runs.interrupts.StopSignals` (or `None`).
        metric_variables: the variables of `model.metrics`, in the backup's order.
        resume: the `ResumePoint` the run started from, or `None`.
        vote_every_steps: global steps between the workers' stop votes.
    """

    def __init__(
        self,
        checkpoints,
        steps_per_epoch,
        every_steps,
        stop_signals=None,
        metric_variables=(),
        resume=None,
        vote_every_steps=10,
    ):
        super().__init__()
        self.vote_every_steps = vote_every_steps
        self.checkpoints, self.steps_per_epoch = checkpoints, steps_per_epoch
        self.every_steps, self.stop_signals = every_steps, stop_signals
        self.metric_variables = list(metric_variables)
        self.pending_metric_values = resume.metric_values if resume else None
        self.vote, self.signum = None, None

    def _stop_requested(self):
        """Whether to stop now; a collective vote when several workers train together.

        Sets `self.signum` to the signal to stop for (maybe another worker's).
        """
        local = self.stop_signals.signum if self.stop_signals is not None else None
        self.signum = self.vote(local) if self.vote is not None else local
        return self.signum is not None

    def on_train_begin(self, logs=None):
        strategy = self.model.distribute_strategy
        self.vote = SignalVote(strategy) if SignalVote.needed(strategy) else None
        self.step = _global_step(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start_step = self.step
        if self.pending_metric_values is not None:
            for variable, value in zip(self.metric_variables, self.pending_metric_values):
                variable.assign(value)
            self.pending_metric_values = None

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the epoch's last finished step (the last of a `steps_per_execution` call).
        self.step = step = self.epoch_start_step + batch + 1
        if self.model.stop_training or step % self.steps_per_epoch == 0:
            return
        backup_due = bool(self.every_steps) and step % self.every_steps == 0
        if self.vote is not None and not backup_due and step % self.vote_every_steps:
            return  # Not a voting step: every worker skips it alike.
        stop = self._stop_requested()
        if not stop and not backup_due:
            return
        if nonfinite_values(logs) or not weights_finite(self.model):
            return  # The next step's loss shows it; EpochCheckpoint then stops training.
        path = self.checkpoints.save_backup(step)
        if stop:
            raise TrainingInterrupted(self.signum, step, path)

    def on_epoch_end(self, epoch, logs=None):
        if self._stop_requested() and not self.model.stop_training:
            raise TrainingInterrupted(
                self.signum, self.step, self.checkpoints.epochs.latest_checkpoint
            )


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
        self.metric = metric
        spec = registry.METRICS.get(metric)
        self.higher_is_better = bool(spec and spec.higher_is_better)
        self.manager = tf.train.CheckpointManager(
            checkpoint, str(directory), max_to_keep=1, checkpoint_name="best"
        )
        self.record_path = os.path.join(str(directory), Run.BEST_RECORD)
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
            save_checkpoint(self.manager, epoch + 1)
            write_atomically(
                self.record_path,
                json.dumps(
                    {
                        "metric": self.metric,
                        "value": value,
                        "epoch": epoch + 1,
                        "higher_is_better": self.higher_is_better,
                    },
                    indent=2,
                )
                + "\n",
            )

    def on_train_end(self, logs=None):
        if self.best is None and self.seen:
            print(
                f"warning: best_metric {self.metric!r} was never logged, so no best "
                f"checkpoint was kept; logged: {', '.join(sorted(self.seen))} (sample-quality "
                f"metrics need eval_every_epochs > 0)"
            )
