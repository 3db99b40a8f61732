"""`Run`: the one owner of a run directory's layout.

```
RUN/
  config.yaml            the resolved config (a resumed run must match it)
  dataset_info.json      the dataset's `DatasetInfo`
  tokenizer.json         text runs: the tokenizer trained on the train split
  checkpoints/           epoch checkpoints `ckpt-<epoch>`, `backup/step-<step>`, `best/`
  logs/                  TensorBoard
  images/ text/          per-epoch sample grids or texts
  samples.png|txt        the final samples
  model.keras            the final Keras model
  metrics.json           what `tfgen.evaluate` measured
  .lock                  held while a fit writes the directory
```

Every module that reads or writes a run directory asks a `Run` for the path.
"""

import dataclasses
import json
import re
from pathlib import Path

from tfgen import config as config_lib
from tfgen import models
from tfgen.data import DatasetInfo
from tfgen.runs.checkpoints import BACKUP_DIR
from tfgen.runs.lock import LOCK_FILE
from tfgen.utils.files import write_atomically

# Keys that may change when a run is resumed; any other change needs a new run directory.
RESUMABLE_CHANGES = (
    "epochs",
    "validation_steps",
    "eval_every_epochs",
    "eval_metrics",
    "eval_num_samples",
    "eval_extractor",
    "best_metric",
    "backup_every_steps",
)


def default_run_dir(config, root="runs"):
    """`runs/<model>-<dataset>`, so the same command finds the same run again."""
    dataset = re.sub(r"[^A-Za-z0-9_.-]+", "-", config.dataset).strip("-")
    return Path(root) / f"{config.model}-{dataset}"


class Run:
    """A run directory and the names of the files in it.

    Args:
        path: the run directory (need not exist yet).
    """

    CONFIG = "config.yaml"
    DATASET_INFO = "dataset_info.json"
    TOKENIZER = "tokenizer.json"
    MODEL = "model.keras"
    METRICS = "metrics.json"
    LOCK = LOCK_FILE
    CHECKPOINTS = "checkpoints"
    BACKUP = BACKUP_DIR
    BEST = "best"
    BEST_RECORD = "best.json"

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"Run({str(self.path)!r})"

    def __fspath__(self):
        return str(self.path)

    config_file = property(lambda self: self.path / self.CONFIG)
    dataset_info_file = property(lambda self: self.path / self.DATASET_INFO)
    tokenizer_file = property(lambda self: self.path / self.TOKENIZER)
    model_file = property(lambda self: self.path / self.MODEL)
    metrics_file = property(lambda self: self.path / self.METRICS)
    lock_file = property(lambda self: self.path / self.LOCK)
    checkpoint_dir = property(lambda self: self.path / self.CHECKPOINTS)
    backup_dir = property(lambda self: self.checkpoint_dir / self.BACKUP)
    best_dir = property(lambda self: self.checkpoint_dir / self.BEST)
    best_record = property(lambda self: self.best_dir / self.BEST_RECORD)
    log_dir = property(lambda self: self.path / "logs")
    images_dir = property(lambda self: self.path / "images")
    text_dir = property(lambda self: self.path / "text")

    def samples_file(self, modality):
        """`samples.png` for image runs, `samples.txt` for text runs."""
        return self.path / ("samples.txt" if modality == "text" else "samples.png")

    @property
    def read_back_files(self):
        """Files (relative paths) a resumed run reads back besides its checkpoints."""
        return [Path(self.TOKENIZER), Path(self.CHECKPOINTS, self.BEST, self.BEST_RECORD)]

    def is_run(self):
        return self.config_file.exists()

    def check_is_run(self):
        """Raises `FileNotFoundError` unless this is a run directory."""
        if not self.is_run():
            raise FileNotFoundError(
                f"{self.path} is not a run directory (no {self.CONFIG}); "
                f"pass the directory that `python -m tfgen.fit` printed"
            )

    def write_config(self, config):
        """Keeps the resolved config in the run directory; refuses to mix configs.

        Raises:
            ConfigError: if the directory holds a config that differs in a key
                outside `RESUMABLE_CHANGES`.
        """
        if self.config_file.exists():
            saved = config_lib.load_yaml(self.config_file)
            current = config_lib.to_dict(config)
            # A key added to the family after the run started had its default then.
            defaults = config_lib.to_dict(type(config)())
            changed = sorted(
                k
                for k in set(saved) | set(current)
                if k not in RESUMABLE_CHANGES
                and _plain(saved.get(k, defaults.get(k))) != _plain(current.get(k))
            )
            if changed:
                raise config_lib.ConfigError(
                    f"run directory {self.path} was started with a different config "
                    f"(differs in: {', '.join(changed)}). Resume it with the same config "
                    f"(only {', '.join(RESUMABLE_CHANGES)} may change) or pass a new --run-dir."
                )
        write_atomically(self.config_file, config_lib.to_yaml(config))

    def read_config(self):
        """The resolved config of the run, as its model family's config class."""
        self.check_is_run()
        values = config_lib.load_yaml(self.config_file)
        model_class = models.get(values.get("model", ""))
        return config_lib.resolve(model_class.config_class, values)

    def write_dataset_info(self, info):
        write_atomically(self.dataset_info_file, json.dumps(dataclasses.asdict(info), indent=2))

    def read_dataset_info(self):
        fields = json.loads(self.dataset_info_file.read_text())
        return DatasetInfo(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})

    def checkpoint_path(self, checkpoint="latest"):
        """The newest epoch checkpoint (`"latest"`) or the `"best"` one.

        Raises:
            ValueError: for another `checkpoint`.
            FileNotFoundError: if there is no such checkpoint.
        """
        import tensorflow as tf

        if checkpoint not in ("latest", "best"):
            raise ValueError(f"checkpoint must be 'latest' or 'best', got {checkpoint!r}")
        directory = self.best_dir if checkpoint == "best" else self.checkpoint_dir
        path = tf.train.latest_checkpoint(str(directory))
        if path is None and checkpoint == "best":
            raise FileNotFoundError(
                f"{self.path} has no best checkpoint: train with best_metric set "
                f"(e.g. --set eval_every_epochs=1 best_metric=fid)"
            )
        if path is None:
            raise FileNotFoundError(f"{self.path} has no checkpoint yet: train at least one epoch")
        return path


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
