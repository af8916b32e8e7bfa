"""What the engine needs from a place where attempts run, and the simplest such place.

`Workspaces` is the protocol the task flow and the merge queue use; `GitWorkspaces`
(`workspace.worktrees`) is the real backend, `PlainWorkspaces` below runs every task in one
directory without git (benchmarks, backlogs of plain commands).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from wavefront.workspace.guard import CheckoutGuard

__all__ = [
    "BatchVerifier",
    "CandidateNote",
    "MergeEdit",
    "MergeItem",
    "MergeOutcome",
    "MergeVerifier",
    "PlainWorkspaces",
    "WorkspaceHandle",
    "Workspaces",
    "call_backend",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Checks a computed merge before it is published: (merge commit, integration head it was
# computed on) -> whether to publish it.
MergeVerifier = Callable[[str, str], bool]
# Changes a computed merge should also carry (the backlog's write-back): given a reader of
# the merged tree (path -> text or None), the files to write (path -> new text).
MergeEdit = Callable[[Callable[[str], str | None]], Mapping[str, str]]
# Checks a batch's candidate: (its tip, the integration head it was built on, the tasks it
# holds, in order) -> whether to publish it.
BatchVerifier = Callable[[str, str, Sequence[str]], bool]
# Told of a candidate just before it is published, to journal it first: (old head, new
# head, each task's merge commit).
CandidateNote = Callable[[str, str, Sequence[tuple[str, str]]], None]


@dataclass(frozen=True)
class MergeItem:
    """One task of a batch: its merge message, the commit its gates checked, its edit."""

    task_id: str
    message: str
    checked: str | None = None
    edit: MergeEdit | None = None


@dataclass(frozen=True)
class WorkspaceHandle:
    """One workspace: where it is, its branch (None when detached or plain), its base."""

    task_id: str
    path: Path
    branch: str | None
    base_commit: str | None


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge did. `commit` is the task's merge commit after a success (the
    integration head when there was nothing to merge)."""

    ok: bool
    commit: str | None
    conflicts: tuple[str, ...]
    details: str
    # False when the merge was computed cleanly but its verifier refused to publish it.
    verified: bool = True
    # True when the work must not be merged at all (its branch moved since its gates
    # checked it): not a conflict an agent could resolve. `details` says why.
    refused: bool = False


class Workspaces(Protocol):
    """What the engine needs from a workspace backend (git worktrees or one plain directory).

    `versioned` says whether the backend records the work in git (commits, diffs, merges);
    `blocking` whether its calls block long enough to belong on a thread.
    """

    integration_branch: str
    versioned: bool
    blocking: bool
    moved_outside: list[str]  # integration-branch moves by someone else, undone

    @property
    def repo_root(self) -> Path | None: ...

    def create_integration_branch(self, base: str) -> str: ...
    def integration_head(self) -> str: ...
    def task_branch(self, task_id: str) -> str: ...
    def create(self, task_id: str) -> WorkspaceHandle: ...
    def open(self, task_id: str) -> WorkspaceHandle | None: ...
    def commit_all(self, handle: WorkspaceHandle, message: str) -> str | None: ...
    def changed_files(self, handle: WorkspaceHandle) -> list[str]: ...
    def conflict_markers(self, handle: WorkspaceHandle) -> list[str]: ...
    def diff(self, handle: WorkspaceHandle) -> str: ...
    def head(self, handle: WorkspaceHandle) -> str: ...
    def merge(
        self, task_id: str, message: str, verify: MergeVerifier | None = None,
        edit: MergeEdit | None = None, checked: str | None = None,
    ) -> MergeOutcome: ...
    def merge_batch(
        self, items: Sequence[MergeItem], verify: BatchVerifier | None = None,
        announce: CandidateNote | None = None, parallel: int = 1,
    ) -> dict[str, MergeOutcome]: ...
    def discard_many(self, task_ids: Collection[str]) -> None: ...
    def guard(self) -> CheckoutGuard | None: ...
    def start_conflict_resolution(self, handle: WorkspaceHandle) -> list[str]: ...
    def checkout_detached(self, commit: str, name: str) -> WorkspaceHandle: ...
    def remove(self, handle: WorkspaceHandle, delete_branch: bool = False) -> None: ...
    def worktrees(self) -> list[Path]: ...
    def prune_stray(self, keep: Collection[str]) -> list[Path]: ...
    def delete_run_branches(self) -> list[str]: ...


async def call_backend(
    workspaces: Workspaces, call: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs
) -> _R:
    """Run a backend call from the event loop: git calls block for milliseconds, so they run
    in a thread; a backend that does no git work is called directly (a thread hop per call
    would cost more than the call)."""
    if not workspaces.blocking:
        return call(*args, **kwargs)
    return await asyncio.to_thread(call, *args, **kwargs)


class PlainWorkspaces:
    """Every task runs in one given directory; nothing is committed, merged or removed.

    For benchmarks and backlogs of plain commands, where there is no repository to isolate.
    """

    versioned = False
    blocking = False
    repo_root = None

    def __init__(self, directory: Path, run_id: str = "plain") -> None:
        self.directory = Path(directory).resolve()
        self.run_id = run_id
        self.integration_branch = ""
        self.moved_outside: list[str] = []
        self._made = False

    def task_branch(self, task_id: str) -> str:
        return ""

    def create_integration_branch(self, base: str) -> str:
        return ""

    def integration_head(self) -> str:
        return ""

    def create(self, task_id: str) -> WorkspaceHandle:
        if not self._made:  # once: every task shares the directory
            self.directory.mkdir(parents=True, exist_ok=True)
            self._made = True
        return WorkspaceHandle(task_id, self.directory, None, None)

    def open(self, task_id: str) -> WorkspaceHandle | None:
        return WorkspaceHandle(task_id, self.directory, None, None)

    def commit_all(self, handle: WorkspaceHandle, message: str) -> str | None:
        return None

    def changed_files(self, handle: WorkspaceHandle) -> list[str]:
        return []

    def conflict_markers(self, handle: WorkspaceHandle) -> list[str]:
        return []

    def diff(self, handle: WorkspaceHandle) -> str:
        return ""

    def head(self, handle: WorkspaceHandle) -> str:
        return ""

    def merge(
        self, task_id: str, message: str, verify: MergeVerifier | None = None,
        edit: MergeEdit | None = None, checked: str | None = None,
    ) -> MergeOutcome:
        return MergeOutcome(True, None, (), "plain workspace: nothing to merge")

    def merge_batch(
        self, items: Sequence[MergeItem], verify: BatchVerifier | None = None,
        announce: CandidateNote | None = None, parallel: int = 1,
    ) -> dict[str, MergeOutcome]:
        return {item.task_id: MergeOutcome(True, None, (), "plain workspace: nothing to merge")
                for item in items}

    def discard_many(self, task_ids: Collection[str]) -> None:
        return None

    def guard(self) -> None:
        return None

    def start_conflict_resolution(self, handle: WorkspaceHandle) -> list[str]:
        return []

    def checkout_detached(self, commit: str, name: str) -> WorkspaceHandle:
        return WorkspaceHandle(name, self.directory, None, None)

    def remove(self, handle: WorkspaceHandle, delete_branch: bool = False) -> None:
        return None

    def worktrees(self) -> list[Path]:
        return []

    def prune_stray(self, keep: Collection[str]) -> list[Path]:
        return []

    def delete_run_branches(self) -> list[str]:
        return []
