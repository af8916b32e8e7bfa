"""A plan drawn for people and tools: a rich table, JSON, Mermaid or Graphviz DOT.

Renderers only read a `Plan`; `agents` (task id -> agent name) is optional so the same
functions serve a plan with or without agent assignment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from wavefront.model import Task
from wavefront.plan.fitted import Fitted, widest
from wavefront.plan.graph import Plan
from wavefront.plan.weights import weight_summary
from wavefront.words import plural

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = [
    "OUTPUTS",
    "plan_as_data",
    "plan_table",
    "plan_to_dot",
    "plan_to_json",
    "plan_to_mermaid",
]

Agents = Mapping[str, str]


def plan_as_data(plan: Plan, agents: Agents | None = None) -> dict[str, Any]:
    """The plan as plain data (what `--output json` prints)."""
    agents = agents or {}
    return {
        "tasks": [
            {
                "id": task.id,
                "title": task.title,
                "wave": plan.wave_of[task.id],
                "dependencies": list(plan.dependencies[task.id]),
                "priority": plan.priority[task.id],
                "weight": task.weight,
                "weight_source": task.weight_source,
                "status": task.status.value,
                "agent": agents.get(task.id, task.agent),
                "parallel": task.parallel,
                "source": str(task.source),
                "grows_at_run_time": _grows(task),
            }
            for task in plan.tasks
        ],
        "waves": [list(wave) for wave in plan.waves],
        "critical_path": list(plan.critical_path),
        "critical_length": plan.critical_length,
        "max_parallelism": plan.max_parallelism,
        "out_of_scope": {task_id: list(deps) for task_id, deps in plan.out_of_scope.items()},
        "expanded": list(plan.expanded),
        "skipped": list(plan.skipped),
    }


def _grows(task: Task) -> bool:
    """A workflow placeholder that becomes one task per story/subtask when it runs."""
    return task.options.grows_at_run_time


def plan_to_json(plan: Plan, agents: Agents | None = None) -> str:
    return json.dumps(plan_as_data(plan, agents), indent=2, ensure_ascii=False)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def plan_to_mermaid(plan: Plan, agents: Agents | None = None) -> str:
    """A Mermaid flowchart, one subgraph per wave, edges from dependency to dependent."""
    names = {task.id: f"t{index}" for index, task in enumerate(plan.tasks)}
    critical = set(plan.critical_path)
    lines = ["flowchart LR"]
    for number, wave in enumerate(plan.waves):
        lines.append(f'  subgraph wave{number}["Wave {number}"]')
        for task_id in wave:
            title = plan.by_id[task_id].title.replace('"', "#quot;")
            lines.append(f'    {names[task_id]}["{task_id}: {title}"]')
        lines.append("  end")
    for task in plan.tasks:
        for dependency in plan.dependencies[task.id]:
            arrow = "==>" if dependency in critical and task.id in critical else "-->"
            lines.append(f"  {names[dependency]} {arrow} {names[task.id]}")
    if critical:
        lines.append("  classDef critical stroke-width:3px")
        lines.append(f"  class {','.join(names[t] for t in plan.critical_path)} critical")
    return "\n".join(lines)


def plan_to_dot(plan: Plan, agents: Agents | None = None) -> str:
    """A Graphviz digraph; each wave shares a rank and the critical path is bold."""
    critical = set(plan.critical_path)
    lines = ["digraph plan {", "  rankdir=LR;", "  node [shape=box];"]
    for wave in plan.waves:
        members = " ".join(f'"{_quoted(task_id)}";' for task_id in wave)
        lines.append(f"  {{ rank=same; {members} }}")
    for task in plan.tasks:
        style = ", style=bold" if task.id in critical else ""
        label = _quoted(f"{task.id}: {task.title}")
        lines.append(f'  "{_quoted(task.id)}" [label="{label}"{style}];')
    for task in plan.tasks:
        for dependency in plan.dependencies[task.id]:
            bold = " [style=bold]" if dependency in critical and task.id in critical else ""
            lines.append(f'  "{_quoted(dependency)}" -> "{_quoted(task.id)}"{bold};')
    lines.append("}")
    return "\n".join(lines)


def plan_table(plan: Plan, agents: Agents | None = None, max_rows: int = 0) -> RenderableType:
    """The waves as a rich table plus lines of totals (what `wavefront plan` shows).

    With `max_rows` (> 0) and more tasks than that, one row per wave lists its ids instead:
    a table of thousands of rows is slow to draw and no one reads it.
    """
    from rich.console import Group
    from rich.text import Text

    compact = 0 < max_rows < len(plan.tasks)
    table = _wave_table(plan) if compact else _task_table(plan, agents or {})
    lines = [
        f"critical path (*): {' -> '.join(plan.critical_path) or '-'} "
        f"(length {plan.critical_length:g})",
        f"{plural(len(plan.tasks), 'task')} in {plural(len(plan.waves), 'wave')}; "
        f"max parallelism {plan.max_parallelism}; done already {len(plan.done_in_files)}",
    ]
    weights = weight_summary(plan.tasks)
    if weights:
        lines.insert(1, weights)
    if compact:
        lines.append(
            f"one row per wave ({plural(len(plan.tasks), 'task')}); -o json lists every task"
        )
    growing = [task.id for task in plan.tasks if _grows(task)]
    if growing:
        lines.append(f"⟳ grows at run time (one task per item found then): {', '.join(growing)}")
    if plan.expanded:
        lines.append(f"scope expanded with: {', '.join(plan.expanded)}")
    if plan.skipped:
        lines.append(f"skipped (dependencies outside the scope): {', '.join(plan.skipped)}")
    return Group(table, *(Text(line) for line in lines))


def _task_table(plan: Plan, agents: Agents) -> RenderableType:
    from rich.table import Table
    from rich.text import Text

    critical = set(plan.critical_path)
    table = Table(title="Plan")
    for name in ("wave", "id", "title", "agent", "depends on"):
        table.add_column(name, overflow="fold", justify="right" if name == "wave" else "left")
    ids: list[str] = []
    names: list[str] = []
    needed: list[str] = []
    for number, wave in enumerate(plan.waves):
        for position, task_id in enumerate(wave):
            task = plan.by_id[task_id]
            marker = "*" if task_id in critical else ""
            shown_id = task_id + marker + (" ⟳" if _grows(task) else "")
            agent = agents.get(task_id, task.agent or "")
            ids.append(shown_id)
            names.append(agent)
            needed.extend(plan.dependencies[task_id])
            table.add_row(
                str(number) if position == 0 else "",
                Text(shown_id, style="bold" if marker else ""),
                task.title,
                agent,
                ", ".join(plan.dependencies[task_id]) or "-",
                end_section=position == len(wave) - 1,
            )
    # Widths kept when the table must narrow: a whole id (and a dependency's, with its
    # comma) and a whole agent name, up to a point; the title wraps in what is left.
    kept = {1: min(widest(["id", *ids]), 16), 3: min(widest(["agent", *names]), 24),
            4: max(len("depends on"), min(widest(needed) + 1, 17))}
    return Fitted(table, wrapping={2: 1}, kept=kept)


def _wave_table(plan: Plan, shown: int = 12) -> RenderableType:
    from rich.table import Table

    critical = set(plan.critical_path)
    table = Table(title="Plan (by wave)")
    table.add_column("wave", justify="right")
    table.add_column("tasks", justify="right")
    table.add_column("ids", overflow="fold")
    for number, wave in enumerate(plan.waves):
        ids = [task_id + ("*" if task_id in critical else "") for task_id in wave[:shown]]
        more = f", ... +{len(wave) - shown}" if len(wave) > shown else ""
        table.add_row(str(number), str(len(wave)), ", ".join(ids) + more)
    return table


OUTPUTS: dict[str, Callable[[Plan, Agents | None], str]] = {
    "json": plan_to_json,
    "mermaid": plan_to_mermaid,
    "dot": plan_to_dot,
}
