"""Deployment: SavedModels in TF Serving's layout, TFLite files, and their parity checks.

`export_run(run_dir)` is what `python -m tfgen.export` calls: it exports a
trained run as `export/models/<name>/<version>/` (a SavedModel whose
signatures are the model family's `export_endpoints()` plus `serving_default`)
and optionally converts its `tflite_endpoints` into `<version>/tflite/`.
"""

from tfgen.serving.runs import ExportReport, TFLiteParityError, export_run
from tfgen.serving.saved_model import (
    SERVING_DEFAULT,
    describe_signatures,
    export_saved_model,
    format_spec,
    next_version,
    versions,
)
from tfgen.serving.tflite import (
    QUANTIZATIONS,
    TFLITE_DIR,
    check_quantization,
    check_quantizations,
    convert,
    random_inputs,
    tflite_filename,
    tflite_parity,
    write_tflite_files,
)

__all__ = [
    "ExportReport",
    "QUANTIZATIONS",
    "SERVING_DEFAULT",
    "TFLITE_DIR",
    "TFLiteParityError",
    "check_quantization",
    "check_quantizations",
    "convert",
    "describe_signatures",
    "export_run",
    "export_saved_model",
    "format_spec",
    "next_version",
    "random_inputs",
    "tflite_filename",
    "tflite_parity",
    "versions",
    "write_tflite_files",
]
