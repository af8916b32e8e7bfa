"""What every backlog format produces, and the shape a format module has."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from wavefront.model import Task

if TYPE_CHECKING:
    from wavefront.config import ProjectConfig

__all__ = ["Backlog", "BacklogFormat"]


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
