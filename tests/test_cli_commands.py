"""`wavefront --help` lists every command without importing the modules that hold them;
the list in `wavefront.cli.COMMANDS` must say what the commands themselves say."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from wavefront.cli import COMMANDS, wavefront
from wavefront.cli.group import help_width


def _registered() -> dict[str, click.Command]:
    for module, _ in set(COMMANDS.values()):
        importlib.import_module(module)
    return dict(wavefront.commands)


def test_the_list_names_every_command_and_its_module() -> None:
    registered = _registered()
    assert set(COMMANDS) == set(registered)
    for name, (module, _) in COMMANDS.items():
        callback = registered[name].callback
        assert callback is not None and callback.__module__ == module, name


def test_the_listed_help_is_the_first_paragraph_of_each_command() -> None:
    for name, command in _registered().items():
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert COMMANDS[name][1] == first, name


def test_help_imports_no_command_module_and_lists_them_all() -> None:
    code = ("import sys; from wavefront.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('loaded=' + ','.join(sorted(m for m in sys.modules"
            " if m.startswith('wavefront.cli.') and m != 'wavefront.cli.group'"
            " or m in ('pathlib', 'shutil', 'wavefront.errors'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    lines = done.stdout.strip().splitlines()
    # Neither a command module nor what they all import (pathlib, shutil, the errors).
    assert lines[-1] == "loaded="
    listed = {line.split()[0] for line in lines[lines.index("Commands:") + 1:-1]}
    assert listed == set(COMMANDS)


def test_a_command_runs_after_its_module_is_imported_on_demand() -> None:
    result = CliRunner().invoke(wavefront, ["status", "--help"])
    assert result.exit_code == 0
    assert "Each task's state, reason, attempts and cost in a run." in result.output


@pytest.mark.parametrize("columns", ["40", "64", "79", "120", "0", "wide"])
def test_the_help_is_as_wide_as_click_would_make_it(columns: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    # click.formatting.HelpFormatter's own rule when no width is given.
    assert help_width() == max(min(shutil.get_terminal_size().columns, 80) - 2, 50)
