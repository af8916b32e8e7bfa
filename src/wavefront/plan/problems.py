"""Every problem of a backlog's graph at once, and the part of it that is still sound.

`Plan.build` stops at the first problem, which is right before a run spends money. A
read-only question (`validate`, `next`, `parallel`) answers better with the whole list,
grouped by file, and — as the tools people switch from do — with the ready work of the
tasks that no problem touches.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wavefront.model import SourceLocation, Task
from wavefront.plan.graph import (
    _cycle_error,
    _duplicate_text,
    _missing_dependency_text,
    _self_dependency_text,
)

__all__ = ["Problem", "find_problems", "sound_tasks"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the graph: where, what, and the tasks it makes unsound."""

    location: SourceLocation | None
    message: str
    task_ids: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def _problem(location: SourceLocation, text: str, task_ids: tuple[str, ...]) -> Problem:
    prefix = f"{location}: "
    return Problem(location, text.removeprefix(prefix), task_ids)


def find_problems(tasks: Sequence[Task]) -> list[Problem]:
    """Duplicate ids, self and unknown dependencies, and every dependency cycle."""
    problems: list[Problem] = []
    by_id: dict[str, Task] = {}
    for task in tasks:
        first = by_id.setdefault(task.id, task)
        if first is not task:
            problems.append(_problem(task.source, _duplicate_text(task, first), (task.id,)))
    for task in tasks:
        where = task.where_dependencies
        for dependency in task.dependencies:
            if dependency == task.id:
                problems.append(_problem(where, _self_dependency_text(task), (task.id,)))
            elif dependency not in by_id:
                text = _missing_dependency_text(task, dependency, by_id)
                problems.append(_problem(where, text, (task.id,)))
    problems.extend(_cycles(by_id))
    return problems


def _cycles(by_id: dict[str, Task]) -> Iterable[Problem]:
    """Each cycle once: graphlib names one, its tasks leave the graph, and it looks again."""
    graph = {
        task_id: {d for d in task.dependencies if d in by_id and d != task_id}
        for task_id, task in by_id.items()
    }
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
            return
        except graphlib.CycleError as error:
            members = tuple(dict.fromkeys(error.args[1]))
            found = _cycle_error(list(error.args[1]), by_id, {})
            first = by_id[found.cycle[0]].where_dependencies
            yield _problem(first, str(found), members)
            for member in members:
                graph.pop(member, None)
            for dependencies in graph.values():
                dependencies.difference_update(members)


def sound_tasks(tasks: Sequence[Task], problems: Sequence[Problem]) -> list[Task]:
    """`tasks` without those a problem touches and those that depend on them, directly or
    not: what can still be planned and answered for."""
    unsound = {task_id for problem in problems for task_id in problem.task_ids}
    dependents: dict[str, list[str]] = {}
    for task in tasks:
        for dependency in task.dependencies:
            dependents.setdefault(dependency, []).append(task.id)
    waiting = list(unsound)
    while waiting:
        for dependent in dependents.get(waiting.pop(), ()):
            if dependent not in unsound:
                unsound.add(dependent)
                waiting.append(dependent)
    return [task for task in tasks if task.id not in unsound]
