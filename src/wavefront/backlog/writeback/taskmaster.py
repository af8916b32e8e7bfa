"""Write-back for Task Master `tasks.json`: the task's (or subtask's) `status` becomes
`done`; a parent whose subtasks are all done is done too, and a pending one whose first
subtask is merged is `in-progress`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wavefront.errors import BacklogError
from wavefront.model import Completion, Task

__all__ = ["write"]

DONE = "done"
PENDING = "pending"
IN_PROGRESS = "in-progress"


def write(task: Task, completion: Completion, read: Callable[[str], str | None],
          relative: Callable[[Path], str]) -> dict[str, str]:
    path = relative(task.source.path)
    text = read(path)
    if text is None:
        raise BacklogError(Path(path), None, "the file is gone from the integration branch")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BacklogError(Path(path), exc.lineno, f"no longer valid JSON ({exc.msg})") from exc
    tag = task.metadata.get("tag")
    block = doc.get(tag) if isinstance(doc, dict) and tag else doc
    tasks = block.get("tasks") if isinstance(block, dict) else None
    if not isinstance(tasks, list):
        where = f"tag {tag!r}" if tag else "the file"
        raise BacklogError(Path(path), 1, f"expected a tasks list in {where}")
    parent_id, _, sub_id = task.id.partition(".")
    parent = _find(tasks, parent_id)
    if parent is None:
        raise BacklogError(Path(path), None, f"task {parent_id} is no longer in the file")
    if sub_id:
        sub = _find(parent.get("subtasks") or [], sub_id)
        if sub is None:
            raise BacklogError(Path(path), None, f"subtask {task.id} is no longer in the file")
        sub["status"] = DONE
        if all(isinstance(s, dict) and s.get("status") == DONE for s in parent["subtasks"]):
            parent["status"] = DONE
        elif parent.get("status") == PENDING:
            parent["status"] = IN_PROGRESS  # its work has begun, as Task Master would say
    else:
        parent["status"] = DONE
    return {path: json.dumps(doc, indent=2, ensure_ascii=False) + "\n"}


def _find(items: list[Any], wanted: str) -> dict[str, Any] | None:
    for item in items:
        if isinstance(item, dict) and _id_text(item.get("id")) == wanted:
            return item
    return None


def _id_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
