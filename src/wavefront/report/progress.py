"""The live terminal view of a run (the only module that draws while a run goes on).

Both views are journal subscribers: they are handed each committed event and never ask
the engine anything. `LiveProgress` redraws a table grouped by wave (rich); `LineProgress`
prints one line per event for logs, CI and pipes (`--no-progress`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from wavefront.journal.database import Event, Journal
from wavefront.journal.kinds import EventKind
from wavefront.model import TaskStatus

__all__ = ["STATUS_STYLE", "LineProgress", "LiveProgress", "Reporter"]

# icon, colour
STATUS_STYLE: dict[TaskStatus, tuple[str, str]] = {
    TaskStatus.PENDING: ("·", "dim"),
    TaskStatus.READY: ("·", "dim"),
    TaskStatus.RUNNING: ("▶", "cyan"),
    TaskStatus.VERIFYING: ("✓?", "cyan"),
    TaskStatus.REVIEWING: ("👀", "magenta"),
    TaskStatus.MERGING: ("⇢", "blue"),
    TaskStatus.DONE: ("✔", "green"),
    TaskStatus.FAILED: ("✘", "red"),
    TaskStatus.BLOCKED: ("⊘", "yellow"),
    TaskStatus.SKIPPED: ("↷", "dim"),
    TaskStatus.CONFLICT: ("⚡", "red"),
    TaskStatus.NEEDS_HUMAN: ("?", "yellow"),
    TaskStatus.CANCELLED: ("✘", "dim"),
}


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
        self.run_id = run_id
        self.started = time.time()
        self.rows = {
            r.task_id: _Row(r.task_id, r.task.title, r.wave, r.agent or "-", r.status, r.reason)
            for r in journal.tasks(run_id)
        }
        self.cost = 0.0

    def apply(self, event: Event) -> _Row | None:
        row = self.rows.get(event.task_id or "")
        if event.kind == EventKind.GRAPH_GROWN:
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
        if event.kind == EventKind.GRAPH_GROWN:
            return
        self.view.apply(event)

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.__exit__(exc_type, exc, tb)

    def _render(self) -> Group:
        now = time.time()
        table = Table(box=None, show_header=True, header_style="bold", expand=False)
        for name in ("", "task", "title", "agent", "time", "cost", "note"):
            table.add_column(name, no_wrap=name != "note", overflow="ellipsis",
                             max_width=48 if name in ("title", "note") else None)
        wave = -1
        counts: dict[TaskStatus, int] = {}
        for row in sorted(self.view.rows.values(), key=lambda r: r.wave):
            counts[row.status] = counts.get(row.status, 0) + 1
            if row.wave != wave:
                wave = row.wave
                table.add_row("", Text(f"Wave {wave}", style="bold"), "", "", "", "", "")
            icon, style = STATUS_STYLE[row.status]
            elapsed = ""
            if row.started is not None:
                elapsed = f"{(row.ended or now) - row.started:5.1f}s"
            table.add_row(Text(icon, style=style), row.task_id, row.title, row.agent, elapsed,
                          f"${row.cost:.2f}" if row.cost else "", Text(row.reason, style="dim"))
        done = counts.get(TaskStatus.DONE, 0)
        header = Text(
            f"run {self.view.run_id} · {done}/{len(self.view.rows)} done · "
            f"{now - self.view.started:.0f}s · ${self.view.cost:.2f}", style="bold")
        return Group(header, table)


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
        return self

    def __exit__(self, *exc: object) -> None:
        return None
