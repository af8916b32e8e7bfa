"""Backlog loaders: files in any supported format -> `Backlog` of `Task`s.

Each format is one module exposing `NAME`, `DESCRIPTION`, `matches(path) -> bool` (detection
from the path alone), `discover(root) -> list[Path]` (where it looks in a repository) and
`load(path) -> Backlog`. Adding a format is one module and one line in `_formats()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path

from wavefront.backlog.base import Backlog, BacklogFormat, each_readable
from wavefront.errors import BacklogError, ConfigError

__all__ = ["FORMATS", "Backlog", "BacklogFormat", "discover_backlog", "load_backlog"]


def _formats() -> dict[str, BacklogFormat]:
    from wavefront.backlog import bmad, native, speckit, stories, taskjson, taskmaster, workflow

    # Order is detection and discovery priority: the first that matches wins.
    modules: tuple[BacklogFormat, ...] = (native, workflow, taskmaster, taskjson, bmad,
                                          stories, speckit)
    return {module.NAME: module for module in modules}


FORMATS: dict[str, BacklogFormat] = _formats()

# The backlogs being loaded right now, outermost first: an include that leads back to one of
# them would recurse forever.
_loading: ContextVar[tuple[Path, ...]] = ContextVar("wavefront_backlog_loading", default=())


def detect_format(path: Path) -> BacklogFormat:
    """The format whose `matches` accepts `path`, or a `BacklogError` listing the choices."""
    for fmt in FORMATS.values():
        if fmt.matches(path):
            return fmt
    names = ", ".join(FORMATS)
    raise BacklogError(
        path, None, f"cannot tell the backlog format from the path; use --format ({names})"
    )


def discover_backlog(root: Path, *, skip: Sequence[str] = ()) -> list[Path]:
    """The backlog paths of the first format found in `root`, in priority order, leaving
    out the formats named in `skip`."""
    for fmt in FORMATS.values():
        if fmt.NAME in skip:
            continue
        found = fmt.discover(root)
        if found:
            return found
    raise BacklogError(
        root,
        None,
        "no backlog found (looked for wavefront.yaml, .taskmaster/tasks/tasks.json, "
        "tasks/tasks.json, .tmp/tasks/, sprint-status.yaml, docs/stories/, specs/*/tasks.md); "
        "name a path or use --format",
    )


def load_backlog(paths: Sequence[Path | str] | Path | str, format: str | None = None) -> Backlog:
    """Load one or more backlog paths (files or directories) into a single `Backlog`."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if format is not None and format not in FORMATS:
        raise BacklogError(Path(str(paths[0])) if paths else Path("."), None,
                           f"unknown format {format!r} (known: {', '.join(FORMATS)})")
    def read(raw: Path | str) -> Backlog:
        path = Path(raw)
        if not path.exists():
            raise BacklogError(path, None, "no such file or directory")
        fmt = FORMATS[format] if format else detect_format(path)
        return _with_includes(_tagged(fmt.load(path), fmt.NAME), path)

    return Backlog.merge(each_readable(paths, read))


def _tagged(backlog: Backlog, name: str) -> Backlog:
    """Each task marked with the format it came from, for the write-back after its merge."""
    from wavefront.backlog.writeback import FORMAT_KEY

    return replace(backlog, tasks=tuple(
        replace(task, metadata={**task.metadata, FORMAT_KEY: name}) for task in backlog.tasks))


def _with_includes(backlog: Backlog, path: Path) -> Backlog:
    """`backlog` merged with the backlogs it names, each read in its own format."""
    if not backlog.includes:
        return backlog
    resolved = (backlog.files[0] if backlog.files else path).resolve()
    stack = _loading.get()
    if resolved in stack:
        chain = " -> ".join(str(p) for p in (*stack, resolved))
        raise ConfigError(path, None, f"backlog includes itself: {chain}")
    token = _loading.set((*stack, resolved))
    try:
        own = replace(backlog, includes=())
        return Backlog.merge([own, *(load_backlog(target) for target in backlog.includes)])
    finally:
        _loading.reset(token)
