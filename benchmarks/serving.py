"""Serving latency and throughput: each family's SavedModel vs its LiteRT (`.tflite`) files.

Every registered family is built UNTRAINED at its default config sizes (timings do
not depend on the weights): image models for 28x28x1 images (`cgan` with 10
classes), language models with a character tokenizer built from a short built-in
text (no dataset is read and nothing touches the network). Each is exported once
with `tfgen.serving.export_saved_model` into a temporary directory, and its
`tflite_endpoints` (the device signature: VAE `decode`, GANs `generate`, LMs
`decode_step`) are converted with `tfgen.serving.write_tflite_files`, float32 plus
any `--quantize` schemes.

Both runtimes run the same signature on the same seeded inputs
(`tfgen.serving.random_inputs`, seed 0), outputs copied to NumPy:

- SavedModel: `tf.saved_model.load(version_dir).signatures[signature](**inputs)`.
- LiteRT: `ai_edge_litert.interpreter.Interpreter(model_path, num_threads)
  .get_signature_runner(signature)(**inputs)`; the runner resizes the dynamic
  batch dimension (during warm-up, as batch 1 and batch 64 run one after the other).
- LiteRT, fixed batch: the same, with files converted at batch 1 and at batch 64
  (`python -m tfgen.export --tflite-batch-size N`); the converter then folds every
  shape into a constant, so XNNPACK also takes the transposed convolutions.

Batch-1 latency is the p50 and p99 of `--calls` timed calls after warm-up; batch-64
throughput is items/s over `--batch-calls` timed calls after warm-up. The timed calls
alternate between the runtimes in 5 rounds, so load from other processes falls on all
of them alike. The "max abs diff" column compares each LiteRT output with the
SavedModel's on the same inputs (batch 1 and 64), a guard that both runtimes do the
same work. TensorFlow's intra- and inter-op thread pools and LiteRT's `num_threads`
are all set to `--threads` (default: every core this process may use).

    .venv/bin/python benchmarks/serving.py [--models vae,gpt] [--quantize dynamic_range,float16]
                                           [--calls 200] [--batch-calls 20] [--threads N]
                                           [--json results.json]

On 2 cores the default run takes about 4 minutes (each model is converted three
times: any batch, batch 1, batch 64); `--quantize dynamic_range,float16` takes longer
(dynamic-range convolution models are slow in LiteRT without a fixed batch).
"""

import argparse
import json
import os
import platform
import string
import tempfile
import time

import numpy as np
import tensorflow as tf
from common import cpu_model

from tfgen import config as config_lib
from tfgen import models, serving
from tfgen.data import DatasetInfo
from tfgen.text import CharTokenizer

LATENCY_BATCH = 1
THROUGHPUT_BATCH = 64
LATENCY_WARMUP_CALLS = 20
THROUGHPUT_WARMUP_CALLS = 3
ROUNDS = 5  # Timed calls alternate between the runtimes in this many rounds.
SEED = 0
IMAGE_INFO = DatasetInfo(
    name="untrained 28x28x1", modality="image", shape=(28, 28, 1), num_classes=10
)
TEXT_INFO = DatasetInfo(name="untrained text", modality="text", shape=None, value_range=None)
# The 84 characters of tfgen's `shakespeare` text, so the vocabulary (86 ids with padding
# and unknown) and the output layer have the sizes of a default language-model run.
TOKENIZER_TEXT = (
    "ROMEO: But soft, what light through yonder window breaks?\n"
    + string.ascii_letters
    + string.digits
    + " !\"&'()*,-./:;?@[]_{}"
)


def parse_model_names(text):
    """`["vae", ...]` from a comma-separated string, each a registered family.

    Raises:
        ValueError: naming the valid models.
    """
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    for name in names:
        models.get(name)
    return names


def build_model(name):
    """Family `name` at its default config, untrained, ready to export.

    Args:
        name: a registry name (`tfgen.models.names()`).

    Returns:
        A `tfgen.models.GenerativeModel`; language models carry a `CharTokenizer`.
    """
    model_class = models.get(name)
    config = config_lib.resolve(model_class.config_class)
    if issubclass(model_class, models.LanguageModel):
        tokenizer = CharTokenizer.train([TOKENIZER_TEXT])
        return model_class.from_run_config(config, TEXT_INFO, tokenizer=tokenizer)
    return model_class.from_run_config(config, IMAGE_INFO)


def export(model, name, base_dir, quantizations):
    """Exports `model` as a SavedModel and converts its TFLite endpoints.

    Args:
        model: a `tfgen.models.GenerativeModel`.
        name: the model name (a directory under `base_dir`).
        base_dir: where the SavedModel goes.
        quantizations: names from `tfgen.serving.QUANTIZATIONS`.

    Returns:
        `(version_dir, {(signature, quantization, batch): tflite_path})`, where
        `batch` is None for files that take any batch, else the file's fixed batch.
    """
    version_dir = serving.export_saved_model(model, base_dir, name)
    tflite_paths = {}
    for signature in model.tflite_endpoints:
        for batch in (None, LATENCY_BATCH, THROUGHPUT_BATCH):
            paths = serving.write_tflite_files(
                version_dir, [signature], quantizations, batch_size=batch
            )
            tflite_paths.update({(signature, q, batch): p for q, p in zip(quantizations, paths)})
    return version_dir, tflite_paths


class SavedModelRuntime:
    """One signature of a loaded SavedModel; calls return `{output: np.ndarray}`."""

    def __init__(self, version_dir, signature):
        self.loaded = tf.saved_model.load(str(version_dir))  # Keeps the variables alive.
        self.function = self.loaded.signatures[signature]

    def input_specs(self):
        return self.function.structured_input_signature[1]

    def __call__(self, inputs):
        return {name: tensor.numpy() for name, tensor in self.function(**inputs).items()}


class LiteRTRuntime:
    """One signature of a `.tflite` file in LiteRT; calls return `{output: np.ndarray}`."""

    def __init__(self, tflite_path, signature, threads):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(tflite_path), num_threads=threads)
        self.runner = self.interpreter.get_signature_runner(signature)

    def __call__(self, inputs):
        return self.runner(**inputs)


class FixedBatchLiteRTRuntime:
    """`.tflite` files converted with fixed batches (`--tflite-batch-size`), one per batch size.

    A call runs the file whose batch matches the inputs'.
    """

    def __init__(self, tflite_paths_by_batch, signature, threads, input_specs):
        self.runtimes = {
            batch: LiteRTRuntime(path, signature, threads)
            for batch, path in tflite_paths_by_batch.items()
        }
        self.batched_input = next(
            name for name, spec in input_specs.items() if spec.shape.rank and spec.shape[0] is None
        )

    def __call__(self, inputs):
        return self.runtimes[len(inputs[self.batched_input])](inputs)


def timed_calls(runtime, inputs, count):
    """Seconds of each of `count` calls of `runtime(inputs)`."""
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        runtime(inputs)
        seconds.append(time.perf_counter() - start)
    return seconds


def interleaved_seconds(runtimes, inputs, warmup_calls, calls):
    """Call times of each runtime, in `ROUNDS` rounds that take the runtimes in turn.

    Alternating spreads any load from other processes over every runtime alike.

    Args:
        runtimes: `{label: runtime}`.
        inputs: `{input: np.ndarray}`, the same for every runtime.
        warmup_calls: untimed calls of each runtime first (tracing, resizing, caches).
        calls: timed calls of each runtime in all.

    Returns:
        `{label: np.ndarray}` of seconds per call.
    """
    for runtime in runtimes.values():
        timed_calls(runtime, inputs, warmup_calls)
    seconds = {label: [] for label in runtimes}
    for calls_this_round in np.array_split(np.arange(calls), min(ROUNDS, calls)):
        for label, runtime in runtimes.items():
            seconds[label] += timed_calls(runtime, inputs, len(calls_this_round))
    return {label: np.array(values) for label, values in seconds.items()}


def measure(runtimes, inputs_by_batch, calls, batch_calls):
    """Batch-1 latency percentiles and batch-64 throughput of each runtime.

    Args:
        runtimes: `{label: runtime}`, `SavedModelRuntime`s or `LiteRTRuntime`s.
        inputs_by_batch: `{batch_size: {input: np.ndarray}}` for both batch sizes.
        calls: timed batch-1 calls per runtime.
        batch_calls: timed batch-64 calls per runtime.

    Returns:
        `{label: {"p50_ms", "p99_ms", "items_per_s"}}`.
    """
    latency = interleaved_seconds(
        runtimes, inputs_by_batch[LATENCY_BATCH], LATENCY_WARMUP_CALLS, calls
    )
    throughput = interleaved_seconds(
        runtimes, inputs_by_batch[THROUGHPUT_BATCH], THROUGHPUT_WARMUP_CALLS, batch_calls
    )
    return {
        label: {
            "p50_ms": float(np.percentile(latency[label], 50) * 1e3),
            "p99_ms": float(np.percentile(latency[label], 99) * 1e3),
            "items_per_s": float(THROUGHPUT_BATCH * batch_calls / throughput[label].sum()),
        }
        for label in runtimes
    }


def max_abs_difference(runtime, reference, inputs_by_batch):
    """Largest `|runtime - reference|` over every output, at every batch size (NaN propagates)."""
    differences = []
    for inputs in inputs_by_batch.values():
        expected, actual = reference(inputs), runtime(inputs)
        differences += [
            np.max(np.abs(actual[name].astype(np.float64) - expected[name])) for name in expected
        ]
    return float(np.max(differences))


def benchmark_model(name, base_dir, args):
    """Rows of the table for family `name`: its SavedModel, then each LiteRT file."""
    model = build_model(name)
    version_dir, tflite_paths = export(model, name, base_dir, args.quantizations)
    rows = []
    for signature in model.tflite_endpoints:
        saved_model = SavedModelRuntime(version_dir, signature)
        runtimes = {"SavedModel": saved_model}
        for quantization in args.quantizations:
            runtimes[f"LiteRT {quantization}"] = LiteRTRuntime(
                tflite_paths[signature, quantization, None], signature, args.threads
            )
            runtimes[f"LiteRT {quantization}, fixed batch"] = FixedBatchLiteRTRuntime(
                {
                    batch: tflite_paths[signature, quantization, batch]
                    for batch in (LATENCY_BATCH, THROUGHPUT_BATCH)
                },
                signature,
                args.threads,
                saved_model.input_specs(),
            )
        inputs_by_batch = {
            batch: serving.random_inputs(saved_model.input_specs(), batch, SEED)
            for batch in (LATENCY_BATCH, THROUGHPUT_BATCH)
        }
        results = measure(runtimes, inputs_by_batch, args.calls, args.batch_calls)
        reference = results["SavedModel"]
        for label, runtime in runtimes.items():
            row = {"model": name, "signature": signature, "runtime": label, **results[label]}
            if runtime is not saved_model:
                row["p50_ratio"] = row["p50_ms"] / reference["p50_ms"]
                row["max_abs_diff"] = max_abs_difference(runtime, saved_model, inputs_by_batch)
            rows.append(row)
        print(
            f"{name} {signature}: "
            + ", ".join(f"{label} {result['p50_ms']:.3f} ms" for label, result in results.items()),
            flush=True,
        )
    return rows


def machine_description(threads):
    """CPU, cores, library versions and thread settings, as printed above the table."""
    import importlib.metadata

    return {
        "cpu": cpu_model(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cores_total": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "ai_edge_litert": importlib.metadata.version("ai-edge-litert"),
        "threads": threads,
    }


def print_table(rows, machine, args):
    """Prints the machine, the settings and the markdown table of `rows`."""
    print(
        f"\nCPU: {machine['cpu']} ({machine['cores_usable']} usable of "
        f"{machine['cores_total']} cores); Python {machine['python']}; TensorFlow "
        f"{machine['tensorflow']}; ai-edge-litert {machine['ai_edge_litert']}"
    )
    print(
        f"Threads: TensorFlow intra-op = inter-op = {args.threads}; LiteRT num_threads = "
        f"{args.threads} (default XNNPACK delegate). Batch-1: p50/p99 of {args.calls} calls "
        f"after {LATENCY_WARMUP_CALLS} warm-up; batch-{THROUGHPUT_BATCH}: "
        f"{args.batch_calls} calls after {THROUGHPUT_WARMUP_CALLS} warm-up; the runtimes "
        f"alternate in {ROUNDS} rounds. Untrained default-size models.\n"
    )
    print(
        f"| model | signature | runtime | batch-1 p50 ms | batch-1 p99 ms | "
        f"batch-{THROUGHPUT_BATCH} items/s | LiteRT/SavedModel p50 | max abs diff |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        ratio = f"{row['p50_ratio']:.2f}x" if "p50_ratio" in row else "—"
        difference = f"{row['max_abs_diff']:.1e}" if "max_abs_diff" in row else "—"
        print(
            f"| {row['model']} | {row['signature']} | {row['runtime']} | "
            f"{row['p50_ms']:.3f} | {row['p99_ms']:.3f} | {row['items_per_s']:,.0f} | "
            f"{ratio} | {difference} |"
        )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        default=",".join(models.names()),
        help=f"comma-separated families (default all: {', '.join(models.names())})",
    )
    parser.add_argument(
        "--quantize",
        default="",
        help=f"comma-separated LiteRT quantizations besides float32, from "
        f"{', '.join(q for q in serving.QUANTIZATIONS if q != 'float32')}",
    )
    parser.add_argument("--calls", type=int, default=200, help="timed batch-1 calls (200)")
    parser.add_argument(
        "--batch-calls", type=int, default=20, help=f"timed batch-{THROUGHPUT_BATCH} calls (20)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="threads of both runtimes (default: every usable core)",
    )
    parser.add_argument("--json", help="also write the machine description and rows here")
    args = parser.parse_args()
    try:
        args.models = parse_model_names(args.models)
        # float32 first; `check_quantizations` drops repeats and resolves aliases.
        args.quantizations = serving.check_quantizations(f"float32,{args.quantize}")
    except ValueError as error:
        parser.error(str(error))
    if min(args.calls, args.batch_calls, args.threads) < 1:
        parser.error("--calls, --batch-calls and --threads must be positive")
    return args


def main():
    args = parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    machine = machine_description(args.threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tfgen-serving-benchmark-") as base_dir:
        for name in args.models:
            rows += benchmark_model(name, base_dir, args)
    print_table(rows, machine, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
