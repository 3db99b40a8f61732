"""Where a training step's time goes, layer by layer, for every family at its default config.

For each family, in one process and alternating round by round:

1. `bare`: a plain `tf.function` step of the same networks, loss and optimizer
   (`bare_steps.py`), on batches held in memory;
2. `train_step`: tfgen's `model.train_step` in a `tf.function`, on the same batches
   (adds per-example seeds and noise, metric trackers, replica-safe loss averaging);
3. `model.fit`: Keras' loop on tfgen's input pipeline, no callbacks, no progress bar;
4. `tfgen.train`: `tfgen.training.train`, the loop behind `python -m tfgen.fit`, with
   every callback (checkpoints, step backups, NaN checks, signals, TensorBoard, image
   grids or text samples) and the progress bar, into a fresh run directory.

Layers 3 and 4 are timed from the batch ends that Keras reports (a callback that
only reads the clock), after `--warmup` batches, so start-up, tracing and the epoch's
end (validation, checkpoint, samples) are outside the figure: per-epoch costs are
in `docs/benchmarks.md`. Medians over `--rounds`; the ratios compare with `bare`.

    .venv/bin/python benchmarks/step_overhead.py [--families vae,gpt] [--steps N] [--rounds 3]
"""

import argparse
import contextlib
import dataclasses
import datetime
import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf
from bare_steps import bare_train_step
from common import cpu_model

from tfgen import config as config_lib
from tfgen import models, training
from tfgen.runs import Run
from tfgen.training import run_data as training_data

FAMILIES = ("vae", "dcgan", "wgan_gp", "cgan", "stylegan", "char_lstm", "gpt")
LAYERS = ("bare", "train_step", "model.fit", "tfgen.train")
RESULTS = Path(__file__).resolve().parent / "results" / "step_overhead.json"


class BatchClock(keras.callbacks.Callback):
    """Reads the clock at every batch end; `seconds_per_step(warmup)` after the fit."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())

    def seconds_per_step(self, warmup):
        timed = self.times[warmup - 1 :]
        return (timed[-1] - timed[0]) / (len(timed) - 1)


class Family:
    """One family at its default config: a built model, its batches and the four layers."""

    def __init__(self, name, steps, warmup, workdir):
        self.name, self.warmup, self.workdir = name, warmup, Path(workdir)
        self.config = config_lib.resolve(models.get(name).config_class, {})
        self.run_data = training_data.prepare(self.config, Run(self.workdir / "data"))
        self.model = _compiled_model(self.config, self.run_data)
        self.batches = list(itertools.islice(iter(self.run_data.train_batches(0)), 4))
        self.bare = bare_train_step(self.model, self.config)
        self.train_step = tf.function(self.model.train_step, jit_compile=self.model.jit_compile)
        self.steps = steps or self._default_steps()
        self.rounds = 0

    def _default_steps(self):
        """Steps that take about 5 s of bare stepping (at least 10, at most 300)."""
        seconds = self._time_steps(self.bare, 3)
        return max(10, min(300, round(5.0 / seconds)))

    def _time_steps(self, step, steps):
        step(self.batches[0])  # Traced and warm.
        start = time.perf_counter()
        for index in range(steps):
            result = step(self.batches[index % len(self.batches)])
        tf.nest.map_structure(lambda t: t.numpy(), result)  # The last step has finished.
        return (time.perf_counter() - start) / steps

    def time(self, layer):
        """Seconds per step of `layer` (one of `LAYERS`)."""
        if layer == "bare":
            return self._time_steps(self.bare, self.steps)
        if layer == "train_step":
            return self._time_steps(self.train_step, self.steps)
        clock = BatchClock()
        total = self.warmup + self.steps
        if layer == "model.fit":
            self.model.fit(
                self.run_data.train_batches(0),
                epochs=1,
                steps_per_epoch=total,
                callbacks=[clock],
                verbose=0,
            )
        else:
            self.rounds += 1
            config = dataclasses.replace(self.config, epochs=1, steps_per_epoch=total)
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                training.train(
                    config, run_dir=self.workdir / f"run{self.rounds}", callbacks=[clock]
                )
        return clock.seconds_per_step(self.warmup)


def _compiled_model(config, run_data):
    """The model as `tfgen.training.train` builds it, on one device."""
    model = models.get(config.model).from_run_config(
        config, run_data.info, steps_per_epoch=run_data.steps, **run_data.model_kwargs
    )
    jit = config.jit_compile == "true"
    model.compile_from_run_config(config, jit, steps_per_epoch=run_data.steps)
    model.build_optimizers()
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    parser.add_argument("--steps", type=int, default=0, help="timed steps (default: ~5 s)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed batches of a fit")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--no-record", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args()
    names = [name.strip() for name in args.families.split(",") if name.strip()]
    unknown = sorted(set(names) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}; valid: {', '.join(FAMILIES)}")

    with tempfile.TemporaryDirectory(prefix="step-overhead-") as workdir:
        families = [Family(n, args.steps, args.warmup, Path(workdir) / n) for n in names]
        for family in families:  # Untimed: traces every layer, fills the caches.
            for layer in LAYERS:
                family.time(layer)
        times = {(f.name, layer): [] for f in families for layer in LAYERS}
        for round_index in range(args.rounds):
            for family in families:
                for layer in LAYERS:
                    times[family.name, layer].append(family.time(layer))
            print(f"round {round_index + 1} of {args.rounds} done", flush=True)

    rows = []
    for family in families:
        ms = {layer: 1000 * statistics.median(times[family.name, layer]) for layer in LAYERS}
        rows.append({"model": family.name, "steps": family.steps, "ms_per_step": ms})
    print_table(rows, args.rounds)
    if not args.no_record:
        record(rows, args)


def print_table(rows, rounds):
    print(f"\nCPU: {cpu_model()}; TensorFlow {tf.__version__}; median of {rounds} rounds\n")
    print(
        "| model | steps | bare ms | train_step ms | model.fit ms | tfgen.train ms "
        "| train_step vs bare | fit loop vs bare |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        ms = row["ms_per_step"]
        print(
            f"| {row['model']} | {row['steps']} | {ms['bare']:.1f} | {ms['train_step']:.1f} "
            f"| {ms['model.fit']:.1f} | {ms['tfgen.train']:.1f} "
            f"| {ms['train_step'] / ms['bare']:.2f}x | {ms['tfgen.train'] / ms['bare']:.2f}x |"
        )


def record(rows, args):
    """Writes the rows with the machine and date to `results/step_overhead.json`."""
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}
    document = {
        "machine": {**machine, "tensorflow": tf.__version__, "keras": keras.__version__},
        "date": datetime.date.today().isoformat(),
        "command": f"benchmarks/step_overhead.py --rounds {args.rounds}",
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"recorded in {RESULTS}")


if __name__ == "__main__":
    main()
