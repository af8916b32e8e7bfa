"""Write-back: a merged task's backlog file is updated in its own format's words.

Each format that can record progress is one module with `write(task, completion, read,
relative) -> {path: new text}` (`relative` turns a loaded path into the repository path that
`read` takes), listed once in `WRITERS`. `read` reads the merged tree (the
integration branch as it will be), so the change becomes part of the one merge commit; the
user's checkout is never touched. A file that no longer has the shape it was loaded from
raises `BacklogError` naming it, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from wavefront.backlog.writeback import bmad, speckit, stories, taskjson, taskmaster
from wavefront.model import Completion, Task

__all__ = ["WRITERS", "Reader", "Writer", "write_back"]

Reader = Callable[[str], str | None]
Writer = Callable[[Task, Completion, Reader, Callable[[Path], str]], dict[str, str]]

WRITERS: Mapping[str, Writer] = {
    "stories": stories.write,
    "bmad": bmad.write,
    "taskjson": taskjson.write,
    "taskmaster": taskmaster.write,
    "speckit": speckit.write,
}


def write_back(task: Task, completion: Completion, read: Reader, root: Path) -> dict[str, str]:
    """The backlog files to change for merged `task` (paths relative to `root`); empty for
    a format that records nothing (wavefront.yaml, workflows) or a file outside `root`."""
    writer = WRITERS.get(task.backlog_format or "")
    base = root.resolve()
    if writer is None or not task.source.path.resolve().is_relative_to(base):
        return {}
    return writer(task, completion, read,
                  lambda path: path.resolve().relative_to(base).as_posix())
