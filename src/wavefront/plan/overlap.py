"""Which tasks may touch the same files, so the scheduler keeps them apart.

Tasks declare paths, directories and globs (`Task.files`). Two tasks overlap when one names
a path the other names, a path inside a directory the other names, or a path a glob of the
other matches. Where that cannot be decided (two globs), they count as overlapping: running
apart is safe, colliding is not.
"""

from __future__ import annotations

from collections.abc import Iterable

from wavefront.model import Task

__all__ = ["FileClaims", "files_overlap"]

_GLOB = frozenset("*?[")


def _normalise(path: str) -> str:
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.rstrip("/") or "."


def _literal_prefix(pattern: str) -> str:
    cut = min((pattern.index(char) for char in _GLOB if char in pattern), default=len(pattern))
    return pattern[:cut]


def _literal_suffix(pattern: str) -> str:
    last = max((pattern.rindex(char) for char in "*?]" if char in pattern), default=-1)
    return pattern[last + 1 :]


def _paths_overlap(first: str, second: str) -> bool:
    from fnmatch import fnmatchcase

    a, b = _normalise(first), _normalise(second)
    if a == b or a == "." or b == ".":
        return True
    a_glob, b_glob = bool(_GLOB & set(a)), bool(_GLOB & set(b))
    if not a_glob and not b_glob:
        # A path inside a directory path (or the same file): prefix up to a "/".
        return a.startswith(b + "/") or b.startswith(a + "/")
    if a_glob and not b_glob:
        return fnmatchcase(b, a) or _literal_prefix(a).startswith(b + "/")
    if b_glob and not a_glob:
        return fnmatchcase(a, b) or _literal_prefix(b).startswith(a + "/")
    if fnmatchcase(a, b) or fnmatchcase(b, a):
        return True
    # Two globs: they can name a common path only if their fixed starts and fixed ends agree.
    start_a, start_b = _literal_prefix(a), _literal_prefix(b)
    end_a, end_b = _literal_suffix(a), _literal_suffix(b)
    starts = start_a.startswith(start_b) or start_b.startswith(start_a)
    ends = end_a.endswith(end_b) or end_b.endswith(end_a)
    return starts and ends


def files_overlap(a: Task, b: Task) -> bool:
    """True when the two tasks declare a common file: the same path, a path inside a
    declared directory, or a path a declared glob matches (checked both ways). Unsure
    cases (two globs) count as overlapping: running apart is safe, colliding is not."""
    return any(_paths_overlap(first, second) for first in a.files for second in b.files)


class FileClaims:
    """The files claimed by running (or chosen) tasks, indexed so that checking a task
    costs about one set lookup per declared path instead of a scan of every claim.

    Agrees with `files_overlap`: `conflicts(task)` is True exactly when `task` overlaps
    some task that was added.
    """

    def __init__(self, tasks: Iterable[Task] = ()) -> None:
        self._paths: set[str] = set()  # literal paths claimed
        self._parents: set[str] = set()  # every directory above a claimed literal path
        self._globs: list[str] = []
        self._everything = False  # someone claimed "." (the whole tree)
        self._any = False
        for task in tasks:
            self.add(task)

    def add(self, task: Task) -> None:
        for raw in task.files:
            path = _normalise(raw)
            self._any = True
            if path == ".":
                self._everything = True
            elif _GLOB & set(path):
                self._globs.append(path)
            else:
                self._paths.add(path)
                self._parents.update(_parents(path))

    def conflicts(self, task: Task) -> bool:
        if not task.files or not self._any:
            return False
        if self._everything:
            return True
        for raw in task.files:
            path = _normalise(raw)
            if path == ".":
                return True
            if _GLOB & set(path):
                # Globs are rare: compare with every claim, as files_overlap would.
                if any(_paths_overlap(path, other) for other in (*self._paths, *self._globs)):
                    return True
                continue
            if path in self._paths or path in self._parents:
                return True
            if any(parent in self._paths for parent in _parents(path)):
                return True
            if any(_paths_overlap(path, pattern) for pattern in self._globs):
                return True
        return False


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts))]
