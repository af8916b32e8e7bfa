"""Write-back for BMAD: the story's key in `sprint-status.yaml` becomes `done`, and the
story file's `Status:` line too, when there is one (with the review's results appended)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from wavefront.backlog.writeback import stories
from wavefront.errors import BacklogError
from wavefront.model import Completion, Task

__all__ = ["write"]

DONE = "done"


def write(task: Task, completion: Completion, read: Callable[[str], str | None],
          relative: Callable[[Path], str]) -> dict[str, str]:
    path = relative(task.source.path)
    key = str(task.metadata.get("bmad_key") or "")
    status_file = str(task.metadata.get("sprint_status_file") or "")
    changes: dict[str, str] = {}
    if path.endswith(".md"):  # declared in its story file
        text = read(path)
        if text is not None:
            updated = stories.set_status(text, DONE)
            if completion.verdict or completion.review:
                updated = stories.append_review(updated, completion)
            if updated != text:
                changes[path] = updated
    target = relative(Path(status_file)) if status_file else path
    text = read(target)
    if text is None or not key:
        raise BacklogError(Path(target), None, "the sprint status file is gone from the "
                           "integration branch")
    pattern = re.compile(rf"^(?P<lead>[ \t]*{re.escape(key)}[ \t]*:[ \t]*)(?P<value>[^\s#]+)",
                         re.MULTILINE)
    found = pattern.search(text)
    if found is None:
        raise BacklogError(Path(target), None, f"no `{key}: <status>` line any more; expected "
                           "the story's key under development_status")
    changes[target] = text[:found.start("value")] + DONE + text[found.end("value"):]
    return changes

