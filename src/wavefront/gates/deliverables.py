"""The `deliverables` gate: the paths a task promises exist and were changed by the attempt."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from wavefront.gates.base import GateContext, existing, is_glob, strings
from wavefront.model import GateResult

__all__ = ["DeliverablesGate"]


class DeliverablesGate:
    """The paths a task promises exist in the worktree and were changed by the attempt.

    A path may be a file, a directory (some file under it changed) or a glob.
    """

    kind = "deliverables"

    def __init__(self, paths: Sequence[str] | None = None, name: str | None = None) -> None:
        self.paths = tuple(paths) if paths is not None else None
        self.name = name or "deliverables"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DeliverablesGate:
        return cls(strings(options.get("paths")), options.get("name"))

    async def check(self, context: GateContext) -> GateResult:
        paths = self.paths if self.paths is not None else context.task.deliverables
        if not paths:
            return GateResult(self.name, True, "no deliverables declared")
        changed = context.changed_files
        findings: list[str] = []
        for path in paths:
            present = existing(context.workspace, path)
            if not present:
                findings.append(f"{path}: missing")
            elif not any(_covers(path, item) for item in changed):
                findings.append(f"{path}: exists but this attempt did not change it")
        if findings:
            return GateResult(
                self.name,
                False,
                f"{len(findings)} of {len(paths)} deliverables not delivered "
                f"({'; '.join(findings[:3])}{'; ...' if len(findings) > 3 else ''})",
                "\n".join(findings),
                tuple(findings),
            )
        return GateResult(self.name, True, f"{len(paths)} deliverables present and changed")


def _covers(path: str, changed: str) -> bool:
    """Whether changing `changed` counts as changing deliverable `path`."""
    clean = path.strip().rstrip("/")
    if is_glob(clean):
        return fnmatch.fnmatchcase(changed, clean)
    return changed == clean or changed.startswith(clean + "/")
