"""The `tfds:<name>` loader: any TensorFlow Datasets dataset, prepared or downloadable here.

`<name>` is what `tfds.builder` takes, config and version included. An unprepared
dataset is downloaded only after a quick probe finds its hosts reachable; otherwise
the error says how to prepare it elsewhere and copy it here.

A dataset with an `Image` feature is an image dataset (splits `"train"` and
`"test"`); one without, but with a `Text` feature, is a text dataset (splits
`"train"`, `"validation"` and `"test"`, one `{"text": tf.string}` element per
TFDS example, as `tfgen.data.text_sources` describes). A split the builder lacks
is held out from the end of `train`, by examples: the last `HOLDOUT_PERCENT`
percent for one missing split, or two halves of it for two (for a text dataset
with neither validation nor test, `train[90%:95%]` and `train[95%:]`). A dataset
with a single example per split, like `tiny_shakespeare`, therefore needs all
three splits of its own.
"""

import os
import socket
import threading
import urllib.parse
from collections.abc import Container, Sequence

import tensorflow as tf

from tfgen.data.arrays import HOLDOUT_PERCENT, SPLITS, to_unit_float
from tfgen.data.errors import DatasetUnavailableError
from tfgen.data.info import DatasetInfo
from tfgen.data.text_sources import TEXT_SPLITS, text_info

NETWORK_PROBE_TIMEOUT_SECONDS = 3.0
TFDS_STORAGE_ADDRESS = ("storage.googleapis.com", 443)
"""Where TFDS keeps prepared datasets; probed when a builder lists no download URLs."""


def network_available(
    addresses: Sequence[tuple], timeout: float = NETWORK_PROBE_TIMEOUT_SECONDS
) -> bool:
    """Checks quickly whether TCP connections to all `addresses` can be opened.

    Name lookups are bounded too: every probe runs in a thread that is given up
    after `timeout` seconds.

    Args:
        addresses: `(host, port)` pairs.
        timeout: seconds to wait for all of them together.

    Returns:
        True if every address accepted a connection in time.
    """
    results = {}

    def probe(address):
        try:
            socket.create_connection(address, timeout=timeout).close()
            results[address] = True
        except OSError:
            results[address] = False

    threads = [threading.Thread(target=probe, args=(a,), daemon=True) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return all(results.get(address, False) for address in addresses)


def _download_addresses(builder) -> list:
    """The `(host, port)`s a TFDS builder downloads from: its URLs' hosts, else TFDS' storage."""
    try:
        urls = list(builder.url_infos or ())
    except Exception:  # Builders without a checksums file; the URLs are then unknown.
        urls = []
    addresses = set()
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname:
            addresses.add((parts.hostname, parts.port or (80 if parts.scheme == "http" else 443)))
    return sorted(addresses) or [TFDS_STORAGE_ADDRESS]


def _prepare_tfds(builder, argument: str, name: str, offline_names: Container[str] = ()) -> None:
    """Downloads and prepares a TFDS dataset, failing within seconds if that cannot work.

    `offline_names` are the datasets tfgen gets without TFDS; the error names the one
    that gives the same data, if any.
    """
    addresses = _download_addresses(builder)
    if not network_available(addresses):
        hosts = ", ".join(host for host, _ in addresses)
        offline = argument.split(":")[0].split("/")[0]
        hint = ""
        if offline in offline_names:
            hint = f"\nThe offline name `{offline}` gives the same data without TFDS."
        raise DatasetUnavailableError(
            f"{name} is not prepared in the TFDS data dir {builder.data_dir_root}, and {hosts} "
            "cannot be reached from this machine, so TFDS would retry downloading it for minutes "
            "and then fail.\n"
            "To get it, on a machine with network access run\n"
            f"    python -c \"import tensorflow_datasets as tfds; tfds.builder('{argument}')"
            '.download_and_prepare()"\n'
            f"then copy that machine's TFDS data dir (~/tensorflow_datasets by default; this dataset "
            f"is {builder.info.full_name}/ in it) to {builder.data_dir_root} here, or set "
            f"TFDS_DATA_DIR to a directory that holds it.{hint}"
        )
    builder.download_and_prepare()


def _tfds_split_specs(builder, name: str, splits: Sequence[str] = SPLITS) -> dict:
    """Maps tfgen's `splits` to TFDS split specs, holding missing ones out of the end of train."""
    available = list(builder.info.splits)
    # A builder that reports no splits (as under `tfds.testing.mock_data`) is asked by name.
    if not available or all(s in available for s in splits):
        return {s: s for s in splits}
    if "train" not in available:
        raise ValueError(
            f"{name} has the splits {', '.join(available)}; tfgen needs a 'train' split."
        )
    missing = [s for s in splits if s not in available]
    kept = 100 - HOLDOUT_PERCENT
    specs = {s: s for s in splits if s in available}
    specs["train"] = f"train[:{kept}%]"
    if len(missing) == 1:
        specs[missing[0]] = f"train[{kept}%:]"
    else:
        middle = kept + HOLDOUT_PERCENT // 2
        specs.update({missing[0]: f"train[{kept}%:{middle}%]", missing[1]: f"train[{middle}%:]"})
    return {s: specs[s] for s in splits}


def _num_examples(builder, dataset, specs: dict, split: str) -> dict:
    if builder.info.splits:
        return {s: int(builder.info.splits[spec].num_examples) for s, spec in specs.items()}
    cardinality = int(dataset.cardinality())
    return {split: cardinality} if cardinality >= 0 else {}


def _load_tfds_text(builder, text_key: str, name: str, split: str):
    """The text path of `load_tfds`: one `{"text": tf.string}` element per TFDS example."""
    specs = _tfds_split_specs(builder, name, TEXT_SPLITS)
    dataset = builder.as_dataset(split=specs[split], shuffle_files=False)
    dataset = dataset.map(lambda example: {"text": example[text_key]})
    return dataset, text_info(name, _num_examples(builder, dataset, specs, split), specs)


def _first_feature(features, feature_type) -> str | None:
    return next(
        (key for key, feature in features.items() if isinstance(feature, feature_type)), None
    )


def load_tfds(argument: str, name: str, split: str, *, offline_names: Container[str] = ()):
    """Loads `tfds:<name>` (`<name>` may carry a config and version, as in `tfds.builder`).

    `offline_names` (the registry passes its named datasets) are suggested instead of a
    TFDS dataset that cannot be downloaded here.
    """
    import tensorflow_datasets as tfds  # Deferred: only `tfds:` names need it.

    # TFDS reads TFDS_DATA_DIR once, on import; read it again so setting it later works too.
    builder = tfds.builder(argument, data_dir=os.environ.get("TFDS_DATA_DIR"))
    # The features are known before the data is prepared: check what is asked for first.
    features = builder.info.features
    image_key = _first_feature(features, tfds.features.Image)
    text_key = _first_feature(features, tfds.features.Text)
    if image_key is None and text_key is None:
        raise ValueError(
            f"{name} has no image or text feature; its features are {', '.join(features.keys())}."
        )
    valid_splits = SPLITS if image_key is not None else TEXT_SPLITS
    if split not in valid_splits:
        raise ValueError(f"Unknown split {split!r}; valid splits: {', '.join(valid_splits)}.")
    if not builder.is_prepared():
        _prepare_tfds(builder, argument, name, offline_names)
    if image_key is None:
        return _load_tfds_text(builder, text_key, name, split)
    label_key = _first_feature(features, tfds.features.ClassLabel)
    specs = _tfds_split_specs(builder, name)
    dataset = builder.as_dataset(split=specs[split], shuffle_files=False)

    def to_example(example):
        output = {"image": to_unit_float(example[image_key])}
        if label_key is not None:
            output["label"] = tf.cast(example[label_key], tf.int64)
        return output

    dataset = dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    num_examples = _num_examples(builder, dataset, specs, split)
    info = DatasetInfo(
        name=name,
        modality="image",
        shape=tuple(features[image_key].shape),
        num_classes=None if label_key is None else int(features[label_key].num_classes),
        num_examples=num_examples,
        splits=specs,
    )
    return dataset, info
