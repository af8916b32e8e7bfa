"""Write-back for BMAD: the story's key in `sprint-status.yaml` becomes `done`, and the
story file's `Status:` line too, when there is one (with the review's results appended).
Its epic becomes `in-progress` from `backlog`, and `done` with its last story."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from wavefront.backlog.bmad import epic_progress
from wavefront.backlog.writeback import stories
from wavefront.errors import BacklogError
from wavefront.model import Completion, Task

__all__ = ["write"]

DONE = "done"
IN_PROGRESS = "in-progress"


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
    with_story = _set(text, key, DONE)
    if with_story is None:
        raise BacklogError(Path(target), None, f"no `{key}: <status>` line any more; expected "
                           "the story's key under development_status")
    changes[target] = _with_epic_status(with_story, Path(target), key)
    return changes


def _set(text: str, key: str, status: str) -> str | None:
    """`text` with the `key: <status>` line saying `status` (its comment kept), or None
    when there is no such line."""
    pattern = re.compile(rf"^(?P<lead>[ \t]*{re.escape(key)}[ \t]*:[ \t]*)(?P<value>[^\s#]+)",
                         re.MULTILINE)
    found = pattern.search(text)
    if found is None:
        return None
    return text[:found.start("value")] + status + text[found.end("value"):]


def _with_epic_status(text: str, path: Path, story_key: str) -> str:
    """`text` with the story's epic `done` once all its stories are, and `in-progress`
    while it still says `backlog` (BMAD moves an epic on before its stories). A nested
    epic (`epic-1: {status: ...}`) is left as it is."""
    epic = epic_progress(text, path, story_key)
    if epic is None or not epic.flat:
        return text
    wanted = (DONE if all(status == DONE for status in epic.stories)
              else IN_PROGRESS if epic.status == "backlog" else epic.status)
    if wanted == epic.status:
        return text
    return _set(text, epic.key, wanted) or text

