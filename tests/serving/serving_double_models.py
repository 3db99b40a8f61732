"""Model config and served versions of the TF Serving TEST DOUBLE (see `serving_double.py`).

Parses and validates `models.config` as TF Serving's `model_servers/server_core.cc`
does (`ValidateModelConfigList`, `GetPlatform`, version labels at start-up),
applies the `ServableVersionPolicy`, loads the served versions and resolves a
`ModelSpec` to one of them (`ModelRepository`, versions newest first as in
`core/servable_state_monitor.h`; `get_model_status_impl.cc`). Also holds the
`ServingError` every part of the double raises. Do not import tfgen here.
"""

import dataclasses
import os
from collections.abc import Mapping

import grpc
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tensorflow_serving.config import model_server_config_pb2

# `DataTypeString()` names that differ from `tf.DType.name`.
_DATA_TYPE_STRINGS = {tf.float32: "float", tf.float64: "double", tf.float16: "half"}


class ServingError(Exception):
    """A failed request, as a gRPC canonical status code and TF Serving's message.

    Args:
        code: a `grpc.StatusCode`.
        message: the error message TF Serving sends for this failure.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_argument(message):
    """Returns a `ServingError` with code INVALID_ARGUMENT."""
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def data_type_string(dtype_enum):
    """Returns TensorFlow's `DataTypeString()` for a `DataType` enum, e.g. "float"."""
    dtype = tf.as_dtype(dtype_enum)
    return _DATA_TYPE_STRINGS.get(dtype, dtype.name)


@dataclasses.dataclass
class ModelSpec:
    """Which servable a request asks for (TF Serving's `ModelSpec`, minus the signature).

    Args:
        name: the model name.
        version: a version number, or None for the latest served version.
        label: a version label from `version_labels`, or None.
    """

    name: str
    version: int | None = None
    label: str | None = None


@dataclasses.dataclass
class ServedVersion:
    """One loaded version of a model.

    Args:
        name: the model name.
        version: the version number (its directory name).
        loaded: what `tf.saved_model.load` returned.
        signature_defs: the SavedModel's `SignatureDef`s by key, from `saved_model.pb`.
    """

    name: str
    version: int
    loaded: object
    signature_defs: Mapping[str, meta_graph_pb2.SignatureDef]


@dataclasses.dataclass
class ServedModel:
    """All served versions of one model plus its version labels."""

    name: str
    versions: dict[int, ServedVersion]
    labels: dict[str, int]


def read_model_server_config(path):
    """Parses a text-format `ModelServerConfig` file, as `--model_config_file` does.

    Args:
        path: path of the `models.config` file.

    Returns:
        A `model_server_config_pb2.ModelServerConfig`.

    Raises:
        ValueError: the file is not a valid text-format `ModelServerConfig`.
    """
    with open(path, encoding="utf-8") as config_file:
        text = config_file.read()
    try:
        return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as error:
        raise ValueError(f"Invalid protobuf file: '{path}' ({error})") from error


def config_for_models(models):
    """Builds a `ModelServerConfig` like `--model_name/--model_base_path` does.

    Args:
        models: dict of model name to absolute base path; each model serves its
            latest version.

    Returns:
        A `model_server_config_pb2.ModelServerConfig`.
    """
    config = model_server_config_pb2.ModelServerConfig()
    for name, base_path in models.items():
        config.model_config_list.config.add(
            name=name, base_path=os.fspath(base_path), model_platform="tensorflow"
        )
    return config


def validate_model_config_list(config_list):
    """Checks the rules of `ValidateModelConfigList` and `GetPlatform` in server_core.cc.

    Raises:
        ValueError: a duplicate name, a relative `base_path` (TF Serving rejects
            relative paths unless given a root dir, which the binary never is),
            or an unsupported platform.
    """
    seen_names = set()
    for model in config_list.config:
        if model.name in seen_names:
            raise ValueError(f"Illegal to list model {model.name} multiple times in config list")
        seen_names.add(model.name)
        if "://" not in model.base_path and not os.path.isabs(model.base_path):
            raise ValueError(
                f"Expected model {model.name} to have an absolute path or URI; "
                f"got base_path()={model.base_path}"
            )
        platform = model_platform(model)
        if platform != "tensorflow":
            raise ValueError(f"Model {model.name} requests unsupported platform {platform}")


def model_platform(model):
    """`GetPlatform` of server_core.cc: `model_platform`, or the deprecated `model_type`.

    Raises:
        ValueError: both or neither are set, or an unknown `model_type`.
    """
    if model.model_type:  # deprecated ModelType enum; TENSORFLOW == 1
        if model.model_platform:
            raise ValueError(
                "Illegal setting both ModelServerConfig::model_type (deprecated) and "
                "ModelServerConfig::model_platform."
            )
        if model.model_type != 1:
            raise ValueError(
                f"ModelServerConfig::model_type choice {model.model_type} not supported."
            )
        return "tensorflow"
    if not model.model_platform:
        raise ValueError(
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
            "ModelServerConfig::model_platform."
        )
    return model.model_platform


def list_version_numbers(base_path):
    """Returns the version numbers under `base_path`: its integer-named subdirectories.

    Hidden or other names are ignored, as in file_system_storage_path_source.cc.
    """
    versions = []
    for entry in os.listdir(base_path):
        if entry.isdigit() and os.path.isdir(os.path.join(base_path, entry)):
            versions.append(int(entry))
    return sorted(versions)


def select_served_versions(available, policy):
    """Applies a `ServableVersionPolicy` (`latest` with 1 version by default, `all`, `specific`).

    Args:
        available: sorted version numbers found on disk.
        policy: a `ServableVersionPolicy` proto.

    Returns:
        The sorted version numbers to serve.
    """
    choice = policy.WhichOneof("policy_choice")
    if choice == "all":
        return list(available)
    if choice == "specific":
        return [version for version in available if version in set(policy.specific.versions)]
    num_versions = policy.latest.num_versions if choice == "latest" else 0
    return list(available[-max(num_versions, 1) :]) if available else []


def read_signature_defs(version_dir):
    """Reads the `SignatureDef`s from `saved_model.pb`, exactly as TF Serving serves them."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(version_dir, "saved_model.pb"), "rb") as saved_model_file:
        saved_model.ParseFromString(saved_model_file.read())
    return dict(saved_model.meta_graphs[0].signature_def)


def load_model(model_config):
    """Loads every version of one model that its version policy serves.

    Args:
        model_config: a `ModelConfig` proto with an absolute `base_path`.

    Returns:
        A `ServedModel`.

    Raises:
        ValueError: no version to serve (TF Serving logs "No versions of
            servable ... found under base path" and never becomes ready).
    """
    base_path = model_config.base_path
    available = list_version_numbers(base_path) if os.path.isdir(base_path) else []
    served = select_served_versions(available, model_config.model_version_policy)
    if not served:
        raise ValueError(
            f"No versions of servable {model_config.name} found under base path {base_path}"
        )
    versions = {}
    for version in served:
        version_dir = os.path.join(base_path, str(version))
        versions[version] = ServedVersion(
            name=model_config.name,
            version=version,
            loaded=tf.saved_model.load(version_dir, tags=["serve"]),
            signature_defs=read_signature_defs(version_dir),
        )
    return ServedModel(model_config.name, versions, dict(model_config.version_labels))


def refuse_version_labels(config_list):
    """`UpdateModelVersionLabelMap` at start-up without the "unavailable models" flag.

    Raises:
        ValueError: the label of the lowest version (a map has no order; this keeps
            the message deterministic), with TF Serving's FAILED_PRECONDITION message.
    """
    for model in config_list.config:
        for version in sorted(model.version_labels.values()):
            raise ValueError(
                f"Request to assign label to version {version} of model {model.name}, "
                "which is not currently available for inference"
            )


class ModelRepository:
    """The models a double serves, answering in TF Serving's terms.

    Args:
        config: a `ModelServerConfig` proto with a `model_config_list`.
        allow_version_labels_for_unavailable_models: as the server flag. TF
            Serving assigns labels before loading, so at start-up a label is
            only accepted with this flag (serving_config.md); False refuses
            any label, as the real server started without the flag does.

    Raises:
        ValueError: the config breaks one of TF Serving's rules, or a model has
            no version to serve.
    """

    def __init__(self, config, allow_version_labels_for_unavailable_models=True):
        validate_model_config_list(config.model_config_list)
        if not allow_version_labels_for_unavailable_models:
            refuse_version_labels(config.model_config_list)
        self.models = {}
        for model_config in config.model_config_list.config:
            self.models[model_config.name] = load_model(model_config)

    def version_numbers(self, name):
        """Returns the served version numbers of `name`, newest first (empty if unknown)."""
        model = self.models.get(name)
        return sorted(model.versions, reverse=True) if model else []

    def resolve(self, spec):
        """Finds the servable a `ModelSpec` asks for (`ServerCore::GetServableHandle`).

        Raises:
            ServingError: INVALID_ARGUMENT for no name or an unknown label,
                NOT_FOUND when no such version is served.
        """
        if not spec.name:
            raise invalid_argument("ModelSpec has no name specified.")
        model = self.models.get(spec.name)
        version = spec.version
        if spec.label is not None:
            if model is None or spec.label not in model.labels:
                raise invalid_argument(f"Unrecognized servable version label: {spec.label}")
            version = model.labels[spec.label]
        if version is None:
            if model is None:
                raise ServingError(
                    grpc.StatusCode.NOT_FOUND,
                    f"Servable not found for request: Latest({spec.name})",
                )
            return model.versions[max(model.versions)]
        if model is None or version not in model.versions:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND,
                f"Servable not found for request: Specific({spec.name}, {version})",
            )
        return model.versions[version]

    def model_status(self, name, version=None):
        """Returns `(version, "AVAILABLE")` pairs as `GetModelStatusImpl` lists them.

        A version label is ignored here, as in get_model_status_impl.cc.

        Raises:
            ServingError: NOT_FOUND for an unknown model or version.
        """
        served = self.version_numbers(name)
        if version is not None:
            if version not in served:
                raise ServingError(
                    grpc.StatusCode.NOT_FOUND, f"Could not find version {version} of model {name}"
                )
            return [(version, "AVAILABLE")]
        if not served:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {name}"
            )
        return [(served_version, "AVAILABLE") for served_version in served]
