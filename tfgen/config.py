"""Typed run configuration: dataclasses, safe YAML loading, `--set` overrides.

Every model family declares a dataclass that extends `TrainConfig` with its own
keys (see `tfgen.models.VAEConfig`). A configuration is resolved in three
layers: the dataclass defaults, then a YAML file, then `key=value` overrides.
Every value is checked against the field's type and, where a field lists
choices, against those; an unknown key names the valid ones.

A family's model hyper-parameters are fields of its config declared with
`param(...)`: that one field (and its docstring entry) is the run key, the
model's keyword argument and its default, and the config's `__post_init__`
validates it for both (`take_params`). `params_of(config)` gives a resolved
config's hyper-parameters, which `GenerativeModel.from_run_config` passes on.
"""

import dataclasses
import types
import typing

import yaml

SAMPLE_QUALITY_GROUPS = ("fid", "kid", "is", "pr", "dc")
"""Metric groups `eval_metrics` may name (`tfgen.evaluation` measures them)."""


class ConfigError(ValueError):
    """A configuration key or value that cannot be used; the message says why."""


def choices(*values, doc=""):
    """Field metadata that restricts a string field to `values`."""
    return {"choices": tuple(values), "doc": doc}


def param(default, *, choices=()):
    """A model hyper-parameter: a run key that is also the family model's keyword argument.

    Declared once, as a field of the family's config class with its entry in the
    class's docstring: the model takes it with this default (`take_params`), checks it
    with the config's `__post_init__` and reports it in `get_config()`;
    `from_run_config` passes it from a resolved config (`params_of`). A subclass
    overrides the default with a plain field (`dropout: float = 0.0`); the metadata
    (hyper-parameter, `choices`) is inherited.

    Args:
        default: the one default of the key.
        choices: the valid values of a string key, if it has a fixed set.
    """
    metadata = {"param": True}
    if choices:
        metadata["choices"] = tuple(choices)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class TrainConfig:
    """Keys shared by every model family.

    Args:
        model: registry name of the model family (`tfgen.models.names()`).
        dataset: dataset name (`tfgen.data.names()`), e.g. `"binarized_mnist"`,
            `"tfds:cifar10"`, `"folder:/path"`, `"npz:/path.npz"`.
        batch_size: global batch size, split evenly over the replicas.
        epochs: number of epochs to train for in total (a resumed run continues
            up to this number).
        steps_per_epoch: optional cap on the batches per epoch; `None` uses the
            whole training split once per epoch.
        validation_steps: optional cap on the test batches evaluated per epoch.
        learning_rate: Adam learning rate (the peak, with a schedule).
        lr_schedule: `"constant"` or `"cosine"` (decay to 0 over all epochs; on
            resume with more `epochs` the rest of the schedule is stretched).
        seed: seeds weights, data order, binarization and every noise draw.
        strategy: `"default"` (one device), `"mirrored"` (all local GPUs, or
            `devices` logical CPU devices on a CPU-only machine) or
            `"multi_worker"` (the processes that `TF_CONFIG` lists, see
            `tfgen.launch`; `"default"` means this when `TF_CONFIG` is set).
        devices: number of logical CPU devices for `strategy: mirrored` on a
            machine without GPUs; `None` means 2.
        jit_compile: `"auto"`, `"true"` or `"false"`: whether `train_step` is
            compiled with XLA. `auto` picks what is faster and works on the device.
        checkpoints_to_keep: how many epoch checkpoints stay in the run directory.
        backup_every_steps: also save the training state every this many steps
            (in `RUN/checkpoints/backup`), so a killed run resumes mid-epoch
            (see `tfgen.runs.checkpoints`); 0 turns step backups off (Ctrl-C and
            SIGTERM still save the current step). Default 100: a kill loses at
            most 100 steps (about 5 s of the default VAE, 100 s of the default
            DCGAN on a 2-core CPU) while a backup costs under 1 % of the time
            (measured: 30 ms for the VAE, 0.1 s for the DCGAN).
        sample_grid_size: images per side of the sample grids written each epoch.
        eval_every_epochs: measure sample quality (`eval_metrics`) every this many
            epochs and after the last; 0 turns it off.
        eval_metrics: comma-separated sample-quality groups (`fid`, `kid`, `is`,
            `pr`, `dc`) measured during training.
        eval_num_samples: generated images per measurement.
        eval_extractor: feature extractor of those metrics, `classifier` or `inception`.
        best_metric: keep `RUN/checkpoints/best` at the epoch with the best value of
            this logged metric (e.g. `fid`, or `val_loss`); `None` keeps no best.
    """

    model: str = "vae"
    dataset: str = "binarized_mnist"
    batch_size: int = 128
    epochs: int = 30
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    learning_rate: float = 1e-3
    lr_schedule: str = dataclasses.field(default="cosine", metadata=choices("constant", "cosine"))
    seed: int = 0
    strategy: str = dataclasses.field(
        default="default", metadata=choices("default", "mirrored", "multi_worker")
    )
    devices: int | None = None
    jit_compile: str = dataclasses.field(default="auto", metadata=choices("auto", "true", "false"))
    checkpoints_to_keep: int = 3
    backup_every_steps: int = 100
    sample_grid_size: int = 8
    eval_every_epochs: int = 0
    eval_metrics: str = "fid"
    eval_num_samples: int = 2000
    eval_extractor: str = dataclasses.field(
        default="classifier", metadata=choices("classifier", "inception")
    )
    best_metric: str | None = None

    def __post_init__(self):
        validate(self)


def field_names(config_class):
    return [f.name for f in dataclasses.fields(config_class)]


def field_metadata(config_class, name):
    """The metadata of field `name`, merged over the class's bases (the most derived wins).

    A subclass that only changes a default (`lr_schedule: str = "constant"`) keeps
    the base's `choices` and `param` marks.
    """
    merged = {}
    for base in reversed(config_class.__mro__):
        field = getattr(base, "__dataclass_fields__", {}).get(name)
        if field is not None:
            merged.update(field.metadata)
    return merged


def param_names(config_class):
    """The names of `config_class`'s model hyper-parameters (its `param` fields), in order."""
    return [
        f.name
        for f in dataclasses.fields(config_class)
        if field_metadata(config_class, f.name).get("param")
    ]


def params_of(config):
    """`{name: value}` of a config's model hyper-parameters (see `param`)."""
    return {name: getattr(config, name) for name in param_names(type(config))}


def take_params(config_class, kwargs):
    """Pops `config_class`'s hyper-parameters out of a model's `kwargs` and validates them.

    Missing ones take the field's default; the values are checked by building a
    `config_class`, so a bad value raises the `ConfigError` that `--set` gives.

    Returns:
        `{name: value}` of every hyper-parameter, in field order.
    """
    given = {name: kwargs.pop(name) for name in param_names(config_class) if name in kwargs}
    return params_of(config_class(**given))


def validate(config):
    """Checks every field's type, choices and basic ranges; raises `ConfigError`."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        value = _coerce(field.name, value, hints[field.name])
        allowed = field_metadata(type(config), field.name).get("choices")
        if allowed and value not in allowed:
            raise ConfigError(
                f"{field.name}: {value!r} is not one of the valid choices {', '.join(map(str, allowed))}"
            )
        object.__setattr__(config, field.name, value)
    for name in (
        "batch_size",
        "epochs",
        "steps_per_epoch",
        "validation_steps",
        "devices",
        "checkpoints_to_keep",
        "sample_grid_size",
        "eval_num_samples",
    ):
        value = getattr(config, name, None)
        if value is not None and value < 1:
            raise ConfigError(f"{name}: must be a positive integer, got {value}")
    if config.learning_rate <= 0:
        raise ConfigError(f"learning_rate: must be positive, got {config.learning_rate}")
    if config.backup_every_steps < 0:
        raise ConfigError(
            f"backup_every_steps: must be 0 (off) or positive, got {config.backup_every_steps}"
        )
    if config.eval_every_epochs < 0:
        raise ConfigError(
            f"eval_every_epochs: must be 0 (off) or positive, got {config.eval_every_epochs}"
        )
    groups = [g.strip() for g in config.eval_metrics.split(",") if g.strip()]
    wrong = [g for g in groups if g not in SAMPLE_QUALITY_GROUPS]
    if wrong or not groups:
        raise ConfigError(
            f"eval_metrics: {config.eval_metrics!r} must name groups from "
            f"{', '.join(SAMPLE_QUALITY_GROUPS)} (comma-separated)"
        )


def _coerce(name, value, annotation):
    """Returns `value` converted to `annotation`, or raises `ConfigError`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None and type(None) in args:
            return None
        (annotation,) = [a for a in args if a is not type(None)]
        return _coerce(name, value, annotation)
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads `2e-4` (no dot) as a string.
            try:
                return float(value)
            except ValueError:
                pass
    elif annotation is str:
        if isinstance(value, bool):  # YAML reads `true`/`false` as booleans.
            return str(value).lower()
        if isinstance(value, (str, int, float)):
            return str(value)
    elif origin is tuple:
        (item_type, _) = typing.get_args(annotation)
        if isinstance(value, (list, tuple)):
            return tuple(_coerce(name, v, item_type) for v in value)
    type_name = getattr(annotation, "__name__", str(annotation))
    raise ConfigError(f"{name}: expected {type_name}, got {value!r} ({type(value).__name__})")


def load_yaml(path):
    """Reads a YAML mapping with the safe loader (no Python tags)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return data


def parse_overrides(pairs):
    """Turns `["key=value", ...]` into a dict; values are parsed as YAML scalars."""
    overrides = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        overrides[key.strip()] = yaml.safe_load(text) if text.strip() else None
    return overrides


def resolve(config_class, values=None, overrides=None):
    """Builds a `config_class` from defaults, then `values`, then `overrides`.

    Args:
        config_class: a `TrainConfig` subclass.
        values: mapping read from a YAML file, or None.
        overrides: mapping from `--set` pairs, or None.

    Returns:
        A validated `config_class` instance.

    Raises:
        ConfigError: for an unknown key (the message lists the valid keys) or a
            value of the wrong type or outside the field's choices.
    """
    merged = {**(values or {}), **(overrides or {})}
    valid = field_names(config_class)
    unknown = sorted(set(merged) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(unknown)}; valid keys for "
            f"{config_class.__name__} are: {', '.join(valid)}"
        )
    return config_class(**merged)


def to_dict(config):
    return dataclasses.asdict(config)


def to_yaml(config):
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in to_dict(config).items()}
    return yaml.safe_dump(data, sort_keys=False)
