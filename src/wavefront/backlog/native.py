"""The native backlog format: a `wavefront.yaml` with tasks and project settings.

The file may also name other backlogs (`backlog: [docs/stories]`), loaded with their own
formats and merged, so a project can keep its stories as markdown and its agents, gates
and limits in `wavefront.yaml`.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from wavefront.backlog.base import Backlog
from wavefront.config import ProjectConfig, parse_config
from wavefront.errors import ConfigError
from wavefront.model import Task
from wavefront.yamlsource import YamlDocument, load_yaml

__all__ = ["DESCRIPTION", "NAME", "discover", "load", "matches"]

NAME = "wavefront"
DESCRIPTION = "wavefront.yaml: tasks, agents, gates and limits in one file"

FILE_NAMES = ("wavefront.yaml", "wavefront.yml")

# The files being loaded right now, outermost first: a `backlog:` entry that leads back
# to one of them would recurse forever.
_loading: ContextVar[tuple[Path, ...]] = ContextVar("wavefront_native_loading", default=())


def matches(path: Path) -> bool:
    """`wavefront.yaml`, `<name>.wavefront.yaml`, or a directory holding `wavefront.yaml`."""
    if path.is_dir():
        return _file_in(path) is not None
    name = path.name.lower()
    return name in FILE_NAMES or name.endswith(tuple("." + n for n in FILE_NAMES))


def discover(root: Path) -> list[Path]:
    """`root/wavefront.yaml` (or `.yml`) when present."""
    found = _file_in(root)
    return [found] if found is not None else []


def load(path: Path) -> Backlog:
    """Load a `wavefront.yaml` (or the one in a directory) and the backlogs it includes."""
    if path.is_dir():
        found = _file_in(path)
        if found is None:
            raise ConfigError(path, None, f"no {FILE_NAMES[0]} in this directory")
        path = found
    resolved = path.resolve()
    stack = _loading.get()
    if resolved in stack:
        chain = " -> ".join(str(p) for p in (*stack, resolved))
        raise ConfigError(path, None, f"backlog includes itself: {chain}")
    token = _loading.set((*stack, resolved))
    try:
        doc = load_yaml(path)
        config = parse_config(doc)
        own = Backlog(
            tasks=(*config.build_tasks(), *_workflow_tasks(config, doc)),
            files=(path,),
            formats=(NAME,),
            config=config,
        )
        return Backlog.merge([own, *_included(config, doc)])
    finally:
        _loading.reset(token)


def _workflow_tasks(config: ProjectConfig, doc: YamlDocument) -> tuple[Task, ...]:
    """The tasks of the `workflow:` section; its command steps' runners join `runners`."""
    if config.workflow is None:
        return ()
    from wavefront.workflow import WorkflowSource, build_workflow

    compiled = build_workflow(config.workflow, WorkflowSource(doc, ("workflow",)),
                              root=config.base_dir, config=config)
    for name, settings in compiled.runners.items():
        config.runners.setdefault(name, dict(settings))
    return compiled.tasks


def _included(config: ProjectConfig, doc: YamlDocument) -> list[Backlog]:
    """The backlogs named under `backlog:`, each loaded in its own format."""
    if not config.backlog:
        return []
    # Imported here: the registry imports this module.
    from wavefront.backlog import load_backlog

    parts: list[Backlog] = []
    for index, entry in enumerate(config.backlog):
        target = config.base_dir / entry
        if not target.exists():
            raise ConfigError(
                doc.path,
                doc.line_of("backlog", index),
                f"backlog: {entry!r} does not exist (looked for {target})",
            )
        parts.append(load_backlog(target))
    return parts


def _file_in(directory: Path) -> Path | None:
    for name in FILE_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None
