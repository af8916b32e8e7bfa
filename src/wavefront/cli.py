"""The `wavefront` command: parse, call the library, print, exit.

No logic lives here that a library user would miss: loading and planning is
`wavefront.plan.load_and_plan`, drawing is `wavefront.render`. Any `WavefrontError` becomes
one line `error: <message>` on stderr and exit code 2. A new command is a function with
`@wavefront.command()` and the shared option decorators below.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wavefront import __version__
from wavefront.errors import PlanError, WavefrontError

if TYPE_CHECKING:
    from wavefront.model import Task
    from wavefront.plan import Decision, LoadedPlan, Plan

__all__ = ["main", "wavefront"]

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """A group that turns wavefront's own errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WavefrontError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="wavefront")
def wavefront() -> None:
    """Run a software backlog through AI coding agents in parallel git worktrees and get
    back one integration branch holding only work that passed its gates.

    Commands that read a backlog take ARGS: an existing path is a backlog file or
    directory, anything else a scope expression (1.3, 1.1-1.5, 'epic:auth', '1.*').
    With no path the backlog is discovered in the repository (-C).
    """


# ------------------------------------------------------------------ shared options


def backlog_options(function: F) -> F:
    """ARGS, -b/--backlog, --format and -C/--dir: where the backlog is and what to plan."""
    decorators = [
        click.argument("args", nargs=-1, metavar="[PATH|SCOPE]..."),
        click.option(
            "-b",
            "--backlog",
            "backlogs",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Backlog file or directory (repeatable); default: discovered in --dir.",
        ),
        click.option(
            "--workflow",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Read FILE as a workflow (the same as -b FILE --format workflow).",
        ),
        click.option(
            "--format",
            "backlog_format",
            metavar="NAME",
            help="Read the backlog as this format instead of detecting it "
            "(stories, bmad, speckit, taskjson, taskmaster, native).",
        ),
        click.option(
            "-C",
            "--dir",
            "root",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("."),
            show_default="current directory",
            help="Repository root: where backlogs are discovered and relative paths start.",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def plan_options(function: F) -> F:
    """Options that shape the graph: implied dependencies and the out-of-scope policy."""
    decorators = [
        click.option(
            "--implicit-deps",
            is_flag=True,
            help="A story also depends on the previous story of its epic (1.3 on 1.2).",
        ),
        click.option(
            "--foundation-deps",
            is_flag=True,
            help="Every story outside epic 0 also depends on the 0.x foundation stories.",
        ),
        click.option(
            "--expand-scope",
            is_flag=True,
            help="Pull unfinished dependencies outside the scope into it (no question).",
        ),
        click.option(
            "--skip-out-of-scope",
            is_flag=True,
            help="Skip tasks whose dependencies lie outside the scope (no question).",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def output_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="How to print the result.",
    )


def load_and_plan_from_options(params: Mapping[str, Any], *, ask: bool = True) -> LoadedPlan:
    """Run `wavefront.plan.load_and_plan` with the shared options of a command."""
    from wavefront.plan import OutOfScope, PlanOptions, load_and_plan

    if params.get("expand_scope") and params.get("skip_out_of_scope"):
        raise click.UsageError("--expand-scope and --skip-out-of-scope exclude each other")
    policy: OutOfScope = "ask"
    if params.get("expand_scope"):
        policy = "expand"
    elif params.get("skip_out_of_scope"):
        policy = "skip"
    options = PlanOptions(
        implicit_dependencies=bool(params.get("implicit_deps")),
        foundation_dependencies=bool(params.get("foundation_deps")),
        out_of_scope=policy,
    )
    root: Path = params["root"]
    paths, backlog_format = list(params["backlogs"]), params["backlog_format"]
    if params.get("workflow") is not None:
        if paths or (backlog_format not in (None, "workflow")):
            raise click.UsageError("--workflow FILE is the whole backlog; drop -b/--format")
        paths, backlog_format = [params["workflow"]], "workflow"
    loaded = load_and_plan(
        params["args"],
        paths=paths,
        root=root,
        format=backlog_format,
        options=options,
        decide=_ask_out_of_scope if ask else _warn_out_of_scope,
    )
    if loaded.discovered:
        click.echo(_files_read(loaded, root), err=True)
    return loaded


def _files_read(loaded: LoadedPlan, root: Path) -> str:
    shown = []
    for path in loaded.backlog.files or loaded.paths:
        try:
            shown.append(str(path.relative_to(root)))
        except ValueError:
            shown.append(str(path))
    count = len(shown)
    listed = ", ".join(shown[:4]) + (f", ... ({count} files)" if count > 4 else "")
    formats = ", ".join(loaded.backlog.formats) or "backlog"
    return f"read {formats}: {listed}"


def _ask_out_of_scope(plan: Plan) -> Decision:
    from wavefront.plan import describe_out_of_scope

    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise PlanError(_no_terminal_message(plan))
    click.echo(describe_out_of_scope(plan), err=True)
    choice = click.prompt(
        "Expand the scope, skip those tasks, or cancel?",
        type=click.Choice(["expand", "skip", "cancel"]),
        default="expand",
        err=True,
    )
    if choice == "cancel":
        raise click.Abort()
    return "expand" if choice == "expand" else "skip"


def _warn_out_of_scope(plan: Plan) -> Decision:
    for task_id, missing in plan.out_of_scope.items():
        click.echo(
            f"warning: {task_id} depends on {', '.join(missing)}, outside the scope", err=True
        )
    return "expand"


def _no_terminal_message(plan: Plan) -> str:
    task_id, missing = next(iter(plan.out_of_scope.items()))
    more = len(plan.out_of_scope) - 1
    others = f" (and {more} more tasks)" if more else ""
    return (
        f"task {task_id} depends on {', '.join(missing)}, which is not in the scope{others}; "
        "no terminal to ask: pass --expand-scope or --skip-out-of-scope"
    )


def agent_names(tasks: Sequence[Task], root: Path, loaded: LoadedPlan | None) -> dict[str, str]:
    """Task id -> the agent it gets, as `wavefront.agents` assigns it."""
    from wavefront.agents import assign_agent, load_profiles

    profiles = load_profiles(root, loaded.backlog.config if loaded else None)
    return {task.id: assign_agent(task, profiles).agent for task in tasks}


def _console(err: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=False)


# ------------------------------------------------------------------------ commands


@wavefront.command()
@backlog_options
@plan_options
def validate(**params: Any) -> None:
    """Check the backlog: duplicate ids, missing dependencies, cycles, scope.

    Prints a one-line summary and exits 0, or prints the first problem (with file and
    line) and exits 2. Dependencies outside the scope are warnings here.
    """
    loaded = load_and_plan_from_options(params, ask=False)
    for note in loaded.backlog.notes:
        click.echo(f"note: {note}", err=True)
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
    from wavefront import render

    loaded = load_and_plan_from_options(params)
    agents = agent_names(loaded.plan.tasks, params["root"], loaded)
    if output == "table":
        _console().print(render.plan_table(loaded.plan, agents, max_rows=rows))
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
    _console().print(table)


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
    console = _console()
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


def main(argv: Sequence[str] | None = None) -> None:
    """The console script `wavefront`."""
    wavefront.main(args=list(argv) if argv is not None else None, prog_name="wavefront")


# The commands that run work live in their own module; importing it registers them.
from wavefront import cli_run, cli_workflow  # noqa: E402, F401
