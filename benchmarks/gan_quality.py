"""GAN sample quality on MNIST, judged by tfgen's MNIST classifier, with wall times.

For each candidate, trains a run with the shipped config (overrides below) and reports
the fraction of `cgan` samples that the classifier (`tfgen.metrics.classifier`, ≥ 99 %
test accuracy) reads as the requested digit, or, for unconditional models, just the
wall time and the sample grid. `--precision` compares float32 with mixed_bfloat16
(bfloat16 must not cost quality).

    .venv/bin/python benchmarks/gan_quality.py --model cgan --steps 600 --precision float32,mixed_bfloat16
    .venv/bin/python benchmarks/gan_quality.py --model dcgan --epochs 10 --run-dir runs/dcgan-mnist
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import cpu_model

from tfgen import config as config_lib
from tfgen import models, training
from tfgen.metrics.classifier import load_or_train

SAMPLES_PER_CLASS = 100


def conditional_accuracy(model, classifier, seed=1234):
    """Fraction of samples the classifier reads as the digit they were drawn for."""
    labels = np.repeat(np.arange(model.num_classes), SAMPLES_PER_CLASS)
    images = model.sample_images(len(labels), seed, labels=labels).numpy()
    return float(np.mean(classifier.predict_labels(images) == labels))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cgan", choices=models.names())
    parser.add_argument("--epochs", type=int, help="epochs (default: the config's)")
    parser.add_argument("--steps", type=int, help="cap on steps per epoch (default: whole epochs)")
    parser.add_argument("--precision", default="float32", help="comma-separated precisions")
    parser.add_argument("--run-dir", help="keep the run here (one precision only)")
    args = parser.parse_args()

    classifier = load_or_train("mnist") if args.model == "cgan" else None
    rows = []
    for precision in args.precision.split(","):
        overrides = {"precision": precision, "steps_per_epoch": args.steps}
        if args.epochs:
            overrides["epochs"] = args.epochs
        config = config_lib.resolve(models.get(args.model).config_class, overrides)
        run_dir = (
            Path(args.run_dir) if args.run_dir else Path(tempfile.mkdtemp(prefix="gan-quality-"))
        )
        start = time.perf_counter()
        result = training.train(config, run_dir=run_dir, verbose=2)
        seconds = time.perf_counter() - start
        accuracy = conditional_accuracy(result.model, classifier) if classifier else None
        rows.append(
            (precision, config.epochs, config.steps_per_epoch, seconds, accuracy, result.samples)
        )
        if not args.run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)

    print(
        f"\nCPU: {cpu_model()}; model {args.model}; classifier test accuracy "
        f"{classifier.test_accuracy:.4f}"
        if classifier
        else f"\nCPU: {cpu_model()}; model {args.model}"
    )
    print("\n| precision | epochs | steps/epoch | wall time | requested digit |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for precision, epochs, steps, seconds, accuracy, _png in rows:
        digit = f"{accuracy:.1%}" if accuracy is not None else "n/a"
        print(f"| {precision} | {epochs} | {steps or 'all'} | {seconds / 60:.1f} min | {digit} |")
    if args.run_dir:
        print(f"\nsamples: {rows[-1][5]}")


if __name__ == "__main__":
    main()
