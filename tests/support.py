"""Helpers shared by the tests: tiny datasets, tiny run configs, serialization round trips.

`tests/` is on `sys.path` (pytest puts the rootdir conftest's directory there), so a test
anywhere under it writes `import support` or `from support import tiny_config`.
"""

from pathlib import Path

import keras
import numpy as np

from tfgen import config as config_lib
from tfgen import models

# Datasets ------------------------------------------------------------------------------


def write_npz(directory, train=64, test=16, size=8, seed=0, num_classes=None, name=None):
    """An `npz:` dataset of random `size`x`size` grayscale images, optionally labelled.

    Args:
        directory: where the file goes.
        train, test: examples per split.
        size: image side.
        seed: seeds the pixels (and labels).
        num_classes: if given, `y_train`/`y_test` hold labels uniform in `[0, num_classes)`.
        name: file name; default `tiny.npz` (`labelled.npz` with labels).

    Returns:
        The `Path` of the file (the dataset is `f"npz:{path}"`).
    """
    rng = np.random.default_rng(seed)
    path = Path(directory) / (name or ("labelled.npz" if num_classes else "tiny.npz"))
    # One draw order per kind, so a seed gives the same arrays as it always has.
    arrays = {"x_train": rng.integers(0, 256, (train, size, size), dtype=np.uint8)}
    if num_classes:
        arrays["y_train"] = rng.integers(0, num_classes, train)
        arrays["y_test"] = rng.integers(0, num_classes, test)
    arrays["x_test"] = rng.integers(0, 256, (test, size, size), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


WORDS = (
    "to be or not that is the question whether tis nobler in mind suffer slings arrows "
    "outrageous fortune take arms against sea troubles"
).split()


def write_corpus(directory, words=6000, seed=0):
    """A `text:` dataset: speeches of `NAME:` lines followed by random words.

    Returns:
        The `Path` of `directory/corpus.txt`.
    """
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(words // 12):
        lines.append(f"{rng.choice(['ROMEO', 'JULIET', 'HAMLET'])}:")
        lines.append(" ".join(rng.choice(WORDS, 12)) + ".")
    path = Path(directory) / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# Run configs -------------------------------------------------------------------------

_IMAGE_RUN = dict(batch_size=8, epochs=2, steps_per_epoch=2, sample_grid_size=2, seed=3)
_GAN_RUN = dict(_IMAGE_RUN, validation_steps=1, latent_dim=4, filters=2)
_TEXT_RUN = dict(
    batch_size=4,
    epochs=2,
    steps_per_epoch=3,
    validation_steps=2,
    context_length=16,
    warmup_steps=2,
    sample_tokens=20,
    seed=5,
    sampler="top_k",
)

TINY_RUNS = {
    "vae": dict(_IMAGE_RUN, latent_dim=2, filters=2, lr_schedule="constant"),
    "dcgan": _GAN_RUN,
    "wgan_gp": _GAN_RUN,
    "cgan": _GAN_RUN,
    "gpt": dict(_TEXT_RUN, n_layer=1, n_head=2, n_embd=8),
    "char_lstm": dict(_TEXT_RUN, embedding_dim=4, units=8, num_layers=1),
}
"""Keys of a tiny, seconds-long `training.train` run of each family, on `write_npz` images
(8x8) or a `write_corpus`-like text file."""


def tiny_config(model, data, **overrides):
    """The resolved config of a tiny run of `model` on the file `data`.

    Args:
        model: a family name of `TINY_RUNS`.
        data: an `.npz` file (`npz:` dataset) or a text file (`text:` dataset).
        **overrides: keys that replace the tiny values.
    """
    kind = "npz" if Path(data).suffix == ".npz" else "text"
    values = {"model": model, "dataset": f"{kind}:{data}", **TINY_RUNS[model], **overrides}
    return config_lib.resolve(models.get(model).config_class, values)


def set_args(values):
    """`["--set", "key=value", ...]` for each key whose value is not None."""
    args = []
    for key, value in values.items():
        if value is not None:
            args += ["--set", f"{key}={value}"]
    return args


# Serialization ---------------------------------------------------------------------


def assert_config_round_trip(test, obj):
    """Checks that `type(obj).from_config(obj.get_config())` has the same config.

    Works for Keras layers and models and anything else with the `get_config` /
    `from_config` contract (samplers). Returns the clone.
    """
    config = obj.get_config()
    clone = type(obj).from_config(config)
    test.assertEqual(clone.get_config(), config)
    return clone


def save_and_load(model, directory, name="model.keras"):
    """`model` saved as a `.keras` file in `directory` and loaded back with Keras."""
    path = Path(directory) / name
    model.save(path)
    return keras.models.load_model(path)


# Command lines -------------------------------------------------------------------------


def run_command(module, *args):
    """Runs `python -m <module> ARGS...` in this process; returns a `CompletedProcess`.

    `module` is a command module such as `"tfgen.sample"`; its `main(argv)` runs with
    stdout and stderr captured, so a test checks the exit status and the output
    without starting (and importing TensorFlow in) another Python. Tests of what only
    a separate process shows (signals, a fresh process without tfgen) use
    `subprocess` instead.
    """
    import contextlib
    import importlib
    import io
    import subprocess

    argv = [str(arg) for arg in args]
    main = importlib.import_module(module).main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit:  # argparse's errors and --help.
            status = exit.code if isinstance(exit.code, int) else 2
    return subprocess.CompletedProcess([module, *argv], status or 0, out.getvalue(), err.getvalue())
