"""Data-parallel scaling on this machine: one device, `mirrored` over 2 CPUs, 2 launched workers.

Every candidate is a real `python -m tfgen.fit` run of a model's default config on
its real data (`binarized_mnist` for the VAE, `mnist` for the DCGAN; `make data`
caches them), with the same global batch:

1. `1 process, 1 device`: `strategy: default`.
2. `1 process, mirrored x2`: `strategy: mirrored` over 2 logical CPU devices
   (in-process all-reduce, `ReductionToOneDevice`).
3. `2 workers (tfgen.launch)`: `python -m tfgen.launch --workers 2 -- python -m
   tfgen.fit ...`, `MultiWorkerMirroredStrategy` with ring all-reduces over gRPC
   on 127.0.0.1.

Method: each candidate trains twice, 2 epochs of `--short-steps` steps and 2
epochs of `--short-steps + --steps` (`--set epochs=2 steps_per_epoch=N`, one
validation batch, no step backups). In each run the second epoch is timed by
Keras (its `verbose=2` progress line, `--quiet`: milliseconds per step times
steps is the epoch's wall time; worker 0's line for the launched workers): the
first epoch absorbs tracing and warm-up, and start-up (TensorFlow import, data
loading, the final save) is outside it. The difference of the two runs' second
epochs is the time of `--steps` training steps: what an epoch costs besides its
steps (a new input iterator, validation, sample grids, the epoch checkpoint;
seconds here) is the same in both and cancels out. The per-step communication
overhead is estimated as a candidate's milliseconds per step minus those of one
process on one device (which already uses every core through TensorFlow's
intra-op threads).

On a single machine the workers (and the logical devices) share the same cores,
so no speed-up is expected: the table measures the cost of splitting the batch
and all-reducing the gradients. Across several machines each worker brings its
own cores, and this overhead (plus the network's) is what the extra compute has
to pay for.

Keras prints whole seconds per step from 1 s/step up: for a slow model such as the
DCGAN on a small CPU, raise `--short-steps` and `--steps` for a fine figure.

    .venv/bin/python benchmarks/scaling.py [--steps 100] [--models vae,dcgan]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from common import cpu_model

REPO = Path(__file__).resolve().parents[1]
FIT = [sys.executable, "-m", "tfgen.fit"]
LAUNCH_2_WORKERS = [sys.executable, "-m", "tfgen.launch", "--workers", "2", "--"]
# Candidate name -> (the command that runs the fit, extra `--set` overrides).
CANDIDATES = {
    "1 process, 1 device": (FIT, ["strategy=default"]),
    "1 process, mirrored x2": (FIT, ["strategy=mirrored", "devices=2"]),
    "2 workers (tfgen.launch)": (LAUNCH_2_WORKERS + FIT, []),
}
# Keras's `verbose=2` epoch line: "100/100 - 9s - 87ms/step - loss: ...".
EPOCH_LINE = re.compile(r"(\d+)/\1 - \S+ - ([\d.]+)(s|ms|us)/step")
SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
# The default configs' global batches (configs/<model>_mnist.yaml).
BATCH_SIZES = {"vae": 32, "dcgan": 256}


def fit_command(model, candidate, steps, run_dir):
    """The command line of the run of `model` as `candidate`: 2 epochs of `steps` steps."""
    fit, overrides = CANDIDATES[candidate]
    settings = [
        "epochs=2",
        f"steps_per_epoch={steps}",
        "validation_steps=1",
        "backup_every_steps=0",
        *overrides,
    ]
    return [*fit, "--model", model, "--run-dir", str(run_dir), "--quiet", "--set", *settings]


def run_fit(command):
    """Runs `command` to its end; returns its standard output.

    Raises:
        RuntimeError: if the command fails (its error output's tail in the message).
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with status {result.returncode}:\n{result.stderr[-3000:]}"
        )
    return result.stdout


def last_epoch_seconds_per_step(output):
    """Seconds per step in the last epoch line of a fit's output (worker 0's if launched)."""
    lines = [
        line
        for line in output.splitlines()
        if not line.startswith("[worker ") or line.startswith("[worker 0] ")
    ]
    matches = [EPOCH_LINE.search(line) for line in lines]
    matches = [match for match in matches if match]
    if not matches:
        raise RuntimeError(f"no Keras epoch line in the fit's output:\n{output[-2000:]}")
    return float(matches[-1].group(2)) * SECONDS_PER_UNIT[matches[-1].group(3)]


def seconds_per_step(model, candidate, short_steps, steps, scratch):
    """Seconds per training step of `model` as `candidate`: the difference of the second
    epochs of a run of `short_steps` and one of `short_steps + steps` steps per epoch."""
    epoch_seconds = []
    for length in (short_steps, short_steps + steps):
        run_dir = Path(scratch) / f"{model}-candidate{list(CANDIDATES).index(candidate)}-{length}"
        output = run_fit(fit_command(model, candidate, length, run_dir))
        epoch_seconds.append(last_epoch_seconds_per_step(output) * length)
    return (epoch_seconds[1] - epoch_seconds[0]) / steps


def print_table(results, args):
    print(
        f"\nCPU: {cpu_model()}; {os.cpu_count()} cores; {args.steps} timed steps (2nd epochs "
        f"of {args.short_steps + args.steps} minus {args.short_steps} steps); the same global "
        f"batch for every candidate\n"
    )
    print(
        f"| {'model':5} | {'candidate':26} | batch | steps/s | images/s | ms/step "
        f"| overhead vs 1 device (ms/step) |"
    )
    print(
        f"| ----- | {'-' * 26} | ----: | ------: | -------: | ------: "
        f"| -----------------------------: |"
    )
    for (model, candidate), seconds in results.items():
        batch = BATCH_SIZES[model]
        baseline = results[(model, "1 process, 1 device")]
        print(
            f"| {model:5} | {candidate:26} | {batch:5} | {1 / seconds:7.1f} "
            f"| {batch / seconds:8.0f} | {seconds * 1e3:7.1f} "
            f"| {(seconds - baseline) * 1e3:+30.1f} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps",
        type=int,
        default=100,
        help="timed steps: the difference of the two runs' epochs (default 100)",
    )
    parser.add_argument(
        "--short-steps",
        type=int,
        default=10,
        help="steps per epoch of the shorter run of each pair (default 10)",
    )
    parser.add_argument(
        "--models",
        default="vae",
        help="comma-separated models among vae,dcgan (default vae; the DCGAN's "
        "batch of 256 takes far longer per step)",
    )
    args = parser.parse_args()
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(models) - set(BATCH_SIZES))
    if unknown:
        parser.error(f"unknown models {unknown}; choose among {sorted(BATCH_SIZES)}")

    results = {}
    with tempfile.TemporaryDirectory(prefix="tfgen-scaling-") as scratch:
        for model in models:
            for candidate in CANDIDATES:
                seconds = seconds_per_step(model, candidate, args.short_steps, args.steps, scratch)
                results[(model, candidate)] = seconds
                print(f"{model} / {candidate}: {seconds * 1e3:.1f} ms/step", flush=True)
    print_table(results, args)


if __name__ == "__main__":
    main()
