"""Planning commands: validate, plan, next, parallel, agents. They read the backlog only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wavefront.cli.group import wavefront
from wavefront.cli.options import (
    agent_names,
    backlog_options,
    load_and_plan_from_options,
    make_console,
    output_option,
    plan_options,
)
from wavefront.words import plural

if TYPE_CHECKING:
    from wavefront.backlog.load import LoadedPlan
    from wavefront.errors import BacklogError
    from wavefront.plan.graph import Plan
    from wavefront.plan.problems import Problem

@wavefront.command()
@backlog_options
@plan_options
@output_option("text", "json")
def validate(output: str, **params: Any) -> None:
    """Check the backlog: duplicate ids, missing dependencies, cycles, scope, statuses.

    Lists every problem, grouped by file, and exits 2 when there is one; exits 1 when the
    backlog holds no task; else prints a one-line summary and exits 0. `-o json` prints
    the same for tools. Dependencies outside the scope are warnings here. Task JSON is also
    checked as the multi-stage workflow requires: status words, subtask_count and
    completed_count against the files, objectives over 200 characters.
    """
    from wavefront.agents.profiles import load_profiles
    from wavefront.agents.runners.settings import check_configured_runners
    from wavefront.backlog.base import collecting_errors
    from wavefront.backlog.taskcli import problems as workflow_problems
    from wavefront.errors import BacklogError
    from wavefront.gates.validate import validate_plan_gates

    # Every file is read, each that cannot be is one problem: all are listed at once.
    with collecting_errors() as unreadable:
        try:
            loaded = load_and_plan_from_options(
                params, ask=False, integrated=False, sound_only=True, quiet=output == "json"
            )
            check_configured_runners(loaded.backlog.config)
            # The gates as `run` checks them before it starts: a gate that cannot work (a
            # missing program, a path outside the repository) fails here, not at run time.
            validate_plan_gates(loaded.backlog.config, loaded.plan.tasks,
                                profiles=load_profiles(params["root"], loaded.backlog.config),
                                root=params["root"])
            problems = [*map(_unreadable_problem, unreadable), *loaded.problems, *(
                _problem_of(text) for file in loaded.backlog.files if file.name == "task.json"
                for text in workflow_problems(file.parent))]
        except BacklogError as error:
            # A file that stops the rest (or a runner that cannot be built) ends the list.
            stopped = [*map(_unreadable_problem, unreadable), _unreadable_problem(error)]
            if output == "json":
                click.echo(json.dumps({"ok": False, "tasks": 0, "files": [], "notes": [],
                                       "problems": _problems_json(stopped)}, indent=2))
            elif len(stopped) == 1:
                raise
            else:
                click.echo(_problems_by_file(stopped), err=True)
            raise SystemExit(2) from None
    backlog = loaded.backlog
    if output == "json":
        report = {
            "ok": not problems and bool(backlog.tasks),
            "tasks": len(backlog.tasks),
            "files": [str(path) for path in backlog.files],
            "notes": list(backlog.notes),
            "problems": _problems_json(problems),
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for note in backlog.notes:
            click.echo(f"note: {note}", err=True)
    if problems:
        if output != "json":
            click.echo(_problems_by_file(problems), err=True)
        raise SystemExit(2)
    if not backlog.tasks:
        if output != "json":
            files = ", ".join(str(p) for p in backlog.files) or "the backlog"
            click.echo(f"warning: no tasks found in {files}", err=True)
        raise SystemExit(1)
    if output == "json":
        return
    plan = loaded.plan
    click.echo(
        f"ok: {plural(len(backlog.tasks), 'task')} in {plural(len(backlog.files), 'file')}, "
        f"{len(plan.tasks)} in scope, {plural(len(plan.waves), 'wave')}, no problems found"
    )


def _problem_of(text: str) -> Problem:
    """A `file:line: message` line as a `Problem` (the task CLI's checks are worded so)."""
    from wavefront.model import SourceLocation
    from wavefront.plan.problems import Problem

    path, line, message = text.split(":", 2)
    return Problem(SourceLocation(Path(path), int(line)), message.strip(), ())


def _unreadable_problem(error: BacklogError) -> Problem:
    """A file that could not be read, as a problem of that file (its line when known)."""
    from wavefront.model import SourceLocation
    from wavefront.plan.problems import Problem

    # Without a line the whole file is meant: its first line.
    return Problem(SourceLocation(error.path, error.line or 1), error.reason, ())


def _problems_json(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [{"file": str(p.location.path) if p.location else None,
             "line": p.location.line if p.location else None,
             "message": p.message, "tasks": list(p.task_ids)} for p in problems]


def _problems_by_file(problems: Sequence[Problem]) -> str:
    """A heading per file with its problems under it, each as `file:line: message` (which
    editors and terminals jump to), then the count; a single problem is one error line."""
    if len(problems) == 1:
        return f"error: {problems[0]}"
    by_file: dict[str, list[Problem]] = {}
    for problem in problems:
        key = str(problem.location.path) if problem.location else "(no file)"
        by_file.setdefault(key, []).append(problem)
    lines: list[str] = []
    for path, found in by_file.items():
        lines.append(path)
        for problem in sorted(found, key=lambda p: p.location.line if p.location else 0):
            lines.append(f"  {problem}")
    lines.append(f"{plural(len(problems), 'problem')} in {plural(len(by_file), 'file')}")
    return "\n".join(lines)


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

    loaded = load_and_plan_from_options(params, sound_only=True)
    from wavefront.agents.runners.settings import check_configured_runners

    check_configured_runners(loaded.backlog.config)
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
    """Show the tasks ready to start, the one to start next first.

    The statuses written in the backlog files decide: done tasks count as finished,
    tasks in progress are left out. The first (marked) is wavefront's choice: the one with
    the longest remaining critical path. `-o id` prints only that one. Prints nothing to
    stdout (and says why on stderr) when no task is ready.
    """
    loaded = load_and_plan_from_options(params, sound_only=True)
    plan = loaded.plan
    ready = plan.ready(plan.done_in_files, plan.started_in_files)
    # A story the tracker marks ready-for-dev was prepared for work: it goes before backlog.
    ready.sort(key=lambda t: (plan.by_id[t].status_text or "").lower() != "ready-for-dev")
    choice = "the longest remaining critical path (wavefront's choice)"
    if loaded.backlog.formats == ("taskmaster",):
        from wavefront.backlog.taskmaster import next_order_key

        ready.sort(key=lambda t: next_order_key(plan.by_id[t]))
        choice = ("Task Master's order: subtasks of tasks in progress, priority, fewer "
                  "dependencies")
    from wavefront.plan.scope import id_sort_key

    started = sorted(_started(plan), key=id_sort_key)
    if started:
        shown = ", ".join(f"{t} ({plan.by_id[t].status_text})" for t in started[:8])
        click.echo(f"started in the backlog files, to resume or review first: {shown}",
                   err=True)
    aside = sorted(plan.started_in_files - set(started), key=id_sort_key)
    if aside:
        shown = ", ".join(f"{t} ({plan.by_id[t].status_text})" for t in aside[:8])
        click.echo(f"set aside in the backlog files: {shown}", err=True)
    if not ready:
        click.echo(_nothing_ready(plan), err=True)
        return
    if output == "id":
        click.echo(ready[0])
        return
    _print_tasks(loaded, ready, output, params["root"], first_marked=True)
    if len(ready) > 1:
        click.echo(f"{plural(len(ready), 'task')} ready; first by {choice}", err=True)


@wavefront.command()
@backlog_options
@plan_options
@output_option("table", "json", "id")
def parallel(output: str, **params: Any) -> None:
    """Show every task that could start now, side by side.

    Tasks whose declared files overlap are not offered together, and a task marked
    `parallel: false` is offered only alone.
    """
    loaded = load_and_plan_from_options(params, sound_only=True)
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
        return f"nothing to do: {_all(len(plan.tasks))} in scope {_be(len(plan.tasks))} done"
    started = sorted(_started(plan))
    if started:
        return f"nothing ready: waiting on tasks in progress ({', '.join(started[:8])})"
    count = len(remaining)
    waits = "waits" if count == 1 else "wait"
    return f"nothing ready: {plural(count, 'task')} {waits} on dependencies outside the scope"


def _started(plan: Plan) -> set[str]:
    """Tasks the files mark as begun (in progress, in review, blocked): not those set
    aside (cancelled, deferred), which nobody is to resume."""
    from wavefront.model import TaskStatus

    aside = (TaskStatus.CANCELLED, TaskStatus.SKIPPED)
    return {t for t in plan.started_in_files if t in plan.by_id
            and plan.by_id[t].status not in aside}


def _all(count: int) -> str:
    return "the only task" if count == 1 else f"all {count} tasks"


def _be(count: int) -> str:
    return "is" if count == 1 else "are"


def _print_tasks(loaded: LoadedPlan, task_ids: Sequence[str], output: str, root: Path,
                 first_marked: bool = False) -> None:

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
                **({"next": index == 0} if first_marked else {}),
            }
            for index, task in enumerate(tasks)
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.table import Table
    from rich.text import Text

    from wavefront.plan.fitted import Fitted, widest

    # In the order to start them (`-o json` has each one's priority, a length of path).
    headers = ("id", "title and file", "agent")
    table = Table()
    for header in headers:
        table.add_column(header, overflow="fold")
    cells: dict[int, list[str]] = {0: [], 2: []}  # column -> its texts
    for index, task in enumerate(tasks):
        cells[0].append(f"{task.id} (next)" if first_marked and index == 0 else task.id)
        cells[2].append(agents.get(task.id, ""))
        where = Text(task.title)
        where.append(f"\n{task.source}", style="dim")  # a line of its own: a path wraps badly
        table.add_row(cells[0][-1], where, cells[2][-1])
    # Ids and agent names stay whole; the title wraps.
    kept = {column: min(widest([headers[column], *texts]), 24)
            for column, texts in cells.items()}
    make_console().print(Fitted(table, wrapping={1: 1}, kept=kept))


@wavefront.command()
@backlog_options
@plan_options
@output_option("table", "json")
def agents(output: str, **params: Any) -> None:
    """List the agent profiles, and which agent each task gets and why.

    Profiles come built in, from .claude/agents/ and .opencode/agents/, and from
    wavefront.yaml. The assignments are shown when a backlog is given or found.
    """
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
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return origin


def _has_backlog(root: Path) -> bool:
    from wavefront.backlog import discover_backlog
    from wavefront.errors import BacklogError

    try:
        return bool(discover_backlog(root))
    except BacklogError:
        return False
