"""Draw samples from a trained run or a served model: a PNG grid of images, or text.

Image models: `python -m tfgen.sample --run RUN_DIR [--num 64] [--seed 0] [--label N]`
writes a PNG grid of `model.sample_images(num, seed)` and prints its path (`--label`
draws one class of a class-conditional model).

StyleGAN runs also take `--truncation-psi PSI` (the truncation trick, 1 = none), and
`--mix A.npy B.npy [--crossover K]`: a PNG row of A, B and their mix, whose styles
before layer K come from A (coarse) and the rest from B (fine), as `model.mix_styles`.
A and B are w's as `python -m tfgen.projection` writes them (`w.npy`, `[w_dim]`), or
`[1, w_dim]` or `[num_ws, w_dim]` arrays; K is from 0 (all B) to num_ws (all A),
default 3 (the 4x4 and 8x8 layers from A). The row is drawn with the generator's
fixed noise, and written to `RUN/mix-<A>-<B>-crossover<K>.png` (or `--out`).

Language models: `python -m tfgen.sample --run RUN_DIR --prompt "ROMEO:" --sampler top_p
--top-p 0.9 --max-new-tokens 300 [--seed N] [--num N]` prints the prompt and its
continuation (`model.generate_text`); `--sampler beam --beam-width 4` runs beam search.

From a running TF Serving instead of a run directory: `python -m tfgen.sample
--server HOST:PORT --model NAME [--grpc] [--version N]` with the same flags. Image
models write `samples-<NAME>-seed<SEED>.png` in the current directory (or `--out`);
language models need `--prompt` and take the samplers the exported `generate`
signature implements (greedy, temperature, top_k, top_p). The port is the REST
port (8501 by default), or the gRPC port (8500) with `--grpc`.

Exit status: 0 on success; 2 for bad input (flags, a run directory, or a request the
server rejects: unknown model, version or signature, invalid arguments); 1 when the
server fails or cannot be reached.
"""

import argparse
import math
import sys
from pathlib import Path

from tfgen.cli.sample_server import SERVER_TIMEOUT, sample_server
from tfgen.cli.sampler_flags import check_no_text_flags, make_sampler

# Flags that only `--server` reads.
SERVER_FLAGS = ("model", "grpc", "version", "timeout")


def build_parser(sampler_names):
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.sample",
        description=__doc__.splitlines()[0],
        epilog="Image flags: --num --seed --label --out; StyleGAN: --truncation-psi, --mix "
        "--crossover. Text flags: --prompt --sampler "
        "--temperature --top-k --top-p --beam-width --length-penalty --max-new-tokens "
        "--num --seed.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run directory printed by `python -m tfgen.fit`")
    source.add_argument(
        "--server",
        metavar="HOST:PORT",
        help="a running TF Serving: its REST port, or its gRPC port with --grpc",
    )
    parser.add_argument(
        "--num", type=int, help="number of images (default 64) or of text samples (default 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random draws (default 0)")
    parser.add_argument(
        "--label",
        type=int,
        help="class to draw, for class-conditional models (default: all in turn)",
    )
    parser.add_argument(
        "--out",
        help="PNG path (default: RUN/samples-seed<SEED>.png, or "
        "samples-<MODEL>-seed<SEED>.png with --server)",
    )
    style = parser.add_argument_group("StyleGAN runs")
    style.add_argument(
        "--truncation-psi",
        type=float,
        metavar="PSI",
        help="truncation trick: w <- w_avg + psi (w - w_avg) (default 1, none)",
    )
    style.add_argument(
        "--mix",
        nargs=2,
        metavar=("A.npy", "B.npy"),
        help="render A, B and a mix of the two w's (e.g. projections' w.npy)",
    )
    style.add_argument(
        "--crossover",
        type=int,
        metavar="K",
        help="with --mix: styles before this layer from A, the rest from B "
        "(0 to num_ws; default 3)",
    )
    served = parser.add_argument_group("TF Serving (with --server)")
    served.add_argument("--model", help="name of the model on the server (required)")
    served.add_argument(
        "--grpc",
        action="store_true",
        help="use the gRPC API (HOST:PORT is the gRPC port) instead of REST",
    )
    served.add_argument("--version", type=int, help="model version (default: the latest)")
    served.add_argument(
        "--timeout", type=float, help=f"seconds to wait for each reply (default {SERVER_TIMEOUT:g})"
    )
    text = parser.add_argument_group("language models")
    text.add_argument("--prompt", help="text to continue (default: the run's sample_prompt)")
    text.add_argument(
        "--sampler",
        default="temperature",
        type=str.lower,
        help=f"one of: {', '.join(sampler_names)} (default temperature)",
    )
    text.add_argument(
        "--max-new-tokens",
        type=int,
        default=200,
        help="tokens generated after the prompt (default 200)",
    )
    text.add_argument("--temperature", type=float, help="divides the logits (default 1.0)")
    text.add_argument("--top-k", type=int, help="top_k: candidates kept (default 5)")
    text.add_argument(
        "--top-p", type=float, help="top_p: probability mass kept (default 0.9); with top_k too"
    )
    text.add_argument("--beam-width", type=int, help="beam: hypotheses kept (default 5)")
    text.add_argument("--length-penalty", type=float, help="beam: length exponent (default 1.0)")
    return parser


def sample_text(args, model, config, epoch):
    """Prints `--num` continuations of the prompt; returns the exit code."""
    sampler = make_sampler(args)
    prompt = config.sample_prompt if args.prompt is None else args.prompt
    num = 1 if args.num is None else args.num
    texts = model.generate_text([prompt] * num, sampler, args.max_new_tokens, seed=args.seed)
    print(
        f"# {num} sample(s) from epoch {epoch} of {args.run}, sampler {sampler!r}", file=sys.stderr
    )
    print("\n\n".join(prompt + text for text in texts))
    return 0


def sample_images(args, model, epoch):
    """Writes a PNG grid of `--num` images; returns the exit code."""
    from tfgen.utils.images import grid, write_png

    num = 64 if args.num is None else args.num
    labels = None
    if args.label is not None:
        model.check_label(args.label, what=args.run)
        labels = [args.label] * num
    suffix = "" if labels is None else f"-label{args.label}"
    if args.truncation_psi is not None:
        suffix += f"-psi{args.truncation_psi:g}"
    out = Path(args.out or Path(args.run) / f"samples-seed{args.seed}{suffix}.png")
    if args.truncation_psi is not None:
        images = model.sample_images(num, args.seed, labels, truncation_psi=args.truncation_psi)
    elif labels is None:
        images = model.sample_images(num, args.seed)
    else:
        images = model.sample_images(num, args.seed, labels=labels)
    write_png(out, grid(images, columns=math.ceil(math.sqrt(num))))
    print(f"{num} samples from epoch {epoch} of {args.run}: {out}")
    return 0


def load_ws(path, generator):
    """Styles `[num_ws, w_dim]` from an `.npy` of `[w_dim]`, `[1, w_dim]` or `[num_ws, w_dim]`.

    Raises:
        ValueError: for a file that is missing or not an `.npy` array, or one of another
            shape, naming the shapes this generator takes.
    """
    import numpy as np

    num_ws, w_dim = generator.num_ws, generator.w_dim
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"--mix: {path}: no such file") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"--mix: {path} is not a NumPy .npy array ({error})") from None
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"--mix: {path} is not a numeric .npy array")
    if array.shape == (w_dim,) or array.shape == (1, w_dim):
        array = np.tile(array.reshape(1, w_dim), [num_ws, 1])
    elif array.shape != (num_ws, w_dim):
        raise ValueError(
            f"--mix: {path} holds an array shaped {array.shape}; this generator "
            f"takes a w shaped ({w_dim},) or (1, {w_dim}) (as python -m "
            f"tfgen.projection writes), or styles shaped ({num_ws}, {w_dim})"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"--mix: {path} holds NaN or infinite values")
    return array.astype(np.float32)


def _w_name(path):
    """`digit` for `projections/digit/w.npy`, `a` for `a.npy`."""
    path = Path(path)
    return path.parent.name if path.stem == "w" and path.parent.name else path.stem


def sample_mix(args, model, epoch):
    """`--mix A B`: writes a PNG row of A, B and their mix at `--crossover`; returns 0."""
    import numpy as np

    from tfgen.models.stylegan.controls import COARSE_CROSSOVER
    from tfgen.utils.images import grid, write_png

    generator = model.sampling_generator
    crossover = (
        min(COARSE_CROSSOVER, generator.num_ws) if args.crossover is None else args.crossover
    )
    try:
        generator.check_crossover(crossover)
    except ValueError as error:
        raise ValueError(f"--crossover: {error}") from None
    ws_a, ws_b = (load_ws(path, generator) for path in args.mix)
    mixed = generator.mix(ws_a[None], ws_b[None], crossover)[0]
    images = model.synthesize(np.stack([ws_a, ws_b, mixed]))
    name = f"mix-{_w_name(args.mix[0])}-{_w_name(args.mix[1])}-crossover{crossover}.png"
    out = Path(args.out or Path(args.run) / name)
    write_png(out, grid(images, columns=3))
    num_ws = generator.num_ws
    styles = (
        f"all {num_ws} styles from B"
        if crossover == 0
        else f"all {num_ws} styles from A"
        if crossover == num_ws
        else f"styles 0-{crossover - 1} from A, {crossover}-{num_ws - 1} from B"
    )
    print(f"A, B and the mix ({styles}) from epoch {epoch} of {args.run}: {out}")
    return 0


def check_style_flags(args, model, config):
    """A ValueError for StyleGAN-only flags given for another model, or misused together."""
    given = [
        flag
        for flag, value in (
            ("--mix", args.mix),
            ("--crossover", args.crossover),
            ("--truncation-psi", args.truncation_psi),
        )
        if value is not None
    ]
    if given and not model.style_controls:
        raise ValueError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} "
            f"only to stylegan runs; {args.run} is a {config.model!r} run"
        )
    if args.crossover is not None and args.mix is None:
        raise ValueError("--crossover goes with --mix A.npy B.npy")
    if args.mix is not None:
        other = [
            flag
            for flag, value in (
                ("--num", args.num),
                ("--label", args.label),
                ("--truncation-psi", args.truncation_psi),
            )
            if value is not None
        ]
        if other:
            raise ValueError(
                f"--mix renders the two given w's: {', '.join(other)} do not apply to it"
            )


def main(argv=None):
    from tfgen import samplers

    args = build_parser(samplers.names()).parse_args(argv)
    if args.num is not None and args.num < 1:
        print(f"error: --num must be at least 1, got {args.num}", file=sys.stderr)
        return 2
    style_flags = [
        flag
        for flag, value in (("--mix", args.mix), ("--crossover", args.crossover))
        if value is not None
    ]
    if args.server is not None and style_flags:
        print(
            f"error: {', '.join(style_flags)} apply with --run (a stylegan run directory), "
            f"not with --server",
            file=sys.stderr,
        )
        return 2
    if args.server is not None:
        return sample_server(args)
    server_flags = [f"--{f}" for f in SERVER_FLAGS if getattr(args, f) not in (None, False)]
    if server_flags:
        print(
            f"error: {', '.join(server_flags)} apply with --server only, not with --run",
            file=sys.stderr,
        )
        return 2
    from tfgen.runs import load

    try:
        model, config, _, epoch = load(args.run)
        check_style_flags(args, model, config)
        if model.modality == "text":
            if args.label is not None or args.out is not None:
                raise ValueError(
                    f"{args.run} is a language model: --label and --out are for "
                    f"image models; it takes --prompt and the sampler flags"
                )
            return sample_text(args, model, config, epoch)
        check_no_text_flags(args, f"{args.run} is an image model ({config.model})")
        if args.mix is not None:
            return sample_mix(args, model, epoch)
        return sample_images(args, model, epoch)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
