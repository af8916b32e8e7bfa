"""The workflow format: a `*.workflow.yaml` file holding one workflow (`--workflow FILE`).

The file is the workflow itself: native `steps`, or one of the orchestration-pattern shapes (a
file with a top-level `workflow:` key is a whole `wavefront.yaml` and is read as one). It
compiles to tasks like the `workflow:` section of `wavefront.yaml`; the project settings
(runners, gates, limits) come with it only as far as the workflow needs them (the runners of
its command steps), so a run names its runner with `--runner` or through `wavefront.yaml`.
"""

from __future__ import annotations

from pathlib import Path

from wavefront.backlog.base import Backlog
from wavefront.config import ProjectConfig
from wavefront.errors import ConfigError
from wavefront.yamlsource import load_yaml

__all__ = ["DESCRIPTION", "NAME", "discover", "load", "matches"]

NAME = "workflow"
DESCRIPTION = "<name>.workflow.yaml: one workflow (steps, or a pattern's configuration shape)"

_SUFFIXES = (".workflow.yaml", ".workflow.yml")


def matches(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(_SUFFIXES)


def discover(root: Path) -> list[Path]:
    """Nothing is discovered: a workflow file is always named (`-b FILE`)."""
    return []


def load(path: Path) -> Backlog:
    from wavefront.workflow import WorkflowSource, build_workflow

    if path.is_dir():
        raise ConfigError(path, None, "a workflow is one file (name.workflow.yaml)")
    doc = load_yaml(path)
    if isinstance(doc.data, dict) and "workflow" in doc.data:
        # A whole wavefront.yaml (a template, say) whose workflow comes with its settings.
        from wavefront.backlog import native

        return native.load(path)
    duplicates = doc.duplicate_keys()
    if duplicates:
        key, line = duplicates[0]
        raise ConfigError(path, line, f"key {key!r} is written twice in the same mapping")
    config = ProjectConfig()
    config._source = path
    compiled = build_workflow(doc.data, WorkflowSource(doc), root=path.parent, config=config)
    config.runners.update({name: dict(s) for name, s in compiled.runners.items()})
    return Backlog(tasks=compiled.tasks, files=(path,), formats=(NAME,), config=config)
