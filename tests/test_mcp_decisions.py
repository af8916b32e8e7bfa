"""A person's decisions through `wavefront mcp` (the SDK's client over stdio): approve a
task waiting at a human gate, retry a failed one, complete a task JSON subtask; errors
carry the messages the CLI gives for the same mistake."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from components import need
from conftest import WriteBacklog, git
from test_mcp_server import HAVE_MCP, Session, call, cli, error_of, with_server
from test_taskcli import feature
from wavefront.model import TaskStatus
from wavefront.runs import open_journal

# Fails until the marker file exists (the test creates it before the retry).
AGENT = """\
import pathlib, sys
task, marker = sys.argv[1], pathlib.Path(sys.argv[2])
if task == "flaky" and not marker.exists():
    sys.exit("not yet")
pathlib.Path(task + ".txt").write_text(task + "\\n")
print("Summary: wrote " + task + ".txt")
"""


@pytest.fixture(autouse=True)
def _sdk() -> None:
    need(HAVE_MCP, "the MCP SDK is missing: pip install 'wavefront[mcp]'")


def status_of(repo: Path, run_id: str, task_id: str) -> TaskStatus | None:
    with open_journal(repo) as journal:
        record = journal.task(run_id, task_id)
    return record.status if record else None


async def until(session: Session, run_id: str, task_id: str, status: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        data = await call(session, "run_status", run_id=run_id)
        if {t["id"]: t["status"] for t in data["tasks"]}.get(task_id) == status:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{task_id} never became {status}")


def test_approve_retry_and_the_cli_messages_for_bad_decisions(
    git_repo: Path, write_backlog: WriteBacklog, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    marker = tmp_path / "ready"
    write_backlog(
        [{"id": "ship", "title": "Ship", "gates": [{"kind": "human"}]},
         {"id": "flaky", "title": "Flaky"}],
        defaults={"runner": "command"},
        runners={"command": {"argv_template": [sys.executable, str(agent), "{task_id}",
                                               str(marker)]}})
    # The first run ends: flaky failed, ship waits for a person.
    first = cli(git_repo, "run", "--run-id", "r1", "--no-progress")
    assert first.returncode == 3, first.stderr
    assert status_of(git_repo, "r1", "ship") == TaskStatus.NEEDS_HUMAN
    assert status_of(git_repo, "r1", "flaky") == TaskStatus.FAILED
    expected = {
        "answer": cli(git_repo, "answer", "ship", "yes").stderr.strip(),
        "retry": cli(git_repo, "retry", "ghost", "--no-run").stderr.strip(),
        "approve": cli(git_repo, "approve", "flaky").stderr.strip(),
        "unknown": cli(git_repo, "approve", "ghost").stderr.strip(),
    }

    async def body(session: Session) -> dict[str, Any]:
        got = {
            "answer": await error_of(session, "answer", task_id="ship", text="yes"),
            "retry": await error_of(session, "retry", task_ids=["ghost"]),
            "approve": await error_of(session, "approve", task_id="flaky"),
            "unknown": await error_of(session, "approve", task_id="ghost"),
            "no_note": await error_of(session, "reject", task_id="ship"),
            "no_tasks": await error_of(session, "retry", task_ids=[]),
        }
        got["approved"] = await call(session, "approve", task_id="ship", note="notes read")
        marker.write_text("")
        got["retried"] = await call(session, "retry", task_ids=["flaky"])
        await until(session, "r1", "flaky", "done")
        await until(session, "r1", "ship", "done")
        return got

    got = with_server(git_repo, body, "--tools", "standard")
    for name, message in expected.items():
        assert message.startswith("error: "), (name, message)
        assert got[name] == message.removeprefix("error: "), name
    assert got["no_note"] == "say what to change with a note, or fail the task with fail=true"
    assert "at least 1" in got["no_tasks"] or "min" in got["no_tasks"].lower()
    assert got["approved"] == "approval recorded for ship in run r1"
    assert got["retried"]["queued"] == ["flaky"] and got["retried"]["resumed"]["pid"] > 0
    assert git(git_repo, "show", "wavefront/r1:flaky.txt") == "flaky\n"
    assert git(git_repo, "show", "wavefront/r1:ship.txt") == "ship\n"
    with open_journal(git_repo) as journal:
        decisions = [e.data for e in journal.events("r1", kind="decision")]
    assert decisions[-1]["decision"] == "approve"
    assert decisions[-1]["who"].endswith("(via MCP)")


def test_complete_subtask_writes_what_wavefront_complete_writes(git_repo: Path) -> None:
    folder = feature(git_repo)

    async def body(session: Session) -> dict[str, Any]:
        return {"done": await call(session, "complete_subtask", feature="auth", seq="1",
                                   summary="Login form and session"),
                "unknown": await error_of(session, "complete_subtask", feature="billing",
                                          seq="01", summary="x")}

    got = with_server(git_repo, body, "--tools", "all")
    assert sorted(got["done"]["written"]) == [".tmp/tasks/auth/subtask_01.json",
                                              ".tmp/tasks/auth/task.json"]
    sub = json.loads((folder / "subtask_01.json").read_text())
    assert sub["status"] == "completed"
    assert sub["completion_summary"] == "Login form and session"
    assert json.loads((folder / "task.json").read_text())["completed_count"] == 1
    expected = cli(git_repo, "complete", "billing", "01", "x").stderr.strip()
    assert got["unknown"] == expected.removeprefix("error: ")
