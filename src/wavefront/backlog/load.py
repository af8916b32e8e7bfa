"""Load a backlog and plan it, as every command that works on a backlog does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wavefront.backlog import discover_backlog, load_backlog
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
from wavefront.plan.scope import split_arguments

__all__ = ["LoadedPlan", "load_and_plan"]


@dataclass(frozen=True)
class LoadedPlan:
    """A backlog as read from disk and its plan; `discovered` says the paths were found
    by looking in the repository rather than given."""

    backlog: Backlog
    plan: Plan
    paths: tuple[Path, ...]
    discovered: bool


def load_and_plan(
    arguments: Sequence[str] = (),
    *,
    paths: Sequence[Path | str] = (),
    root: Path | str = ".",
    format: str | None = None,
    options: PlanOptions | None = None,
    decide: Callable[[Plan], Decision] | None = None,
    integrated: bool = False,
) -> LoadedPlan:
    """Load a backlog and plan it, as every command that works on a backlog does.

    `arguments` mixes backlog paths (anything that exists, relative to `root`) and scope
    expressions; `paths` adds backlog paths. With no path at all the backlog is discovered
    in `root`. When the options say `ask` and tasks depend on work outside the scope,
    `decide(plan)` chooses `expand` or `skip`; without `decide` that is a `PlanError`.
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
    if integrated and (base / ".wavefront" / "journal.db").is_file():
        # Imported here: most commands run where no run exists yet.
        from wavefront.backlog.integrated import with_integrated_status

        backlog = with_integrated_status(backlog, given, base, format)
    if discovered:
        _refuse_outside(backlog.tasks, base)
    plan = Plan.build(backlog.tasks, scope, options)
    if plan.unresolved:
        if decide is None:
            raise PlanError(out_of_scope_message(plan.out_of_scope))
        choice = decide(plan)
        plan = Plan.build(backlog.tasks, scope, _with_policy(options, choice))
    return LoadedPlan(backlog=backlog, plan=plan, paths=tuple(given), discovered=discovered)


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
