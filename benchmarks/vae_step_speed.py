"""Training-step throughput of the default VAE: XLA on/off, 1 vs 2 replicas.

Prints a table; the README's "XLA" section quotes it. All candidates run in one
process, alternating, so they see the same machine state.

    .venv/bin/python benchmarks/vae_step_speed.py [--steps 30] [--rounds 3]
"""

import argparse
import time

from tfgen.distribute import configure_cpu_devices, make_strategy

configure_cpu_devices(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import cpu_model  # noqa: E402

from tfgen.models import VAE  # noqa: E402


def make_candidate(strategy_name, jit_compile, batch_size):
    strategy = make_strategy(strategy_name, 2)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = VAE()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    batch = {
        "image": (rng.random((batch_size, 28, 28, 1)) > 0.5).astype("float32"),
        "seed": np.stack([np.zeros(batch_size), np.arange(batch_size)], 1).astype("int64"),
    }
    data = tf.data.Dataset.from_tensors(batch).repeat()
    return model, data


def time_steps(model, data, steps):
    start = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    return steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    candidates = {}
    for strategy_name in ("default", "mirrored"):
        for jit in (False, True):
            name = f"{strategy_name:8s} jit_compile={jit}"
            try:
                model, data = make_candidate(strategy_name, jit, args.batch_size)
                time_steps(model, data, 3)  # trace and warm up
                candidates[name] = (model, data, [])
            except Exception as error:  # XLA over logical CPU devices is expected to fail.
                candidates[name] = (None, None, f"fails: {type(error).__name__}")
    for _ in range(args.rounds):
        for model, data, rates in candidates.values():
            if model is not None:
                rates.append(time_steps(model, data, args.steps))
    print(
        f"CPU: {cpu_model()}; TensorFlow {tf.__version__}; batch {args.batch_size}; "
        f"{args.rounds} rounds x {args.steps} steps"
    )
    print(f"| {'candidate':28s} | steps/s (median) | images/s |")
    print(f"|{'-' * 30}|------------------|----------|")
    for name, (_, _, rates) in candidates.items():
        if isinstance(rates, str):
            print(f"| {name:28s} | {rates} |")
        else:
            rate = float(np.median(rates))
            print(f"| {name:28s} | {rate:16.2f} | {rate * args.batch_size:8.0f} |")


if __name__ == "__main__":
    main()
