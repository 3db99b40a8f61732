"""Project an image into a StyleGAN run's latent space: find the w (and noise) that draws it.

    python -m tfgen.projection --run RUN --image PATH [--steps 1000] [--out DIR] [--seed 0]
                            [--label N] [--feature-weight 0.1] [--checkpoint latest|best]

Follows the official StyleGAN2-ADA projector (`tfgen.models.stylegan.projection`).
The image (PNG, JPEG, GIF or BMP) is adapted to the model first, and a notice says
what changed: RGB becomes grayscale by luminance (or grayscale RGB by repeating the
channel), an alpha channel is dropped, and the size is fitted as the run's
`image_fit` fitted its data (`pad`: centred on black, after scaling down if larger;
`resize`: bilinear). Written to `--out` (default `RUN/projections/<image stem>`):

- `target.png`     the adapted target;
- `projected.png`  the image of the projected w and noise;
- `progress.png`   a strip from the start (w_avg) to the end;
- `w.npy`          the projected w, `[w_dim]` (the same style at every layer);
- `noise.npz`      the optimised noise maps, `noise0`, `noise1`, ... `[h, w, 1]`;
- `projection.json` the errors and settings.

It prints the pixel MSE (images in [0, 1]) and, when tfgen's evaluation classifier
of the run's dataset is cached (`python -m tfgen.metrics.classifier --dataset NAME`),
the distance of the unit-normalised classifier features, which then also guides the
optimisation (with `--feature-weight`; 0 = by pixels alone).
`python -m tfgen.sample --run RUN --mix A/w.npy B/w.npy --crossover K` mixes two projections.

Exit status: 0 on success; 2 for bad input (flags, the image, the run).
"""

import argparse
import json
import sys
from pathlib import Path

DEFAULT_STEPS = 1000
FEATURE_WEIGHT = 0.1
"""`tfgen.models.stylegan.projection.FEATURE_WEIGHT`, kept here so `--help` needs no TensorFlow."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.projection", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--run", required=True, metavar="RUN", help="a stylegan run directory")
    parser.add_argument(
        "--image",
        required=True,
        metavar="PATH",
        help="the image to project (PNG, JPEG, GIF or BMP)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=DEFAULT_STEPS,
        metavar="N",
        help=f"optimisation steps (default {DEFAULT_STEPS}, as the official projector)",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="output directory (default RUN/projections/<image stem>)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the initial noise maps and the w noise (default 0)",
    )
    parser.add_argument(
        "--label", type=int, metavar="N", help="class of a class-conditional run (required for one)"
    )
    parser.add_argument(
        "--feature-weight",
        type=float,
        default=FEATURE_WEIGHT,
        metavar="W",
        help=f"weight of the classifier feature distance in the loss, when the "
        f"classifier is cached (default {FEATURE_WEIGHT:g}; 0 = pixel MSE "
        f"only; the distance is still printed)",
    )
    parser.add_argument(
        "--checkpoint",
        default="latest",
        choices=("latest", "best"),
        help="which checkpoint of the run (default latest)",
    )
    return parser


def read_image(path):
    """`[h, w, c]` float32 image in [0, 1] from a PNG, JPEG, GIF (first frame) or BMP file.

    Raises:
        ValueError: naming the path and why it cannot be read.
    """
    import tensorflow as tf

    path = Path(path)
    if not path.exists():
        raise ValueError(f"cannot read image {path}: no such file")
    if not path.is_file():
        raise ValueError(f"cannot read image {path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read image {path}: {error.strerror or error}") from error
    try:
        image = tf.io.decode_image(data, dtype=tf.float32, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, ValueError) as error:
        raise ValueError(
            f"cannot read image {path}: not a PNG, JPEG, GIF or BMP image "
            f"({len(data)} bytes that the decoders do not recognise)"
        ) from error
    if image.size == 0:
        raise ValueError(f"cannot read image {path}: it has no pixels")
    return image


def _size(image):
    return "x".join(map(str, image.shape))


def adapt_image(image, shape, image_fit):
    """Fits an `[h, w, c]` image in [0, 1] to a model's `shape`; returns `(image, notices)`.

    Channels: RGB(A) -> grayscale by luminance (ITU-R 601: 0.299, 0.587, 0.114), grayscale
    -> RGB by repeating it, an alpha channel dropped. Size, as the run's `image_fit`:
    `pad` centres the image on black (scaling it down first, keeping its aspect ratio,
    if it is larger), `resize` resizes it bilinearly to the square.

    Args:
        image: float array `[h, w, c]`, c in 1-4.
        shape: `(resolution, resolution, channels)` of the model.
        image_fit: `"pad"` or `"resize"`.

    Returns:
        The adapted float32 image and a list of notices, one per change.
    """
    import numpy as np
    import tensorflow as tf

    notices = []
    height, width, channels = shape
    original = _size(image)
    if image.shape[-1] in (2, 4):
        image = image[..., :-1]
        notices.append(f"dropped the alpha channel ({original} -> {_size(image)})")
    if image.shape[-1] == 3 and channels == 1:
        before = _size(image)
        image = tf.image.rgb_to_grayscale(image).numpy()
        notices.append(f"converted RGB to grayscale by luminance ({before} -> {_size(image)})")
    elif image.shape[-1] == 1 and channels == 3:
        before = _size(image)
        image = np.repeat(image, 3, axis=-1)
        notices.append(f"converted grayscale to RGB by repeating it ({before} -> {_size(image)})")
    if image.shape[:2] != (height, width):
        before = _size(image)
        h, w = image.shape[:2]
        if image_fit == "pad":
            how = "centred on a black canvas"
            if h > height or w > width:
                scale = min(height / h, width / w)
                size = [max(1, round(h * scale)), max(1, round(w * scale))]
                image = tf.image.resize(image, size, method="bilinear", antialias=True).numpy()
                how = f"scaled to {size[0]}x{size[1]} and {how}"
                h, w = size
            image = tf.image.pad_to_bounding_box(
                image, (height - h) // 2, (width - w) // 2, height, width
            ).numpy()
        else:
            image = tf.image.resize(
                image, [height, width], method="bilinear", antialias=True
            ).numpy()
            how = "resized bilinearly"
        notices.append(f"{how} as the run's image_fit: {image_fit} ({before} -> {_size(image)})")
    return np.clip(image, 0.0, 1.0).astype(np.float32), notices


def feature_distance_for(config, model):
    """`(FeatureDistance or None, description)` from the run dataset's cached classifier."""
    import keras

    from tfgen.metrics.classifier import FEATURES, load_cached
    from tfgen.models.stylegan.projection import FeatureDistance

    classifier = load_cached(config.dataset)
    if classifier is None:
        return None, (
            f"no cached evaluation classifier for {config.dataset!r} (python -m "
            f"tfgen.metrics.classifier --dataset {config.dataset} trains one)"
        )
    if classifier.image_shape[-1] != model.image_shape[-1]:
        return None, (
            f"the {config.dataset!r} classifier takes {classifier.image_shape[-1]} "
            f"channel(s), the model makes {model.image_shape[-1]}"
        )
    features = keras.Model(classifier.model.inputs, classifier.model.get_layer(FEATURES).output)
    distance = FeatureDistance(features, image_fit=model.image_fit(config))
    return distance, f"{config.dataset!r} classifier features, {classifier.path.name}"


def write_outputs(out, projection, meta):
    """Writes the projection's files atomically into `out`; returns their paths."""
    import numpy as np

    from tfgen.utils.files import atomic_write, write_atomically
    from tfgen.utils.images import grid, write_png

    out = Path(out)
    paths = [
        write_png(out / "target.png", grid(projection.target[None], columns=1)),
        write_png(out / "projected.png", grid(projection.image[None], columns=1)),
        write_png(
            out / "progress.png", grid(projection.progress, columns=len(projection.progress))
        ),
    ]
    with atomic_write(out / "w.npy") as file:
        np.save(file, projection.w.astype(np.float32))
    paths.append(out / "w.npy")
    with atomic_write(out / "noise.npz") as file:
        np.savez(file, **{f"noise{i}": n for i, n in enumerate(projection.noise)})
    paths.append(out / "noise.npz")
    paths.append(write_atomically(out / "projection.json", json.dumps(meta, indent=2) + "\n"))
    return paths


def run(args):
    """Projects `args.image` into `args.run`; returns the exit code (raises ValueError)."""
    if args.steps < 1:
        raise ValueError(
            f"--steps must be a positive number of optimisation steps, got {args.steps}"
        )
    if not args.feature_weight >= 0:
        raise ValueError(f"--feature-weight must be 0 or more, got {args.feature_weight}")
    image = read_image(args.image)

    from tfgen.models.stylegan.projection import project
    from tfgen.runs import load

    model, config, _, epoch = load(args.run, checkpoint=args.checkpoint)
    if not model.style_controls:
        raise ValueError(
            f"{args.run} is a {config.model!r} run; projection needs a "
            f"`stylegan` run (python -m tfgen.fit --model stylegan)"
        )
    if model.num_classes and args.label is None:
        raise ValueError(
            f"{args.run} is class-conditional: pass --label in [0, {model.num_classes})"
        )
    if args.label is not None:
        model.check_label(args.label, what=args.run)
    target, notices = adapt_image(image, tuple(model.image_shape), model.image_fit(config))
    for notice in notices:
        print(f"notice: {args.image}: {notice}", file=sys.stderr)
    distance, features = feature_distance_for(config, model)
    out = Path(args.out or Path(args.run) / "projections" / Path(args.image).stem)
    print(
        f"projecting {args.image} into {args.run} (epoch {epoch}), {args.steps} steps; "
        f"distance: pixel MSE"
        + (
            ""
            if distance is None or not args.feature_weight
            else f" + {args.feature_weight:g} x {features}"
        )
    )

    def report(step, mse, loss):
        print(f"step {step}/{args.steps}: pixel MSE {mse:.5f}", flush=True)

    projection = project(
        model,
        target,
        steps=args.steps,
        labels=args.label,
        feature_distance=distance,
        feature_weight=args.feature_weight,
        seed=args.seed,
        callback=report,
    )
    meta = {
        "run": str(args.run),
        "epoch": epoch,
        "image": str(args.image),
        "steps": args.steps,
        "seed": args.seed,
        "label": args.label,
        "feature_weight": args.feature_weight,
        "pixel_mse": projection.mse,
        "initial_pixel_mse": projection.initial_mse,
        "feature_distance": projection.feature_distance,
        "features": features if distance is not None else None,
        "progress_steps": projection.progress_steps,
        "adapted": notices,
    }
    paths = write_outputs(out, projection, meta)
    print(f"pixel MSE: {projection.mse:.5f} (start, w_avg: {projection.initial_mse:.5f})")
    if projection.feature_distance is None:
        print(f"feature distance: n/a ({features})")
    else:
        print(f"feature distance: {projection.feature_distance:.5f} ({features})")
    print(f"wrote {', '.join(p.name for p in paths)} to {out}")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
