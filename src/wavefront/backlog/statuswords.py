"""Status words checked against a format's own schema.

A format that defines its statuses (task JSON, Task Master) gets exactly those read
silently. A word from another tool that clearly means one of ours (`done` in task JSON,
`completed` in Task Master) is read, with a note saying so, because the format's own tool
would reject it; anything else is an error naming the file, the line and the words allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from wavefront.errors import BacklogError
from wavefront.model import TaskStatus

__all__ = ["BMAD_WORDS", "read_status", "story_status"]

# The metadata key that marks a story whose status words are BMAD's (see `story_status`).
BMAD_WORDS = "bmad_words"

# Words that mean "not started" (TaskStatus.from_text reads unknown words as pending too,
# so these are what tells a real synonym from a typo).
_NOT_STARTED = frozenset(
    {"todo", "to do", "to-do", "not started", "not-started", "open", "new", "backlog", "draft"}
)


def story_status(text: str | None, *, bmad: bool) -> TaskStatus:
    """A story's status: `Approved` is the story workflow's last state (reviewed, done),
    while BMAD says it of a story approved for development (not started)."""
    status = TaskStatus.from_text(text)
    if bmad or status is not TaskStatus.PENDING or not text:
        return status
    words = " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())
    if (words == "approved" or words.startswith("approved ")) and not words.startswith(
            ("approved for", "approved to start")):
        return TaskStatus.DONE
    return status


def read_status(
    text: str | None,
    schema: Mapping[str, TaskStatus],
    *,
    format_label: str,
    path: Path,
    line: int | None,
) -> tuple[TaskStatus, str | None]:
    """The status a format's `status` field means, and a note when the word is not one of
    the format's own; a word that means nothing known raises `BacklogError`."""
    if text is None:
        return TaskStatus.PENDING, None
    word = text.strip()
    if word in schema:
        return schema[word], None
    allowed = ", ".join(schema)
    read = TaskStatus.from_text(word)
    if read is TaskStatus.PENDING and word.lower() not in _NOT_STARTED:
        message = f"status {word!r} is not a {format_label} status (expected one of {allowed})"
        raise BacklogError(path, line, message)
    where = f"{path}:{line}" if line else str(path)
    return read, (
        f"{where}: status {word!r} is not a {format_label} status ({allowed}); "
        f"read as {read.value}"
    )
