"""`tfgen.sample --server HOST:PORT --model NAME`: samples through TF Serving's API."""

import math
import sys
from pathlib import Path

from tfgen.cli.sampler_flags import check_no_text_flags, make_sampler

# Samplers that the exported `generate` signature implements (temperature -> top-k -> top-p).
SERVER_SAMPLERS = ("greedy", "temperature", "top_k", "top_p")
SERVER_TIMEOUT = 300.0  # `--timeout`'s default, seconds.


def server_sampling(args):
    """`(temperature, top_k, top_p)` of `generate` for the sampler `args` ask for.

    Raises:
        ValueError: for a sampler the server cannot run (e.g. beam), naming the valid
            ones, or a flag the sampler does not take.
    """
    name = args.sampler.replace("-", "_")
    if name not in SERVER_SAMPLERS:
        raise ValueError(
            f"--sampler {args.sampler} is not available with --server: the "
            f"exported generate signature samples with temperature, top-k and "
            f"top-p; valid samplers are: {', '.join(SERVER_SAMPLERS)}"
        )
    sampler = make_sampler(args)
    if sampler.name == "greedy":
        return 0.0, 0, 1.0
    return (
        float(sampler.temperature),
        int(getattr(sampler, "k", None) or 0),
        float(getattr(sampler, "p", 1.0)),
    )


def sample_server_text(args, client):
    """Prints `--num` continuations of `--prompt` from the served model; returns 0."""
    from tfgen.serving import remote_sample

    if args.label is not None or args.out is not None or args.truncation_psi is not None:
        raise ValueError(
            f"{args.model} is a language model: --label, --out and "
            f"--truncation-psi are for image models; it takes --prompt and the "
            f"sampler flags"
        )
    if args.prompt is None:
        raise ValueError(
            "--prompt is required with --server for a language model (the run's "
            "sample_prompt is not on the server)"
        )
    temperature, top_k, top_p = server_sampling(args)
    num = 1 if args.num is None else args.num
    texts = remote_sample.generate_text(
        client,
        args.model,
        [args.prompt] * num,
        args.max_new_tokens,
        temperature,
        top_k,
        top_p,
        args.seed,
        version=args.version,
    )
    print(
        f"# {num} sample(s) from {args.model} at {args.server}, temperature {temperature}, "
        f"top_k {top_k}, top_p {top_p}",
        file=sys.stderr,
    )
    print("\n\n".join(args.prompt + text for text in texts))
    return 0


def sample_server_images(args, client):
    """Writes a PNG grid of `--num` images from the served model; returns 0."""
    from tfgen.serving import remote_sample
    from tfgen.utils.images import grid, write_png

    check_no_text_flags(args, f"{args.model} is an image model")
    num = 64 if args.num is None else args.num
    suffix = "" if args.label is None else f"-label{args.label}"
    if args.truncation_psi is not None:
        suffix += f"-psi{args.truncation_psi:g}"
    out = Path(args.out or f"samples-{args.model}-seed{args.seed}{suffix}.png")
    images = remote_sample.sample_images(
        client,
        args.model,
        num,
        args.seed,
        label=args.label,
        version=args.version,
        truncation_psi=args.truncation_psi,
    )
    write_png(out, grid(images, columns=math.ceil(math.sqrt(num))))
    print(f"{num} samples from {args.model} at {args.server}: {out}")
    return 0


def sample_server(args):
    """`--server`: samples through TF Serving; returns the exit code."""
    from tfgen.serving import ServingError, ServingRequestError, connect, remote_sample

    try:
        if not args.model:
            raise ValueError(
                "--server needs --model NAME, the name the server serves the model under"
            )
        if args.version is not None and args.version < 1:
            raise ValueError(f"--version must be at least 1, got {args.version}")
        timeout = SERVER_TIMEOUT if args.timeout is None else args.timeout
        with connect(args.server, grpc=args.grpc, timeout=timeout) as client:
            if remote_sample.model_kind(client, args.model, args.version) == remote_sample.TEXT:
                return sample_server_text(args, client)
            return sample_server_images(args, client)
    except (ValueError, ServingRequestError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ServingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
