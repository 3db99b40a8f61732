"""Writes the tables of the recorded benchmark results into docs/benchmarks.md.

Reads every `benchmarks/results/*.json` (`quality.json`, written by
`benchmarks/quality.py`, and `step_overhead.json`, by `benchmarks/step_overhead.py`) and replaces what stands between the markers
`<!-- results:begin -->` and `<!-- results:end -->` in `docs/benchmarks.md` with
Markdown tables, each followed by the machine and date of its rows. Everything
outside the markers is hand-written and left alone.

    python benchmarks/report.py           # rewrite the generated section
    python benchmarks/report.py --check   # exit 1 if docs/benchmarks.md is out of date

Standard library only: it never imports TensorFlow or tfgen, so it runs in a second.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"

QUALITY_PARTS = ("vae", "dcgan", "wgan_gp", "cgan", "tutorial", "real")
"""`benchmarks/quality.py`'s parts, in the order its tables list them."""


def minutes(seconds):
    """`quality.py`'s format: seconds below two minutes, else minutes; `n/a` for none."""
    if seconds is None:
        return "n/a"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def per_core(row):
    """CPU seconds divided by the cores of the machine that measured the row."""
    cpu, cores = row.get("cpu_seconds"), row.get("machine", {}).get("cores")
    return minutes(None if cpu is None or not cores else cpu / cores)


GAN_COLUMNS = [  # (heading, right-aligned, the cell of a recorded row); quality.py prints these too
    ("model", False, lambda r: r["model"]),
    ("config", False, lambda r: r["config"]),
    ("samples", True, lambda r: str(r["settings"]["num_samples"])),
    ("training wall time", True, lambda r: minutes(r["wall_seconds"])),
    ("CPU time / cores", True, per_core),
    ("steps", True, lambda r: str(r["steps"])),
    ("FID", True, lambda r: f"{r['values']['fid']:.2f}"),
    ("KID (± std)", True, lambda r: f"{r['values']['kid']:.4f} ± {r['values']['kid_std']:.4f}"),
    ("precision", True, lambda r: f"{r['values']['precision']:.3f}"),
    ("recall", True, lambda r: f"{r['values']['recall']:.3f}"),
    ("IS", True, lambda r: f"{r['values']['is']:.2f}"),
]
VAE_COLUMNS = [
    ("model", False, lambda r: r["model"]),
    ("config", False, lambda r: r["config"]),
    ("-ELBO", True, lambda r: f"{r['values']['negative_elbo']:.2f}"),
    (
        "IWAE NLL (K)",
        True,
        lambda r: f"{r['values']['nll']:.2f} ({r['values']['nll_importance_samples']})",
    ),
    ("examples", True, lambda r: str(r["values"]["nll_examples"])),
    ("training wall time", True, lambda r: minutes(r["wall_seconds"])),
    ("CPU time / cores", True, per_core),
    ("evaluation wall time", True, lambda r: minutes(r["evaluation_seconds"])),
]


def table(columns, rows):
    """A Markdown table of `rows` with `columns` (see `GAN_COLUMNS`)."""
    lines = [
        "| " + " | ".join(heading for heading, _, _ in columns) + " |",
        "| " + " | ".join("---:" if right else "---" for _, right, _ in columns) + " |",
    ]
    lines += ["| " + " | ".join(cell(row) for _, _, cell in columns) + " |" for row in rows]
    return lines


def machines(rows, name=lambda row: row.get("model", "?")):
    """One line per machine and date: which rows were measured there, and how loaded it was."""
    groups = {}
    for row in rows:
        m = row.get("machine", {})
        key = (
            row.get("date", "no date"),
            m.get("cpu", "unknown CPU"),
            m.get("cores"),
            m.get("tensorflow"),
            m.get("tfgen"),
        )
        groups.setdefault(key, []).append(row)
    lines = []
    for (date, cpu, cores, tensorflow, tfgen), group in groups.items():
        loads = [
            r["machine"]["load_average"]
            for r in group
            if r.get("machine", {}).get("load_average") is not None
        ]
        where = f"{cpu}, {cores} cores" if cores else cpu
        if tensorflow:
            where += f", TensorFlow {tensorflow}"
        if tfgen:
            where += f", tfgen {tfgen}"
        load = ""
        if loads:
            low, high = min(loads), max(loads)
            load = f"; load average {low}" if low == high else f"; load average {low}–{high}"
        names = ", ".join(name(r) for r in group)
        lines.append(f"- {names}: {where}, {date}{load} (when each part was recorded).")
    return lines


def quality_section(rows, source, link):
    """The GAN and VAE tables of `benchmarks/quality.py`'s record."""
    ordered = [rows[p] for p in QUALITY_PARTS if p in rows] + [
        row for part, row in rows.items() if part not in QUALITY_PARTS
    ]
    gan_rows = [row for row in ordered if row.get("model") != "vae"]
    vae_rows = [row for row in ordered if row.get("model") == "vae"]
    command = f"`.venv/bin/python benchmarks/quality.py --results {source}`"
    lines = []
    if gan_rows:
        extractors = ", ".join(sorted({str(row.get("extractor")) for row in gan_rows}))
        lines += [
            "### GANs: sample quality on MNIST",
            "",
            f"From [`{source}`]({link}) ({command}). Generated samples (or real "
            f"train images, the yardstick) against the 10,000 MNIST test images, in "
            f"the features of tfgen's MNIST classifier ({extractors}: the same name, "
            f"the same network). CPU time / cores is the training process's CPU time "
            f"divided by the machine's cores.",
            "",
        ]
        lines += table(GAN_COLUMNS, gan_rows) + [""] + machines(gan_rows) + [""]
    if vae_rows:
        lines += [
            "### VAE: likelihood on binarized MNIST",
            "",
            f"From [`{source}`]({link}) ({command}). The binarized MNIST test "
            f"split with its fixed binarization; nats per image, lower is better.",
            "",
        ]
        lines += table(VAE_COLUMNS, vae_rows) + [""] + machines(vae_rows) + [""]
    return lines


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "n/a" if value is None else str(value)


def generic_section(rows, source, link):
    """Any other results file: one row per recorded part, one column per value."""
    rows = {part: row for part, row in rows.items() if isinstance(row, dict)}
    keys = []
    for row in rows.values():
        keys += [k for k in row.get("values", {}) if k not in keys]
    columns = [("part", False, lambda r: r["_part"])]
    columns += [(k, True, lambda r, k=k: _cell(r.get("values", {}).get(k))) for k in keys]
    listed = [{**row, "_part": part} for part, row in rows.items()]
    return (
        [f"### {Path(source).stem}", "", f"From [`{source}`]({link}).", ""]
        + table(columns, listed)
        + [""]
        + machines(listed, name=lambda r: r["_part"])
        + [""]
    )


def step_overhead_section(document, source, link):
    """The per-family table of `benchmarks/step_overhead.py`'s record."""

    def ms(layer):
        return lambda r: f"{r['ms_per_step'][layer]:.1f}"

    def ratio(layer):
        return lambda r: f"{r['ms_per_step'][layer] / r['ms_per_step']['bare']:.2f}x"

    columns = [
        ("model", False, lambda r: r["model"]),
        ("timed steps", True, lambda r: str(r["steps"])),
        ("bare ms", True, ms("bare")),
        ("train_step ms", True, ms("train_step")),
        ("model.fit ms", True, ms("model.fit")),
        ("tfgen.train ms", True, ms("tfgen.train")),
        ("train_step / bare", True, ratio("train_step")),
        ("tfgen.train / bare", True, ratio("tfgen.train")),
    ]
    machine = document["machine"]
    return (
        [
            "### Machinery around a training step",
            "",
            f"`.venv/bin/python {document['command']}`:",
            "",
        ]
        + table(columns, document["rows"])
        + [
            "",
            f"{machine['cpu']}, {machine['cores']} cores, TensorFlow {machine['tensorflow']}, "
            f"{document['date']} ([`{source}`]({link})).",
            "",
        ]
    )


SECTIONS = {"quality": quality_section, "step_overhead": step_overhead_section}
"""Results file stem -> the function that turns its rows into Markdown lines."""


def generated(results_dir, doc=DOC):
    """The Markdown between the markers, for every results file in `results_dir`.

    Links to the results files are relative to `doc`'s directory.
    """
    lines = [
        "<!-- Generated by `python benchmarks/report.py` from benchmarks/results/*.json: "
        "edit those files (or the script), not this section. -->",
        "",
    ]
    for path in sorted(Path(results_dir).glob("*.json")):
        rows = json.loads(path.read_text(encoding="utf-8"))
        try:
            source = path.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            source = path.as_posix()
        link = Path(os.path.relpath(path.resolve(), Path(doc).resolve().parent)).as_posix()
        lines += SECTIONS.get(path.stem, generic_section)(rows, source, link)
    return "\n".join(lines).rstrip("\n") + "\n"


def render(text, section):
    """`text` with the part between the markers replaced by `section`."""
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"the markers {BEGIN} and {END} (in this order) are missing")
    return text[: begin + len(BEGIN)] + "\n" + section + text[end:]


def write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the document's generated section is out of date",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS_DIR,
        help="directory of the *.json results (default benchmarks/results)",
    )
    parser.add_argument(
        "--doc",
        type=Path,
        default=DOC,
        help="the Markdown file to update (default docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    try:
        updated = render(text, generated(args.results, args.doc))
    except ValueError as error:
        print(f"error: {args.doc}: {error}", file=sys.stderr)
        return 2
    if args.check:
        if updated != text:
            print(
                f"{args.doc} is out of date with {args.results}: run `python benchmarks/report.py`",
                file=sys.stderr,
            )
            return 1
        print(f"{args.doc} is up to date")
        return 0
    if updated != text:
        write_atomically(args.doc, updated)
        print(f"wrote {args.doc}")
    else:
        print(f"{args.doc} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
