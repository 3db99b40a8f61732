"""Export a trained run: the one library call behind `python -m tfgen.export`."""

import dataclasses
import math
from pathlib import Path

import numpy as np

from tfgen.runs import load
from tfgen.serving.saved_model import describe_signatures, export_saved_model, remove_old_versions
from tfgen.serving.serving_config import read_model_config, update_model_config
from tfgen.serving.signatures_doc import SIGNATURES_FILE, check_predict_method, signatures_markdown
from tfgen.serving.tflite import (
    TFLITE_DIR,
    check_quantizations,
    tflite_parity,
    write_parity_report,
    write_tflite_files,
)
from tfgen.utils.files import write_atomically


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
        tflite: `{path: tfgen.serving.Parity}` per `.tflite` file: its max and
            mean abs difference from the SavedModel (also in `tflite/parity.json`).
        epoch: the epoch whose weights were exported.
        model_config: the model config file that was updated, or None.
        removed_versions: older versions deleted because of `keep`.
    """

    version_dir: Path
    model_dir: Path
    version: int
    serving_default: str
    signatures: dict
    tflite: dict
    epoch: int
    model_config: Path = None
    removed_versions: list = dataclasses.field(default_factory=list)


def check_finite_weights(model, source):
    """Refuses weights with NaN or infinite values, naming each such variable.

    Args:
        model: the model about to be exported.
        source: where its weights came from, for the message.

    Raises:
        ValueError: if any variable holds a non-finite value.
    """
    values = {v.path: np.asarray(v.numpy()) for v in model.variables}
    bad = [
        path
        for path, value in values.items()
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value))
    ]
    if bad:
        raise ValueError(
            f"the {source} has NaN or infinite weights in {len(bad)} variable(s) "
            f"({', '.join(bad[:5])}{', ...' if len(bad) > 5 else ''}); nothing was "
            f"exported. Export an earlier checkpoint (--checkpoint best) or retrain."
        )


def export_run(
    run_dir,
    out="export/models",
    name=None,
    tflite=False,
    quantizations=("float32",),
    parity_batch_size=8,
    checkpoint="latest",
    keep=None,
    model_config="default",
    serving_base_path=None,
    tflite_batch_size=None,
):
    """Exports a run's latest checkpoint as the next version under `<out>/<name>/`.

    The version directory holds the SavedModel and `signatures.md`, which
    documents every signature. With `tflite=True`, the endpoints in
    `model.tflite_endpoints` are converted with each quantization into
    `<version>/tflite/<endpoint>.<quantization>.tflite` and each file's outputs
    are compared with the SavedModel's on seeded random inputs (saved in
    `tflite/parity.json`). All of it happens before the version is published,
    so a version directory always holds a complete export. Then the model's
    entry in TF Serving's model config file is added or updated, and, with
    `keep`, older versions are deleted.

    Args:
        run_dir: a run directory written by `python -m tfgen.fit`.
        out: the base directory of exported models.
        name: the model name; default the run directory's basename.
        tflite: whether to convert the TFLite endpoints.
        quantizations: names from `tfgen.serving.QUANTIZATIONS` (a list, or a
            comma-separated string).
        parity_batch_size: batch size of the parity check's random inputs.
        checkpoint: `"latest"` or `"best"` weights (see `tfgen.runs.load`).
        keep: keep only this many newest versions (None keeps all).
        model_config: the TF Serving model config file to update; `"default"` is
            `models.config` beside `out` (`export/models.config`), None skips it.
        tflite_batch_size: None converts `.tflite` files that take any batch; an
            int fixes their batch (named `...batch<N>.tflite`), which makes
            LiteRT much faster for models with transposed convolutions (GANs,
            the VAE decoder; see `tfgen.serving.convert`).
        serving_base_path: the prefix of the entry's `base_path`, as the server
            sees it (e.g. `/models` in a container); default the absolute path of `out`.

    Returns:
        An `ExportReport`.

    Raises:
        FileNotFoundError: if `run_dir` is not a run directory or has no checkpoint.
        ValueError: for an unknown quantization, an invalid name, `keep` < 1, an
            unreadable model config file, or weights with NaN or infinite values
            (all checked before anything is written).
        TFLiteParityError: if a `.tflite` file produced NaN or infinite outputs.
    """
    quantizations = check_quantizations(quantizations)
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1 (the version being exported), got {keep}")
    run_dir = Path(run_dir)
    name = name or run_dir.resolve().name
    if model_config == "default":
        model_config = Path(out).parent / "models.config"
    if model_config is not None:
        read_model_config(model_config)  # A broken file fails before anything is written.
    model, _, _, epoch = load(run_dir, checkpoint)
    check_finite_weights(model, f"{checkpoint} checkpoint of {run_dir}")
    parity = {}

    def document_convert_and_check(tmp_dir):
        check_predict_method(tmp_dir)
        title = f"{name} (weights of epoch {epoch} of {run_dir.resolve().name})"
        write_atomically(
            tmp_dir / SIGNATURES_FILE, signatures_markdown(tmp_dir, title, model.serving_default)
        )
        if not tflite:
            return
        paths = write_tflite_files(
            tmp_dir, model.tflite_endpoints, quantizations, batch_size=tflite_batch_size
        )
        parities = tflite_parity(tmp_dir, paths, parity_batch_size)
        for path, result in parities.items():
            if not math.isfinite(result.max_abs):
                raise TFLiteParityError(
                    f"{path.name} gives non-finite outputs (max abs difference "
                    f"{result.max_abs}); nothing was exported"
                )
            parity[path.relative_to(tmp_dir)] = result
        write_parity_report(tmp_dir / TFLITE_DIR, parities, parity_batch_size, seed=0)

    version_dir = export_saved_model(model, out, name, before_publish=document_convert_and_check)
    model_dir = version_dir.parent
    if model_config is not None:
        base = str(serving_base_path or Path(out).resolve()).rstrip("/")
        update_model_config(model_config, name, f"{base}/{name}")
    return ExportReport(
        version_dir=version_dir,
        model_dir=model_dir,
        version=int(version_dir.name),
        serving_default=model.serving_default,
        signatures=describe_signatures(version_dir),
        tflite={version_dir / relative: p for relative, p in parity.items()},
        epoch=epoch,
        model_config=None if model_config is None else Path(model_config),
        removed_versions=remove_old_versions(model_dir, keep) if keep else [],
    )
