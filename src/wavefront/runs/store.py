"""Where a repository keeps its runs (`.wavefront/`), and finding one run in its journal."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wavefront.engine.loop import RunStop
from wavefront.errors import WavefrontError
from wavefront.journal.database import Journal, RunRecord
from wavefront.model import TaskStatus
from wavefront.report.progress import Reporter

__all__ = [
    "STATE_DIR",
    "STATE_FILES_DIR",
    "ReporterFactory",
    "RunResult",
    "new_run_id",
    "open_journal",
    "resolve_run",
]


STATE_DIR = ".wavefront"


# The story workflow's state files, kept current during a run with `state_files: true`.
STATE_FILES_DIR = ".agent-orchestration"


# Builds the reporter for a run once its id is known (the live view or plain lines).
ReporterFactory = Callable[[Journal, str], Reporter]


@dataclass(frozen=True)
class RunResult:
    run_id: str
    branch: str
    stop: RunStop
    counts: Mapping[str, int]

    @property
    def exit_code(self) -> int:
        if self.stop.state != "finished":
            return 3
        bad = sum(n for status, n in self.counts.items()
                  if status not in (TaskStatus.DONE.value, TaskStatus.SKIPPED.value))
        return 1 if bad else 0


def open_journal(root: Path, *, create: bool = True) -> Journal:
    """The repository's journal; with `create=False` a repository without one is an error
    and nothing is written (a look at `status` leaves no `.wavefront/` behind)."""
    path = root / STATE_DIR / "journal.db"
    if not create and not path.is_file():
        raise WavefrontError("no run in this repository yet; start one with `wavefront run`")
    return Journal.open(path)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def resolve_run(journal: Journal, run_id: str | None) -> RunRecord:
    run = journal.get_run(run_id) if run_id else journal.latest_run()
    if run is None:
        known = ", ".join(r.id for r in journal.runs()[-5:]) or "none yet"
        raise WavefrontError(
            f"no run {run_id!r} in {journal.path} (recent: {known})" if run_id
            else f"no run in {journal.path} yet; start one with `wavefront run`")
    return run

