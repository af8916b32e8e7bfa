"""The `human` gate: a task waits for a person, who decides from another process.

The run goes on in a real child process (`wait_for_humans=True`); the test process reads
the journal until the task waits, then records the decision with `runs.record_decision`, exactly
as `wavefront approve` / `wavefront reject` do from a second terminal.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import WriteBacklog, git
from wavefront.backlog.load import load_and_plan
from wavefront.errors import WavefrontError
from wavefront.model import TaskStatus
from wavefront.runs import (
    RunOptions,
    open_journal,
    record_decision,
    resume_run,
    start_run,
)

RUN_IN_CHILD = """\
import sys
from pathlib import Path
from wavefront.backlog.load import load_and_plan
from wavefront.runs import RunOptions, start_run
repo = Path(sys.argv[1])
loaded = load_and_plan([], root=repo)
result = start_run(repo, loaded.backlog, loaded.plan,
                   RunOptions(run_id="human", wait_for_humans=True))
sys.exit(result.exit_code)
"""
DEADLINE_S = 60.0


def backlog(write_backlog: WriteBacklog) -> None:
    write_backlog(
        [
            {
                "id": "ship",
                "title": "Ship it",
                "gates": [{"kind": "human", "prompt": "check the release notes"}],
                "script": {"files": {"notes.md": "# Notes\n\nShipped.\n"}},
            },
            {
                "id": "after",
                "title": "After",
                "depends_on": ["ship"],
                "script": {"files": {"after.txt": "x\n"}},
            },
            {"id": "free", "title": "Free", "script": {"files": {"free.txt": "x\n"}}},
        ],
        # One slot: `free` can only run while `ship` waits if waiting holds no slot.
        limits={"max_parallel": 1},
    )


def branch_exists(repo: Path, branch: str) -> bool:
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
        capture_output=True,
    )
    return found.returncode == 0


def wait_for_status(
    repo: Path, run_id: str, task_id: str, status: TaskStatus, child: subprocess.Popen[bytes]
) -> None:
    """Poll the journal (as a second process would) until the task reaches `status`."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            _, stderr = child.communicate()
            with open_journal(repo) as journal:
                seen = [(r.task_id, r.status.value, r.reason) for r in journal.tasks(run_id)]
            pytest.fail(f"the run ended before {task_id} waited: {seen}\n{stderr.decode()}")
        # The run's branch exists only once the child has created the journal; opening
        # it earlier would race the child's schema migration (see the report to the lead).
        if branch_exists(repo, f"wavefront/{run_id}"):
            with open_journal(repo) as journal:
                record = journal.task(run_id, task_id) if journal.get_run(run_id) else None
            if record is not None and record.status == status:
                return
        time.sleep(0.1)
    pytest.fail(f"task {task_id} did not reach {status.value}")


@pytest.mark.parametrize(
    ("decision", "note", "status", "exit_code", "merged"),
    [
        ("approve", "notes read", TaskStatus.DONE, 0, True),
        ("reject", "wrong version number", TaskStatus.FAILED, 1, False),
    ],
)
def test_a_decision_from_another_process_while_the_run_waits(
    git_repo: Path,
    write_backlog: WriteBacklog,
    decision: str,
    note: str,
    status: TaskStatus,
    exit_code: int,
    merged: bool,
) -> None:
    backlog(write_backlog)
    child = subprocess.Popen(
        [sys.executable, "-c", RUN_IN_CHILD, str(git_repo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_status(git_repo, "human", "ship", TaskStatus.NEEDS_HUMAN, child)
        wait_for_status(git_repo, "human", "free", TaskStatus.DONE, child)
        with open_journal(git_repo) as journal:
            waiting = journal.task("human", "ship")
            events = journal.events("human", kind="task_status")
        assert waiting is not None and waiting.status == TaskStatus.NEEDS_HUMAN
        assert "check the release notes" in waiting.reason
        waited = next(
            e.id for e in events if e.task_id == "ship" and e.data["status"] == "needs-human"
        )
        started = next(
            e.id for e in events if e.task_id == "free" and e.data["status"] == "running"
        )
        assert waited < started  # `free` took the only slot while `ship` waited

        assert record_decision(git_repo, "ship", decision, note=note) == "human"
        _, stderr = child.communicate(timeout=DEADLINE_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == exit_code, stderr.decode()
    with open_journal(git_repo) as journal:
        records = {r.task_id: r for r in journal.tasks("human")}
        approved = journal.events("human", kind="approved")
    assert records["ship"].status == status
    tree = git(git_repo, "ls-tree", "--name-only", "wavefront/human").split()
    assert ("notes.md" in tree) is merged
    if merged:
        assert records["after"].status == TaskStatus.DONE
        assert [e.data["note"] for e in approved] == [note]
    else:
        assert records["after"].status == TaskStatus.BLOCKED
        assert note in records["ship"].reason


def test_approval_after_the_run_stopped_is_applied_on_resume(
    git_repo: Path, write_backlog: WriteBacklog
) -> None:
    backlog(write_backlog)
    loaded = load_and_plan([], root=git_repo)
    first = start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(run_id="later"))
    assert first.stop.state == "waiting" and first.exit_code == 3

    record_decision(git_repo, "ship", "approve", note="fine")
    resumed = resume_run(git_repo, "later")

    assert resumed.exit_code == 0
    tree = git(git_repo, "ls-tree", "--name-only", "wavefront/later").split()
    assert {"notes.md", "after.txt", "free.txt"} <= set(tree)


def test_only_a_waiting_task_can_be_decided(git_repo: Path, write_backlog: WriteBacklog) -> None:
    backlog(write_backlog)
    loaded = load_and_plan([], root=git_repo)
    start_run(git_repo, loaded.backlog, loaded.plan, RunOptions(run_id="once"))
    with open_journal(git_repo) as journal:
        others = [r for r in journal.tasks("once") if r.status != TaskStatus.NEEDS_HUMAN]
    assert [r.task_id for r in others] == ["after", "free"]
    for record in others:
        with pytest.raises(WavefrontError, match=f"{record.status.value}, not waiting"):
            record_decision(git_repo, record.task_id, "approve")
    with pytest.raises(WavefrontError, match="no task 'nope'"):
        record_decision(git_repo, "nope", "approve")
