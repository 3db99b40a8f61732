"""StyleGAN2 against DCGAN: training images/s in one process, and sample quality at equal wall time.

Speed (default): a `stylegan` and a `dcgan` training step, each built from its shipped
config (configs/stylegan_mnist.yaml, configs/dcgan_mnist.yaml) and run through the
function `model.fit` calls, alternate round by round so both see the same machine state.

Quality (`--quality`): trains `stylegan` and `dcgan` from their shipped configs with
`dataset=fashion_mnist` for the same wall time each (`--minutes`, tracing included), then
measures FID, KID and precision/recall of `--num-samples` samples of each against the
Fashion-MNIST test split with tfgen's Fashion-MNIST classifier features
(`tfgen.evaluation.sample_quality`; stylegan's 32x32 samples are cropped back to 28x28,
undoing the `pad` fit of its training images). Sample grids are written to `--out`.

    .venv/bin/python benchmarks/stylegan.py [--steps 16] [--rounds 3]
    .venv/bin/python benchmarks/stylegan.py --quality --minutes 10 [--num-samples 10000]
    .venv/bin/python benchmarks/stylegan.py --quality --minutes 5 --only stylegan --set lr=...
"""

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf
from common import best_of_rounds, cpu_model

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import evaluation, models
from tfgen.distribute import resolve_jit_compile
from tfgen.metrics import extractors
from tfgen.training import run_data as training_data
from tfgen.utils import images

MODELS = ("stylegan", "dcgan")
QUALITY_GROUPS = ("fid", "kid", "pr")
IMAGES_PER_SECOND_BOUND = {"stylegan": 300, "dcgan": 1500}  # Well above this CPU's rates.


def load_config(name, overrides):
    """`name`'s shipped config (its class defaults equal the YAML file) with `overrides`."""
    return config_lib.resolve(models.get(name).config_class, None, overrides)


class Run:
    """A model built from a run config, with the batches and train function `fit` uses."""

    def __init__(self, config, run_dir):
        keras.utils.set_random_seed(config.seed)
        self.config = config
        self.run_data = training_data.prepare(config, Path(run_dir))
        self.info, self.steps_per_epoch = self.run_data.info, self.run_data.steps
        strategy = tf.distribute.get_strategy()
        self.model = models.get(config.model).from_run_config(
            config, self.info, steps_per_epoch=self.steps_per_epoch, **self.run_data.model_kwargs
        )
        jit_compile = resolve_jit_compile(config.jit_compile, strategy)
        self.model.compile_from_run_config(
            config, jit_compile, steps_per_epoch=self.steps_per_epoch
        )
        self.model.build_optimizers()
        self.batches = None
        self.steps = 0

    def speed(self, steps):
        """Images/s of `steps` training steps on one persistent iterator (after a warm-up)."""
        if self.batches is None:
            self.model.make_train_function()
            self.batches = iter(self.run_data.train_batches(0))
        start = time.perf_counter()
        for _ in range(steps):
            logs = self.model.train_function(self.batches)
        float(logs["g_loss"])  # Waits for the last step.
        self.steps += steps
        return steps * self.config.batch_size / (time.perf_counter() - start)

    def train_for(self, seconds):
        """`model.fit` for `seconds` of wall time (tracing included); returns the steps."""
        limit = TimeLimit(seconds)
        self.model.fit(
            self.run_data.train_batches(0),
            epochs=self.config.epochs,
            steps_per_epoch=self.steps_per_epoch,
            callbacks=[limit],
            verbose=0,
        )
        self.steps = int(self.model.optimizer.iterations)
        return limit.elapsed


class TimeLimit(keras.callbacks.Callback):
    """Stops `fit` after the first step that ends past `seconds` from the start of `fit`."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.start = self.elapsed = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.elapsed = time.perf_counter() - self.start
        if self.elapsed >= self.seconds:
            self.model.stop_training = True


def speed(args, work_dir):
    runs = {
        name: Run(load_config(name, args.overrides(name)), work_dir / name) for name in args.models
    }
    best = best_of_rounds(
        {name: run.speed for name, run in runs.items()},
        args.rounds,
        args.steps,
        describe=lambda: f" (load {load()})",
    )
    print(
        f"\nCPU: {cpu_model()} ({os.cpu_count()} cores); TensorFlow {tf.__version__}; "
        f"best of {args.rounds} rounds of {args.steps} steps; load average {load()}\n"
    )
    print("| model | config | batch | images/s | ms/step |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, run in runs.items():
        settings = describe(run.config)
        print(
            f"| `{name}` | {settings} | {run.config.batch_size} | {best[name]:.1f} | "
            f"{1000 * run.config.batch_size / best[name]:.0f} |"
        )


def quality(args, work_dir):
    rows = []
    for name in args.models:
        config = load_config(name, {"dataset": args.dataset, **args.overrides(name)})
        # Epochs only bound the data pipeline here (both configs use a constant rate): the
        # time limit stops training. Enough of them for IMAGES_PER_SECOND_BOUND (each epoch
        # is a dataset of its own, concatenated, so not thousands of them).
        steps = data_lib.steps_per_epoch(
            data_lib.load(args.dataset, "train")[1], config.batch_size, config.steps_per_epoch
        )
        epochs = math.ceil(
            args.minutes * 60 * IMAGES_PER_SECOND_BOUND[name] / (steps * config.batch_size)
        )
        config = load_config(
            name, {"dataset": args.dataset, "epochs": max(epochs, 1), **args.overrides(name)}
        )
        run = Run(config, work_dir / name)
        seconds = run.train_for(args.minutes * 60)
        grid = run.model.sample_grid(8, seed=0)
        png = args.out / f"{name}-{args.dataset}-{args.minutes:g}min.png"
        images.write_png(png, images.grid(grid))
        extractor = extractors.get_extractor("classifier", args.dataset)
        start = time.perf_counter()
        values = evaluation.sample_quality(
            run.model,
            args.dataset,
            QUALITY_GROUPS,
            extractor,
            args.num_samples,
            seed=0,
            image_fit=getattr(config, "image_fit", "pad"),
        )
        if seconds < args.minutes * 60:
            print(f"warning: {name} finished its {config.epochs} epochs before the time limit")
        rows.append((name, config, run.steps, seconds, values, png))
        print(
            f"{name}: {run.steps} steps in {seconds / 60:.1f} min, {values}, "
            f"evaluated in {time.perf_counter() - start:.0f} s, samples {png} (load {load()})",
            flush=True,
        )
    print(
        f"\nCPU: {cpu_model()} ({os.cpu_count()} cores); TensorFlow {tf.__version__}; "
        f"load average at the end {load()}"
    )
    print(
        f"Features: `{extractor.id}` ({extractor.description}); {args.num_samples:,} samples "
        f"per model against the {args.dataset} test split; equal training wall time "
        f"{args.minutes:g} min each (tracing included)\n"
    )
    print("| model | config | steps | images seen | wall time | FID | KID | precision | recall |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, config, steps, seconds, values, _ in rows:
        print(
            f"| `{name}` | {describe(config)} | {steps:,} | {steps * config.batch_size:,} | "
            f"{seconds / 60:.1f} min | {values['fid']:.1f} | {values['kid']:.3f} ± "
            f"{values['kid_std']:.3f} | "
            f"{values['precision']:.3f} | {values['recall']:.3f} |"
        )


def describe(config):
    keys = ("batch_size", "learning_rate")
    return ", ".join(f"{k} {getattr(config, k)}" for k in keys)


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quality",
        action="store_true",
        help="train for equal wall time and compare sample quality",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=16,
        help="speed: timed steps per round (16: one lazy R1 step each)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="speed: rounds; the best is reported")
    parser.add_argument(
        "--minutes",
        type=float,
        default=10.0,
        help="quality: training wall time per model (default 10)",
    )
    parser.add_argument(
        "--num-samples",
        type=int,
        default=10_000,
        help="quality: generated images per model (default 10,000)",
    )
    parser.add_argument(
        "--dataset",
        default="fashion_mnist",
        help="quality: dataset (default "
        "fashion_mnist; the classifier extractor knows mnist and fashion_mnist)",
    )
    parser.add_argument("--only", default="", help="comma-separated models (default both)")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for stylegan"
    )
    parser.add_argument(
        "--set-dcgan", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for dcgan"
    )
    parser.add_argument("--out", default="runs/benchmark-stylegan", help="sample grids go here")
    args = parser.parse_args()
    args.models = [m.strip() for m in args.only.split(",") if m.strip()] or list(MODELS)
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    stylegan_overrides = config_lib.parse_overrides(args.set)
    dcgan_overrides = config_lib.parse_overrides(args.set_dcgan)
    args.overrides = lambda name: stylegan_overrides if name == "stylegan" else dcgan_overrides
    with tempfile.TemporaryDirectory(prefix="benchmark-stylegan-") as work_dir:
        (quality if args.quality else speed)(args, Path(work_dir))


if __name__ == "__main__":
    main()
