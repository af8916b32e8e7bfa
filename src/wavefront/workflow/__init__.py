"""Workflows: YAML patterns and templates compiled to the same task graph as any backlog.

`build_workflow` is the whole path from a loaded YAML mapping to tasks: the orchestration
patterns' shapes are normalised (`patterns`), the steps validated (`schema`), checked as a whole and
compiled to `model.Task`s (`compile`). At run time `runtime.WorkflowHook` grows the graph
(fan-out over what a step wrote) and picks branches; the engine knows nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from wavefront.workflow.compile import CompiledWorkflow, compile_workflow
from wavefront.workflow.patterns import normalise
from wavefront.workflow.schema import WorkflowSource, check_workflow, parse_workflow

if TYPE_CHECKING:
    from wavefront.config import ProjectConfig
    from wavefront.model import Task

__all__ = ["CompiledWorkflow", "WorkflowSource", "build_workflow", "uses_workflow"]


def build_workflow(data: Any, source: WorkflowSource, *, root: Path,
                   config: ProjectConfig | None = None) -> CompiledWorkflow:
    """Normalise, validate, check and compile one workflow (errors name file and line).

    `root` is where agent files are looked up and where inputs that no step produces
    must already exist.
    """
    from wavefront.agents import load_profiles

    native, origins = normalise(data, source)
    workflow = parse_workflow(native, source, origins)
    known = load_profiles(root, config)
    graph = check_workflow(workflow, known, lambda path: _exists(root, path))
    return compile_workflow(workflow, graph)


def uses_workflow(task: Task) -> bool:
    """Whether a task came from a workflow (the run then needs the workflow hook)."""
    return task.options.workflow is not None


def _exists(root: Path, path: str) -> bool:
    clean = path.strip().rstrip("/")
    if any(ch in clean for ch in "*?["):
        return any(root.glob(clean))
    return (root / clean).exists()
