"""Deployment: SavedModels in TF Serving's layout, TFLite files, and their parity checks.

`export_run(run_dir)` is what `python -m tfgen.export` calls: it exports a
trained run as `export/models/<name>/<version>/` (a SavedModel whose
signatures are the model family's `export_endpoints()` plus `serving_default`)
and optionally converts its `tflite_endpoints` into `<version>/tflite/`.
"""

from tfgen.serving.run_export import (
    ExportReport,
    TFLiteParityError,
    check_finite_weights,
    export_run,
)
from tfgen.serving.saved_model import (
    SERVING_DEFAULT,
    describe_signatures,
    export_saved_model,
    format_spec,
    next_version,
    remove_abandoned_exports,
    remove_old_versions,
    versions,
)
from tfgen.serving.serving_config import read_model_config, update_model_config
from tfgen.serving.signatures_doc import (
    PREDICT_METHOD,
    SIGNATURES_FILE,
    check_predict_method,
    signature_defs,
    signatures_markdown,
)
from tfgen.serving.tflite import (
    PARITY_FILE,
    QUANTIZATION_ALIASES,
    QUANTIZATIONS,
    TFLITE_DIR,
    Parity,
    check_quantization,
    check_quantizations,
    convert,
    random_inputs,
    tflite_filename,
    tflite_parity,
    write_parity_report,
    write_tflite_files,
)

__all__ = [
    "ExportReport",
    "PARITY_FILE",
    "PREDICT_METHOD",
    "Parity",
    "QUANTIZATION_ALIASES",
    "SIGNATURES_FILE",
    "check_finite_weights",
    "check_predict_method",
    "read_model_config",
    "remove_abandoned_exports",
    "remove_old_versions",
    "signature_defs",
    "signatures_markdown",
    "update_model_config",
    "write_parity_report",
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

# TF Serving clients (REST and gRPC); `tfgen.serving.remote_sample` builds on them.
from tfgen.serving.client import (  # noqa: E402
    ServingError,
    ServingRequestError,
    SignatureSpec,
)
from tfgen.serving.connection import connect  # noqa: E402
from tfgen.serving.grpc_client import GrpcClient  # noqa: E402
from tfgen.serving.rest_client import RestClient  # noqa: E402

__all__ += [
    "GrpcClient",
    "RestClient",
    "ServingError",
    "ServingRequestError",
    "SignatureSpec",
    "connect",
]
