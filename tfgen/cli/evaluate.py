"""Evaluate a run: `python -m tfgen.evaluate --run RUN [--metrics fid,kid,is,pr,dc,nll,ppl]`.

Prints a table and writes `RUN/metrics.json` (values, extractor, sample count,
reference split, tfgen version). The library call is `tfgen.evaluation.evaluate_run`.
"""

import argparse
import sys


def build_parser(groups, extractors):
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.evaluate",
        description=__doc__.splitlines()[0],
        epilog=f"metric groups: {', '.join(groups)} (default: every group that applies to "
        f"the model). extractors: {', '.join(extractors)}.",
    )
    parser.add_argument(
        "--run", required=True, help="run directory written by `python -m tfgen.fit`"
    )
    parser.add_argument("--metrics", help="comma-separated metric groups, e.g. fid,kid,pr")
    parser.add_argument(
        "--num-samples",
        type=int,
        default=10_000,
        help="generated images for fid/kid/is/pr/dc (default 10000)",
    )
    parser.add_argument(
        "--extractor",
        default="classifier",
        choices=extractors,
        help="feature extractor (default classifier: tfgen's own, offline)",
    )
    parser.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="InceptionV3 weights file for --extractor inception",
    )
    parser.add_argument(
        "--importance-samples",
        type=int,
        default=1000,
        help="K of the importance-weighted NLL bound (default 1000)",
    )
    parser.add_argument(
        "--nll-examples",
        type=int,
        help="evaluate the NLL bound on the first N test images (default all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated samples")
    parser.add_argument(
        "--checkpoint",
        default="latest",
        choices=("latest", "best"),
        help="the last epoch's weights, or the best_metric's best epoch",
    )
    return parser


def format_table(evaluation):
    record = evaluation.record
    lines = [
        f"{record['model']} on {record['dataset']}, epoch {record['epoch']} "
        f"({record['checkpoint']} checkpoint) of {record['run']}"
    ]
    if "extractor" in record:
        lines.append(
            f"samples: {record['num_samples']} generated vs the {record['reference_split']} "
            f"split; features: {record['extractor_description']}"
        )
    lines += ["", "| metric | value |", "|---|---:|"]
    metrics = record["metrics"]
    for name, value in metrics.items():
        if name.endswith("_std") and name[:-4] in metrics:
            continue  # Shown as ± beside its metric.
        spread = metrics.get(f"{name}_std")
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        lines.append(f"| {name} | {shown}{f' ± {spread:.3g}' if spread is not None else ''} |")
    lines.append(f"\nwritten: {evaluation.path}")
    return "\n".join(lines)


def main(argv=None):
    from tfgen import evaluation
    from tfgen.metrics.extractors import EXTRACTORS

    args = build_parser(list(evaluation.GROUPS), EXTRACTORS).parse_args(argv)
    for flag in ("num_samples", "importance_samples", "nll_examples"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            print(
                f"error: --{flag.replace('_', '-')} must be at least 1, got {value}",
                file=sys.stderr,
            )
            return 2
    try:
        result = evaluation.evaluate_run(
            args.run,
            groups=args.metrics,
            num_samples=args.num_samples,
            extractor=args.extractor,
            inception_weights=args.inception_weights,
            importance_samples=args.importance_samples,
            nll_examples=args.nll_examples,
            seed=args.seed,
            checkpoint=args.checkpoint,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
