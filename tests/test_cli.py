"""The `tfgen` console script: one command with the subcommands of `python -m tfgen.X`."""

import configparser
import contextlib
import importlib
import io
from pathlib import Path

from tfgen import cli

ROOT = Path(__file__).resolve().parents[1]


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def test_setup_cfg_installs_the_console_script():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert setup["options.entry_points"]["console_scripts"].strip() == "tfgen = tfgen.cli:main"


def test_help_lists_every_command():
    status, out, _ = run(["--help"])
    assert status == 0
    for name in cli.COMMANDS:
        assert f"  {name}" in out


def test_no_command_prints_usage_and_fails():
    status, out, _ = run([])
    assert status == 2 and "usage: tfgen COMMAND" in out


def test_unknown_command_names_the_valid_ones():
    status, _, err = run(["trian"])
    assert status == 2
    assert err.strip() == (
        "error: unknown command 'trian'; valid commands: " + ", ".join(cli.COMMANDS)
    )


def test_every_command_has_a_main_and_a_python_m_entry_point():
    for name, (module, _) in cli.COMMANDS.items():
        assert callable(importlib.import_module(module).main), name
        shim = "tfgen.data.__main__" if name == "data" else f"tfgen.{name}"
        assert importlib.import_module(shim).main is importlib.import_module(module).main


def test_subcommand_runs_with_its_arguments():
    status, out, _ = run(["fit", "--model", "vae", "--dry-run", "--set", "epochs=3"])
    assert status == 0
    assert "model: vae\n" in out and "epochs: 3\n" in out
