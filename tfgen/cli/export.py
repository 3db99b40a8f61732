"""Export a run for serving: `python -m tfgen.export --run RUN_DIR [--tflite float32,dynamic,float16]`.

Parses the command line and calls `tfgen.serving.export_run`, which writes the
next version of `export/models/<name>/` (TF Serving's layout) with its
`signatures.md`, adds the model to `export/models.config`, and, with
`--tflite`, writes `.tflite` files for the model's on-device endpoints and
their parity report.
"""

import argparse
import sys
from pathlib import Path


def build_parser(quantizations):
    """The argument parser; `quantizations` are the valid `--tflite` names."""
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.export",
        description="Export a trained run as a SavedModel in TF Serving's layout "
        "(<out>/<name>/<version>/), optionally with TFLite files.",
        epilog=f"quantizations: {', '.join(quantizations)} (dynamic = dynamic_range). Serve every "
        f"exported model with tensorflow_model_server "
        f"--model_config_file=$PWD/export/models.config (see docs/serving.md).",
    )
    parser.add_argument(
        "--run",
        required=True,
        metavar="RUN_DIR",
        help="run directory written by `python -m tfgen.fit`",
    )
    parser.add_argument(
        "--out",
        default="export/models",
        help="base directory of exported models (default: export/models)",
    )
    parser.add_argument("--name", help="model name (default: the run directory's name)")
    parser.add_argument(
        "--checkpoint",
        default="latest",
        choices=("latest", "best"),
        help="export the last epoch's weights or the best_metric's best epoch",
    )
    parser.add_argument(
        "--tflite",
        nargs="?",
        const="float32",
        type=quantization_list(quantizations),
        metavar="LIST",
        help=f"also convert the model's on-device endpoints to TFLite, with these "
        f"comma-separated quantizations from: {', '.join(quantizations)}, "
        f"dynamic (default: float32)",
    )
    parser.add_argument(
        "--tflite-batch-size",
        type=positive_int,
        metavar="N",
        help="fix the .tflite files' batch size to N (files named ...batchN.tflite; implies "
        "--tflite); "
        "on CPU, LiteRT runs the GANs' and the VAE decoder's transposed "
        "convolutions much faster with a fixed batch (default: any batch)",
    )
    parser.add_argument(
        "--keep",
        type=positive_int,
        metavar="N",
        help="delete all but the N newest versions after exporting (default: keep all)",
    )
    config = parser.add_mutually_exclusive_group()
    config.add_argument(
        "--config",
        metavar="PATH",
        help="TF Serving model config file to add the model to "
        "(default: models.config beside --out, i.e. export/models.config)",
    )
    config.add_argument("--no-config", action="store_true", help="do not write a model config file")
    parser.add_argument(
        "--serving-base-path",
        metavar="PREFIX",
        help="directory of the models as the server sees it, written into the config "
        "as PREFIX/<name> (default: the absolute path of --out; e.g. /models "
        "inside a container)",
    )
    return parser


def positive_int(text):
    """An argparse type: an int of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def quantization_list(valid):
    """An argparse type: `"float32,float16"` -> `["float32", "float16"]`, checked against `valid`."""

    from tfgen.serving import QUANTIZATION_ALIASES

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"name at least one of: {', '.join(valid)}")
        names = [QUANTIZATION_ALIASES.get(name, name) for name in names]
        unknown = [name for name in names if name not in valid]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown quantization {', '.join(map(repr, unknown))}; valid: {', '.join(valid)} "
                f"(dynamic = dynamic_range)"
            )
        return list(dict.fromkeys(names))

    return parse


def print_report(report, run_dir):
    """Prints the version directory, the signatures, the `.tflite` files and a serve command."""
    from tfgen.serving import SERVING_DEFAULT, format_spec

    print(
        f"exported:   {report.version_dir}  (version {report.version}, weights of epoch "
        f"{report.epoch} of {run_dir})"
    )
    print("signatures:")
    for name, signature in report.signatures.items():
        inputs = ", ".join(f"{k} {format_spec(s)}" for k, s in sorted(signature["inputs"].items()))
        outputs = ", ".join(
            f"{k} {format_spec(s)}" for k, s in sorted(signature["outputs"].items())
        )
        alias = f" (= {report.serving_default})" if name == SERVING_DEFAULT else ""
        print(f"  {name}{alias}: {inputs} -> {outputs}")
    if report.tflite:
        print("tflite:")
        for path, parity in report.tflite.items():
            print(
                f"  {path}  {path.stat().st_size / 1024:.1f} KiB  difference vs SavedModel: "
                f"max abs {parity.max_abs:.3g}, mean abs {parity.mean_abs:.3g}"
            )
        print(f"  (parity report: {report.version_dir / 'tflite' / 'parity.json'})")
    print(f"documented: {report.version_dir / 'signatures.md'}")
    if report.removed_versions:
        print(f"removed:    versions {', '.join(map(str, report.removed_versions))} (--keep)")
    if report.model_config is not None:
        print(
            f"serve:      tensorflow_model_server --port=8500 --rest_api_port=8501 "
            f"--model_config_file={report.model_config.resolve()}"
        )
    else:
        print(
            f"serve:      tensorflow_model_server --port=8500 --rest_api_port=8501 "
            f"--model_name={report.model_dir.name} --model_base_path={report.model_dir.resolve()}"
        )


def main(argv=None):
    """Runs the command line; returns the exit code (2 for bad input)."""
    from tfgen import serving

    args = build_parser(list(serving.QUANTIZATIONS)).parse_args(argv)
    tflite = args.tflite is not None or args.tflite_batch_size is not None
    run_dir = Path(args.run)
    config = None if args.no_config else (args.config or "default")
    try:
        report = serving.export_run(
            run_dir,
            out=args.out,
            name=args.name,
            tflite=tflite,
            quantizations=args.tflite or ("float32",),
            checkpoint=args.checkpoint,
            keep=args.keep,
            tflite_batch_size=args.tflite_batch_size,
            model_config=config,
            serving_base_path=args.serving_base_path,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (serving.TFLiteParityError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if tflite and not report.tflite:
        print("note: this model declares no TFLite endpoints; no .tflite files were written.")
    print_report(report, run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
