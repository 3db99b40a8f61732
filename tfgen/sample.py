"""Draw samples from a trained run: `python -m tfgen.sample --run RUN_DIR [--num 64] [--seed 0]`.

Writes a PNG grid of `model.sample_images(num, seed)` and prints its path. For a
class-conditional model, `--label N` draws only class N (default: every class in turn).
"""

import argparse
import math
import sys
from pathlib import Path


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tfgen.sample", description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run directory printed by `python -m tfgen.fit`")
    parser.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent draws (default 0)")
    parser.add_argument("--label", type=int,
                        help="class to draw, for class-conditional models (default: all in turn)")
    parser.add_argument("--out", help="PNG path (default: RUN/samples-seed<SEED>.png)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.num < 1:
        print(f"error: --num must be at least 1, got {args.num}", file=sys.stderr)
        return 2
    from tfgen.images import grid, write_png
    from tfgen.training import load_run

    try:
        model, _, _, epoch = load_run(args.run)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    num_classes = getattr(model, "num_classes", None)
    labels = None
    if args.label is not None:
        if not num_classes:
            print(f"error: --label needs a class-conditional model; {args.run} is not one",
                  file=sys.stderr)
            return 2
        if not 0 <= args.label < num_classes:
            print(f"error: --label must be in [0, {num_classes}), got {args.label}", file=sys.stderr)
            return 2
        labels = [args.label] * args.num
    suffix = "" if labels is None else f"-label{args.label}"
    out = Path(args.out or Path(args.run) / f"samples-seed{args.seed}{suffix}.png")
    images = model.sample_images(args.num, args.seed) if labels is None else \
        model.sample_images(args.num, args.seed, labels=labels)
    write_png(out, grid(images, columns=math.ceil(math.sqrt(args.num))))
    print(f"{args.num} samples from epoch {epoch} of {args.run}: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
