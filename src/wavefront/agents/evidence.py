"""The deviations engineers report in their EVIDENCE files, collected for the agent who
reconciles them (the integration engineer of the phased workflow).

An EVIDENCE file says what was built and, under a `Deviations` heading, where the work
departed from the architecture. Each such section that says more than "none" is kept,
named by its file, so the reconciling agent reads every deviation in its prompt instead
of having to find the files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

__all__ = ["reported_deviations"]

_HEADING = re.compile(r"^(?P<level>#{1,6})[ \t]+(?P<title>.*?)[ \t#]*$")
_NONE = re.compile(r"^[\s*_-]*(?:none|n/?a|no deviations?)\b[\s.!]*(?:declared|found|"
                   r"reported)?[\s.]*$", re.IGNORECASE)
_LIMIT = 4000  # characters kept of one file's section: enough to act on, bounded


def reported_deviations(workspace: Path, patterns: Sequence[str]) -> list[str]:
    """`path: text` for each file matching `patterns` (globs under `workspace`) whose
    Deviations section reports something, in path order."""
    found: list[str] = []
    seen: set[Path] = set()
    for pattern in patterns:
        for path in sorted(workspace.glob(pattern.strip().lstrip("/"))):
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            text = _section(path.read_text(encoding="utf-8", errors="replace"))
            if text and not _NONE.match(text):
                found.append(f"{path.relative_to(workspace).as_posix()}:\n{text[:_LIMIT]}")
    return found


def _section(text: str) -> str:
    """The body of the first `Deviations` heading, up to the next heading of its level."""
    lines = text.splitlines()
    for start, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and heading.group("title").lower().startswith("deviation"):
            level = len(heading.group("level"))
            body = []
            for following in lines[start + 1:]:
                other = _HEADING.match(following)
                if other and len(other.group("level")) <= level:
                    break
                body.append(following)
            return "\n".join(body).strip()
    return ""
