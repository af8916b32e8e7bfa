"""The live terminal view of a run (the only module that draws while a run goes on).

Both views are journal subscribers: they are handed each committed event and never ask
the engine anything. `LiveProgress` redraws a table grouped by wave (rich); `LineProgress`
prints one line per event for logs, CI and pipes (`--no-progress`).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from textwrap import shorten
from types import TracebackType
from typing import IO, Any, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from wavefront.journal.database import Event, Journal
from wavefront.journal.kinds import EventKind
from wavefront.model import TaskStatus
from wavefront.words import plural

__all__ = ["STATUS_STYLE", "LineProgress", "LiveProgress", "Reporter"]

# icon, colour; every icon one cell wide, so columns stay aligned in any terminal
STATUS_STYLE: dict[TaskStatus, tuple[str, str]] = {
    TaskStatus.PENDING: ("·", "dim"),
    TaskStatus.READY: ("·", "dim"),
    TaskStatus.RUNNING: ("▶", "cyan"),
    TaskStatus.VERIFYING: ("◇", "cyan"),
    TaskStatus.REVIEWING: ("◎", "magenta"),
    TaskStatus.MERGING: ("⇢", "blue"),
    TaskStatus.DONE: ("✔", "green"),
    TaskStatus.FAILED: ("✘", "red"),
    TaskStatus.BLOCKED: ("⊘", "yellow"),
    TaskStatus.SKIPPED: ("↷", "dim"),
    TaskStatus.CONFLICT: ("⚡", "red"),
    TaskStatus.NEEDS_HUMAN: ("?", "yellow"),
    TaskStatus.CANCELLED: ("✘", "dim"),
}
# Finished without needing anyone: what a view taller than the terminal folds, by wave.
_FOLDED = (TaskStatus.DONE, TaskStatus.SKIPPED)
_ABOVE_THE_TABLE = 4  # lines: the run's line, the legend, the header row, the prompt


class Reporter(Protocol):
    """A journal subscriber that is entered for the length of a run."""

    def __call__(self, event: Event) -> None: ...

    def __enter__(self) -> Reporter: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


@dataclass
class _Row:
    task_id: str
    title: str
    wave: int
    agent: str
    status: TaskStatus
    reason: str
    started: float | None = None
    ended: float | None = None
    cost: float = 0.0


class _RunView:
    """Task rows kept current from events (no journal query per event)."""

    def __init__(self, journal: Journal, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self.started = time.time()
        self.rows: dict[str, _Row] = {}
        # Workflow steps that add tasks when they are done (a fan-out, another iteration).
        self._growing: set[str] = set()
        self._add_new_rows()
        self.cost = 0.0
        run = journal.get_run(run_id)
        # What the run decided for the user at its start (a review it does not apply).
        notes = run.options.get("notes") if run is not None else None
        self.notes = [str(note) for note in notes] if isinstance(notes, list) else []

    def _add_new_rows(self) -> None:
        for r in self.journal.tasks(self.run_id):
            if r.task_id not in self.rows:
                self.rows[r.task_id] = _Row(r.task_id, r.task.title, r.wave, r.agent or "-",
                                            r.status, r.reason)
                info = r.task.options.workflow
                if isinstance(info, Mapping) and ("expand" in info or "loop" in info):
                    self._growing.add(r.task_id)

    def total(self) -> str:
        """The task count, with a "+" while a step that adds tasks has not finished."""
        more = any(not self.rows[t].status.is_final for t in self._growing)
        return f"{len(self.rows)}{'+' if more else ''}"

    def estimate(self) -> float | None:
        """What a task takes here: the mean time of the tasks done so far (None before)."""
        times = [r.ended - r.started for r in self.rows.values()
                 if r.status == TaskStatus.DONE and r.started is not None
                 and r.ended is not None and r.ended > r.started]
        return sum(times) / len(times) if times else None

    def apply(self, event: Event) -> _Row | None:
        row = self.rows.get(event.task_id or "")
        if event.kind == EventKind.GRAPH_GROWN:
            self._add_new_rows()  # a workflow grew: the count and the table include them
            return None
        if row is None:
            return None
        if event.kind == EventKind.TASK_STATUS:
            row.status = TaskStatus(event.data["status"])
            row.reason = str(event.data.get("reason", ""))
            if row.status == TaskStatus.RUNNING and row.started is None:
                row.started = event.at
            if row.status.is_final:
                row.ended = event.at
            return row
        if event.kind == EventKind.ATTEMPT_FINISHED and event.data.get("cost_usd"):
            row.cost += float(event.data["cost_usd"])
            self.cost += float(event.data["cost_usd"])
        return None


class LiveProgress:
    """A rich table redrawn a few times a second; use as a context manager."""

    def __init__(self, journal: Journal, run_id: str, console: Console | None = None) -> None:
        self.view = _RunView(journal, run_id)
        self.console = console or Console(stderr=True)
        self._live = Live(console=self.console, refresh_per_second=4,
                          get_renderable=self._render, transient=False)

    def __call__(self, event: Event) -> None:
        self.view.apply(event)

    def __enter__(self) -> LiveProgress:
        for note in self.view.notes:
            self.console.print(note, highlight=False, markup=False)
        self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.__exit__(exc_type, exc, tb)

    def _render(self, now: float | None = None) -> Group:
        now = time.time() if now is None else now
        estimate = self.view.estimate()
        width = self.console.width
        # Title and note share what the fixed columns leave, one line each; the agent
        # column is shown only where there is room for it (100 columns and more).
        with_agent = width >= 100
        fixed = 1 + 12 + 7 + 7 + (18 if with_agent else 0) + 2 * (7 if with_agent else 6)
        title_width = max(10, min(48, (width - fixed) // 2))
        note_width = max(10, width - fixed - title_width)
        columns = {"": None, "task": 12, "title": title_width, "agent": 18, "time": 7,
                   "cost": 7, "note": note_width}
        if not with_agent:
            del columns["agent"]
        table = Table(box=None, show_header=True, header_style="bold", expand=False)
        for name, most in columns.items():
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=most)
        rows = sorted(self.view.rows.values(), key=lambda r: r.wave)
        counts = Counter(row.status for row in rows)
        waves = sorted({row.wave for row in rows})
        # Taller than the terminal (a long backlog, most of it done before the run): each
        # wave's done and skipped tasks become a line each, so what goes on stays in view.
        folded: defaultdict[int, Counter[TaskStatus]] = defaultdict(Counter)
        if len(rows) + len(waves) > self.console.height - _ABOVE_THE_TABLE:
            for row in rows:
                if row.status in _FOLDED:
                    folded[row.wave][row.status] += 1
            rows = [row for row in rows if row.status not in _FOLDED]
        blank = [""] * (len(columns) - 3)
        for wave in waves:
            table.add_row("", Text(f"Wave {wave}", style="bold"), "", *blank)
            for status in _FOLDED:
                if folded[wave][status]:
                    icon, style = STATUS_STYLE[status]
                    table.add_row(Text(icon, style=style), plural(folded[wave][status], "task"),
                                  Text(status.value, style="dim"), *blank)
            for row in (r for r in rows if r.wave == wave):
                self._add_task(table, row, now, estimate, title_width, with_agent)
        done = counts[TaskStatus.DONE]
        header = Text(
            f"run {self.view.run_id} · {done}/{self.view.total()} done · "
            f"{now - self.view.started:.0f}s · ${self.view.cost:.2f}", style="bold")
        return Group(header, _legend(counts), table)

    @staticmethod
    def _add_task(table: Table, row: _Row, now: float, estimate: float | None,
                  title_width: int, with_agent: bool) -> None:
        icon, style = STATUS_STYLE[row.status]
        elapsed = ""
        if row.started is not None:
            elapsed = f"{(row.ended or now) - row.started:5.1f}s"
        title = shorten(row.title, title_width, placeholder="…")  # at a word boundary
        agent = [row.agent] if with_agent else []
        note = row.reason
        if estimate and row.started is not None and not row.status.is_final:
            # How far along a running task is, against what a task took so far here.
            share = min(99, int(100 * (now - row.started) / estimate))
            note = f"{share}% of ~{estimate:.0f}s" + (f" · {note}" if note else "")
        table.add_row(Text(icon, style=style), row.task_id, title, *agent, elapsed,
                      f"${row.cost:.2f}" if row.cost else "", Text(note, style="dim"))


def _legend(counts: dict[TaskStatus, int]) -> Text:
    """What the icons on screen mean, one entry per status shown, with its count."""
    shown = dict(counts)
    # ready and pending share their icon: one entry, "waiting"
    waiting = shown.pop(TaskStatus.READY, 0) + shown.pop(TaskStatus.PENDING, 0)
    legend = Text()
    for status, (icon, style) in STATUS_STYLE.items():
        count = waiting if status is TaskStatus.PENDING else shown.get(status, 0)
        if count and status is not TaskStatus.READY:
            name = "waiting" if status is TaskStatus.PENDING else status.value
            legend.append(f"{icon} ", style=style)
            legend.append(f"{name} {count}  ", style="dim")
    return legend


class LineProgress:
    """One line per task status change, for logs and pipes."""

    def __init__(self, journal: Journal, run_id: str,
                 write: Callable[[str], Any] | None = None,
                 stream: IO[str] | None = None) -> None:
        self.view = _RunView(journal, run_id)
        console = Console(file=stream, highlight=False, soft_wrap=True) if stream else None
        self._write = write or (console.print if console else print)

    def __call__(self, event: Event) -> None:
        row = self.view.apply(event)
        if row is None:
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        reason = f"  {row.reason}" if row.reason else ""
        self._write(f"{stamp} {row.task_id:<12} {row.status.value:<11}{reason}")

    def __enter__(self) -> LineProgress:
        for note in self.view.notes:
            self._write(note)
        return self

    def __exit__(self, *exc: object) -> None:
        return None
