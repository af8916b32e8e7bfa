"""A person's part in a run: approve, ask for a change, reject, answer an agent's
question, retry what failed. Each works from any process while the run goes on."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from pathlib import Path

from wavefront.errors import WavefrontError
from wavefront.journal.database import Journal
from wavefront.model import TaskStatus
from wavefront.runs.store import open_journal, resolve_run
from wavefront.words import shell_words

__all__ = [
    "DECISIONS",
    "answer_question",
    "complete_subtask",
    "open_question",
    "record_decision",
    "retry_tasks",
]


DECISIONS = ("approve", "change", "reject")


def record_decision(root: Path, task_id: str, decision: str, note: str = "",
                    run_id: str | None = None, who: str | None = None) -> str:
    """Record a person's decision on a task waiting for one; works while the run goes on.

    `approve` merges it; `change` sends `note` back to its agent as a change request for
    another round in the same worktree; `reject` fails it (with `note` as the reason).
    Returns the run's id.
    """
    if decision not in DECISIONS:
        raise WavefrontError(f"unknown decision {decision!r}; expected one of "
                             f"{', '.join(DECISIONS)}")
    if decision == "change" and not note.strip():
        raise WavefrontError("a change request needs a note saying what to change")
    with open_journal(root, create=False) as journal:
        run = resolve_run(journal, run_id)
        _waiting(journal, run.id, task_id)
        question = open_question(journal, run.id, task_id)
        if question is not None and decision == "approve":
            raise WavefrontError(f"task {task_id} asks a question and has not finished; "
                                 "answer it with "
                                 f"`wavefront answer {shell_words([task_id])} \"...\"`")
        journal.add_decision(run.id, task_id, decision, note, who=who or _who())
        return run.id


def answer_question(root: Path, task_id: str, answer: str, run_id: str | None = None,
                    who: str | None = None) -> str:
    """Answer the question a task's agent asked; its next round gets question and answer.

    Works from any process while the run goes on (or before `wavefront resume`). Returns
    the run's id.
    """
    if not answer.strip():
        raise WavefrontError("the answer is empty; say what the agent should do")
    with open_journal(root, create=False) as journal:
        run = resolve_run(journal, run_id)
        _waiting(journal, run.id, task_id)
        if open_question(journal, run.id, task_id) is None:
            raise WavefrontError(f"task {task_id} asks no question; it waits for approval: "
                                 f"`wavefront approve {shell_words([task_id])}` or "
                                 "`wavefront reject --note \"...\" "
                                 f"{shell_words([task_id])}`")
        journal.add_decision(run.id, task_id, "answer", answer, who=who or _who())
        return run.id


def open_question(journal: Journal, run_id: str, task_id: str) -> str | None:
    """The question a task's agent asked that no one has answered yet, or None."""
    from wavefront.engine.conversation import unanswered

    return unanswered(journal, run_id, task_id)


def complete_subtask(root: Path, feature: str, seq: str, summary: str) -> list[Path]:
    """Mark subtask `seq` of task JSON feature `feature` completed by hand, in the working
    tree (as the multi-stage workflow's task CLI does); returns the files written."""
    from wavefront.backlog.taskcli import complete

    return complete(root.resolve(), feature, seq, summary)


def retry_tasks(root: Path, task_ids: Sequence[str], run_id: str | None = None) -> list[str]:
    """Put failed tasks back in the queue and release the tasks they blocked."""
    with open_journal(root, create=False) as journal:
        run = resolve_run(journal, run_id)
        records = {r.task_id: r for r in journal.tasks(run.id)}
        unknown = [t for t in task_ids if t not in records]
        if unknown:
            raise WavefrontError(f"run {run.id} has no task {', '.join(unknown)} "
                                 f"(tasks: {', '.join(list(records)[:10])})")
        released: list[str] = []
        for task_id in task_ids:
            status = records[task_id].status
            if status not in (TaskStatus.FAILED, TaskStatus.CONFLICT, TaskStatus.BLOCKED,
                              TaskStatus.CANCELLED, TaskStatus.NEEDS_HUMAN):
                raise WavefrontError(f"task {task_id} is {status.value}; only failed, "
                                     "conflict, blocked or cancelled tasks can be retried")
            journal.reset_retries(run.id, task_id)
            journal.set_status(run.id, task_id, TaskStatus.PENDING, "retry requested")
            released.append(task_id)
        for record in records.values():
            if record.status == TaskStatus.BLOCKED and record.task_id not in released:
                journal.set_status(run.id, record.task_id, TaskStatus.PENDING,
                                   "released by retry")
                released.append(record.task_id)
        return released


def _waiting(journal: Journal, run_id: str, task_id: str) -> None:
    record = journal.task(run_id, task_id)
    if record is None:
        raise WavefrontError(f"run {run_id} has no task {task_id!r}")
    if record.status != TaskStatus.NEEDS_HUMAN:
        raise WavefrontError(f"task {task_id} is {record.status.value}, not waiting for "
                             "a person")


def _who() -> str:
    """The person deciding, as the journal names them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "a person"

