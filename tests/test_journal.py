"""The journal on real SQLite files: migrations, events, concurrent openers, round trips."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from wavefront.errors import JournalError
from wavefront.journal.database import Event, Journal, task_from_json, task_to_json
from wavefront.journal.migrations import MIGRATIONS, SCHEMA_VERSION
from wavefront.model import (
    AgentResult,
    FailureKind,
    GateAction,
    GateResult,
    GateSpec,
    SourceLocation,
    Task,
    TaskOptions,
    TaskStatus,
)

TASK = Task(
    id="1.2",
    title="Tags",
    source=SourceLocation(Path("docs/stories/1.2.md"), 1),
    body="text",
    dependencies=("0.1",),
    dependencies_source=SourceLocation(Path("docs/stories/1.2.md"), 3),
    status=TaskStatus.RUNNING,
    status_text="In Progress",
    epic="1",
    acceptance_criteria=("a", "b"),
    deliverables=("x.py",),
    files=("x.py", "y/*"),
    gates=(GateSpec("command", {"run": "true"}),),
    parallel=False,
    weight=2.5,
    tags=("auth",),
    backlog_format="stories",
    options=TaskOptions(script={"files": {"x.py": "1"}}, fixes_gate="1.1"),
    metadata={"story_file": "docs/stories/1.2.md"},
)


def new_run(journal: Journal, run_id: str = "r1") -> None:
    journal.create_run(
        run_id,
        repo=Path("/repo"),
        base_commit="abc",
        branch=f"wavefront/{run_id}",
        options={"k": 1},
        tasks=[(TASK, "sdet", "script", 3.0, 1)],
    )


def test_a_task_survives_the_round_trip_through_json() -> None:
    assert task_from_json(task_to_json(TASK)) == TASK
    assert task_from_json(task_to_json(TASK)).options == TASK.options
    assert task_from_json(task_to_json(TASK)).metadata == TASK.metadata


def test_a_task_of_an_earlier_journal_gets_its_format_and_fix_typed() -> None:
    # Journals written before these were typed kept them among the metadata.
    stored = json.loads(task_to_json(TASK))
    del stored["backlog_format"]
    stored["options"].pop("fixes_gate")
    stored["metadata"] = {**stored["metadata"], "backlog_format": "stories",
                          "fixes_gate": "1.1"}
    again = task_from_json(json.dumps(stored))
    assert (again.backlog_format, again.options, again.metadata) == (
        TASK.backlog_format, TASK.options, TASK.metadata)


def test_status_changes_are_events_seen_after_commit(tmp_path: Path) -> None:
    seen: list[Event] = []
    with Journal.open(tmp_path / "j.db") as journal:
        new_run(journal)
        journal.listeners.append(seen.append)
        journal.set_status("r1", "1.2", TaskStatus.FAILED, "broken", spend_retry=True)
        record = journal.task("r1", "1.2")
        assert record is not None
        assert (record.status, record.reason, record.retries_used) == (
            TaskStatus.FAILED,
            "broken",
            1,
        )
        assert record.agent == "sdet" and record.runner == "script" and record.wave == 1
        assert [(e.kind, e.data["status"]) for e in seen] == [("task_status", "failed")]
        with pytest.raises(JournalError, match="no task"):
            journal.set_status("r1", "nope", TaskStatus.DONE)


def test_attempts_gates_and_totals(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.db") as journal:
        new_run(journal)
        first = journal.start_attempt("r1", "1.2", runner="claude", agent="sdet")
        journal.finish_attempt(
            first.id,
            AgentResult(
                ok=False,
                failure=FailureKind.TIMEOUT,
                reason="slow",
                cost_usd=0.5,
                tokens_in=10,
                tokens_out=5,
            ),
        )
        second = journal.start_attempt("r1", "1.2")
        journal.finish_attempt(
            second.id,
            AgentResult(ok=True, cost_usd=0.25, cost_estimated=True),
            head_commit="def",
            changed_files=["x.py"],
            deviations=["used y"],
        )
        journal.record_gate(
            second.id, GateResult("human", False, "waiting", action=GateAction.WAIT)
        )
        attempts = journal.attempts("r1", "1.2")
        assert [(a.number, a.state, a.failure) for a in attempts] == [
            (1, "failed", "timeout"),
            (2, "succeeded", None),
        ]
        assert attempts[1].changed_files == ("x.py",) and attempts[1].deviations == ("used y",)
        assert journal.gate_results(second.id)[0].action is GateAction.WAIT
        totals = journal.totals("r1")
        assert totals["cost_usd"] == pytest.approx(0.75) and totals["cost_estimated"] == 1


def test_decisions_are_taken_once(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.db") as journal:
        new_run(journal)
        journal.add_decision("r1", "1.2", "approve", "looks right")
        assert journal.take_decisions("r1") == [("1.2", "approve", "looks right")]
        assert journal.take_decisions("r1") == []


def test_an_old_schema_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "\nPRAGMA user_version=1;")
    db.execute("INSERT INTO runs VALUES ('r0', 0, '/repo', 'abc', 'b', 'finished', '{}', NULL)")
    db.commit()
    db.close()
    with Journal.open(path) as journal:
        assert journal.get_run("r0") is not None
        version = journal._db.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION
        columns = {row[1] for row in journal._db.execute("PRAGMA table_info(gate_results)")}
        assert "action" in columns


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(JournalError, match="newer than this wavefront"):
        Journal.open(path)


def test_processes_opening_a_new_journal_at_once_do_not_collide(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    code = ("from pathlib import Path; from wavefront.journal.database import Journal; "
            f"Journal.open(Path({str(path)!r})).close()")
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=60)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, errors
    with Journal.open(path) as journal:
        assert journal._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_group_commits_hold_one_pass_of_writes_until_the_next(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    seen: list[Event] = []
    failures: list[BaseException] = []

    def status_elsewhere() -> str:
        with sqlite3.connect(path) as other:
            return str(other.execute("SELECT status FROM tasks").fetchone()[0])

    async def one_pass() -> tuple[str, str, int]:
        with Journal.open(path) as journal:
            new_run(journal)
            journal.listeners.append(seen.append)
            with journal.group_commits(asyncio.get_running_loop(), failures.append):
                journal.set_status("r1", "1.2", TaskStatus.RUNNING, "dispatched")
                journal.append_event("r1", "note", "1.2", text="two writes, one commit")
                unseen = status_elsewhere()
                heard = len(seen)
                await journal.durable()  # what an action waits for
                return unseen, status_elsewhere(), heard

    unseen, committed, heard = asyncio.run(one_pass())
    assert (unseen, committed) == ("pending", "running")
    assert heard == 0  # listeners hear only committed events...
    assert [e.kind for e in seen] == ["task_status", "note"]  # ...in the order written
    assert failures == []
