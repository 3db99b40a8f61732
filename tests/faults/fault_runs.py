"""Helpers of the fault tests: tiny runs of `python -m tfgen.fit` in child processes."""

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import support
import tensorflow as tf

from tfgen import config as config_lib
from tfgen import models
from tfgen.cli import fit
from tfgen.runs.checkpoints import BACKUP_DIR, checkpoint_number

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

# Tiny 8x8 runs: 3 epochs of 40 steps, a backup every 8 steps.
COMMON = dict(
    batch_size=8,
    epochs=3,
    steps_per_epoch=40,
    validation_steps=1,
    sample_grid_size=2,
    seed=3,
    backup_every_steps=8,
)
SETTINGS = {
    "vae": dict(COMMON, latent_dim=2, filters=2, lr_schedule="cosine"),
    "dcgan": dict(COMMON, latent_dim=4, filters=2),
}


def write_npz(directory, train=400, **kwargs):
    """`support.write_npz` with enough training images for an epoch of 40 steps of 8."""
    return support.write_npz(directory, train=train, **kwargs)


def settings(model, npz, **overrides):
    return {"dataset": f"npz:{npz}", **SETTINGS[model], **overrides}


def config(model, npz, **overrides):
    """The resolved config of the tiny run, for `training.train` in this process."""
    values = {"model": model, **settings(model, npz, **overrides)}
    return config_lib.resolve(models.get(model).config_class, values)


def fit_args(model, npz, run_dir, **overrides):
    """The `python -m tfgen.fit` command line of the tiny run."""
    args = [
        sys.executable,
        "-m",
        "tfgen.fit",
        "--model",
        model,
        "--run-dir",
        str(run_dir),
        "--quiet",
    ]
    return args + support.set_args(settings(model, npz, **overrides))


def start(args, preexec_fn=None):
    """Starts a fit child. SIGINT gets its default action, as in a terminal (a background
    job would inherit it ignored)."""

    def prepare():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if preexec_fn:
            preexec_fn()

    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=REPO,
        preexec_fn=prepare,
    )


def run(args, preexec_fn=None, timeout=300):
    """Runs a fit child to its end; returns `(returncode, stdout, stderr)`."""
    process = start(args, preexec_fn)
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def run_in_this_process(args):
    """Runs a `fit_args` command line with `tfgen.fit.main` here; returns `(code, stderr)`."""
    assert args[1:3] == ["-m", "tfgen.fit"], args
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = fit.main(args[3:])
    return code, stderr.getvalue()


def backup_step(run_dir):
    """The global step of the run's newest step backup (0 if none)."""
    return checkpoint_number(
        tf.train.latest_checkpoint(str(Path(run_dir) / "checkpoints" / BACKUP_DIR))
    )


def wait_for(condition, process, timeout=240, poll=0.005):
    """Polls `condition()` until true; fails if `process` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(
                f"the fit ended (status {process.returncode}) before the "
                f"moment to interrupt it:\n{stderr[-3000:]}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out waiting for the fit to reach the moment")
        time.sleep(poll)


# Bookkeeping of the `tf.train.Checkpoint` object, not training state.
NOT_STATE = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/.ATTRIBUTES/VARIABLE_VALUE")


def final_checkpoint(run_dir):
    """`{name: value}` of every variable in the run's last epoch checkpoint (model, EMA,
    optimizers with their step counters, epoch counter)."""
    path = tf.train.latest_checkpoint(str(Path(run_dir) / "checkpoints"))
    return {
        name: tf.train.load_variable(path, name)
        for name, _ in tf.train.list_variables(path)
        if name not in NOT_STATE
    }
