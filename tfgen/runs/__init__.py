"""Run directories: their layout (`Run`), checkpoints, lock, checkpoint callbacks and `load`.

>>> model, config, info, epoch = tfgen.runs.load("runs/vae-binarized_mnist")
"""

from tfgen.runs.checkpoints import (
    CheckpointWriteError,
    ResumePoint,
    RunCheckpoints,
    checkpoint_schema,
)
from tfgen.runs.directory import RESUMABLE_CHANGES, Run, default_run_dir
from tfgen.runs.interrupts import TrainingInterrupted
from tfgen.runs.load import LoadedRun, load
from tfgen.runs.lock import RunLockedError, hold
