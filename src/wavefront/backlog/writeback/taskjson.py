"""Write-back for task JSON (`.tmp/tasks/<feature>/`): the subtask's status, agent and
times and the agent's summary, and the feature's `completed_count`, as the task CLI's
`complete` writes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from wavefront.errors import BacklogError
from wavefront.model import Completion, Task

__all__ = ["complete_subtask", "write"]

COMPLETED = "completed"
SUMMARY_LIMIT = 200


def write(task: Task, completion: Completion, read: Callable[[str], str | None],
          relative: Callable[[Path], str]) -> dict[str, str]:
    path = relative(task.source.path)
    feature = (PurePosixPath(path).parent / "task.json").as_posix()
    subtask = _object(read(path), path)
    header = _object(read(feature), feature) if read(feature) is not None else None
    return complete_subtask(subtask, header, path, feature, completion)


def complete_subtask(subtask: dict[str, Any], header: dict[str, Any] | None, path: str,
                     feature: str, completion: Completion) -> dict[str, str]:
    """The new texts of a subtask file (and its feature's task.json) marked completed."""
    was_done = subtask.get("status") == COMPLETED
    subtask["status"] = COMPLETED
    subtask["agent_id"] = completion.agent
    if not subtask.get("started_at"):
        subtask["started_at"] = _iso(completion.started_at or completion.completed_at)
    subtask["completed_at"] = _iso(completion.completed_at)
    # The task CLI's schema keeps a summary to 200 characters.
    summary = completion.summary.strip()
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[:SUMMARY_LIMIT - 1].rstrip() + "…"
    subtask["completion_summary"] = summary or None
    changes = {path: _dump(subtask)}
    if header is not None and not was_done:
        count = header.get("completed_count", 0)
        header["completed_count"] = (count if isinstance(count, int) else 0) + 1
        total = header.get("subtask_count")
        if isinstance(total, int) and header["completed_count"] >= total:
            header["status"] = COMPLETED
            header["completed_at"] = _iso(completion.completed_at)
        changes[feature] = _dump(header)
    return changes


def _object(text: str | None, path: str) -> dict[str, Any]:
    if text is None:
        raise BacklogError(Path(path), None, "the file is gone from the integration branch; "
                           "its status was not written back")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BacklogError(Path(path), exc.lineno, f"no longer valid JSON ({exc.msg}); "
                           "expected the object it was loaded from") from exc
    if not isinstance(data, dict):
        raise BacklogError(Path(path), 1, "expected a JSON object")
    return data


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _iso(seconds: float) -> str:
    from wavefront.backlog.writeback import iso_time

    return iso_time(seconds) or ""
