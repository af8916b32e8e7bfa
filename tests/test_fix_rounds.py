"""Fix rounds: a refused attempt goes back to the same agent, in the same worktree, with
exactly what failed.

The agent is a stand-in program run by the real `command` runner: it writes the right
thing only when the failure it needs to see is in its prompt, so a passing test shows the
failure travelled. Gates are real (a subprocess, files in a real git worktree).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.model import TaskStatus
from wavefront.runs import RunOptions, RunResult, open_journal, start_run

# Writes `good` into each file when its `needle` is in the prompt, else `bad`; the
# files to write come from the task body (one `path|needle|bad|good` per line).
AGENT = """\
import pathlib, sys
prompt = pathlib.Path(sys.argv[-1]).read_text()
rules = [line.split("|") for line in prompt.splitlines() if line.count("|") == 3]
for path, needle, bad, good in rules:
    text = good if needle in prompt.split("## What failed in your last attempt")[-1] \\
        and "## What failed in your last attempt" in prompt else bad
    if text:
        target = pathlib.Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("\\\\n", "\\n"))
print("Done.\\nDeviations: none")
"""


def command_agent(tmp_path: Path) -> dict[str, Any]:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    return {"command": {"argv_template": [sys.executable, str(agent)], "prompt_via": "file"}}


def run(repo: Path) -> RunResult:
    loaded = load_and_plan([], root=repo)
    return start_run(repo, loaded.backlog, loaded.plan, RunOptions(run_id="fix"))


def prompts(repo: Path, task_id: str) -> list[str]:
    folder = repo / ".wavefront" / "logs" / "fix" / task_id
    return [p.read_text() for p in sorted(folder.glob("attempt-*.prompt.md"))]


def agent_rounds(repo: Path, task_id: str) -> list[str]:
    with open_journal(repo) as journal:
        return [a.state for a in journal.attempts("fix", task_id) if a.kind == "agent"]


def test_a_failing_test_command_is_fixed_when_its_output_is_in_the_prompt(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    check = ("import calc, sys; sys.exit(0) if calc.add(2, 2) == 4 "
             "else sys.exit('add(2, 2) returned ' + repr(calc.add(2, 2)))")
    write_backlog(
        [{"id": "calc", "title": "Add numbers",
          "body": "calc.py|add(2, 2) returned '22'|def add(a, b):\\n    return str(a) + str(b)\\n"
                  "|def add(a, b):\\n    return a + b\\n",
          "gates": [{"kind": "command", "run": [sys.executable, "-c", check]}]}],
        defaults={"runner": "command"}, runners=command_agent(tmp_path),
    )

    result = run(git_repo)

    assert result.exit_code == 0
    assert git(git_repo, "show", f"{result.branch}:calc.py") == "def add(a, b):\n    return a + b\n"
    assert agent_rounds(git_repo, "calc") == ["succeeded", "succeeded"]
    first, second = prompts(git_repo, "calc")
    assert "What failed" not in first
    assert "did not pass the check `command:" in second
    assert "add(2, 2) returned '22'" in second  # the tail of the command's output
    with open_journal(git_repo) as journal:
        events = journal.events("fix", kind="fix_round")
    assert [(e.task_id, e.data["round"], e.data["summary"]) for e in events] == [
        ("calc", 1, "exit 1")]


def test_a_placeholder_in_a_contract_is_shown_with_its_file_and_line(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    write_backlog(
        [{"id": "doc", "title": "Write the API contract", "deliverables": ["docs/API.md"],
          "body": "docs/API.md|docs/API.md:3: placeholder 'TBD'|# API\\n\\nTBD\\n"
                  "|# API\\n\\nGET /books returns the list.\\n",
          "gates": [{"kind": "contract", "paths": ["docs/API.md"]}]}],
        defaults={"runner": "command"}, runners=command_agent(tmp_path),
    )

    result = run(git_repo)

    assert result.exit_code == 0
    assert "GET /books" in git(git_repo, "show", f"{result.branch}:docs/API.md")
    assert agent_rounds(git_repo, "doc") == ["succeeded", "succeeded"]
    assert "- docs/API.md:3: placeholder 'TBD'" in prompts(git_repo, "doc")[1]


def test_a_missing_deliverable_is_named_in_the_next_round(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    write_backlog(
        [{"id": "two", "title": "Write two files", "deliverables": ["one.txt", "two.txt"],
          "body": "one.txt|never|1\\n|1\\n\ntwo.txt|two.txt: missing||2\\n"}],
        defaults={"runner": "command"}, runners=command_agent(tmp_path),
    )

    result = run(git_repo)

    assert result.exit_code == 0
    tree = git(git_repo, "ls-tree", "--name-only", result.branch).split()
    assert {"one.txt", "two.txt"} <= set(tree)
    assert "- two.txt: missing" in prompts(git_repo, "two")[1]


def test_at_the_limit_the_task_fails_with_the_last_failure(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    write_backlog(
        [{"id": "stuck", "title": "Never right", "fix_rounds": 1,
          "body": "out.txt|no such text|wrong\\n|right\\n",
          "gates": [{"kind": "command", "run": "grep -q right out.txt", "name": "right"}]}],
        defaults={"runner": "command"}, runners=command_agent(tmp_path),
    )

    result = run(git_repo)

    assert result.exit_code == 1
    with open_journal(git_repo) as journal:
        record = journal.task("fix", "stuck")
    assert record is not None and record.status == TaskStatus.FAILED
    assert record.reason == "gate right failed: exit 1 (after 1 fix round)"
    assert agent_rounds(git_repo, "stuck") == ["succeeded", "succeeded"]


def test_fix_rounds_zero_fails_at_the_first_refusal(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    write_backlog(
        [{"id": "once", "title": "One try", "body": "out.txt|x|wrong\\n|right\\n",
          "gates": [{"kind": "command", "run": "grep -q right out.txt", "name": "right"}]}],
        defaults={"runner": "command", "fix_rounds": 0}, runners=command_agent(tmp_path),
    )

    result = run(git_repo)

    assert result.exit_code == 1
    assert agent_rounds(git_repo, "once") == ["succeeded"]


def test_a_fix_round_continues_the_agent_cli_session(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    # The fake Claude Code accepts only its documented flags and reports a session id.
    from test_agents_e2e import runner_settings

    marker = tmp_path / "failed-once"
    argv_file = tmp_path / "argv.json"
    gate = f"test -f {marker} || {{ touch {marker}; echo 'first check fails'; exit 1; }}"
    write_backlog(
        [{"id": "one", "title": "One", "gates": [{"kind": "command", "run": gate}]}],
        defaults={"runner": "claude"},
        runners=runner_settings(tmp_path, "claude", FAKE_SCENARIO="success",
                                FAKE_WRITES='{"one.txt": "1\\n"}',
                                FAKE_ARGV_FILE=str(argv_file)),
    )

    result = run(git_repo)

    assert result.exit_code == 0
    assert agent_rounds(git_repo, "one") == ["succeeded", "succeeded"]
    argv = json.loads(argv_file.read_text())  # the second (last) call
    assert argv[argv.index("--resume") + 1] == "9f3b2a1c-5d4e-4f60-8a7b-1c2d3e4f5a6b"
    assert "first check fails" in argv[argv.index("-p") + 1]
