"""The options that several commands share, and what they do with them: where the
backlog is, how the graph is shaped, how a result is printed, which run is meant."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wavefront.errors import PlanError
from wavefront.words import plural

if TYPE_CHECKING:
    from wavefront.backlog.load import LoadedPlan
    from wavefront.model import Task
    from wavefront.plan.graph import Decision, Plan

__all__ = [
    "agent_names",
    "backlog_options",
    "load_and_plan_from_options",
    "make_console",
    "output_option",
    "plan_options",
    "project_root",
    "root_option",
    "run_option",
]

F = TypeVar("F", bound=Callable[..., Any])


def root_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-C", "--dir", "root", type=click.Path(file_okay=False, path_type=Path),
                        callback=lambda _ctx, _param, value: value or project_root(Path(".")),
                        show_default="the repository you are in",
                        help="The git repository of the run.")(function)


def project_root(start: Path, backlog: bool = False) -> Path:
    """Where a command given no -C works from `start`: the nearest folder, from `start` up
    to the top of its git repository, that is wavefront's (it has `.wavefront/` or
    `wavefront.yaml`) or, with `backlog`, holds a backlog wavefront finds; else the top of
    the repository; `start` itself outside one. So a command run in a subfolder finds
    the repository's runs and backlog, as git finds the repository."""
    here = start.resolve()
    top = next((folder for folder in (here, *here.parents) if (folder / ".git").exists()),
               None)
    if top is None:
        return start
    for folder in (here, *here.parents):
        if (folder / ".wavefront").is_dir() or (folder / "wavefront.yaml").is_file() or (
                backlog and _finds_backlog(folder)):
            return start if folder == here else folder
        if folder == top:
            break
    return start if top == here else top


def _finds_backlog(folder: Path) -> bool:
    from wavefront.backlog import discover_backlog
    from wavefront.errors import BacklogError

    try:
        return bool(discover_backlog(folder))
    except BacklogError:
        return False


def run_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--run", "run_id", metavar="RUN",
                        help="The run (default: the latest).")(function)


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
            show_default="the repository you are in",
            help="Repository root: where backlogs are discovered and relative paths start.",
        ),
    ]

    @functools.wraps(function)
    def with_root(*args: Any, **params: Any) -> Any:
        if params.get("root") is None:
            # A path given here is read from here, as before; with none, the backlog is
            # looked for from here up to the top of the repository.
            given = [*params.get("backlogs", ()), *(a for a in params.get("args", ())
                                                     if Path(a).exists())]
            params["root"] = Path(".") if given or params.get("workflow") else project_root(
                Path("."), backlog=True)
        return function(*args, **params)

    wrapped: F = with_root  # type: ignore[assignment]
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return wrapped


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


def load_and_plan_from_options(
    params: Mapping[str, Any],
    *,
    ask: bool = True,
    integrated: bool = True,
    sound_only: bool = False,
    quiet: bool = False,
) -> LoadedPlan:
    """Run `wavefront.backlog.load.load_and_plan` with the shared options of a command;
    `integrated` reads done work from the last run's integration branch too.

    `sound_only` is for read-only questions: problems in the graph are printed as warnings
    and the answer covers the tasks they do not touch. `quiet` leaves the printing to the
    caller."""
    from wavefront.backlog.load import load_and_plan
    from wavefront.plan.graph import OutOfScope, PlanOptions

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
        sound_only=sound_only,
        integrated=integrated,
    )
    everything_touched = {t.id for t in loaded.backlog.tasks} <= set(loaded.set_aside)
    if loaded.problems and not quiet and everything_touched:
        # Nothing is left to answer for: an error, naming the first problem.
        more = len(loaded.problems) - 1
        others = f" (and {plural(more, 'more problem')}; `wavefront validate` lists them)"
        raise PlanError(f"{loaded.problems[0]}{others if more else ''}")
    if quiet:
        return loaded
    if loaded.discovered:
        click.echo(_files_read(loaded, root), err=True)
    for problem in loaded.problems:
        click.echo(f"warning: {problem}", err=True)
    if loaded.problems:
        left = len(loaded.set_aside)
        click.echo(
            f"warning: {plural(len(loaded.problems), 'problem')} in the backlog "
            f"(`wavefront validate` lists them by file); answering without the "
            f"{plural(left, 'task')} they touch",
            err=True,
        )
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
    from wavefront.plan.graph import describe_out_of_scope

    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise PlanError(_no_terminal_message(plan))
    click.echo(describe_out_of_scope(plan), err=True)
    click.echo("  1. expand the scope to include them\n  2. skip the tasks that need them\n"
               "  3. cancel", err=True)
    answer = click.prompt(
        "Enter your choice (1-3, or expand / skip / cancel)",
        type=click.Choice(["1", "2", "3", "expand", "skip", "cancel"]),
        default="1",
        show_choices=False,
        err=True,
    )
    # The numbers are the story workflow's menu; the words say the same.
    choice = {"1": "expand", "2": "skip", "3": "cancel"}.get(answer, answer)
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


def make_console(err: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=False)
