"""The documentation stays true: README.md and docs/*.md against the files, the API and the CLIs.

Fast (no training): links resolve, the README stays short with its set-up commands first,
every `python` block compiles and names only `tfgen.` attributes that exist, every
`python -m tfgen.<command>` line uses flags that the command's `--help` lists, and the
benchmark tables are what `benchmarks/report.py` generates.
"""

import contextlib
import importlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tfgen import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = tuple(cli.COMMANDS)
README_MAX_LINES = 220

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
TFGEN_NAME = re.compile(r"(?<![\w.])tfgen(?:\.[A-Za-z_]\w*)+")
CLI_CALL = re.compile(r"python\s+-m\s+tfgen\.([\w.]+)")
FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def parse(path):
    """`(blocks, prose)`: fenced blocks as `(info, code, first line)`, and the text outside them."""
    blocks, prose, block = [], [], None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(line)
        if block is None and match:
            block = (match.group(1), match.group(2).lower(), number + 1, [])
            prose.append("")
        elif (
            block is not None
            and line.strip().startswith(block[0])
            and not line.strip().strip(block[0][0])
        ):
            blocks.append((block[1], "\n".join(block[3]), block[2]))
            block = None
            prose.append("")
        elif block is not None:
            block[3].append(line)
            prose.append("")  # Keeps the prose's line numbers those of the file.
        else:
            prose.append(line)
    assert block is None, f"{path}: a code block opened on line {block[2] - 1} is not closed"
    return blocks, "\n".join(prose)


def slug(heading):
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    found, seen = set(), {}
    _, prose = parse(path)
    for line in prose.splitlines():
        match = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


@pytest.mark.parametrize("path", DOCS, ids=_ids(DOCS))
def test_relative_links_point_to_existing_files(path):
    _, prose = parse(path)
    prose = INLINE_CODE.sub("", prose)
    problems = []
    for target in LINK.findall(prose):
        if re.match(r"[A-Za-z][\w+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{target}: {linked} does not exist")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            problems.append(f"{target}: no heading with the anchor #{fragment} in {linked.name}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_readme_is_short_and_starts_with_the_two_set_up_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    blocks, _ = parse(README)
    assert blocks, "README.md has no code block"
    first = blocks[0][1]
    assert "make fit" in first and "make test" in first, first


def _python_blocks(path):
    return [(code, line) for info, code, line in parse(path)[0] if info in ("python", "py")]


def resolve(dotted):
    """The object `tfgen.a.b.c` names: attributes first, else a submodule import."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            name = ".".join(parts[: i + 1])
            try:
                obj = importlib.import_module(name)
            except ModuleNotFoundError as error:
                if error.name != name:
                    raise
                raise AttributeError(
                    f"{'.'.join(parts[:i])} has no attribute or submodule {part!r}"
                ) from None
    return obj


@pytest.mark.parametrize("path", DOCS, ids=_ids(DOCS))
def test_python_blocks_compile_and_their_tfgen_names_exist(path):
    problems = []
    for code, line in _python_blocks(path):
        compile(code, f"{path.name}:{line}", "exec")
        for name in sorted(set(TFGEN_NAME.findall(code))):
            try:
                resolve(name)
            except (AttributeError, ImportError) as error:
                problems.append(f"{path.name}:{line}: {name}: {error}")
    assert not problems, "\n".join(problems)


def shell_snippets(path):
    """Shell text: fenced blocks that are not Python (continuations joined, comments cut),
    and inline code spans of the prose."""
    blocks, prose = parse(path)
    snippets = []
    for info, code, line in blocks:
        if info in ("python", "py"):
            continue
        for offset, command in enumerate(re.sub(r"\\\n", " ", code).splitlines()):
            snippets.append((re.split(r"\s#", command, maxsplit=1)[0], line + offset))
    for match in INLINE_CODE.finditer(prose):
        snippets.append((" ".join(match.group(2).split()), prose.count("\n", 0, match.start()) + 1))
    return snippets


def cli_calls(path):
    """`(command, flags, line)` for every `python -m tfgen.<command> ...` in `path`."""
    calls = []
    for text, line in shell_snippets(path):
        starts = [m for m in CLI_CALL.finditer(text)]
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            calls.append((match.group(1), FLAG.findall(text[match.end() : end]), line))
    return calls


def _help(command):
    """`(status, output)` of `python -m tfgen.<command> --help`, run in this process."""
    module = importlib.import_module(cli.COMMANDS[command][0])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            status = module.main(["--help"])
        except SystemExit as exit:
            status = exit.code
    return status or 0, out.getvalue()


@pytest.fixture(scope="module")
def cli_help():
    """`{command: (status, output)}` of `--help`, once per command the documents use."""
    used = {command for path in DOCS for command, _, _ in cli_calls(path) if command in COMMANDS}
    return {command: _help(command) for command in sorted(used)}


@pytest.mark.parametrize("path", DOCS, ids=_ids(DOCS))
def test_cli_lines_name_real_commands_and_flags(path, cli_help):
    problems = []
    for command, flags, line in cli_calls(path):
        if command not in COMMANDS:
            problems.append(
                f"{path.name}:{line}: python -m tfgen.{command} is not one of the "
                f"commands {', '.join(COMMANDS)}"
            )
            continue
        status, output = cli_help[command]
        if status != 0:
            problems.append(
                f"{path.name}:{line}: python -m tfgen.{command} --help exited "
                f"with {status}:\n{output[-2000:]}"
            )
            continue
        for flag in flags:
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", output):
                problems.append(f"{path.name}:{line}: python -m tfgen.{command} has no {flag}")
    assert not problems, "\n".join(problems)


def test_benchmark_tables_are_up_to_date():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_benchmark_report_rewrites_a_stale_section(tmp_path):
    doc = ROOT / "docs" / "benchmarks.md"
    stale = tmp_path / "benchmarks.md"
    text = doc.read_text(encoding="utf-8")
    begin, end = text.index("<!-- results:begin -->"), text.index("<!-- results:end -->")
    stale.write_text(text[:begin] + "<!-- results:begin -->\nold\n" + text[end:], encoding="utf-8")
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    report = [
        sys.executable,
        str(ROOT / "benchmarks" / "report.py"),
        "--doc",
        str(stale),
        "--results",
        str(results),
    ]
    assert subprocess.run(report + ["--check"], capture_output=True).returncode == 1
    assert subprocess.run(report, capture_output=True).returncode == 0
    assert subprocess.run(report + ["--check"], capture_output=True).returncode == 0
    rewritten = stale.read_text(encoding="utf-8")
    assert "old\n" not in rewritten
    assert rewritten.count("| dcgan |") == text.count("| dcgan |")
