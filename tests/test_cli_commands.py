"""`wavefront --help` lists every command without importing the modules that hold them;
the list in `wavefront.cli.COMMANDS` must say what the commands themselves say."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from wavefront.cli import COMMANDS, helppage, wavefront
from wavefront.cli.width import help_width


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
            f"avoided = {sorted({m for m, _ in COMMANDS.values()})!r}"
            " + ['pathlib', 'shutil', 'wavefront.errors']\n"
            "print('loaded=' + ','.join(m for m in avoided if m in sys.modules))")
    for columns in ("80", "60"):  # the stored page, and click's
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env={**os.environ, "COLUMNS": columns})
        lines = done.stdout.strip().splitlines()
        # Neither a command module nor what they all import (pathlib, shutil, the errors).
        assert lines[-1] == "loaded="
        listed = {line.split()[0] for line in lines[lines.index("Commands:") + 1:-1]
                  if not line.startswith("    ")}
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


def _help_in_a_process(columns: str) -> tuple[str, bool]:
    """`wavefront --help` in a fresh process at `columns`: its page, and whether it
    imported click."""
    code = ("import sys; from wavefront.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(str('click' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "COLUMNS": columns})
    return done.stdout, done.stderr == "True"


def test_the_stored_help_page_is_the_one_click_renders() -> None:
    stored = (Path(helppage.__file__).parent / "help.txt").read_text()
    assert stored == helppage.render(), (
        "the commands or their help changed: run `python -m wavefront.cli.helppage`")


@pytest.mark.parametrize("columns", ["80", "132"])
def test_help_on_a_wide_terminal_is_printed_without_click(columns: str) -> None:
    page, imported_click = _help_in_a_process(columns)
    assert page == helppage.render()
    assert not imported_click


def test_help_on_a_narrow_terminal_is_rendered_by_click() -> None:
    page, imported_click = _help_in_a_process("60")
    assert imported_click
    assert page == helppage.render(58) != helppage.render()
    assert max(len(line) for line in page.splitlines()) <= 60
