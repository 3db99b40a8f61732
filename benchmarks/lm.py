"""Language models: nanoGPT's CPU "baby" run with tfgen's `gpt`, and decoding speed.

Part 1 (quality/time) trains `gpt` with nanoGPT's published CPU "baby" settings
(4 layers, 4 heads, 128-dim embeddings, context 64, batch 12, 2000 iterations,
no dropout; AdamW lr 1e-3 with 100 warm-up steps and cosine decay to 1e-4,
beta2 0.99, weight decay 0.1, gradient clipping 1.0: nanoGPT's
config/train_shakespeare_char.py plus its README's CPU command) through
`model.fit` on stride-1 shuffled windows (every start, like nanoGPT's random
sampling; `windows(..., epochs=1)`: a (seed, epoch) permutation, not a 4.3M-element
shuffle buffer) of the `shakespeare` train split, with a char tokenizer trained on
it. It then evaluates the loss (nats/token) on the whole validation and test splits
(windows in order, stride = context). nanoGPT reports about 1.88 validation loss
in about 3 minutes on tiny Shakespeare; tfgen's `shakespeare` is the complete
works with whole plays held out, so the numbers are close cousins, not twins.

Part 2 (decoding) times `generate` (greedy, 16-token prompt, 256 new tokens) with
and without the cache, batch 1 and 16, with and without XLA, for an UNTRAINED
`gpt` of the same sizes (context 272 = prompt + new tokens; random weights do not
change the cost) and a default-size `char_lstm`. Tracing is excluded (one warm-up
call); the best of `--reps` calls is reported as tokens/s = batch * 256 / seconds.

    .venv/bin/python benchmarks/lm.py [--iters 2000] [--eval-batches N] [--seed 0]
                                      [--jit] [--skip-train] [--skip-decode] [--reps 3]
"""

import argparse
import math
import os
import time

import keras
import tensorflow as tf
from common import cpu_model

from tfgen import config as config_lib
from tfgen import data as data_lib
from tfgen import text
from tfgen.models.lm.char_lstm import CharLSTM
from tfgen.models.lm.gpt import GPT, GPTConfig

DATASET = "shakespeare"
PROMPT_TOKENS = 16
NEW_TOKENS = 256
EVAL_BATCH = 64
BABY = {  # nanoGPT: config/train_shakespeare_char.py + README's CPU command line.
    "dataset": DATASET,
    "n_layer": 4,
    "n_head": 4,
    "n_embd": 128,
    "context_length": 64,
    "batch_size": 12,
    "dropout": 0.0,
    "learning_rate": 1e-3,
    "min_learning_rate": 1e-4,
    "warmup_steps": 100,
    "beta_2": 0.99,
    "weight_decay": 0.1,
    "clip_norm": 1.0,
    "lr_schedule": "cosine",
    "epochs": 1,
}


class StepClock(keras.callbacks.Callback):
    """Wall-clock marks: fit start, end of the first step (trace + pipeline fill), each loss."""

    def on_train_begin(self, logs=None):
        self.start, self.first, self.means = time.perf_counter(), None, []

    def on_train_batch_end(self, batch, logs=None):
        if self.first is None:
            self.first = time.perf_counter()
        self.means.append(float(logs["loss"]))  # Running mean since the start of the epoch.

    def on_train_end(self, logs=None):
        self.end = time.perf_counter()


def evaluate(model, tokenizer, split, context, max_batches):
    docs, _ = data_lib.load(DATASET, split)
    batches = text.windows(
        text.tokenize(docs, tokenizer),
        context,
        EVAL_BATCH,
        shuffle=False,
        name=f"{DATASET} {split}",
    )
    if max_batches:
        batches = batches.take(max_batches)
    start = time.perf_counter()
    loss = model.evaluate(batches, return_dict=True, verbose=0)["loss"]
    return loss, time.perf_counter() - start


def train_part(args):
    iters = args.iters
    config = config_lib.resolve(
        GPTConfig,
        {
            **BABY,
            "steps_per_epoch": iters,
            "seed": args.seed,
            "jit_compile": "true" if args.jit else "false",
        },
    )
    keras.utils.set_random_seed(config.seed)
    train_docs, info = data_lib.load(DATASET, "train")
    tokenizer = text.CharTokenizer.train(train_docs)
    start = time.perf_counter()
    train = text.windows(
        text.tokenize(train_docs, tokenizer),
        config.context_length,
        config.batch_size,
        seed=config.seed,
        stride=1,
        name=f"{DATASET} train",
        epochs=1,
        steps_per_epoch=iters,
    )  # (seed, epoch) permutation.
    setup = time.perf_counter() - start
    model = GPT.from_run_config(config, info, iters, tokenizer=tokenizer)
    model.compile_from_run_config(config, jit_compile=args.jit, steps_per_epoch=iters)
    clock = StepClock()
    model.fit(train, epochs=1, steps_per_epoch=iters, verbose=0, callbacks=[clock])
    train_time = clock.end - clock.start
    tail = min(250, iters - 1)  # Mean train loss over the last `tail` steps, from running means.
    final_train = (clock.means[-1] * iters - clock.means[-1 - tail] * (iters - tail)) / tail
    valid, valid_time = evaluate(
        model, tokenizer, "validation", config.context_length, args.eval_batches
    )
    test, test_time = evaluate(model, tokenizer, "test", config.context_length, args.eval_batches)
    tokens = config.batch_size * config.context_length
    steady = (clock.end - clock.first) / max(1, iters - 1)
    rows = [
        ("iterations (batch 12 x context 64)", f"{iters}", "2000"),
        (f"train loss (mean of last {tail} steps)", f"{final_train:.4f}", "~1.88 (est.)"),
        ("validation loss, nats/token (whole split)", f"{valid:.4f}", "1.88 (20 batches)"),
        ("test loss, nats/token (whole split)", f"{test:.4f}", "-"),
        ("validation bits/char", f"{valid / math.log(2):.4f}", f"{1.88 / math.log(2):.4f}"),
        ("test bits/char", f"{test / math.log(2):.4f}", "-"),
        ("training wall time (`fit`, all steps)", f"{train_time:.1f} s", "~3 min"),
        (
            "  of which first step (trace + pipeline fill)",
            f"{clock.first - clock.start:.1f} s",
            "-",
        ),
        ("  steady step time", f"{steady * 1000:.1f} ms", "-"),
        (
            "training tokens/s (whole fit / steady)",
            f"{iters * tokens / train_time:.0f} / {tokens / steady:.0f}",
            "-",
        ),
        ("pipeline setup (`windows`, before fit)", f"{setup:.1f} s", "-"),
        ("evaluation wall time (validation + test)", f"{valid_time:.1f} + {test_time:.1f} s", "-"),
    ]
    print(
        f"\n### Part 1: nanoGPT baby config on `{DATASET}` (vocab {tokenizer.vocab_size}, "
        f"jit_compile={args.jit}, seed {config.seed})\n"
    )
    print(f"| {'metric':<46} | {'tfgen gpt':>15} | {'nanoGPT (README)':>17} |")
    print(f"| {'-' * 46} | {'-' * 14}: | {'-' * 16}: |")
    for name, ours, theirs in rows:
        print(f"| {name:<46} | {ours:>15} | {theirs:>17} |", flush=True)


def time_generate(model, batch, use_cache, jit, reps):
    prompt = tf.random.stateless_uniform(
        [batch, PROMPT_TOKENS], [1, 2], 2, model.vocab_size, tf.int32
    )

    def run():
        return model.generate(
            prompt,
            sampler="greedy",
            max_new_tokens=NEW_TOKENS,
            seed=0,
            use_cache=use_cache,
            jit_compile=jit,
        ).numpy()

    run()  # Trace (and compile) outside the timing.
    best = math.inf
    for _ in range(reps):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return batch * NEW_TOKENS / best


def decode_part(args):
    vocab = 85  # The char vocabulary of `shakespeare` (83 characters + PAD + UNK).
    models = {
        "gpt (4x4x128, untrained)": GPT(
            vocab,
            context_length=PROMPT_TOKENS + NEW_TOKENS,
            n_layer=4,
            n_head=4,
            n_embd=128,
            seed=args.seed,
        ),
        "char_lstm (2x256, untrained)": CharLSTM(
            vocab, context_length=PROMPT_TOKENS, seed=args.seed
        ),
    }
    print(
        f"\n### Part 2: decoding, greedy, prompt {PROMPT_TOKENS} + {NEW_TOKENS} new tokens, "
        f"best of {args.reps} (tokens/s)\n"
    )
    print("| model                        | XLA | batch | no cache | cache | speedup |")
    print("| ---------------------------- | --- | ----: | -------: | ----: | ------: |")
    for name, model in models.items():
        for jit in (False, True):
            for batch in (1, 16):
                try:
                    slow = time_generate(model, batch, False, jit, args.reps)
                    fast = time_generate(model, batch, True, jit, args.reps)
                except Exception as error:  # Report an XLA failure as a row, keep going.
                    print(
                        f"| {name:<28} | {'yes' if jit else 'no':<3} | {batch:5d} | "
                        f"failed: {type(error).__name__} |",
                        flush=True,
                    )
                    continue
                print(
                    f"| {name:<28} | {'yes' if jit else 'no':<3} | {batch:5d} | "
                    f"{slow:8.0f} | {fast:5.0f} | {fast / slow:6.1f}x |",
                    flush=True,
                )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000, help="training iterations (2000)")
    parser.add_argument(
        "--eval-batches",
        type=int,
        default=None,
        help=f"cap on evaluated batches of {EVAL_BATCH} per split (default all)",
    )
    parser.add_argument(
        "--jit",
        action="store_true",
        help="train with jit_compile=True (default False: not faster on CPU)",
    )
    parser.add_argument("--reps", type=int, default=3, help="timed generate calls per cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-decode", action="store_true")
    args = parser.parse_args()
    print(
        f"CPU: {cpu_model()} x {os.cpu_count()}; TensorFlow {tf.__version__}; "
        f"Keras {keras.__version__}; load average {os.getloadavg()[0]:.2f} at start"
    )
    if not args.skip_train:
        train_part(args)
    if not args.skip_decode:
        decode_part(args)
    print(f"\nload average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min)")


if __name__ == "__main__":
    main()
