"""What every gate shares: the context it may look at, the one-method protocol, small helpers.

A gate is one method, `async check(context) -> GateResult`. A gate never raises for a
failing check; a gate that is configured wrongly is rejected when the run is planned
(`gates.validate`), not at the end of a long run. Each kind is a module of this package with
a `from_options` constructor, listed once in `gates.registry`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wavefront.model import AgentResult, GateResult, Task

__all__ = [
    "DETAILS_LIMIT",
    "Gate",
    "GateContext",
    "ReviewerCall",
    "existing",
    "is_glob",
    "slug",
    "strings",
]

# Runs a reviewer agent: (agent name, prompt, review round) -> its result.
ReviewerCall = Callable[[str, str, int], Awaitable[AgentResult]]

_GLOB_CHARS = frozenset("*?[")
DETAILS_LIMIT = 4000  # characters of a failing check's output kept in its result


@dataclass(frozen=True)
class GateContext:
    """What a gate may look at: the task, its worktree and what the attempt changed.

    `stage` is `branch` for the task's own worktree and `merged` when the merge queue
    checks the merged tree before publishing it. `log_path`, when set, is the attempt's
    log, where command gates append their output; otherwise each writes its own file in
    `log_dir`.
    """

    task: Task
    workspace: Path
    log_dir: Path
    base_commit: str | None = None
    head_commit: str | None = None
    changed_files: tuple[str, ...] = ()
    diff: str = ""
    attempt: int = 1
    round: int = 1
    run_reviewer: ReviewerCall | None = None
    stage: str = "branch"
    log_path: Path | None = None
    # The workspace's own variables (WAVEFRONT_PORT, ...), which command gates see too.
    env: Mapping[str, str] = field(default_factory=dict)
    # The agent's final report of the attempt checked (empty for a task with no agent).
    report: str = ""


class Gate(Protocol):
    kind: str

    async def check(self, context: GateContext) -> GateResult: ...


def existing(workspace: Path, path: str) -> list[Path]:
    clean = path.strip().rstrip("/")
    if is_glob(clean):
        return [p for p in workspace.glob(clean) if p.is_file()]
    target = workspace / clean
    return [target] if target.exists() else []


def is_glob(path: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in path)


def strings(value: Any) -> tuple[str, ...] | None:
    """A list of text (one text counts as a list of one); None when absent or not text."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:40]
