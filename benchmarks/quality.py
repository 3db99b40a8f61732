"""Sample quality and likelihood of tfgen's default configs on MNIST, and of the TF DCGAN tutorial.

Parts (`--parts`, default all):

- `vae`: trains `python -m tfgen.fit --model vae`'s default config (binarized MNIST) and
  reports the test -ELBO (single-sample estimate) and the IWAE bound on the test NLL with
  K importance samples (`tfgen.evaluate --metrics nll`), in nats per image.
- `dcgan`, `wgan_gp`, `cgan`: train each default config on MNIST and report FID, KID,
  improved precision/recall and Inception Score of `--num-samples` samples against the
  10,000 test images, all in the feature space of tfgen's MNIST classifier
  (`tfgen.evaluate --metrics fid,kid,pr,is`).
- `real`: `--num-samples` real MNIST train images in place of samples, the yardstick of
  what a perfect generator would score against the test images.
- `tutorial`: the TensorFlow DCGAN tutorial's own code (models, `train_step`, pipeline,
  batch 256, Adam(1e-4); imported from `gan_throughput.py`) trained for `--tutorial-seconds`
  of wall time (default: the `dcgan` part's training wall time), measured the same way.

Each tfgen part trains into `<runs-root>/<model>-<dataset>` and reuses a finished run found
there. When this script trains the run, `RUN/benchmark_time.json` keeps its wall time and
CPU time, rewritten every 30 s: a benchmark stopped mid-run and started again resumes the
run (tfgen's step backups) and adds up the time of every part (a run trained without this
script shows "n/a"). CPU time divided by the cores is a lower bound on the wall time
alone that other jobs sharing the machine do not inflate, and the tutorial's default budget is the dcgan
part's CPU time, so the two get the same computer time. tfgen's wall time includes
data loading, tracing, validation and checkpoints; the tutorial's starts after reading the
MNIST arrays (its `load_data()`) and includes building its models and pipeline and tracing.
IWAE with K = 1000 costs about 0.3-0.45 s per test image on a 2-core CPU (50-75 min for
all 10,000).

Every measured part is recorded in `--results` (a JSON file: values, times, steps, the
settings, the machine and the date). A part already recorded there with the same settings
is not measured again (`--rerun` forces it), so the whole benchmark, 5-6 h on a 2-core CPU,
can be spread over several sessions or machines with nothing but that file carried over;
`benchmarks/results/quality.json` is the record behind the README's table. Prints the
environment and the Markdown tables of every recorded part.

    .venv/bin/python benchmarks/quality.py --results benchmarks/results/quality.json \\
        [--parts vae,dcgan,wgan_gp,cgan,tutorial]
    .venv/bin/python benchmarks/quality.py --parts tutorial --tutorial-seconds 600
    # smoke test:
    .venv/bin/python benchmarks/quality.py --runs-root /tmp/qbench --results /tmp/qbench/q.json \\
        --set epochs=1 steps_per_epoch=3 --num-samples 200 --importance-samples 5 \\
        --nll-examples 100 --tutorial-seconds 20
"""

import argparse
import datetime
import json
import math
import os
import resource
import threading
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from common import cpu_model
from gan_throughput import BATCH_SIZE, NOISE_DIM, Tutorial
from report import GAN_COLUMNS, VAE_COLUMNS, table

import tfgen
from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import evaluation, models, runs, training
from tfgen.metrics.extractors import get_extractor
from tfgen.utils.files import write_atomically

PARTS = ("vae", "dcgan", "wgan_gp", "cgan", "tutorial", "real")
GAN_GROUPS = ["fid", "kid", "pr", "is"]
TIME_FILE = "benchmark_time.json"


def cpu_seconds():
    """User + system CPU seconds of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TrainingClock:
    """Wall and CPU seconds spent training one run, kept in `RUN/benchmark_time.json`.

    The file is rewritten every `interval` seconds by a daemon thread and on exit, and
    a later start adds to what it holds, so a benchmark stopped mid-run (a session's end,
    Ctrl-C, a kill) and started again counts every part, losing at most `interval`
    seconds. CPU seconds barely grow when other jobs share the machine (wall time does):
    divided by the core count they give a lower bound on the wall time alone.

    Args:
        path: the JSON file.
        interval: seconds between writes.
    """

    def __init__(self, path, interval=30.0):
        self.path, self.interval = Path(path), interval
        previous = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.previous = previous
        self.base_wall = previous.get("seconds", 0.0)
        self.base_cpu = previous.get("cpu_seconds")  # None: timed before CPU was recorded.
        self._stop = threading.Event()

    def totals(self):
        wall = self.base_wall + time.perf_counter() - self._wall_start
        cpu = None if self.base_cpu is None else self.base_cpu + cpu_seconds() - self._cpu_start
        return wall, cpu

    def write(self, **extra):
        wall, cpu = self.totals()
        record = {**self.previous, "seconds": wall, "cpu_seconds": cpu, **extra}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(record, indent=2) + "\n")

    def _tick(self):
        while not self._stop.wait(self.interval):
            self.write(finished=False)

    def __enter__(self):
        if not self.previous:
            self.base_cpu = 0.0
        self._wall_start, self._cpu_start = time.perf_counter(), cpu_seconds()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, *_):
        self._stop.set()
        self._thread.join()
        self.write(finished=exc_type is None)


def train_part(name, overrides, runs_root):
    """Trains (or reuses) the default config of `name`.

    Returns:
        `(run_dir, config, wall_seconds, cpu_seconds)`; the times are None for a run
        finished earlier without this script's time record (CPU seconds also for one
        timed before they were recorded).
    """
    config = config_lib.resolve(models.get(name).config_class, overrides=overrides)
    run_dir = runs.default_run_dir(config, runs_root)
    time_file = run_dir / TIME_FILE
    if time_file.exists() and json.loads(time_file.read_text()).get("finished", True):
        record = json.loads(time_file.read_text())
        return run_dir, config, record["seconds"], record.get("cpu_seconds")
    if (run_dir / runs.Run.CONFIG).exists() and not time_file.exists():
        # A run trained without this script: reuse it untimed (or finish it untimed).
        training.train(config, run_dir=run_dir, verbose=2)
        return run_dir, config, None, None
    with TrainingClock(time_file) as clock:
        training.train(config, run_dir=run_dir, verbose=2)
    wall, cpu = clock.totals()
    return run_dir, config, wall, cpu


def steps_trained(config, run_dir, epoch):
    info = json.loads((Path(run_dir) / runs.Run.DATASET_INFO).read_text())
    info = data_lib.DatasetInfo(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in info.items()}
    )
    return epoch * data_lib.steps_per_epoch(info, config.batch_size, config.steps_per_epoch)


def describe(config, overrides):
    changed = " + " + " ".join(f"{k}={v}" for k, v in overrides.items()) if overrides else ""
    return f"default{changed}: {config.epochs} epoch(s), batch {config.batch_size}"


class TutorialSampler:
    """`sample_images(num, seed)` for the tutorial's generator: seeded noise, tanh -> [0, 1]."""

    def __init__(self, generator):
        self.generator = generator

    def sample_images(self, num, seed):
        noise = tf.random.stateless_normal([num, NOISE_DIM], seed=[seed, 0])
        return (self.generator(noise, training=False) + 1.0) / 2.0


class RealImages:
    """`sample_images(num, seed)` drawing `num` of the real images, shuffled by `seed`."""

    def __init__(self, images):
        self.images = images

    def sample_images(self, num, seed):
        order = np.random.default_rng(seed).permutation(len(self.images))[:num]
        return self.images[order]


def train_tutorial(seconds=None, cpu_budget=None, seed=0):
    """The tutorial's loop for `seconds` of wall time, or `cpu_budget` CPU seconds.

    Returns:
        `(generator, steps, wall_seconds, cpu_seconds)`.
    """
    train_examples, _ = data_lib.load("mnist", "train")  # The tutorial's `load_data()`.
    raw = np.round(next(iter(train_examples.batch(100_000)))["image"].numpy() * 255)
    keras.utils.set_random_seed(seed)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    tutorial = Tutorial(raw)
    steps = 0

    def within_budget():
        if cpu_budget is not None:
            return cpu_seconds() - cpu_start < cpu_budget
        return time.perf_counter() - start < seconds

    while within_budget():
        tutorial.train_step(next(tutorial.dataset))
        steps += 1
    return tutorial.generator, steps, time.perf_counter() - start, cpu_seconds() - cpu_start


class Results:
    """The measured parts, kept in a JSON file across invocations.

    A part's row holds its values, times and steps beside the settings it was measured
    with; a row whose settings differ from the current request does not count as done.

    Args:
        path: the JSON file (created on the first record).
    """

    def __init__(self, path):
        self.path = Path(path)
        self.rows = json.loads(self.path.read_text()) if self.path.exists() else {}

    def skip(self, part, settings, rerun=False):
        """True (and says so) if `part` is recorded with `settings` and not to be rerun."""
        if rerun or self.rows.get(part, {}).get("settings") != settings:
            return False
        print(
            f"{part}: recorded in {self.path} on {self.rows[part]['date']}; "
            f"--rerun measures it again",
            flush=True,
        )
        return True

    def record(self, part, settings, **row):
        self.rows[part] = {
            **row,
            "settings": settings,
            "machine": machine(),
            "date": datetime.date.today().isoformat(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(self.rows, indent=2, default=float) + "\n")


def machine():
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "tfgen": tfgen.__version__,
        "load_average": round(os.getloadavg()[0], 2),
    }


def part_settings(name, config, overrides, args):
    """What a part's numbers depend on besides the code: its config and sample counts."""
    if name == "tutorial":
        settings = {"tutorial_seconds": args.tutorial_seconds}
    else:
        settings = {"config": describe(config, overrides), "overrides": overrides}
    if name == "vae":
        settings.update(importance_samples=args.importance_samples, nll_examples=args.nll_examples)
    else:
        settings.update(num_samples=args.num_samples, extractor="classifier")
    return settings


def measure_tfgen_part(name, overrides, args, results):
    config = config_lib.resolve(models.get(name).config_class, overrides=overrides)
    settings = part_settings(name, config, overrides, args)
    if results.skip(name, settings, args.rerun):
        return
    run_dir, config, seconds, cpu = train_part(name, overrides, args.runs_root)
    start = time.perf_counter()
    if name == "vae":
        result = evaluation.evaluate_run(
            run_dir,
            groups=["nll"],
            importance_samples=args.importance_samples,
            nll_examples=args.nll_examples,
        )
    else:
        result = evaluation.evaluate_run(run_dir, groups=GAN_GROUPS, num_samples=args.num_samples)
    eval_seconds = time.perf_counter() - start
    results.record(
        name,
        settings,
        model=name,
        config=describe(config, overrides),
        extractor=result.record.get("extractor"),
        wall_seconds=seconds,
        cpu_seconds=cpu,
        steps=steps_trained(config, run_dir, result.record["epoch"]),
        values=result.values,
        evaluation_seconds=eval_seconds,
    )
    print(f"{name}: {result.values} (evaluation {eval_seconds:.0f} s)", flush=True)


def measure_tutorial(args, results):
    settings = part_settings("tutorial", None, None, args)
    if results.skip("tutorial", settings, args.rerun):
        return
    budget, cpu_budget = args.tutorial_seconds, None
    if budget is None:
        # The dcgan part's CPU time: as recorded, or from its run's time file.
        dcgan = results.rows.get("dcgan", {})
        time_file = Path(args.runs_root) / "dcgan-mnist" / TIME_FILE
        if not dcgan and time_file.exists():
            record = json.loads(time_file.read_text())
            dcgan = {"cpu_seconds": record.get("cpu_seconds"), "wall_seconds": record["seconds"]}
        cpu_budget = dcgan.get("cpu_seconds")
        budget = None if cpu_budget is not None else dcgan.get("wall_seconds")
    if budget is None and cpu_budget is None:
        print(
            f"tutorial skipped: no dcgan time in {results.path} or the dcgan run; "
            f"pass --tutorial-seconds",
            flush=True,
        )
        return
    generator, steps, wall, cpu = train_tutorial(budget, cpu_budget)
    start = time.perf_counter()
    extractor = get_extractor("classifier", "mnist")
    values = evaluation.sample_quality(
        TutorialSampler(generator), "mnist", GAN_GROUPS, extractor, args.num_samples
    )
    eval_seconds = time.perf_counter() - start
    epochs = steps / math.ceil(60_000 / BATCH_SIZE)
    results.record(
        "tutorial",
        settings,
        model="TF tutorial DCGAN",
        config=f"tutorial: {epochs:.2f} epoch(s), batch {BATCH_SIZE}, Adam(1e-4)",
        extractor=extractor.id,
        wall_seconds=wall,
        cpu_seconds=cpu,
        steps=steps,
        values=values,
        evaluation_seconds=eval_seconds,
    )
    print(
        f"tutorial: {steps} steps in {wall:.0f} s ({cpu:.0f} CPU s); {values} "
        f"(evaluation {eval_seconds:.0f} s)",
        flush=True,
    )


def measure_real(args, results):
    settings = {"num_samples": args.num_samples, "extractor": "classifier", "split": "train"}
    if results.skip("real", settings, args.rerun):
        return
    examples, _ = data_lib.load("mnist", "train")
    images = next(iter(examples.batch(100_000)))["image"].numpy()
    extractor = get_extractor("classifier", "mnist")
    start = time.perf_counter()
    values = evaluation.sample_quality(
        RealImages(images), "mnist", GAN_GROUPS, extractor, args.num_samples
    )
    results.record(
        "real",
        settings,
        model="real MNIST train images",
        config="no training: the yardstick",
        extractor=extractor.id,
        wall_seconds=None,
        cpu_seconds=None,
        steps=0,
        values=values,
        evaluation_seconds=time.perf_counter() - start,
    )
    print(f"real: {values}", flush=True)


def print_table(columns, rows):
    """A Markdown table of `rows` (recorded parts) with `columns` (`report.GAN_COLUMNS`)."""
    print("\n".join(table(columns, rows)))


def print_tables(results):
    """Markdown tables of every recorded part, in `PARTS` order."""
    rows = [results.rows[p] for p in PARTS if p in results.rows]
    for row in rows:
        m = row["machine"]
        print(
            f"{row['model']}: {row['date']}, {m['cpu']} ({m['cores']} cores), TensorFlow "
            f"{m['tensorflow']}, tfgen {m['tfgen']}, load average {m['load_average']}"
        )
    gan_rows = [row for row in rows if row["model"] != "vae"]
    vae_rows = [row for row in rows if row["model"] == "vae"]
    if gan_rows:
        names = ", ".join(sorted({str(row.get("extractor")) for row in gan_rows}))
        print(
            f"\nMNIST; generated samples vs the 10,000 test images; features of tfgen's "
            f"MNIST classifier ({names}: the same name, the same network)\n"
        )
        print_table(GAN_COLUMNS, gan_rows)
    if vae_rows:
        print("\nbinarized MNIST test split (fixed binarization); nats per image\n")
        print_table(VAE_COLUMNS, vae_rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated, default all")
    parser.add_argument("--runs-root", default="runs", help="run directories go here")
    parser.add_argument(
        "--results", help="JSON record of the measured parts (default RUNS_ROOT/quality.json)"
    )
    parser.add_argument(
        "--rerun", action="store_true", help="measure parts again even when the results hold them"
    )
    parser.add_argument("--num-samples", type=int, default=10_000, help="generated images")
    parser.add_argument("--importance-samples", type=int, default=1000, help="IWAE's K")
    parser.add_argument("--nll-examples", type=int, help="test images for the NLL (default all)")
    parser.add_argument(
        "--tutorial-seconds",
        type=float,
        help="tutorial budget in wall seconds (default: the dcgan part's CPU "
        "seconds as a CPU budget, which other jobs do not distort)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="overrides for every tfgen config",
    )
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; valid: {', '.join(PARTS)}")
    overrides = config_lib.parse_overrides(args.overrides)
    results = Results(args.results or Path(args.runs_root) / "quality.json")

    for name in [p for p in PARTS if p in parts and p not in ("tutorial", "real")]:
        measure_tfgen_part(name, overrides, args, results)
    if "tutorial" in parts:
        measure_tutorial(args, results)
    if "real" in parts:
        measure_real(args, results)
    print(f"\nresults: {results.path}\n")
    print_tables(results)


if __name__ == "__main__":
    main()
