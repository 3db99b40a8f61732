"""SavedModel export in TF Serving's versioned layout: `<base_dir>/<name>/<version>/`.

A model family declares its serving signatures once (`export_endpoints()`,
`serving_default`); this module writes them, with the weights they read, as a
SavedModel that loads with plain `tf.saved_model.load` (or TF Serving) in a
process that never imports tfgen.

A version appears atomically: the SavedModel is written into a hidden
`.tmp-*` directory beside the versions (TF Serving only looks at children whose
names are integers) and renamed to the next version number when complete.
"""

import errno
import os
import re
import shutil
import uuid
from pathlib import Path

import tensorflow as tf

SERVING_DEFAULT = tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
TMP_PREFIX = ".tmp-"
_VERSION_NAME = re.compile(r"[0-9]+")


def signatures(model):
    """The SavedModel signatures of `model`: its endpoints plus `serving_default`.

    Args:
        model: a `tfgen.models.GenerativeModel`.

    Returns:
        `{signature_name: tf.function}`, the endpoints of `model.export_endpoints()`
        and `serving_default`, the same function as the endpoint that
        `model.serving_default` names.

    Raises:
        ValueError: if the model declares no endpoints, an endpoint lacks an
            input signature, or `serving_default` names no endpoint.
    """
    endpoints = dict(model.export_endpoints())
    if not endpoints:
        raise ValueError(f"{type(model).__name__} declares no export endpoints")
    for name, function in endpoints.items():
        if getattr(function, "input_signature", None) is None:
            raise ValueError(
                f"endpoint {name!r} of {type(model).__name__} must be a "
                f"tf.function with an input_signature"
            )
    default = model.serving_default
    if default not in endpoints:
        raise ValueError(
            f"{type(model).__name__}.serving_default is {default!r}, which is not "
            f"one of its endpoints: {', '.join(endpoints)}"
        )
    if SERVING_DEFAULT in endpoints:
        raise ValueError(
            f"an endpoint may not be called {SERVING_DEFAULT!r}; set "
            f"`serving_default` to the endpoint's name instead"
        )
    return {**endpoints, SERVING_DEFAULT: endpoints[default]}


def save(model, path):
    """Writes `model`'s signatures and the variables they read as a SavedModel.

    The exported object is a plain `tf.Module` that holds the endpoint functions,
    the model's underlying `tf.Variable`s and the resources of
    `model.export_resources()` (e.g. a tokenizer's lookup tables), each under
    its name. Holding the variables matters: the TFLite converter freezes only
    variables the SavedModel tracks; a resource a function reads but the
    SavedModel does not track fails the export.

    Args:
        model: a `tfgen.models.GenerativeModel`.
        path: directory to write into; it may exist but should be empty.

    Returns:
        `path` as a `Path`.

    Raises:
        ValueError: if an endpoint or resource name clashes with another or
            with a `tf.Module` attribute.
    """
    path = Path(path)
    functions = signatures(model)
    module = tf.Module(name="tfgen_export")
    for name, function in functions.items():
        if name == SERVING_DEFAULT:
            continue
        if hasattr(module, name):
            raise ValueError(
                f"endpoint name {name!r} clashes with a tf.Module attribute; rename it"
            )
        setattr(module, name, function)
    for name, resource in model.export_resources().items():
        if hasattr(module, name) or name == "model_variables":
            raise ValueError(
                f"export resource {name!r} of {type(model).__name__} clashes with an "
                f"endpoint or a tf.Module attribute; rename it"
            )
        setattr(module, name, resource)
    # Keras variables wrap tf.Variables; track the tf.Variables themselves.
    module.model_variables = _unique([getattr(v, "value", v) for v in model.variables])
    tf.saved_model.save(module, str(path), signatures=functions)
    return path


def _unique(variables):
    seen, result = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result


def versions(model_dir):
    """Version numbers present in `model_dir`, sorted (the names TF Serving would load).

    Args:
        model_dir: `<base_dir>/<name>`; it need not exist.

    Returns:
        A sorted list of ints: the names of the subdirectories that are integers.
        Hidden temporary directories and other names are ignored, as TF Serving
        ignores them.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(
        int(child.name)
        for child in model_dir.iterdir()
        if _VERSION_NAME.fullmatch(child.name) and child.is_dir()
    )


def next_version(model_dir):
    """1 + the largest version in `model_dir`, or 1 if it has none."""
    existing = versions(model_dir)
    return existing[-1] + 1 if existing else 1


def export_saved_model(model, base_dir, name, before_publish=None):
    """Exports `model` as the next version of `<base_dir>/<name>/`.

    The SavedModel is written into a hidden `.tmp-*` directory inside
    `<base_dir>/<name>/` and renamed to the version number only when complete,
    so TF Serving (which polls that directory) never sees a half-written
    version. If another export took the number meanwhile, the next free number
    is used. On any failure the temporary directory is removed.

    Args:
        model: a `tfgen.models.GenerativeModel`.
        base_dir: the directory that holds one subdirectory per model name,
            e.g. `export/models` (TF Serving's `--model_base_path` is
            `<base_dir>/<name>`).
        name: the model name, one path component, e.g. `"vae-binarized_mnist"`.
        before_publish: optional callable, called with the temporary directory
            after the SavedModel is written and before the rename; whatever it
            adds there (e.g. `.tflite` files) is published in the same rename.
            If it raises, nothing is published.

    Returns:
        The `Path` of the new version directory, `<base_dir>/<name>/<version>`.

    Raises:
        ValueError: if `name` is not a single path component, or the model's
            endpoint declarations are invalid (see `signatures`).
    """
    if not name or name in (".", "..") or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"model name {name!r} must be one path component, e.g. 'vae-mnist'")
    model_dir = Path(base_dir) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned_exports(model_dir)
    # mkdir (not mkdtemp) so the version gets the usual permissions, readable by a server.
    tmp = model_dir / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        save(model, tmp)
        if before_publish is not None:
            before_publish(tmp)
        return _publish(tmp, model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(tmp, model_dir):
    """Renames `tmp` to the next free version number; returns the version directory."""
    version = next_version(model_dir)
    while True:
        target = model_dir / str(version)
        # (An empty directory created by a foreign tool in the instant between this
        # check and the rename would be replaced; tfgen's exporters never create one.)
        if not target.exists():
            try:
                os.rename(tmp, target)
                return target
            except OSError as error:
                # A concurrent export renamed its directory to this number first.
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        version = max(version + 1, next_version(model_dir))


def remove_abandoned_exports(model_dir):
    """Removes `.tmp-<pid>-*` directories of exports whose process no longer runs.

    An export killed mid-write (SIGKILL, power loss) leaves its hidden temporary
    directory behind; TF Serving never looks at it, and the next export into the
    same model directory deletes it.

    Returns:
        The removed directories.
    """
    removed = []
    for child in Path(model_dir).iterdir():
        match = re.fullmatch(re.escape(TMP_PREFIX) + r"([0-9]+)-[0-9a-f]+", child.name)
        if match and child.is_dir() and not _process_exists(int(match.group(1))):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # Another user's process.
        return True
    return True


def remove_old_versions(model_dir, keep):
    """Deletes all but the `keep` highest versions of `model_dir`.

    Each version disappears in one rename (to a hidden `.tmp-*` name, then
    deleted), so a server polling the directory sees a version whole or not at
    all. With TF Serving's default policy (serve the latest version) the newest
    one is the one served, so removing older ones is safe.

    Args:
        model_dir: `<base_dir>/<name>`.
        keep: how many versions to keep, at least 1.

    Returns:
        The removed version numbers.

    Raises:
        ValueError: if `keep` is less than 1.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the version just exported), got {keep}")
    removed = versions(model_dir)[:-keep]
    for version in removed:
        doomed = Path(model_dir) / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(Path(model_dir) / str(version), doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    return removed


def describe_signatures(saved_model_dir):
    """Input and output specs of every signature of a SavedModel.

    Args:
        saved_model_dir: a SavedModel directory, e.g. a version directory.

    Returns:
        `{signature_name: {"inputs": {name: tf.TensorSpec}, "outputs": {name: tf.TensorSpec}}}`.
    """
    loaded = tf.saved_model.load(str(saved_model_dir))
    described = {}
    for name, function in loaded.signatures.items():
        _, inputs = function.structured_input_signature
        described[name] = {"inputs": dict(inputs), "outputs": dict(function.structured_outputs)}
    return described


def format_spec(spec):
    """`"float32 [?, 28, 28, 1]"` for a `tf.TensorSpec`."""
    if spec.shape.rank is None:
        return f"{spec.dtype.name} [unknown rank]"
    dims = ", ".join("?" if d is None else str(d) for d in spec.shape.as_list())
    return f"{spec.dtype.name} [{dims}]"
