"""Write-back for markdown stories: the status line says Approved when the review passed
(the story workflow's last state), Done when no review ran or the story is in BMAD's words
(where Approved means ready to start), and the review's results are appended, as the story
workflow asks."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from wavefront.backlog.statuswords import BMAD_WORDS
from wavefront.errors import BacklogError
from wavefront.model import Completion, Task

__all__ = ["APPROVED", "DONE", "append_review", "set_status", "write"]

DONE = "Done"
APPROVED = "Approved"

# `**Status**: x`, `**Status:** x`, `Status: x` (BMAD stories) on a line of their own.
_LABEL = re.compile(r"^(?P<lead>[ \t]*(?:\*\*)?(?:story )?status(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*)"
                    r"(?P<value>.*)$", re.IGNORECASE | re.MULTILINE)
_SECTION = re.compile(r"^#{2,3}[ \t]+(?:story )?status[ \t]*\n(?P<gap>(?:[ \t]*\n)*)"
                      r"(?P<value>[^\n#][^\n]*)$", re.IGNORECASE | re.MULTILINE)
_FRONT = re.compile(r"\A---\n(?P<body>.*?\n)---\n", re.DOTALL)
_FRONT_STATUS = re.compile(r"^(?P<lead>status[ \t]*:[ \t]*)(?P<value>.*)$", re.MULTILINE)


def write(task: Task, completion: Completion, read: Callable[[str], str | None],
          relative: Callable[[Path], str]) -> dict[str, str]:
    path = relative(task.source.path)
    text = read(path)
    if text is None:
        raise BacklogError(Path(path), None, "the story file is gone from the integration "
                           "branch; its status was not written back")
    reviewed = completion.approved and not task.metadata.get(BMAD_WORDS)
    updated = set_status(text, APPROVED if reviewed else DONE)
    if completion.verdict or completion.review:
        updated = append_review(updated, completion)
    return {path: updated} if updated != text else {}


def set_status(text: str, status: str) -> str:
    """`text` with its status (section, label line or front matter) set to `status`; a
    story without one gets a `**Status**:` line under its title."""
    front = _FRONT.match(text)
    if front and _FRONT_STATUS.search(front.group("body")):
        body = _FRONT_STATUS.sub(lambda m: m.group("lead") + status, front.group("body"), 1)
        return text[:front.start("body")] + body + text[front.end("body"):]
    section = _SECTION.search(text)
    if section:
        return text[:section.start("value")] + status + text[section.end("value"):]
    label = _LABEL.search(text)
    if label:
        return text[:label.start("value")] + status + text[label.end("value"):]
    lines = text.split("\n")
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("# ")), 0)
    return "\n".join([*lines[:at], "", f"**Status**: {status}", *lines[at:]])


def append_review(text: str, completion: Completion) -> str:
    """`text` with a section of the review's verdict and findings at its end."""
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(completion.completed_at))
    lines = [f"## Review results ({when} UTC)", ""]
    if completion.verdict:
        lines += [f"**Verdict**: {completion.verdict}", ""]
    lines += [f"- {item}" for item in completion.review]
    return text.rstrip("\n") + "\n\n" + "\n".join(lines).rstrip("\n") + "\n"
