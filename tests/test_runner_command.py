"""The command runner and the runner registry, with real child processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wavefront.agents.runners import RUNNERS, make_runner
from wavefront.agents.runners.base import AgentRequest
from wavefront.agents.runners.command import TEXT_LIMIT, CommandRunner, prompt_file_for
from wavefront.agents.runners.script import ScriptRunner
from wavefront.errors import ConfigError
from wavefront.model import FailureKind, SourceLocation, Task

PY = sys.executable
PROMPT = "Implement 1.2: add `greet()`; don't touch {other} files.\nSecond line."


def _request(tmp_path: Path, **changes: Any) -> AgentRequest:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    fields: dict[str, Any] = {
        "task": Task(id="1.2", title="Greeting", source=SourceLocation(tmp_path / "b.md", 3)),
        "prompt": PROMPT,
        "workspace": workspace,
        "log_path": tmp_path / "logs" / "1.2-attempt-1.log",
    }
    fields.update(changes)
    return AgentRequest(**fields)


@pytest.mark.parametrize(
    ("template", "via"),
    [
        ([PY, "-c", "import sys; print(sys.argv[1])", "{prompt}"], "arg"),
        ([PY, "-c", "import sys; print(sys.argv[1])"], "arg"),  # appended when no placeholder
        ([PY, "-c", "import sys; print(open(sys.argv[1]).read())", "{prompt_file}"], "file"),
        ([PY, "-c", "import sys; print(open(sys.argv[1]).read())"], "file"),
        ([PY, "-c", "import sys; print(sys.stdin.read())"], "stdin"),
    ],
    ids=["arg", "arg-appended", "file", "file-appended", "stdin"],
)
def test_prompt_reaches_the_program(tmp_path: Path, template: list[str], via: Any) -> None:
    request = _request(tmp_path)
    result = asyncio.run(CommandRunner(template, prompt_via=via).run(request))
    assert result.ok, result.reason
    assert result.text == PROMPT
    assert result.failure is None
    assert result.log_path == request.log_path
    assert "Second line." in request.log_path.read_text()
    # Nothing of the runner's own lands in the worktree.
    assert list(request.workspace.iterdir()) == []


def test_prompt_file_sits_beside_the_log(tmp_path: Path) -> None:
    request = _request(tmp_path)
    runner = CommandRunner([PY, "-c", "import sys; print(sys.argv[1])", "{prompt_file}"])
    result = asyncio.run(runner.run(request))
    expected = prompt_file_for(request.log_path)
    assert result.text == str(expected)
    assert expected.parent == request.log_path.parent
    assert expected.read_text() == PROMPT


def test_placeholders_and_string_template(tmp_path: Path) -> None:
    request = _request(tmp_path, prompt="hi")
    template = (
        f"{PY} -c 'import os, sys; print(sys.argv[1:]); print(os.getcwd())' "
        "'task={task_id}' '{workspace}' '{{\"json\": 1}}'"
    )
    result = asyncio.run(CommandRunner(template).run(request))
    lines = result.text.splitlines()
    expected_args = ["task=1.2", str(request.workspace), '{{"json": 1}}', "hi"]
    assert lines == [repr(expected_args), str(request.workspace.resolve())]


def test_request_env_reaches_the_program(tmp_path: Path) -> None:
    request = _request(tmp_path, env={"AGENT_MODE": "test"})
    code = "import os; print(os.environ['AGENT_MODE'])"
    result = asyncio.run(CommandRunner([PY, "-c", code, "{prompt}"]).run(request))
    assert result.text == "test"


@pytest.mark.parametrize(
    ("code", "kind", "reason_parts"),
    [
        (
            "import sys; print('partial'); print('x\\nboom: bad thing', file=sys.stderr); "
            "sys.exit(3)",
            FailureKind.ERROR,
            ("exit code 3", "boom: bad thing"),
        ),
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
            FailureKind.CRASHED,
            ("SIGKILL",),
        ),
        ("import time; time.sleep(1000)", FailureKind.TIMEOUT, ("timed out",)),
    ],
    ids=["non-zero-exit", "killed-by-signal", "timeout"],
)
def test_failure_kinds(
    tmp_path: Path, code: str, kind: FailureKind, reason_parts: tuple[str, ...]
) -> None:
    request = _request(tmp_path, timeout_s=0.5)
    result = asyncio.run(CommandRunner([PY, "-c", code]).run(request))
    assert not result.ok
    assert result.failure is kind
    for part in reason_parts:
        assert part in result.reason


def test_missing_program_is_an_error_result(tmp_path: Path) -> None:
    result = asyncio.run(CommandRunner(["no-such-agent-cli", "{prompt}"]).run(_request(tmp_path)))
    assert not result.ok
    assert result.failure is FailureKind.ERROR
    assert "exit code 127" in result.reason
    assert "no-such-agent-cli" in result.reason


def test_final_text_is_trimmed_and_keeps_the_end(tmp_path: Path) -> None:
    code = "print('x' * 50000); print('SUMMARY: done')"
    result = asyncio.run(CommandRunner([PY, "-c", code]).run(_request(tmp_path)))
    assert len(result.text) == TEXT_LIMIT
    assert result.text.endswith("SUMMARY: done")


def test_runs_in_a_real_git_worktree_and_changes_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    request = _request(tmp_path, workspace=repo)
    code = "open('greet.py', 'w').write('def greet(): return 1\\n')"
    result = asyncio.run(CommandRunner([PY, "-c", code]).run(request))
    assert result.ok
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert status == "?? greet.py\n"


@pytest.mark.parametrize(
    ("template", "via"),
    [([], "arg"), ("", "arg"), (["echo"], "pipe")],
    ids=["empty-list", "empty-string", "bad-prompt-via"],
)
def test_bad_construction_is_refused(template: Any, via: Any) -> None:
    with pytest.raises(ValueError):
        CommandRunner(template, prompt_via=via)


def test_registry_builds_runners_by_name() -> None:
    assert {"command", "script"} <= set(RUNNERS)
    command = make_runner("command", {"argv_template": "echo {prompt}", "prompt_via": "arg"})
    assert isinstance(command, CommandRunner)
    assert command.argv_template == ("echo", "{prompt}")
    assert isinstance(make_runner("script", {}), ScriptRunner)


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("nope", {}, "unknown runner 'nope' (known: "),
        ("command", {"bogus": 1}, "runner 'command': "),
        ("command", {"argv_template": "x", "prompt_via": "pipe"}, "prompt_via must be one of"),
    ],
)
def test_registry_errors_name_the_place_and_the_choices(
    tmp_path: Path, name: str, settings: dict[str, Any], message: str
) -> None:
    where = SourceLocation(tmp_path / "wavefront.yaml", 7)
    with pytest.raises(ConfigError) as caught:
        make_runner(name, settings, source=where)
    assert str(caught.value).startswith(f"{where}: ")
    assert message in str(caught.value)
    if name == "nope":
        assert "command" in str(caught.value) and "script" in str(caught.value)
