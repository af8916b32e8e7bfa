"""The `signoff` gate: a validation report or sign-off passes only when its verdict does.

A validator (security, performance, the product manager signing off) writes its verdict
as a line such as `Result: PASS` or `Verdict: FAIL - do not ship`, or as the first line
under a `## Decision` (or `Result`, `Verdict`, ...) heading. A FAIL verdict, or a "do not
ship" anywhere, refuses the gate with the line as `file:line`; a report with no verdict
refuses it too, since a missing verdict is never a pass. The agent's own final report is
read the same way when it states a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wavefront.gates.base import GateContext, existing, strings
from wavefront.model import GateResult
from wavefront.words import plural

__all__ = ["SignoffGate", "read_verdict"]

_KEYS = r"(?:result|verdict|status|decision|outcome|sign[- ]?off|recommendation|gate)"
_PASS = ("pass", "passed", "passes", "approved", "approve", "accepted", "go", "ship",
         "signed off", "ok")
_FAIL = ("fail", "failed", "fails", "rejected", "reject", "no-go", "no go", "blocked",
         "do not ship", "don't ship", "not approved", "changes requested")
_WORDS = "|".join(re.escape(w) for w in sorted((*_PASS, *_FAIL), key=len, reverse=True))
_LINE = re.compile(rf"^[\s>*_#|-]*{_KEYS}[\s*_]*[:=\-\u2013\u2014][\s*_`]*({_WORDS})\b",
                   re.IGNORECASE)
_HEADING = re.compile(rf"^\s*#+\s*{_KEYS}\s*:?\s*$", re.IGNORECASE)
_BARE = re.compile(rf"^[\s>*_`]*({_WORDS})\b", re.IGNORECASE)
_DO_NOT_SHIP = re.compile(r"\bdo not ship\b|\bdon't ship\b", re.IGNORECASE)

# Where a verdict was read: (line number, the line, passed).
Verdict = tuple[int, str, bool]


def read_verdict(text: str) -> tuple[list[Verdict], list[Verdict]]:
    """The verdicts in `text`: (every verdict line, the "do not ship" lines)."""
    verdicts: list[Verdict] = []
    stops: list[Verdict] = []
    lines = text.splitlines()
    under_heading = False
    for number, line in enumerate(lines, start=1):
        if _DO_NOT_SHIP.search(line):
            stops.append((number, line.strip(), False))
        if _HEADING.match(line):
            under_heading = True
            continue
        match = _LINE.match(line) or (_BARE.match(line) if under_heading else None)
        if line.strip():
            under_heading = False
        if match:
            word = match.group(1).lower()
            verdicts.append((number, line.strip(), word not in _FAIL))
    return verdicts, stops


class SignoffGate:
    """Each named report states a verdict and every verdict is a pass."""

    kind = "signoff"

    def __init__(self, paths: Sequence[str] | None = None, name: str | None = None) -> None:
        self.paths = tuple(paths) if paths is not None else None
        self.name = name or "signoff"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SignoffGate:
        return cls(strings(options.get("paths")), options.get("name"))

    async def check(self, context: GateContext) -> GateResult:
        wanted = self.paths if self.paths is not None else context.task.deliverables
        findings: list[str] = []
        read = 0
        for pattern in wanted:
            files = existing(context.workspace, pattern)
            if not files:
                findings.append(f"{pattern}: missing (a report with a verdict is expected)")
            for path in files:
                read += 1
                findings += _refusals(path, context.workspace)
        if context.report:
            verdicts, stops = read_verdict(context.report)
            findings += [f"the agent's report: {line} (a FAIL verdict)"
                         for _, line, ok in (*verdicts, *stops) if not ok]
        if findings:
            return GateResult(self.name, False,
                              f"{plural(len(findings), 'sign-off problem')}: {findings[0]}",
                              "\n".join(findings), findings=tuple(findings))
        return GateResult(self.name, True, f"{plural(read, 'report')} signed off with PASS")


def _refusals(path: Path, workspace: Path) -> list[str]:
    """Why one report does not sign off: its FAIL lines, or that it states no verdict."""
    shown = path.relative_to(workspace).as_posix()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [f"{shown}: cannot be read ({exc.strerror})"]
    verdicts, stops = read_verdict(text)
    failed = [(n, line) for n, line, ok in (*verdicts, *stops) if not ok]
    if failed:
        return [f"{shown}:{n}: {line} (a FAIL verdict: fix what it reports, then "
                "validate again and update the verdict)" for n, line in failed]
    if not verdicts:
        return [f"{shown}: no verdict (expected a line such as `Result: PASS` or "
                "`Result: FAIL`)"]
    return []
