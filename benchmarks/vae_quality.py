"""Test-set -ELBO of the default VAE on binarized MNIST, with wall time.

Trains `python -m tfgen.fit --model vae`'s default config (plus any `--set`
overrides) in a fresh run directory, then evaluates the negative ELBO on the whole
held-out test split (fixed binarization, never trained on) and prints a table for
the README's "Quality" section.

    .venv/bin/python benchmarks/vae_quality.py [--set epochs=30 ...] [--run-dir DIR]
"""

import argparse
import shutil
import tempfile
import time

from common import cpu_model

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import training
from tfgen.models import VAEConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--run-dir", help="default: a fresh temporary directory, deleted afterwards"
    )
    args = parser.parse_args()
    config = config_lib.resolve(VAEConfig, overrides=config_lib.parse_overrides(args.overrides))
    run_dir = args.run_dir or tempfile.mkdtemp(prefix="vae-quality-")
    start = time.perf_counter()
    result = training.train(config, run_dir=run_dir, verbose=2)
    wall = time.perf_counter() - start

    test_examples, info = data_lib.load(config.dataset, "test")
    batches = data_lib.eval_batches(test_examples, info, config.batch_size, seed=config.seed)
    test = result.model.evaluate(batches, return_dict=True, verbose=0)
    history = result.history
    print(
        f"\nCPU: {cpu_model()}; dataset {config.dataset}; {config.epochs} epochs; "
        f"latent_dim {config.latent_dim}; batch {config.batch_size}"
    )
    print("| epoch | train -ELBO | test -ELBO | test distortion | test rate |")
    print("|------:|------------:|-----------:|----------------:|----------:|")
    for i, loss in enumerate(history.get("loss", [])):
        print(
            f"| {i + 1:5d} | {loss:11.2f} | {history['val_loss'][i]:10.2f} | "
            f"{history['val_distortion'][i]:15.2f} | {history['val_rate'][i]:9.2f} |"
        )
    print(
        f"\nfinal test -ELBO: {test['loss']:.2f} nats (distortion {test['distortion']:.2f}, "
        f"rate {test['rate']:.2f}) on all {info.num_examples['test']} test images; "
        f"wall time {wall / 60:.1f} min"
    )
    if not args.run_dir:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
