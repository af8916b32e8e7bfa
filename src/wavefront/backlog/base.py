"""What every backlog format produces, and the shape a format module has."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from wavefront.errors import BacklogError
from wavefront.model import Task

if TYPE_CHECKING:
    from wavefront.config import ProjectConfig

__all__ = ["Backlog", "BacklogFormat", "collecting_errors", "each_readable"]

_T = TypeVar("_T")
_R = TypeVar("_R")
# While `validate` reads a backlog: the files that could not be read, instead of a stop.
_unreadable: ContextVar[list[BacklogError] | None] = ContextVar("unreadable", default=None)


@dataclass(frozen=True)
class Backlog:
    """Tasks loaded from one or more files, with the files read and, for `wavefront.yaml`,
    the project settings (agents, gates, limits) that came with them."""

    tasks: tuple[Task, ...]
    files: tuple[Path, ...] = ()
    formats: tuple[str, ...] = ()
    config: ProjectConfig | None = None
    notes: tuple[str, ...] = field(default=())
    # Other backlogs this one names (`backlog:` in wavefront.yaml); `load_backlog` reads them.
    includes: tuple[Path, ...] = ()

    @staticmethod
    def merge(parts: Iterable[Backlog]) -> Backlog:
        parts = list(parts)
        configs = [p.config for p in parts if p.config is not None]
        return Backlog(
            tasks=tuple(t for p in parts for t in p.tasks),
            files=tuple(f for p in parts for f in p.files),
            formats=tuple(dict.fromkeys(name for p in parts for name in p.formats)),
            config=configs[0] if configs else None,
            notes=tuple(n for p in parts for n in p.notes),
            includes=tuple(i for p in parts for i in p.includes),
        )


class BacklogFormat(Protocol):
    """A backlog format module (see `wavefront.backlog`)."""

    NAME: str
    DESCRIPTION: str

    def matches(self, path: Path) -> bool: ...

    def discover(self, root: Path) -> list[Path]: ...

    def load(self, path: Path) -> Backlog: ...


@contextmanager
def collecting_errors() -> Iterator[list[BacklogError]]:
    """Within this, a file that cannot be read is kept in the list given and the loaders
    go on with the next file, so that every problem can be listed; elsewhere the first
    such file stops the load (a run never starts on half a backlog)."""
    found: list[BacklogError] = []
    token = _unreadable.set(found)
    try:
        yield found
    finally:
        _unreadable.reset(token)


def each_readable(items: Iterable[_T], read: Callable[[_T], _R]) -> list[_R]:
    """`read(item)` for each item; while collecting, an item whose file cannot be read is
    set aside with its error, otherwise the error is raised."""
    found = _unreadable.get()
    results: list[_R] = []
    for item in items:
        if found is None:
            results.append(read(item))
            continue
        try:
            results.append(read(item))
        except BacklogError as error:
            found.append(error)
    return results
