"""Planning commands: validate, plan, next, parallel, agents. They read the backlog only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wavefront.cli.group import (
    agent_names,
    backlog_options,
    load_and_plan_from_options,
    make_console,
    output_option,
    plan_options,
    wavefront,
)

if TYPE_CHECKING:
    from wavefront.backlog.load import LoadedPlan
    from wavefront.plan.graph import Plan

@wavefront.command()
@backlog_options
@plan_options
def validate(**params: Any) -> None:
    """Check the backlog: duplicate ids, missing dependencies, cycles, scope.

    Prints a one-line summary and exits 0, or prints the first problem (with file and
    line) and exits 2. Dependencies outside the scope are warnings here. Task JSON is also
    checked for status words, subtask_count and completed_count against the files, and
    objectives over 200 characters.
    """
    from wavefront.backlog.taskcli import problems

    loaded = load_and_plan_from_options(params, ask=False, integrated=False)
    for note in loaded.backlog.notes:
        click.echo(f"note: {note}", err=True)
    found = [problem for file in loaded.backlog.files if file.name == "task.json"
             for problem in problems(file.parent)]
    if found:
        for problem in found:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2)
    plan = loaded.plan
    click.echo(
        f"ok: {len(loaded.backlog.tasks)} tasks in {len(loaded.backlog.files)} files, "
        f"{len(plan.tasks)} in scope, {len(plan.waves)} waves, no problems found"
    )


@wavefront.command()
@backlog_options
@plan_options
@output_option("table", "json", "mermaid", "dot")
@click.option(
    "--rows",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Above this many tasks the table shows one row per wave (0: always every task).",
)
def plan(output: str, rows: int, **params: Any) -> None:
    """Show the plan: waves, agents, dependencies, critical path and parallelism.

    The table marks the critical path with '*'. `-o json|mermaid|dot` prints the graph for
    other tools (for example `wavefront plan -o dot | dot -Tsvg > plan.svg`).
    """
    from wavefront.plan import render

    loaded = load_and_plan_from_options(params)
    agents = agent_names(loaded.plan.tasks, params["root"], loaded)
    if output == "table":
        make_console().print(render.plan_table(loaded.plan, agents, max_rows=rows))
    else:
        click.echo(render.OUTPUTS[output](loaded.plan, agents))


@wavefront.command(name="next")
@backlog_options
@plan_options
@output_option("table", "json", "id")
def next_command(output: str, **params: Any) -> None:
    """Show the one task to start next.

    The statuses written in the backlog files decide: done tasks count as finished,
    tasks in progress are left out. Among the ready tasks
    the one with the longest remaining critical path wins. Prints nothing to stdout (and
    says why on stderr) when no task is ready.
    """
    loaded = load_and_plan_from_options(params)
    task_id = loaded.plan.next_task()
    if task_id is None:
        click.echo(_nothing_ready(loaded.plan), err=True)
        return
    _print_tasks(loaded, [task_id], output, params["root"])


@wavefront.command()
@backlog_options
@plan_options
@output_option("table", "json", "id")
def parallel(output: str, **params: Any) -> None:
    """Show every task that could start now, side by side.

    Tasks whose declared files overlap are not offered together, and a task marked
    `parallel: false` is offered only alone.
    """
    loaded = load_and_plan_from_options(params)
    plan = loaded.plan
    batch = plan.parallel_tasks()
    if not batch:
        click.echo(_nothing_ready(plan), err=True)
        return
    _print_tasks(loaded, batch, output, params["root"])
    held = [t for t in plan.ready(plan.done_in_files, plan.started_in_files) if t not in batch]
    if held:
        click.echo(f"held back (file overlap or not parallel): {', '.join(held)}", err=True)


def _nothing_ready(plan: Plan) -> str:
    if not plan.tasks:
        return "nothing to do: no task in scope"
    remaining = [t.id for t in plan.tasks if t.id not in plan.done_in_files]
    if not remaining:
        return f"nothing to do: all {len(plan.tasks)} tasks in scope are done"
    started = sorted(plan.started_in_files)
    if started:
        return f"nothing ready: waiting on tasks in progress ({', '.join(started[:8])})"
    return f"nothing ready: {len(remaining)} tasks wait on dependencies outside the scope"


def _print_tasks(loaded: LoadedPlan, task_ids: Sequence[str], output: str, root: Path) -> None:
    import json

    plan = loaded.plan
    tasks = [plan.by_id[task_id] for task_id in task_ids]
    if output == "id":
        click.echo("\n".join(task_ids))
        return
    agents = agent_names(tasks, root, loaded)
    if output == "json":
        rows = [
            {
                "id": task.id,
                "title": task.title,
                "agent": agents.get(task.id),
                "priority": plan.priority[task.id],
                "source": str(task.source),
            }
            for task in tasks
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table()
    for column in ("id", "title", "agent", "priority", "file"):
        table.add_column(column, overflow="fold")
    for task in tasks:
        table.add_row(
            task.id,
            task.title,
            agents.get(task.id, ""),
            f"{plan.priority[task.id]:g}",
            str(task.source),
        )
    make_console().print(table)


@wavefront.command()
@backlog_options
@plan_options
@output_option("table", "json")
def agents(output: str, **params: Any) -> None:
    """List the agent profiles, and which agent each task gets and why.

    Profiles come built in, from .claude/agents/ and .opencode/agents/, and from
    wavefront.yaml. The assignments are shown when a backlog is given or found.
    """
    import json
    from dataclasses import asdict

    from wavefront.agents import assign_agent, load_profiles

    root: Path = params["root"]
    loaded: LoadedPlan | None = None
    # Without a backlog the profiles alone are still worth listing.
    if params["args"] or params["backlogs"] or _has_backlog(root):
        loaded = load_and_plan_from_options(params, ask=False)
    profiles = load_profiles(root, loaded.backlog.config if loaded else None)
    rows = [
        {
            "name": name,
            "origin": _relative(profile.origin, root),
            "model": profile.model,
            "description": profile.description,
        }
        for name, profile in sorted(profiles.items())
    ]
    assignments = [
        {"task": task.id, "title": task.title, **asdict(assign_agent(task, profiles))}
        for task in (loaded.plan.tasks if loaded else ())
    ]
    if output == "json":
        data = {"profiles": rows, "assignments": assignments if loaded else None}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from textwrap import shorten

    from rich.table import Table

    table = Table(title="Agent profiles")
    table.add_column("name", no_wrap=True)
    table.add_column("origin", overflow="fold", min_width=8)
    table.add_column("model", no_wrap=True)
    table.add_column("description", min_width=20)
    for row in rows:
        # The first sentence is enough to tell profiles apart; the files hold the rest.
        summary = shorten((row["description"] or "").split(". ")[0], width=90, placeholder="...")
        table.add_row(row["name"], row["origin"], row["model"] or "-", summary)
    console = make_console()
    console.print(table)
    if loaded is None:
        return
    assigned = Table(title="Assignments")
    for column in ("task", "title", "agent", "why"):
        assigned.add_column(column, overflow="fold")
    for item in assignments:
        assigned.add_row(item["task"], item["title"], item["agent"], item["reason"])
    console.print(assigned)


def _relative(origin: str, root: Path) -> str:
    """A profile file's path as seen from the repository root (`builtin` stays)."""
    path = Path(origin)
    if not path.is_absolute():
        return origin
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return origin


def _has_backlog(root: Path) -> bool:
    from wavefront.backlog import discover_backlog
    from wavefront.errors import BacklogError

    try:
        return bool(discover_backlog(root))
    except BacklogError:
        return False
