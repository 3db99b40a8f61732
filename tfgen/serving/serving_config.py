"""TF Serving's model config file (`--model_config_file`), kept up to date by exports.

`python -m tfgen.export` adds or updates one `config { ... }` entry per model
name in `export/models.config`, a text-format `ModelServerConfig` protocol
buffer (TF Serving's own message, from `tensorflow-serving-api`). Entries for
other models, and settings a user changed in an entry (version policy, labels),
are kept: only `base_path` and `model_platform` of the exported name are set.

The file is rewritten atomically under an exclusive lock, so two exports that
finish at the same moment both end up in it, and a server polling the file
(`--model_config_file_poll_wait_seconds`) never reads half of it.
"""

import contextlib
import fcntl
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfgen.utils.files import write_atomically

HEADER = """\
# TensorFlow Serving model config (a text-format ModelServerConfig), written by
# `python -m tfgen.export`, which adds or updates one entry per exported model.
# Serve every entry with:
#   tensorflow_model_server --port=8500 --rest_api_port=8501 \\
#       --model_config_file={path} --model_config_file_poll_wait_seconds=60
# base_path is the directory above the version directories 1/, 2/, ...; by default the
# absolute path on the exporting machine (`--serving-base-path` sets another prefix, e.g.
# /models inside a container). Edits to an entry's version policy or labels are kept;
# comments are not.
"""


def read_model_config(path):
    """Parses a model config file.

    Args:
        path: a text-format `ModelServerConfig` file; it need not exist.

    Returns:
        A `model_server_config_pb2.ModelServerConfig` (empty if `path` does not exist).

    Raises:
        ValueError: if the file is not a valid model config, naming the file and
            the parser's message (e.g. a misspelt field).
    """
    config = model_server_config_pb2.ModelServerConfig()
    path = Path(path)
    if not path.exists():
        return config
    try:
        text_format.Parse(path.read_text(encoding="utf-8"), config)
    except text_format.ParseError as error:
        raise ValueError(f"{path} is not a valid TF Serving model config: {error}") from None
    if config.WhichOneof("config") == "custom_model_config":
        raise ValueError(
            f"{path} has a custom_model_config; tfgen only updates a model_config_list"
        )
    return config


def update_model_config(path, name, base_path):
    """Adds the model `name` to a model config file, or points its entry at `base_path`.

    A new entry serves the latest version (`model_version_policy { latest {
    num_versions: 1 } }`, TF Serving's default), so each export rolls out as soon
    as the server sees it.

    Args:
        path: the config file, e.g. `export/models.config`; created if missing.
        name: the model name, as in request URLs (`/v1/models/<name>:predict`).
        base_path: the directory above the version directories, as the server sees it.

    Returns:
        The updated `ModelServerConfig`.

    Raises:
        ValueError: if an existing file cannot be parsed (it is left unchanged).
    """
    path = Path(path)
    with _locked(path):
        config = read_model_config(path)
        entries = config.model_config_list.config
        entry = next((e for e in entries if e.name == name), None)
        if entry is None:
            entry = entries.add(name=name)
            entry.model_version_policy.latest.num_versions = 1
        entry.base_path = str(base_path)
        entry.model_platform = "tensorflow"
        write_atomically(
            path, HEADER.format(path=path.resolve()) + text_format.MessageToString(config)
        )
    return config


@contextlib.contextmanager
def _locked(path):
    """Holds an exclusive lock on a hidden file beside `path` (read-modify-write of `path`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
