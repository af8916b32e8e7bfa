"""What a run did, from the journal: the completion summary and `status`.

`summarize` reads one run into a `RunSummary`; `render_summary` turns it into the
completion summary (counts, failed tasks with reasons, blocked tasks with what blocked
them, time, cost, what to do next).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from wavefront.journal.database import Journal, RunRecord, TaskRecord
from wavefront.journal.kinds import AttemptKind
from wavefront.model import TaskStatus
from wavefront.words import shell_words

__all__ = ["RunSummary", "TaskLine", "render_status", "render_summary", "summarize"]


@dataclass(frozen=True)
class TaskLine:
    task_id: str
    title: str
    status: TaskStatus
    reason: str
    agent: str | None
    runner: str | None
    attempts: int  # at the work, as report.md counts them and `log --attempt` numbers them
    cost_usd: float
    tokens_in: int
    tokens_out: int
    cost_estimated: bool
    merge_commit: str | None
    cost_unknown: bool = False  # an attempt used tokens and no cost could be known
    reviews: int = 0  # reviewers' verdicts, numbered apart from the work


@dataclass(frozen=True)
class RunSummary:
    run: RunRecord
    tasks: tuple[TaskLine, ...]
    elapsed_s: float
    cost_usd: float
    cost_estimated: bool
    tokens_in: int
    tokens_out: int
    cost_unknown: bool = False

    @property
    def counts(self) -> Mapping[TaskStatus, int]:
        counts: dict[TaskStatus, int] = {}
        for line in self.tasks:
            counts[line.status] = counts.get(line.status, 0) + 1
        return counts

    def with_status(self, *statuses: TaskStatus) -> list[TaskLine]:
        return [line for line in self.tasks if line.status in statuses]

    @property
    def cost_by_agent(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.tasks:
            if line.cost_usd:
                agent = line.agent or "-"
                totals[agent] = totals.get(agent, 0.0) + line.cost_usd
        return dict(sorted(totals.items(), key=lambda item: -item[1]))


def summarize(journal: Journal, run: RunRecord,
              only: Callable[[TaskRecord], bool] | None = None) -> RunSummary:
    """One run read from the journal; `only` keeps the tasks it accepts (one feature's)."""
    lines = []
    attempts_by_task: dict[str, list[tuple[float | None, int, int, bool]]] = {}
    reviews: dict[str, int] = {}
    for attempt in journal.attempts(run.id):
        attempts_by_task.setdefault(attempt.task_id, []).append(
            (attempt.cost_usd, attempt.tokens_in, attempt.tokens_out, attempt.cost_estimated))
        if attempt.kind == AttemptKind.REVIEW:
            reviews[attempt.task_id] = reviews.get(attempt.task_id, 0) + 1
    records: list[TaskRecord] = [r for r in journal.tasks(run.id) if only is None or only(r)]
    for record in records:
        attempts = attempts_by_task.get(record.task_id, [])
        lines.append(TaskLine(
            task_id=record.task_id, title=record.task.title, status=record.status,
            reason=record.reason, agent=record.agent, runner=record.runner,
            attempts=len(attempts) - reviews.get(record.task_id, 0),
            reviews=reviews.get(record.task_id, 0), cost_usd=sum(a[0] or 0.0 for a in attempts),
            tokens_in=sum(a[1] for a in attempts), tokens_out=sum(a[2] for a in attempts),
            cost_estimated=any(a[3] for a in attempts), merge_commit=record.merge_commit,
            cost_unknown=any(a[0] is None and (a[1] or a[2]) for a in attempts)))
    events = journal.events(run.id)
    start = events[0].at if events else run.created_at
    end = events[-1].at if events else run.created_at
    return RunSummary(
        run=run, tasks=tuple(lines), elapsed_s=end - start,
        cost_usd=sum(line.cost_usd for line in lines),
        cost_estimated=any(line.cost_estimated for line in lines),
        tokens_in=sum(line.tokens_in for line in lines),
        tokens_out=sum(line.tokens_out for line in lines),
        cost_unknown=any(line.cost_unknown for line in lines),
    )


def _money(summary: RunSummary) -> str:
    approx = "~" if summary.cost_estimated else ""
    # A CLI that reports no cost for a model without a known price: never shown as $0.
    if summary.cost_unknown and not summary.cost_usd:
        money = "unknown"
    elif summary.cost_unknown:
        money = f"{approx}${summary.cost_usd:.2f} + unknown"
    else:
        money = f"{approx}${summary.cost_usd:.2f}"
    text = f"{money} ({summary.tokens_in:,} tokens in, {summary.tokens_out:,} out)"
    by_agent = summary.cost_by_agent
    if len(by_agent) > 1:
        text += "; by agent: " + ", ".join(f"{a} ${c:.2f}" for a, c in by_agent.items())
    return text


def render_summary(summary: RunSummary) -> RenderableType:
    counts = summary.counts
    done = counts.get(TaskStatus.DONE, 0)
    total = len(summary.tasks)
    failed = summary.with_status(TaskStatus.FAILED, TaskStatus.CONFLICT, TaskStatus.CANCELLED)
    blocked = summary.with_status(TaskStatus.BLOCKED)
    waiting = summary.with_status(TaskStatus.NEEDS_HUMAN)
    pending = [line for line in summary.tasks if not line.status.is_final
               and line.status != TaskStatus.NEEDS_HUMAN]
    complete = done + counts.get(TaskStatus.SKIPPED, 0) == total
    if complete:
        title = "✅ Run complete"
    elif summary.run.state != "finished":
        title = "⏸  Run paused"
    else:
        title = "❌ Run finished with problems"
    parts: list[RenderableType] = [Text(title, style="bold")]
    # The rarer counts only when there are any, so the line fits 80 columns.
    rarer = {"⊘ Blocked": len(blocked), "? Waiting": len(waiting),
             "↷ Skipped": counts.get(TaskStatus.SKIPPED, 0), "· Not run": len(pending)}
    parts.append(Text("   ".join(
        [f"Total tasks: {total}", f"✅ Done: {done}", f"❌ Failed: {len(failed)}",
         *(f"{label}: {count}" for label, count in rarer.items() if count)])))
    parts.append(Text(f"Branch: {summary.run.branch}   Time: {summary.elapsed_s:.1f}s"))
    parts.append(Text(f"Cost: {_money(summary)}"))
    if failed:
        parts.append(Text("\nFailed:", style="bold red"))
        parts.extend(Text(f"  - {line.task_id}: {line.title} ({line.status.value}: "
                          f"{line.reason})") for line in failed)
    if blocked:
        parts.append(Text("\nBlocked:", style="bold yellow"))
        parts.extend(Text(f"  - {line.task_id}: {line.title} ({line.reason})")
                     for line in blocked)
    if waiting:
        parts.append(Text("\nWaiting for a person:", style="bold yellow"))
        parts.extend(Text(f"  - {line.task_id}: {line.reason}") for line in waiting)
    parts.append(Text("\nNext steps:", style="bold"))
    for step in _next_steps(summary, failed, blocked, waiting, pending):
        parts.append(Text(f"  {step}"))
    return Group(*parts)


def _next_steps(summary: RunSummary, failed: list[TaskLine], blocked: list[TaskLine],
                waiting: list[TaskLine], pending: list[TaskLine]) -> list[str]:
    # Commands that work from where the user is: name the repository when it is elsewhere
    # (the demo's, for one).
    repo = Path(summary.run.repo)
    at = "" if Path.cwd().resolve() == repo.resolve() else f" -C {shlex.quote(str(repo))}"
    steps = []
    if failed:
        first = failed[0].task_id
        ids = shell_words([t.task_id for t in failed])
        steps.append(f"Look at why: `wavefront log{at} {shell_words([first])}`; fix, then "
                     f"`wavefront retry{at} {ids}` (releases the blocked tasks)")
    if waiting:
        chosen = shell_words([waiting[0].task_id])
        steps.append(f"Decide: `wavefront approve{at} {chosen}` or "
                     f"`wavefront reject{at} --note ... {chosen}`")
    if pending or waiting or (failed and not blocked):
        steps.append(f"Continue the run: `wavefront resume{at}`")
    steps.append(f"Review the work: `git{at} log --graph {summary.run.branch}`")
    steps.append(f"Per-task details: `wavefront status{at}`")
    return [f"{n}. {text}" for n, text in enumerate(steps, 1)]


def render_status(summary: RunSummary, width: int = 120) -> RenderableType:
    """Each task on one line in `width` columns: a long reason ends in "…" (`wavefront show
    ID` has it whole), and below 100 columns the agent column gives its room to it."""
    # The heading is a line of its own: as the table's title it would wrap at the table's
    # width, which a run of short reasons makes narrow.
    heading = Text(f"run {summary.run.id} ({summary.run.state}) → {summary.run.branch}")
    table = Table()
    names = ["task", "status", "agent", "attempts", "cost", "reason"]
    if width < 100:
        names.remove("agent")
    fixed = sum({"task": 12, "status": 11, "agent": 20, "attempts": 8, "cost": 8}.get(n, 0)
                for n in names) + 3 * len(names) + 1
    for name in names:
        table.add_column(name, no_wrap=True, overflow="ellipsis",
                         max_width=max(16, width - fixed) if name == "reason" else None)
    for line in summary.tasks:
        cost = (f"{'~' if line.cost_estimated else ''}${line.cost_usd:.2f}" if line.cost_usd
                else "unknown" if line.cost_unknown else "")
        cells = {"task": line.task_id, "status": line.status.value, "agent": line.agent or "-",
                 "attempts": str(line.attempts), "cost": cost, "reason": line.reason}
        table.add_row(*(cells[name] for name in names))
    totals = Text(f"Total cost: {_money(summary)}")
    return Group(heading, table, totals)
