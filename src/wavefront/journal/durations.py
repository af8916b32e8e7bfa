"""How long tasks took in earlier runs, read from a journal without opening it for writing.

A module of its own so that `wavefront plan` reads it without importing the journal's
writer (records, migrations): planning runs often, and most of the time no run is active.
"""

from __future__ import annotations

import sqlite3
import statistics
from pathlib import Path

from wavefront.journal.kinds import AttemptKind

__all__ = ["measured_durations"]


def measured_durations(path: Path) -> dict[str, float]:
    """Seconds each task's successful agent attempts took, over every run in the journal at
    `path` (the median when there were several); empty when it cannot be read."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = connection.execute(
                "SELECT task_id, COALESCE(NULLIF(duration_s, 0), finished_at - started_at)"
                " FROM attempts WHERE kind = ? AND ok = 1 AND finished_at IS NOT NULL",
                (AttemptKind.AGENT.value,)).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return {}
    taken: dict[str, list[float]] = {}
    for task_id, seconds in rows:
        if seconds is not None and seconds > 0:
            taken.setdefault(str(task_id), []).append(float(seconds))
    return {task_id: statistics.median(values) for task_id, values in taken.items()}
