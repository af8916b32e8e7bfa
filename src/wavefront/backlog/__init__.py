"""Backlog loaders: files in any supported format -> `Backlog` of `Task`s.

Each format is one module exposing `NAME`, `DESCRIPTION`, `matches(path) -> bool` (detection
from the path alone), `discover(root) -> list[Path]` (where it looks in a repository) and
`load(path) -> Backlog`. Adding a format is one module and one line in `_formats()`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path

from wavefront.backlog.base import Backlog, BacklogFormat, each_readable
from wavefront.errors import BacklogError, ConfigError

__all__ = ["FORMATS", "Backlog", "BacklogFormat", "discover_backlog", "load_backlog"]


class _Formats(Mapping[str, BacklogFormat]):
    """Format name -> its module, imported when it is first asked for: detection and
    discovery go in priority order and stop at the first format that answers, so the
    parsers after it (and what they import) are never loaded."""

    def __init__(self, modules: Sequence[tuple[str, str]]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, BacklogFormat] = {}

    def __getitem__(self, name: str) -> BacklogFormat:
        if name not in self._loaded:
            module: BacklogFormat = importlib.import_module(
                f"wavefront.backlog.{self._modules[name]}")
            self._loaded[name] = module
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


def _formats() -> Mapping[str, BacklogFormat]:
    # Order is detection and discovery priority: the first that matches wins. Each entry
    # is the format's NAME and its module.
    return _Formats((("wavefront", "native"), ("workflow", "workflow"),
                     ("taskmaster", "taskmaster"), ("taskjson", "taskjson"),
                     ("bmad", "bmad"), ("stories", "stories"), ("speckit", "speckit")))


FORMATS: Mapping[str, BacklogFormat] = _formats()

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
        loaded = fmt.load(path)
        _refuse_nul(loaded)
        return _with_includes(_tagged(loaded, fmt.NAME), path)

    return Backlog.merge(each_readable(paths, read))


def _refuse_nul(backlog: Backlog) -> None:
    """A NUL character in a task's id or text is a load error: no git call, argv or
    file name can hold one, so it would fail the run later with a lesser message."""
    for task in backlog.tasks:
        texts = (task.id, task.title, task.body, *task.dependencies, *task.deliverables,
                 *task.files, *task.acceptance_criteria)
        if any("\0" in text for text in texts):
            line = _nul_line(task.source.path) or task.source.line
            raise BacklogError(task.source.path, line,
                               f"task {task.id!r}: a NUL character is not allowed in a "
                               "task's id or text")


def _nul_line(path: Path) -> int | None:
    """The line of the first NUL byte in `path` (None when it has none: an escape)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    at = data.find(b"\0")
    return data.count(b"\n", 0, at) + 1 if at >= 0 else None


def _tagged(backlog: Backlog, name: str) -> Backlog:
    """Each task marked with the format it came from, for the write-back after its merge."""
    return replace(backlog, tasks=tuple(
        replace(task, backlog_format=name) for task in backlog.tasks))


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
