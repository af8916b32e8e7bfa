"""The order an architect wrote for a fan-out's items (a DEPENDENCIES.md), read as extra
dependencies between them.

Each line that names an item and then says what it waits for is one rule:
`1.2 depends on 1.1`, `- 1.3: after 1.1, 1.2`, `1.4 needs 1.3`, `1.5 blocked by 1.4`;
an arrow reads left to right: `1.1 -> 1.2 -> 1.3`. Only ids of the fan-out's own items
count, so prose around the rules is ignored.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Mapping

__all__ = ["read_order"]

_WAITS = re.compile(r"\b(?:depends? on|after|needs|requires|blocked by|waits? for)\b",
                    re.IGNORECASE)
_ARROW = re.compile(r"\s*(?:->|→|=>)\s*")


def read_order(text: str, ids: Collection[str]) -> Mapping[str, tuple[str, ...]]:
    """Item id -> the item ids it must wait for, as `text` states them."""
    known = sorted(ids, key=len, reverse=True)  # `1.10` before `1.1`
    token = re.compile("|".join(rf"(?<![\w.]){re.escape(i)}(?![\w]|\.\d)" for i in known)
                       ) if known else None
    waits: dict[str, list[str]] = {}
    if token is None:
        return {}
    for line in text.splitlines():
        if _ARROW.search(line):
            chain = [token.findall(part) for part in _ARROW.split(line)]
            for before, after in itertools.pairwise(chain):
                for item in after:
                    waits.setdefault(item, []).extend(before)
            continue
        split = _WAITS.search(line)
        if split is None:
            continue
        subjects = token.findall(line[:split.start()])
        if not subjects:
            continue
        for dep in token.findall(line[split.end():]):
            if dep != subjects[-1]:
                waits.setdefault(subjects[-1], []).append(dep)
    return {item: tuple(dict.fromkeys(deps)) for item, deps in waits.items()}
