"""The planning tools: the backlog, its plan and what to start next, read as the CLI reads
them (`load_and_plan`, with done work from the last run's integration branch)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wavefront.backlog.load import LoadedPlan, load_and_plan
from wavefront.errors import WavefrontError
from wavefront.model import Task, TaskStatus
from wavefront.plan.graph import Decision, Plan

__all__ = ["get_task", "list_tasks", "next_tasks", "plan", "task_data", "validate"]


def _expand(plan: Plan) -> Decision:
    # No terminal to ask from a tool: take in what the scope needs, as `validate` does.
    return "expand"


def _load(root: Path, scope: str | None, integrated: bool = True) -> LoadedPlan:
    arguments: Sequence[str] = scope.split() if scope else ()
    return load_and_plan(arguments, root=root, decide=_expand, integrated=integrated)


def task_data(task: Task, plan: Plan | None = None) -> dict[str, Any]:
    """A task as JSON: what an agent or a person needs to know about it."""
    data: dict[str, Any] = {
        "id": task.id, "title": task.title, "status": task.status.value,
        "dependencies": list(plan.dependencies[task.id] if plan else task.dependencies),
        "agent": task.agent, "epic": task.epic,
        "acceptance_criteria": list(task.acceptance_criteria),
        "deliverables": list(task.deliverables), "files": list(task.files),
        "source": str(task.source),
    }
    if plan is not None:
        data["wave"] = plan.wave_of[task.id]
        data["priority"] = plan.priority[task.id]
    return data


def list_tasks(root: Path, status: str | None = None, scope: str | None = None
               ) -> list[dict[str, Any]]:
    """Every task of the backlog (or of `scope`), optionally only those with `status`."""
    if status is not None:
        known = [s.value for s in TaskStatus]
        if status not in known:
            raise WavefrontError(f"unknown status {status!r}; expected one of "
                                 f"{', '.join(known)}")
    loaded = _load(root, scope)
    return [{key: value for key, value in task_data(task, loaded.plan).items()
             if key in ("id", "title", "status", "dependencies", "wave", "agent")}
            for task in loaded.plan.tasks if status is None or task.status.value == status]


def get_task(root: Path, task_id: str) -> dict[str, Any]:
    """One task with its body, acceptance criteria and deliverables."""
    loaded = _load(root, None)
    task = loaded.plan.by_id.get(task_id)
    if task is None:
        known = ", ".join(list(loaded.plan.by_id)[:10])
        raise WavefrontError(f"no task {task_id!r} in the backlog (tasks: {known})")
    return {**task_data(task, loaded.plan), "body": task.body}


def next_tasks(root: Path, scope: str | None = None, parallel: bool = True
               ) -> list[dict[str, Any]]:
    """What can start now: every task side by side (`parallel`), or the one to start next,
    as `wavefront parallel` and `wavefront next` choose them."""
    loaded = _load(root, scope)
    chosen = loaded.plan.parallel_tasks() if parallel else [
        t for t in [loaded.plan.next_task()] if t is not None]
    return [task_data(loaded.plan.by_id[task_id], loaded.plan) for task_id in chosen]


def plan(root: Path, scope: str | None = None) -> dict[str, Any]:
    """The plan as `wavefront plan -o json` prints it: waves, critical path, edges."""
    from wavefront.plan.render import plan_as_data

    return plan_as_data(_load(root, scope).plan)


def validate(root: Path, scope: str | None = None) -> dict[str, Any]:
    """What `wavefront validate` checks; the first problem is raised with file and line."""
    from wavefront.backlog.taskcli import problems

    loaded = _load(root, scope, integrated=False)
    found = [problem for file in loaded.backlog.files if file.name == "task.json"
             for problem in problems(file.parent)]
    if found:
        raise WavefrontError("; ".join(found))
    return {"ok": True, "tasks": len(loaded.backlog.tasks), "files": len(loaded.backlog.files),
            "in_scope": len(loaded.plan.tasks), "waves": len(loaded.plan.waves),
            "notes": list(loaded.backlog.notes)}
