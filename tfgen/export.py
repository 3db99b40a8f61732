"""Export a run for serving: `python -m tfgen.export --run RUN_DIR [--tflite]`.

Parses the command line and calls `tfgen.serving.export_run`, which writes the
next version of `export/models/<name>/` (TF Serving's layout) and, with
`--tflite`, `.tflite` files for the model's on-device endpoints.
"""

import argparse
import sys
from pathlib import Path


def build_parser(quantizations):
    """The argument parser; `quantizations` are the valid `--quantize` names."""
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.export",
        description="Export a trained run as a SavedModel in TF Serving's layout "
                    "(<out>/<name>/<version>/), optionally with TFLite files.",
        epilog=f"quantizations: {', '.join(quantizations)}. Serve the export with "
               f"tensorflow_model_server --model_base_path=$PWD/<out>/<name> (see export/README.md).",
    )
    parser.add_argument("--run", required=True, metavar="RUN_DIR",
                        help="run directory written by `python -m tfgen.fit`")
    parser.add_argument("--out", default="export/models",
                        help="base directory of exported models (default: export/models)")
    parser.add_argument("--name", help="model name (default: the run directory's name)")
    parser.add_argument("--checkpoint", default="latest", choices=("latest", "best"),
                        help="export the last epoch's weights or the best_metric's best epoch")
    parser.add_argument("--tflite", action="store_true",
                        help="also convert the model's on-device endpoints to TFLite")
    parser.add_argument("--quantize", type=quantization_list(quantizations), metavar="LIST",
                        help=f"comma-separated TFLite quantizations, from: {', '.join(quantizations)} "
                             f"(default: float32; implies --tflite)")
    return parser


def quantization_list(valid):
    """An argparse type: `"float32,float16"` -> `["float32", "float16"]`, checked against `valid`."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"name at least one of: {', '.join(valid)}")
        unknown = [name for name in names if name not in valid]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown quantization {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
        return list(dict.fromkeys(names))

    return parse


def print_report(report, run_dir):
    """Prints the version directory, the signatures, the `.tflite` files and a serve command."""
    from tfgen.serving import SERVING_DEFAULT, format_spec

    print(f"exported:   {report.version_dir}  (version {report.version}, weights of epoch "
          f"{report.epoch} of {run_dir})")
    print("signatures:")
    for name, signature in report.signatures.items():
        inputs = ", ".join(f"{k} {format_spec(s)}" for k, s in sorted(signature["inputs"].items()))
        outputs = ", ".join(f"{k} {format_spec(s)}" for k, s in sorted(signature["outputs"].items()))
        alias = f" (= {report.serving_default})" if name == SERVING_DEFAULT else ""
        print(f"  {name}{alias}: {inputs} -> {outputs}")
    if report.tflite:
        print("tflite:")
        for path, difference in report.tflite.items():
            print(f"  {path}  {path.stat().st_size / 1024:.1f} KiB  "
                  f"max abs difference vs SavedModel: {difference:.3g}")
    print(f"serve:      tensorflow_model_server --rest_api_port=8501 "
          f"--model_name={report.model_dir.name} --model_base_path={report.model_dir.resolve()}")


def main(argv=None):
    """Runs the command line; returns the exit code (2 for bad input)."""
    from tfgen import serving

    args = build_parser(list(serving.QUANTIZATIONS)).parse_args(argv)
    tflite = args.tflite or args.quantize is not None
    run_dir = Path(args.run)
    try:
        report = serving.export_run(run_dir, out=args.out, name=args.name, tflite=tflite,
                                    quantizations=args.quantize or ("float32",),
                                    checkpoint=args.checkpoint)
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
