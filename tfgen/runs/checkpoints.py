"""A run's checkpoints: one per finished epoch, plus step backups inside an epoch.

`RUN/checkpoints/ckpt-<epoch>` (the last `checkpoints_to_keep`) holds the model,
every optimizer and the epoch counter at the end of each good epoch; `tfgen.runs.load`,
`tfgen.sample`, `tfgen.evaluate` and `tfgen.export` read these. Every
`backup_every_steps` steps, and when Ctrl-C or SIGTERM stops a fit,
`RUN/checkpoints/backup/step-<global step>` (the last one only) holds the same plus
the metric trackers (so the resumed epoch's logged means continue), and a run killed
mid-epoch resumes at that step. `RunCheckpoints.restore` restores whichever of the two
is newer; epoch checkpoints keep their old contents, so older runs still resume.

Why not `keras.callbacks.BackupAndRestore`: see docs/design.md, "Step backups".
"""

import dataclasses
import errno as errno_lib
import os
import shutil
from pathlib import Path

import tensorflow as tf

BACKUP_DIR = "backup"
BACKUP_NAME = "step"


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; every checkpoint written before stays loadable.

    `filename` is the checkpoint's path prefix; `strerror` the operating system's
    (or TensorFlow's) reason.
    """


def save_checkpoint(manager, number):
    """`manager.save(checkpoint_number=number)`; returns the checkpoint's path.

    TensorFlow writes the checkpoint's files first and only then points the
    directory's `checkpoint` index at them (with an atomic rename), so a write
    that fails part-way leaves the previous checkpoint the latest.

    Raises:
        CheckpointWriteError: if writing failed (disk full, file too large, ...);
            the message names the checkpoint and the reason.
    """
    try:
        return manager.save(checkpoint_number=number)
    except (OSError, tf.errors.OpError) as error:
        name = Path(getattr(manager, "_checkpoint_prefix", "ckpt")).name
        prefix = os.path.join(manager.directory, f"{name}-{number}")
        shutil.rmtree(f"{prefix}_temp", ignore_errors=True)  # TensorFlow's half-written files.
        code, reason = _os_reason(error)
        # An OSError, not TensorFlow's OutOfRangeError (its code for EFBIG): raised from a
        # batch-end callback, that one would be taken by Keras for the end of the data.
        raise CheckpointWriteError(code, reason, prefix) from error


def _os_reason(error):
    """`(errno, text)` of an OSError, or of the OS error a TensorFlow message quotes."""
    if isinstance(error, OSError) and error.errno is not None:
        return error.errno, error.strerror
    message = getattr(error, "message", None) or str(error)
    for code in sorted(errno_lib.errorcode):
        if os.strerror(code) in message:
            return code, f"{os.strerror(code)} ({message.strip()})"
    return errno_lib.EIO, message.strip()


def checkpoint_schema(model, epoch, optimizers=None, metric_variables=None):
    """The `tf.train.Checkpoint` of a run: the one place its object names are chosen.

    Args:
        model: the model (`model`).
        epoch: the `tf.Variable` counting finished epochs (`epoch`).
        optimizers: `{name: optimizer}` (the family's `optimizers()`); omitted when
            only the weights are read back.
        metric_variables: the metric trackers' variables (`metrics`), held by step
            backups only.
    """
    objects = {"model": model, "epoch": epoch, **(optimizers or {})}
    if metric_variables is not None:
        objects["metrics"] = list(metric_variables)
    return tf.train.Checkpoint(**objects)


def checkpoint_number(path):
    """The number at the end of a checkpoint path (`.../step-120` -> 120), or 0 for `None`."""
    return int(str(path).rsplit("-", 1)[1]) if path else 0


@dataclasses.dataclass
class ResumePoint:
    """Where a (resumed) run continues.

    Attributes:
        epoch: the epoch to continue, counted from 0.
        step: optimizer steps done so far (the global step).
        done: steps of `epoch` already done; 0 starts the epoch afresh.
        path: the checkpoint restored, or `None` for a new run.
        metric_values: for a mid-epoch resume, the metric trackers' state at
            `step` (re-applied when the epoch's remaining batches start).
    """

    epoch: int = 0
    step: int = 0
    done: int = 0
    path: str | None = None
    metric_values: list | None = None


class RunCheckpoints:
    """The epoch checkpoints and step backups of one run directory.

    Args:
        directory: `RUN/checkpoints`.
        checkpoint: the `tf.train.Checkpoint` of model, optimizers and epoch counter.
        backup_checkpoint: the same plus `metrics` (the trackers' variables).
        keep: how many epoch checkpoints to keep.
    """

    def __init__(self, directory, checkpoint, backup_checkpoint, keep):
        self.checkpoint, self.backup_checkpoint = checkpoint, backup_checkpoint
        self.epochs = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=keep)
        self.backups = tf.train.CheckpointManager(
            backup_checkpoint,
            str(Path(directory) / BACKUP_DIR),
            max_to_keep=1,
            checkpoint_name=BACKUP_NAME,
        )

    def latest(self, steps_per_epoch):
        """`(path, global step)` of the newest checkpoint, epoch or backup; `(None, 0)` if none."""
        epoch_path, backup_path = self.epochs.latest_checkpoint, self.backups.latest_checkpoint
        epoch_step = checkpoint_number(epoch_path) * steps_per_epoch
        if checkpoint_number(backup_path) > epoch_step:
            return backup_path, checkpoint_number(backup_path)
        return epoch_path, epoch_step

    def restore(self, steps_per_epoch, epoch, iterations, metric_variables=()):
        """Restores the newest checkpoint into the tracked objects.

        Args:
            steps_per_epoch: batches per epoch of this run.
            epoch: the checkpointed epoch counter (`tf.Variable`).
            iterations: the step counter of `model.optimizer`.
            metric_variables: the variables of the backup's `metrics`.

        Returns:
            A `ResumePoint`.

        Raises:
            ValueError: if a step backup does not fit this run's `steps_per_epoch`.
        """
        path, step = self.latest(steps_per_epoch)
        if path is None:
            return ResumePoint()
        if path == self.epochs.latest_checkpoint:
            self.checkpoint.restore(path).assert_existing_objects_matched()
            return ResumePoint(int(epoch.numpy()), int(iterations.numpy()), 0, path)
        self.backup_checkpoint.restore(path).assert_existing_objects_matched()
        done = step - int(epoch.numpy()) * steps_per_epoch
        if int(iterations.numpy()) != step or not 0 < done < steps_per_epoch:
            raise ValueError(
                f"the step backup {path} (epoch {int(epoch.numpy()) + 1}, step "
                f"{int(iterations.numpy())}) does not fit {steps_per_epoch} steps per epoch; "
                f"delete {self.backups.directory} to resume from the last epoch checkpoint"
            )
        return ResumePoint(
            int(epoch.numpy()), step, done, path, [v.numpy() for v in metric_variables]
        )

    def save_epoch(self, finished_epochs):
        return save_checkpoint(self.epochs, finished_epochs)

    def save_backup(self, step):
        return save_checkpoint(self.backups, step)
