"""Text datasets: `shakespeare` and `text:<path>`, as datasets of whole documents.

A text split is a `tf.data.Dataset` of `{"text": tf.string}` dicts, one per
document (a work of Shakespeare, a file, or the part of a file that falls in the
split), in a fixed order. Tokenizing and cutting documents into training windows
is left to `tfgen.text`. The splits are `"train"`, `"validation"` and `"test"`;
no document, and no part of one, is in two of them.

How the splits are made:

- `shakespeare`: whole works are held out, chosen by `holdout_by_name` from the
  sorted work names and pinned in `tfgen.data.shakespeare.SPLIT_WORKS`:
  validation `alls_well_that_ends_well`, `cymbeline`, `loves_labours_lost`; test
  `much_ado_about_nothing`, `richard_ii`, `two_gentlemen_of_verona`; the other
  36 works are train.
- `text:<directory>` with 3 or more files (found recursively, hidden ones
  skipped): whole files are held out by `holdout_by_name` on their paths relative
  to the directory.
- `text:<file>`, or a directory with 1 or 2 files: each file is cut by character
  position, its first 90% in train, the next 5% in validation, the last 5% in test.

Files are read as UTF-8 (a leading byte-order mark is dropped) and `\\r\\n` line
ends become `\\n`; a file that is empty or not UTF-8 is an error naming it.
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

from tfgen.data import acquire, shakespeare
from tfgen.data.info import DatasetInfo

TEXT_SPLITS = ("train", "validation", "test")
HOLDOUT_FRACTION = 0.075
"""Share of documents held out for each of validation and test (at least one each)."""
POSITION_SPLIT = (0.90, 0.95)
"""Where a single file is cut: train is `[0, 90%)`, validation `[90%, 95%)`, test `[95%, 100%]`."""


def holdout_by_name(names: Sequence[str], fraction: float = HOLDOUT_FRACTION) -> dict:
    """Splits documents by name: stable, independent of order, whole documents only.

    The names are ranked by the MD5 of their UTF-8 bytes; the first
    `k = max(1, round(fraction * len(names)))` go to test, the next `k` to
    validation and the rest to train. A name keeps its split when others are
    added unless it is pushed out of the first `2k`.

    Args:
        names: three or more distinct document names.
        fraction: share of the documents held out for each of validation and test.

    Returns:
        `{"train": [...], "validation": [...], "test": [...]}`, each list sorted.

    Raises:
        ValueError: for fewer than three names or repeated names.
    """
    names = list(names)
    if len(names) < 3 or len(set(names)) != len(names):
        raise ValueError(f"holdout_by_name needs 3 or more distinct names, got {names!r}.")
    k = max(1, round(fraction * len(names)))
    ranked = sorted(names, key=lambda n: (hashlib.md5(n.encode("utf-8")).hexdigest(), n))
    return {
        "train": sorted(ranked[2 * k :]),
        "validation": sorted(ranked[k : 2 * k]),
        "test": sorted(ranked[:k]),
    }


def split_by_position(text: str, split: str) -> str:
    """Returns the part of `text` in `split`, cutting at `POSITION_SPLIT` (in characters)."""
    first, second = (int(len(text) * cut) for cut in POSITION_SPLIT)
    return {"train": text[:first], "validation": text[first:second], "test": text[second:]}[split]


def documents_dataset(texts: Sequence[str]) -> tf.data.Dataset:
    """Returns a dataset of `{"text": tf.string}` dicts, one per text, in order."""
    return tf.data.Dataset.from_tensor_slices({"text": tf.constant(list(texts), tf.string)})


def text_info(name: str, num_examples: dict, splits: dict) -> DatasetInfo:
    """The `DatasetInfo` of a text dataset: documents per split and where they come from."""
    return DatasetInfo(
        name=name,
        modality="text",
        shape=None,
        value_range=None,
        num_examples=num_examples,
        splits=splits,
    )


def read_text_file(path: Path) -> str:
    """Reads a UTF-8 file as one document.

    Raises:
        ValueError: if the file is empty or not UTF-8; the message names it.
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error}.") from None
    if not text:
        raise ValueError(f"{path} is empty; a text dataset needs text in every file.")
    return text.replace("\r\n", "\n")


# --- shakespeare ------------------------------------------------------------------------------


def shakespeare_splits() -> dict:
    """Returns the work names in each split of `shakespeare`, from the pinned lists."""
    held_out = {w for works in shakespeare.SPLIT_WORKS.values() for w in works}
    train = sorted(w for w in shakespeare.WORK_MD5S if w not in held_out)
    return {"train": train, **{s: list(w) for s, w in shakespeare.SPLIT_WORKS.items()}}


def load_shakespeare(name: str, split: str):
    """Loads a split of Shakespeare's works, fetched and cached by `acquire.fetch`.

    Returns:
        `(dataset, info)`: one `{"text"}` element per work, sorted by work name.
    """
    works = shakespeare.read_works(acquire.fetch("shakespeare"))
    splits = shakespeare_splits()
    info = text_info(
        name,
        num_examples={s: len(w) for s, w in splits.items()},
        splits={s: "works: " + ", ".join(w) for s, w in splits.items()},
    )
    return documents_dataset([works[w] for w in splits[split]]), info


# --- text:<path> ------------------------------------------------------------------------------


def _text_files(path: Path, name: str) -> dict:
    """Maps each file's name (relative to a directory argument) to its path."""
    if path.is_file():
        return {path.name: path}
    if not path.is_dir():
        raise ValueError(f"{name}: {path} is neither a file nor a directory.")
    files = {
        file.relative_to(path).as_posix(): file
        for file in sorted(path.rglob("*"))
        if file.is_file() and not any(p.startswith(".") for p in file.relative_to(path).parts)
    }
    if not files:
        raise ValueError(f"{name}: {path} has no files (hidden files are skipped).")
    return files


def load_text(argument: str, name: str, split: str):
    """Loads `text:<path>`: a UTF-8 file or a directory of them (see the module docstring).

    Args:
        argument: the path after `text:`; `~` is expanded.
        name: the full dataset name, for `DatasetInfo` and messages.
        split: `"train"`, `"validation"` or `"test"`.

    Returns:
        `(dataset, info)`: a dataset of `{"text": tf.string}` documents and its info.

    Raises:
        ValueError: if the path does not exist, holds no files, or a file read for
            this split is empty or not UTF-8.
    """
    files = _text_files(Path(argument).expanduser(), name)
    if len(files) >= 3:
        assignment = holdout_by_name(list(files))
        texts = [read_text_file(files[f]) for f in assignment[split]]
        held = {s: assignment[s] for s in ("validation", "test")}
        splits = {
            "train": f"the {len(assignment['train'])} files not in validation or test",
            **{s: "files: " + ", ".join(f) for s, f in held.items()},
        }
        num_examples = {s: len(f) for s, f in assignment.items()}
    else:
        texts = [split_by_position(read_text_file(file), split) for file in files.values()]
        bounds = (0,) + tuple(round(cut * 100) for cut in POSITION_SPLIT) + (100,)
        splits = {
            s: f"characters [{lo}%, {hi}%) of " + ", ".join(files)
            for s, lo, hi in zip(TEXT_SPLITS, bounds, bounds[1:])
        }
        num_examples = {s: len(files) for s in TEXT_SPLITS}
    return documents_dataset(texts), text_info(name, num_examples, splits)
