"""The pre-flight of `wavefront run`: every agent CLI the run uses is checked before the
first task, and each problem is one line of a clear refusal (exit 2, nothing run)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import git
from wavefront.agents.preflight import check_runner, version_number
from wavefront.agents.runners.claude import ClaudeRunner
from wavefront.agents.runners.codex import CodexRunner
from wavefront.agents.runners.opencode import OpenCodeRunner

FAKES = Path(__file__).parent / "fakes"


def fake(tmp_path: Path, cli: str) -> str:
    wrapper = tmp_path / "bin" / cli
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKES / f"fake_{cli}.py"}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_ready_runner_has_no_problems(tmp_path: Path) -> None:
    runner = ClaudeRunner(executable=fake(tmp_path, "claude"))
    check = check_runner("claude", runner, environ={"ANTHROPIC_API_KEY": "k"}, home=tmp_path)
    assert check.ready, check.problems
    assert check.version == "2.1.197 (Claude Code)"
    assert check.credentials == "environment: ANTHROPIC_API_KEY"


def test_each_problem_is_named(tmp_path: Path) -> None:
    runner = CodexRunner(executable=str(tmp_path / "nowhere" / "codex"),
                         base_url=f"http://127.0.0.1:{closed_port()}/v1",
                         api_key_env="MY_CODEX_KEY")
    check = check_runner("codex", runner, environ={"TMPDIR": str(tmp_path / "tmp")},
                         home=tmp_path)
    kinds = [problem.kind for problem in check.problems]
    assert kinds == ["installed", "credentials", "reachable"]
    text = "\n".join(str(problem) for problem in check.problems)
    assert "runner codex: " in text and "not installed" in text
    assert "MY_CODEX_KEY, which is not set" in text
    assert "is not reachable" in text


def test_an_untested_version_is_refused_unless_allowed(tmp_path: Path) -> None:
    script = tmp_path / "claude"
    script.write_text("#!/bin/sh\necho '9.4.1 (Claude Code)'\n")
    script.chmod(0o755)
    env = {"ANTHROPIC_API_KEY": "k"}
    refused = check_runner("claude", ClaudeRunner(executable=str(script)), environ=env,
                           home=tmp_path)
    assert [p.kind for p in refused.problems] == ["version"]
    assert "9.4.1 is not a tested version (tested: 2.1.197)" in refused.problems[0].message
    allowed = check_runner("claude", ClaudeRunner(executable=str(script), check_version=False),
                           environ=env, home=tmp_path)
    assert allowed.ready


def test_opencode_without_a_provider_is_refused(tmp_path: Path) -> None:
    runner = OpenCodeRunner(executable=fake(tmp_path, "opencode"))
    check = check_runner("opencode", runner, environ={"ANTHROPIC_API_KEY": "k"}, home=tmp_path)
    assert [p.kind for p in check.problems] == ["credentials"]
    assert "its own hosted service" in check.problems[0].message


@pytest.mark.parametrize("environ,sandbox,refused", [
    ({"TMPDIR": "{tmp}"}, "workspace-write", True),
    ({"TMPDIR": "{tmp}"}, "read-only", True),
    ({"TMPDIR": "{tmp}/elsewhere"}, "workspace-write", False),
    ({"CODEX_HOME": "{tmp}/../codex-home", "TMPDIR": "{tmp}"}, "workspace-write", False),
    ({"TMPDIR": "{tmp}"}, "danger-full-access", False),  # no sandbox, no helper needed
])
def test_a_codex_home_in_the_temp_dir_is_refused(tmp_path: Path, environ: dict[str, str],
                                                  sandbox: str, refused: bool) -> None:
    # Codex will not link its sandbox helper there: every write of the agent would fail.
    env = {name: value.format(tmp=tmp_path) for name, value in environ.items()}
    runner = CodexRunner(executable=fake(tmp_path, "codex"), sandbox=sandbox)
    check = check_runner("codex", runner, environ={"CODEX_API_KEY": "k", **env},
                         home=tmp_path / "home")
    kinds = [problem.kind for problem in check.problems]
    assert kinds == (["sandbox"] if refused else []), check.problems
    if refused:
        assert "inside the temporary directory" in check.problems[0].message
        assert "CODEX_HOME" in check.problems[0].message


@pytest.mark.parametrize("text,expected", [("codex-cli 0.171.0", (0, 171, 0)),
                                           ("2.1.197 (Claude Code)", (2, 1, 197)),
                                           ("version unknown", None)])
def test_version_numbers(text: str, expected: tuple[int, int, int] | None) -> None:
    assert version_number(text) == expected


def test_wavefront_run_refuses_before_the_first_task(tmp_path: Path, git_repo: Path) -> None:
    document = {"version": 1, "defaults": {"runner": "claude"},
                "runners": {"claude": {"executable": fake(tmp_path, "claude"),
                                       "api_key_env": "NOT_SET_ANYWHERE",
                                       "base_url": f"http://127.0.0.1:{closed_port()}"},
                            "aider": {"executable": str(tmp_path / "missing-aider"),
                                      "model": "gpt-4o-mini"}},
                "tasks": [{"id": "1", "title": "One"},
                          {"id": "2", "title": "Two", "runner": "aider"}]}
    (git_repo / "wavefront.yaml").write_text(yaml.safe_dump(document))
    git(git_repo, "add", "wavefront.yaml")
    git(git_repo, "commit", "-qm", "backlog")
    env = {k: v for k, v in os.environ.items()
           if k != "NOT_SET_ANYWHERE" and not k.endswith(("_API_KEY", "_TOKEN"))}
    done = subprocess.run([sys.executable, "-m", "wavefront", "run", "-C", str(git_repo)],
                          capture_output=True, text=True, timeout=120, env=env,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    # aider: not installed, no key; claude: its key variable unset, its server down.
    assert "cannot start: 4 problems" in done.stderr
    lines = [line.strip() for line in done.stderr.splitlines() if "runner " in line]
    assert any(line.startswith("runner aider:") and "not installed" in line for line in lines)
    assert any("NOT_SET_ANYWHERE, which is not set" in line for line in lines)
    assert any("is not reachable" in line for line in lines)
    assert "wavefront/" not in git(git_repo, "branch", "--list", "wavefront/*")
