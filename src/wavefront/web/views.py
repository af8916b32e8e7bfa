"""What each page shows, read from the journal (and, for diffs, from git).

Nothing here writes: the dashboard reads the journal as the engine leaves it, so it can be
started, stopped and restarted during a run without touching the run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavefront.agents.runners.command import prompt_file_for
from wavefront.errors import WavefrontError
from wavefront.journal.database import AttemptRecord, Event, Journal, RunRecord, TaskRecord
from wavefront.journal.kinds import EventKind
from wavefront.model import GateResult, TaskStatus
from wavefront.redact import Redactor
from wavefront.web.graph import Layout, layout

__all__ = [
    "ATTENTION",
    "AttemptView",
    "RunView",
    "TaskView",
    "counts_of",
    "read_attempt_diff",
    "run_view",
    "runs_view",
    "task_view",
]

# What a person is asked to look at, in the order the queue shows it.
ATTENTION = (TaskStatus.NEEDS_HUMAN, TaskStatus.FAILED, TaskStatus.CONFLICT)
# Big diffs and prompts are cut: a browser tab is no place for a megabyte of text.
TEXT_LIMIT = 400_000


@dataclass(frozen=True)
class RunView:
    run: RunRecord
    tasks: tuple[TaskRecord, ...]
    counts: Mapping[str, int]
    cost_usd: float
    cost_estimated: bool
    tokens_in: int
    tokens_out: int
    elapsed_s: float
    ended_at: float | None
    budget_usd: float | None
    last_event: int
    graph: Layout
    attention: tuple[TaskRecord, ...]
    questions: Mapping[str, str]  # task id -> the question its agent asked, unanswered
    cost_by_agent: tuple[tuple[str, float], ...]
    cost_by_task: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class AttemptView:
    attempt: AttemptRecord
    gates: tuple[GateResult, ...]
    prompt: str | None


@dataclass(frozen=True)
class TaskView:
    run: RunRecord
    record: TaskRecord
    attempts: tuple[AttemptView, ...]
    cost_usd: float
    tokens_in: int
    tokens_out: int
    decisions: tuple[Event, ...]
    questions: Mapping[str, str]
    last_event: int


def counts_of(tasks: Sequence[TaskRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in tasks:
        counts[record.status.value] = counts.get(record.status.value, 0) + 1
    return counts


def ended(run: RunRecord, tasks: Sequence[TaskRecord]) -> float | None:
    """When the run stopped (None while it runs): a run interrupted or waiting has no
    finish time of its own, so its last task change stands for it."""
    if run.state == "running":
        return None
    return run.finished_at or max((t.updated_at for t in tasks), default=run.created_at)


def elapsed(run: RunRecord, tasks: Sequence[TaskRecord]) -> float:
    return (ended(run, tasks) or time.time()) - run.created_at


def runs_view(journal: Journal) -> list[tuple[RunRecord, dict[str, int], float, float]]:
    """Every run, newest first: (run, counts by status, elapsed seconds, cost)."""
    views = []
    for run in reversed(journal.runs()):
        tasks = journal.tasks(run.id)
        views.append((run, counts_of(tasks), elapsed(run, tasks),
                      journal.totals(run.id)["cost_usd"]))
    return views


def run_view(journal: Journal, run: RunRecord) -> RunView:
    tasks = tuple(journal.tasks(run.id))
    attempts = journal.attempts(run.id)
    by_task: dict[str, float] = {}
    by_agent: dict[str, float] = {}
    for attempt in attempts:
        if attempt.cost_usd:
            by_task[attempt.task_id] = by_task.get(attempt.task_id, 0.0) + attempt.cost_usd
            agent = attempt.agent or "-"
            by_agent[agent] = by_agent.get(agent, 0.0) + attempt.cost_usd
    settings = run.options.get("settings", {})
    return RunView(
        run=run, tasks=tasks, counts=counts_of(tasks),
        cost_usd=sum(by_task.values()),
        cost_estimated=any(a.cost_estimated for a in attempts),
        tokens_in=sum(a.tokens_in for a in attempts),
        tokens_out=sum(a.tokens_out for a in attempts),
        elapsed_s=elapsed(run, tasks), ended_at=ended(run, tasks),
        budget_usd=settings.get("budget_usd") if isinstance(settings, Mapping) else None,
        last_event=journal.last_event_id(run.id),
        graph=layout(tasks),
        attention=tuple(sorted((t for t in tasks if t.status in ATTENTION),
                               key=lambda t: ATTENTION.index(t.status))),
        questions=_questions(journal, run.id, tasks),
        cost_by_agent=_largest(by_agent), cost_by_task=_largest(by_task))


def task_view(journal: Journal, run: RunRecord, task_id: str) -> TaskView:
    record = journal.task(run.id, task_id)
    if record is None:
        raise WavefrontError(f"run {run.id} has no task {task_id!r}")
    attempts = journal.attempts(run.id, task_id)
    return TaskView(
        run=run, record=record,
        attempts=tuple(AttemptView(a, tuple(journal.gate_results(a.id)), _prompt(a))
                       for a in attempts),
        cost_usd=sum(a.cost_usd or 0.0 for a in attempts),
        tokens_in=sum(a.tokens_in for a in attempts),
        tokens_out=sum(a.tokens_out for a in attempts),
        decisions=tuple(e for e in journal.events(run.id, kind=EventKind.DECISION)
                        if e.task_id == task_id),
        questions=_questions(journal, run.id, (record,)),
        last_event=journal.last_event_id(run.id))


def _questions(journal: Journal, run_id: str, tasks: Sequence[TaskRecord]) -> dict[str, str]:
    from wavefront.runs import open_question

    asked = {}
    for record in tasks:
        if record.status == TaskStatus.NEEDS_HUMAN:
            question = open_question(journal, run_id, record.task_id)
            if question is not None:
                asked[record.task_id] = question
    return asked


def read_attempt_diff(repo: Path, attempt: AttemptRecord) -> str | None:
    """The change an attempt made (base to head commit): what the merge queue merges."""
    from wavefront.workspace.git import GitRepo

    if not attempt.base_commit or not attempt.head_commit:
        return None
    done = GitRepo(repo).run_result("diff", "--no-color", "--no-ext-diff", "--stat", "--patch",
                                    attempt.base_commit, attempt.head_commit)
    if done.returncode != 0:
        return f"(the diff is not available: {done.stderr.strip() or 'git failed'})"
    return _cut(Redactor().text(done.stdout))


def _prompt(attempt: AttemptRecord) -> str | None:
    """The exact prompt an attempt was given, kept beside its log."""
    if not attempt.log_path:
        return None
    path = prompt_file_for(Path(attempt.log_path))
    try:
        return _cut(Redactor().text(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return None


def _cut(text: str) -> str:
    if len(text) <= TEXT_LIMIT:
        return text
    return text[:TEXT_LIMIT] + f"\n… cut at {TEXT_LIMIT:,} characters\n"


def _largest(costs: Mapping[str, float], limit: int = 12) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(costs.items(), key=lambda item: -item[1])[:limit])
