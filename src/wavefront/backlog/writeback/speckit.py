"""Write-back for spec-kit `tasks.md`: the task's checkbox becomes `- [X]`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from wavefront.errors import BacklogError
from wavefront.model import Completion, Task

__all__ = ["write"]

_BOX = re.compile(r"^(?P<lead>\s*[-*]\s+\[)[ ](?P<rest>\]\s+(?P<id>[A-Za-z]*\d+)\b.*)$")


def write(task: Task, completion: Completion, read: Callable[[str], str | None],
          relative: Callable[[Path], str]) -> dict[str, str]:
    path = relative(task.source.path)
    text = read(path)
    if text is None:
        raise BacklogError(Path(path), None, "the file is gone from the integration branch")
    lines = text.split("\n")
    local = task.id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    # The line it was loaded from, else wherever the task's checkbox moved to.
    order = [task.source.line - 1, *range(len(lines))]
    for index in order:
        if not 0 <= index < len(lines):
            continue
        match = _BOX.match(lines[index])
        if match and match.group("id") == local:
            lines[index] = f"{match.group('lead')}X{match.group('rest')}"
            return {path: "\n".join(lines)}
        if index == task.source.line - 1 and re.match(rf"\s*[-*]\s+\[[xX]\]\s+{local}\b",
                                                      lines[index]):
            return {}  # already checked
    raise BacklogError(Path(path), task.source.line,
                       f"no unchecked `- [ ] {local}` line any more; its box was not checked")
