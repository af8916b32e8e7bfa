"""Load a backlog and plan it, as every command that works on a backlog does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import BaseModel

from wavefront.backlog import discover_backlog, load_backlog, native
from wavefront.backlog.base import Backlog
from wavefront.errors import BacklogError, PlanError
from wavefront.model import Task
from wavefront.plan.graph import (
    Decision,
    OutOfScope,
    Plan,
    PlanOptions,
    out_of_scope_message,
)
from wavefront.plan.problems import Problem, find_problems, sound_tasks
from wavefront.plan.scope import split_arguments
from wavefront.plan.weights import default_weights

__all__ = ["LoadedPlan", "load_and_plan"]


@dataclass(frozen=True)
class LoadedPlan:
    """A backlog as read from disk and its plan; `discovered` says the paths were found
    by looking in the repository rather than given."""

    backlog: Backlog
    plan: Plan
    paths: tuple[Path, ...]
    discovered: bool
    # With `sound_only`, what is wrong with the graph; the plan leaves those tasks out.
    problems: tuple[Problem, ...] = ()
    set_aside: tuple[str, ...] = ()  # ids of the tasks the problems touch


def load_and_plan(
    arguments: Sequence[str] = (),
    *,
    paths: Sequence[Path | str] = (),
    root: Path | str = ".",
    format: str | None = None,
    options: PlanOptions | None = None,
    decide: Callable[[Plan], Decision] | None = None,
    sound_only: bool = False,
    integrated: bool = False,
) -> LoadedPlan:
    """Load a backlog and plan it, as every command that works on a backlog does.

    `arguments` mixes backlog paths (anything that exists, relative to `root`) and scope
    expressions; `paths` adds backlog paths. With no path at all the backlog is discovered
    in `root`. When the options say `ask` and tasks depend on work outside the scope,
    `decide(plan)` chooses `expand` or `skip`; without `decide` that is a `PlanError`.
    With `sound_only`, duplicate ids, unknown dependencies and cycles do not stop the plan:
    they are listed in `problems` and the plan holds the tasks none of them touches.
    With `integrated`, tasks that the last run's integration branch marks done (its
    write-back) are done here too.
    """
    options = options or PlanOptions()
    base = Path(root)
    given, scope = split_arguments(arguments, base)
    if scope:
        given, scope = _features_named(base, given, scope)
    given.extend(path if Path(path).is_absolute() else base / path for path in map(Path, paths))
    discovered = not given
    if discovered:
        given = discover_backlog(base)
    backlog = load_backlog(given, format=format)
    if discovered and _settings_only(backlog):
        # A wavefront.yaml of settings alone sits beside the real backlog: read both.
        more = _discover_quietly(base)
        if more:
            given = [*given, *more]
            backlog = Backlog.merge([backlog, load_backlog(more)])
    elif not discovered and backlog.config is None:
        backlog = _with_project_settings(backlog, base)
    elif not discovered and backlog.config is not None and backlog.config.workflow is not None:
        backlog = _workflow_with_project_settings(backlog, base)
    if integrated and (base / ".wavefront" / "journal.db").is_file():
        # Imported here: most commands run where no run exists yet.
        from wavefront.backlog.integrated import with_integrated_status

        backlog = with_integrated_status(backlog, given, base, format)
    if discovered:
        _refuse_outside(backlog.tasks, base)
    problems = find_problems(backlog.tasks) if sound_only else []
    tasks = sound_tasks(backlog.tasks, problems) if problems else backlog.tasks
    tasks = default_weights(tasks, _measured_durations(base))
    kept = {task.id for task in tasks}
    plan = Plan.build(tasks, scope, options)
    if plan.unresolved:
        if decide is None:
            raise PlanError(out_of_scope_message(plan.out_of_scope))
        choice = decide(plan)
        plan = Plan.build(tasks, scope, _with_policy(options, choice))
    return LoadedPlan(
        backlog=backlog,
        plan=plan,
        paths=tuple(given),
        discovered=discovered,
        problems=tuple(problems),
        set_aside=tuple(dict.fromkeys(t.id for t in backlog.tasks if t.id not in kept)),
    )


def _measured_durations(root: Path) -> dict[str, float]:
    """How long each task's earlier successful attempts took, from the journal of the
    runs in `root` (none before the first run)."""
    journal = root / ".wavefront" / "journal.db"
    if not journal.is_file():
        return {}
    # Imported here: most commands run where no run exists yet.
    from wavefront.journal.durations import measured_durations

    return measured_durations(journal)


def _settings_only(backlog: Backlog) -> bool:
    return backlog.formats == (native.NAME,) and not backlog.tasks


def _discover_quietly(root: Path) -> list[Path]:
    try:
        return discover_backlog(root, skip=(native.NAME,))
    except BacklogError:
        return []


def _with_project_settings(backlog: Backlog, root: Path) -> Backlog:
    """Backlog paths named on the command line still get the repository's `wavefront.yaml`
    settings (runner, agents, gates, limits); its own tasks are not added."""
    found = native.discover(root)
    if not found:
        return backlog
    settings = native.load(found[0])
    return replace(backlog, config=settings.config, files=(*backlog.files, *settings.files))


def _workflow_with_project_settings(backlog: Backlog, root: Path) -> Backlog:
    """A workflow file named with `--workflow` runs with the repository's `wavefront.yaml`
    settings (runners, limits, defaults, agents); what the workflow file sets itself wins,
    key by key, and the runners it makes for its command steps are added."""
    own = backlog.config
    found = [path for path in native.discover(root) if path not in backlog.files]
    if own is None or not found:
        return backlog
    project = native.load(found[0]).config
    if project is None:
        return backlog
    merged = project.model_copy(deep=True)
    for name in own.model_fields_set - {"version", "tasks"}:
        mine, theirs = getattr(own, name), getattr(merged, name)
        if isinstance(mine, BaseModel) and isinstance(theirs, BaseModel):
            mine = theirs.model_copy(update={k: getattr(mine, k)
                                             for k in mine.model_fields_set})
        elif isinstance(mine, dict) and isinstance(theirs, dict):
            mine = {**theirs, **mine}
        setattr(merged, name, mine)
    # The runners of the workflow's command steps are added after loading, not "set".
    merged.runners = {**project.runners, **own.runners}
    return replace(backlog, config=merged, files=(*backlog.files, found[0]))


def _features_named(root: Path, given: list[Path], scope: list[str]
                    ) -> tuple[list[Path], list[str]]:
    """A task JSON feature may be named by its folder's name (`wavefront next auth`)."""
    from wavefront.backlog.taskcli import feature_folder

    named = [(name, feature_folder(root, name)) for name in scope]
    return ([*given, *(folder for _, folder in named if folder is not None)],
            [name for name, folder in named if folder is None])


def _refuse_outside(tasks: Sequence[Task], root: Path) -> None:
    """A discovered backlog file that leads outside the repository (a symlink) is refused:
    its text would be planned and handed to agents as if the repository held it."""
    top = root.resolve()
    for task in tasks:
        if task.source is None:
            continue
        target = Path(task.source.path).resolve()
        if not target.is_relative_to(top):
            raise BacklogError(
                task.source.path,
                task.source.line,
                f"leads to {target}, outside the repository {top}; name the file "
                "explicitly if it is meant to be read",
            )


def _with_policy(options: PlanOptions, policy: OutOfScope) -> PlanOptions:
    return replace(options, out_of_scope=policy)
