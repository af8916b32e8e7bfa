"""Scope expressions: which tasks of a backlog a command works on.

The forms come from the story workflow's scope rules (the story workflow's "Scope Management"):

| expression   | selects                                                            |
| ------------ | ------------------------------------------------------------------ |
| (none)       | every task                                                         |
| `1.3`        | that task                                                          |
| `1.1-1.5`    | every id from 1.1 to 1.5 inclusive, in natural order; both ends    |
|              | must be ids (`014/T023-T027` reads `014/T027` as the second end)   |
| `epic:auth`  | tasks whose epic or one of whose tags is `auth` (any case)         |
| `1.*`        | ids matching the glob                                              |

Several expressions (separate arguments, or commas inside one) select the union. An
expression that selects nothing is a `PlanError` that names it, so a typo never silently
shrinks a run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from wavefront.errors import PlanError
from wavefront.model import Task
from wavefront.words import plural

__all__ = ["id_sort_key", "select_scope", "split_arguments", "split_scope"]

_CHUNKS = re.compile(r"(\d+)")
_GLOB_CHARS = frozenset("*?[")

# (0, number, "") for digit runs and (1, 0, text) for the rest: every chunk compares with
# every other chunk, and a number sorts before text at the same position.
SortKey = tuple[tuple[int, int, str], ...]


def id_sort_key(task_id: str) -> SortKey:
    """The natural order of task ids: 1.2 < 1.10 < 1.11 < 1.11b < 2.1 < T001 < setup."""
    chunks: list[tuple[int, int, str]] = []
    for index, chunk in enumerate(_CHUNKS.split(task_id)):
        if not chunk:
            continue
        # split() puts the captured digit runs at odd indexes.
        chunks.append((0, int(chunk), "") if index % 2 else (1, 0, chunk.lower()))
    return tuple(chunks)


def split_scope(arguments: Iterable[str]) -> list[str]:
    """Scope arguments as single expressions (`"1.1,1.3"` is two)."""
    return [part for argument in arguments for part in re.split(r"[,\s]+", argument) if part]


def split_arguments(arguments: Iterable[str], root: Path) -> tuple[list[Path], list[str]]:
    """Command arguments as (backlog paths, scope expressions): an argument that names an
    existing file or directory (relative to `root`, like `git -C`) is a path."""
    paths: list[Path] = []
    scope: list[str] = []
    for argument in arguments:
        candidate = Path(argument)
        if not candidate.is_absolute():
            candidate = root / candidate
        if candidate.exists():
            paths.append(candidate)
        else:
            scope.append(argument)
    return paths, scope


def select_scope(tasks: Sequence[Task], expressions: Sequence[str]) -> list[str]:
    """The ids of `tasks` selected by the union of `expressions`, in the tasks' order.

    No expressions select everything. Raises `PlanError` for an expression that selects
    nothing or a range whose ends are reversed.
    """
    expressions = split_scope(expressions)
    if not expressions:
        return [task.id for task in tasks]
    ids = [task.id for task in tasks]
    known = set(ids)
    chosen: set[str] = set()
    for expression in expressions:
        matched = _match(expression, tasks, known)
        if not matched:
            raise PlanError(f"scope {expression!r} matches no task{_hint(expression, ids)}")
        chosen.update(matched)
    return [task_id for task_id in ids if task_id in chosen]


def _match(expression: str, tasks: Sequence[Task], known: set[str]) -> set[str]:
    if expression in known:
        return {expression}
    if expression.lower().startswith("epic:"):
        wanted = expression[len("epic:") :].strip().lower()
        return {
            task.id
            for task in tasks
            if (task.epic is not None and task.epic.lower() == wanted)
            or any(tag.lower() == wanted for tag in task.tags)
        }
    if _GLOB_CHARS & set(expression):
        return {task.id for task in tasks if fnmatchcase(task.id, expression)}
    bounds = _range_bounds(expression, known)
    if bounds is not None:
        for bound in bounds:
            if bound not in known:
                raise PlanError(
                    f"scope {expression!r}: the range end {bound!r} is not a task id"
                    f"{_hint(bound, sorted(known, key=id_sort_key))}"
                )
        low, high = (id_sort_key(bound) for bound in bounds)
        if low > high:
            raise PlanError(
                f"scope {expression!r}: the range runs backwards (write {bounds[1]}-{bounds[0]})"
            )
        return {task.id for task in tasks if low <= id_sort_key(task.id) <= high}
    return set()


def _range_bounds(expression: str, known: set[str]) -> tuple[str, str] | None:
    """Split `a-b` into its ends; ids may hold hyphens, so prefer a split into known ids."""
    splits = [
        (expression[:index], expression[index + 1 :])
        for index, char in enumerate(expression)
        if char == "-" and 0 < index < len(expression) - 1
    ]
    for low, high in splits:
        # `014/T023-T027`: the second end shares the first one's feature prefix.
        prefix = low.rpartition("/")[0]
        if prefix and "/" not in high and f"{prefix}/{high}" in known:
            high = f"{prefix}/{high}"
        if low in known and high in known:
            return low, high
    if len(splits) == 1:
        low, high = splits[0]
        prefix = low.rpartition("/")[0]
        return low, f"{prefix}/{high}" if prefix and "/" not in high else high
    return None


def _hint(expression: str, ids: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(expression, ids, n=3, cutoff=0.6)
    if close:
        return f" (did you mean {', '.join(close)}?)"
    sample = sorted(ids, key=id_sort_key)
    if not sample:
        return " (the backlog is empty)"
    shown = ", ".join(sample[:3])
    return f" (ids run {shown}{', ...' if len(sample) > 3 else ''}; {plural(len(sample), 'task')})"
