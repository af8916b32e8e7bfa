"""`wavefront init` on an existing repository: backlogs, agent CLIs and a test gate found."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavefront.cli import wavefront
from wavefront.config import load_config
from wavefront.projectinit import detect_project


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(wavefront, list(args))
    return result.exit_code, result.output


@pytest.fixture
def fake_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An executable named `claude` on PATH (the agent CLI itself is third-party)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable = bin_dir / "claude"
    executable.write_text("#!/bin/sh\necho 1.0.0\n")
    executable.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")


def test_init_finds_the_backlog_agent_and_test_command(tmp_path: Path, fake_claude: None) -> None:
    repo = tmp_path / "repo"
    tasks = repo / ".taskmaster" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "tasks.json").write_text(json.dumps({"master": {"tasks": [
        {"id": 1, "title": "Set up", "status": "pending", "dependencies": []},
        {"id": 2, "title": "Build", "status": "pending", "dependencies": [1]},
    ]}}))  # fmt: skip
    (repo / "package.json").write_text(json.dumps({"scripts": {"test": "vitest run"}}))
    code, output = invoke("init", "-C", str(repo))
    assert code == 0, output
    assert "backlog: .taskmaster/tasks/tasks.json (taskmaster)" in output
    assert "agent: claude" in output and "test gate: npm test" in output
    assert f"next: wavefront validate -C {repo}" in output
    config = load_config(repo / "wavefront.yaml")
    assert config.defaults.runner == "claude"
    assert config.backlog == [".taskmaster/tasks/tasks.json"]
    assert [g.kind for g in config.gates] == ["command"]
    assert "npm test" in (repo / "wavefront.yaml").read_text()
    code, output = invoke("validate", "-C", str(repo))
    assert code == 0 and "ok: 2 tasks" in output

    again, said = invoke("init", "-C", str(repo))
    assert again == 2 and "exists; pass --force" in said


@pytest.mark.parametrize(
    ("files", "command"),
    [
        ({"pyproject.toml": "[project]\nname = 'x'\n"}, "python -m pytest -q"),
        ({"go.mod": "module x\n"}, "go test ./..."),
        ({"Cargo.toml": "[package]\nname = 'x'\n"}, "cargo test"),
        ({"package.json": '{"scripts": {"test": "echo \\"Error: no test specified\\""}}'}, None),
        ({"Makefile": "build:\n\tcc x.c\ntest:\n\t./check\n"}, "make test"),
        ({}, None),
    ],
)
def test_test_command_is_guessed_from_the_project(
    tmp_path: Path, files: dict[str, str], command: str | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert detect_project(tmp_path, which=lambda _name: None).test_command == command


def test_init_without_backlog_or_agent_writes_a_file_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    code, output = invoke("init", "-C", str(tmp_path))
    assert code == 0, output
    assert "backlog: none found" in output and "runners.command.argv_template" in output
    config = load_config(tmp_path / "wavefront.yaml")
    assert config.defaults.runner == "command"
    assert config.runners["command"]["argv_template"]
    code, output = invoke("validate", "-C", str(tmp_path))
    assert code == 0, output
