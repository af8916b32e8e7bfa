"""The native backlog format: a `wavefront.yaml` with tasks and project settings.

The file may also name other backlogs (`backlog: [docs/stories]`); `load_backlog` reads them
with their own formats and merges them, so a project can keep its stories as markdown and
its agents, gates and limits in `wavefront.yaml`.
"""

from __future__ import annotations

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
    """Load a `wavefront.yaml` (or the one in a directory); the backlogs it names are checked
    to exist and listed in `includes`."""
    if path.is_dir():
        found = _file_in(path)
        if found is None:
            raise ConfigError(path, None, f"no {FILE_NAMES[0]} in this directory")
        path = found
    doc = load_yaml(path)
    config = parse_config(doc)
    return Backlog(
        tasks=(*config.build_tasks(), *_workflow_tasks(config, doc)),
        files=(path,),
        formats=(NAME,),
        config=config,
        includes=_included(config, doc),
    )


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


def _included(config: ProjectConfig, doc: YamlDocument) -> tuple[Path, ...]:
    """The backlogs named under `backlog:`; each must exist."""
    paths: list[Path] = []
    for index, entry in enumerate(config.backlog):
        target = config.base_dir / entry
        if not target.exists():
            raise ConfigError(
                doc.path,
                doc.line_of("backlog", index),
                f"backlog: {entry!r} does not exist (looked for {target})",
            )
        paths.append(target)
    return tuple(paths)


def _file_in(directory: Path) -> Path | None:
    for name in FILE_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None
