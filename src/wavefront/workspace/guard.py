"""Notice an agent that writes outside its worktree: the user's checkout and branches.

An agent works in its own worktree, but nothing stops a program from writing to
`../../../README.md` or running `git branch -f main` from there. The task flow takes a
snapshot of the user's side of the repository before an agent runs and compares after it:
files in the user's checkout (status, size and modification time of every changed or
untracked path), where HEAD is, and the user's branches and tags. wavefront's own branches
and its state directory (ignored by git through `info/exclude`) are not the user's side.

A change seen while an agent ran is blamed on that attempt: wavefront cannot tell who made
it, so an edit the user makes in their checkout during an attempt fails it too (the message
says so, and `wavefront retry` runs the task again).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wavefront.workspace.git import GitRepo, split_z

__all__ = ["CheckoutGuard", "CheckoutState"]

# Branch prefixes that belong to wavefront (integration and task branches).
_OWN_REF_PREFIXES = ("refs/heads/wavefront/", "refs/heads/wavefront-tasks/")
_SHOWN = 5


@dataclass(frozen=True)
class CheckoutState:
    """The user's side of a repository at one moment."""

    entries: Mapping[str, tuple[str, int, int]]  # path -> (status record, size, mtime ns)
    head: str  # the `# branch.*` lines: where HEAD points and its commit
    refs: Mapping[str, str]  # the user's branches and tags -> object id


class CheckoutGuard:
    """Snapshots of the user's checkout and refs, and what changed between two of them."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo

    def snapshot(self) -> CheckoutState:
        status = self.repo.run(
            "status",
            "--porcelain=v2",
            "--branch",
            "-z",
            "--untracked-files=all",
            "--ignore-submodules=all",
        )
        entries: dict[str, tuple[str, int, int]] = {}
        head: list[str] = []
        records = iter(split_z(status))
        for record in records:
            if record.startswith("2 "):
                next(records, None)  # a rename's origin path follows as its own record
            if record.startswith("# "):
                head.append(record)
                continue
            path = _record_path(record)
            if path is not None:
                entries[path] = (record, *_stat(self.repo.root / path))
        listed = self.repo.run(
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads",
            "refs/tags",
        )
        refs = {}
        for line in listed.splitlines():
            name, _, commit = line.partition(" ")
            if not name.startswith(_OWN_REF_PREFIXES):
                refs[name] = commit
        return CheckoutState(entries, "\n".join(head), refs)

    def changes(self, before: CheckoutState) -> list[str]:
        """What differs between `before` and now, one short phrase per change."""
        after = self.snapshot()
        found: list[str] = []
        for path in sorted(set(before.entries) | set(after.entries)):
            if before.entries.get(path) != after.entries.get(path):
                found.append(path)
        if before.head != after.head:
            found.append("HEAD")
        for ref in sorted(set(before.refs) | set(after.refs)):
            if before.refs.get(ref) != after.refs.get(ref):
                found.append(ref.removeprefix("refs/heads/").removeprefix("refs/"))
        return found

    def describe(self, changes: list[str]) -> str:
        """A failure reason naming what changed (the first few), for the task's status."""
        shown = ", ".join(changes[:_SHOWN])
        more = f" and {len(changes) - _SHOWN} more" if len(changes) > _SHOWN else ""
        return (
            f"the agent wrote outside its worktree: {shown}{more} changed in "
            f"{self.repo.root} while it ran (if you made that change yourself, "
            "`wavefront retry` runs the task again)"
        )


def _record_path(record: str) -> str | None:
    """The path of one `git status --porcelain=v2 -z` record (None for a rename's origin)."""
    fields_before_path = {"1": 8, "2": 9, "u": 10, "?": 1, "!": 1}.get(record[:1])
    if fields_before_path is None or record[1:2] != " ":
        return None
    parts = record.split(" ", fields_before_path)
    return parts[-1] if len(parts) == fields_before_path + 1 else None


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = os.lstat(path)
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)
