"""Export a trained run: the one library call behind `python -m tfgen.export`."""

import dataclasses
import math
from pathlib import Path

from tfgen.serving.saved_model import describe_signatures, export_saved_model
from tfgen.serving.tflite import check_quantizations, tflite_parity, write_tflite_files


class TFLiteParityError(RuntimeError):
    """A converted `.tflite` file gave non-finite outputs; nothing was published."""


@dataclasses.dataclass
class ExportReport:
    """What `export_run` wrote.

    Attributes:
        version_dir: the new version directory, `<out>/<name>/<version>`.
        model_dir: `<out>/<name>`, TF Serving's `--model_base_path`.
        version: the version number.
        serving_default: the endpoint that is also `serving_default`.
        signatures: `{name: {"inputs": {...}, "outputs": {...}}}` of the
            SavedModel (see `describe_signatures`).
        tflite: `{path: max abs difference vs the SavedModel}` per `.tflite` file.
        epoch: the run's last finished epoch, whose weights were exported.
    """

    version_dir: Path
    model_dir: Path
    version: int
    serving_default: str
    signatures: dict
    tflite: dict
    epoch: int


def export_run(run_dir, out="export/models", name=None, tflite=False,
               quantizations=("float32",), parity_batch_size=8, checkpoint="latest"):
    """Exports a run's latest checkpoint as the next version under `<out>/<name>/`.

    With `tflite=True`, the endpoints in `model.tflite_endpoints` are converted
    with each quantization into `<version>/tflite/<endpoint>.<quantization>.tflite`
    and each file's outputs are compared with the SavedModel's on seeded random
    inputs; all of it happens before the version is published, so a version
    directory always holds a complete export.

    Args:
        run_dir: a run directory written by `python -m tfgen.fit`.
        out: the base directory of exported models.
        name: the model name; default the run directory's basename.
        tflite: whether to convert the TFLite endpoints.
        quantizations: names from `tfgen.serving.QUANTIZATIONS` (a list, or a
            comma-separated string).
        parity_batch_size: batch size of the parity check's random inputs.
        checkpoint: `"latest"` or `"best"` weights (see `tfgen.training.load_run`).

    Returns:
        An `ExportReport`.

    Raises:
        FileNotFoundError: if `run_dir` is not a run directory or has no checkpoint.
        ValueError: for an unknown quantization or an invalid name.
        TFLiteParityError: if a `.tflite` file produced NaN or infinite outputs.
    """
    from tfgen.training import load_run

    quantizations = check_quantizations(quantizations)
    run_dir = Path(run_dir)
    name = name or run_dir.resolve().name
    model, _, _, epoch = load_run(run_dir, checkpoint)
    parity = {}

    def convert_and_check(tmp_dir):
        if not tflite:
            return
        paths = write_tflite_files(tmp_dir, model.tflite_endpoints, quantizations)
        for path, difference in tflite_parity(tmp_dir, paths, parity_batch_size).items():
            if not math.isfinite(difference):
                raise TFLiteParityError(
                    f"{path.name} gives non-finite outputs (max abs difference {difference}); "
                    f"nothing was exported")
            parity[path.relative_to(tmp_dir)] = difference

    version_dir = export_saved_model(model, out, name, before_publish=convert_and_check)
    return ExportReport(
        version_dir=version_dir,
        model_dir=version_dir.parent,
        version=int(version_dir.name),
        serving_default=model.serving_default,
        signatures=describe_signatures(version_dir),
        tflite={version_dir / relative: d for relative, d in parity.items()},
        epoch=epoch,
    )
