"""The plan: a backlog's tasks checked as a graph and cut to a scope.

`validate_tasks` rejects what no run could survive (duplicate ids, missing dependencies,
self-dependencies, cycles) with messages that name the file and line. `Plan.build` adds the
story workflow's optional implied dependencies (same epic, foundation stories), applies the
scope and the out-of-scope policy, and computes what the engine and `wavefront plan` need: waves,
the critical path and each task's priority (its longest remaining weighted path).

Waves are a view: the engine dispatches a task the moment its dependencies are merged,
highest `priority` first (`Plan.ready`).
"""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Literal

from wavefront.errors import PlanError
from wavefront.model import Task, TaskStatus
from wavefront.plan.overlap import FileClaims
from wavefront.plan.scope import id_sort_key, select_scope

__all__ = [
    "OutOfScope",
    "Plan",
    "PlanOptions",
    "describe_out_of_scope",
    "out_of_scope_message",
    "validate_tasks",
]

OutOfScope = Literal["ask", "expand", "skip", "error"]
Decision = Literal["expand", "skip"]

_KNOWN_SHOWN = 8  # ids listed in a "not in the backlog" message before it is cut short


@dataclass(frozen=True)
class PlanOptions:
    """How to read the graph.

    `implicit_dependencies`: a story depends on the previous story of its epic (the story workflow,
    "same epic, lower story number"). `foundation_dependencies`: every story outside epic 0
    depends on the 0.x stories. `out_of_scope`: what to do with a task in scope whose
    dependency is not (and not done): `ask` leaves the choice to the caller (see
    `load_and_plan`), `expand` pulls the dependency in, `skip` drops the task, `error` stops.
    """

    implicit_dependencies: bool = False
    foundation_dependencies: bool = False
    out_of_scope: OutOfScope = "ask"


# --------------------------------------------------------------------------- validation


def validate_tasks(tasks: Sequence[Task]) -> None:
    """Raise `PlanError` for duplicate ids, unknown or self dependencies, and cycles.

    Every problem found is counted; the message shows the first one in full.
    """
    by_id = _check_tasks(tasks)
    _topological_order({task.id: task.dependencies for task in tasks}, by_id, {})


def _check_tasks(tasks: Sequence[Task]) -> dict[str, Task]:
    """Everything `validate_tasks` checks but cycles; returns the tasks by id."""
    # Problems are counted as found and only the first is worded: naming the ids close to
    # a missing one sorts and compares every id, which per problem would be quadratic.
    problems: list[Callable[[], str]] = []
    by_id: dict[str, Task] = {}
    for task in tasks:
        first = by_id.setdefault(task.id, task)
        if first is not task:
            problems.append(partial(_duplicate_text, task, first))
    for task in tasks:
        for dependency in task.dependencies:
            if dependency == task.id:
                problems.append(partial(_self_dependency_text, task))
            elif dependency not in by_id:
                problems.append(partial(_missing_dependency_text, task, dependency, by_id))
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise PlanError(problems[0]() + more)
    return by_id


def _duplicate_text(task: Task, first: Task) -> str:
    return f"{task.source}: duplicate task id {task.id!r} (also declared at {first.source})"


def _self_dependency_text(task: Task) -> str:
    return f"{task.where_dependencies}: task {task.id!r} depends on itself"


def _missing_dependency_text(task: Task, dependency: str, by_id: Mapping[str, Task]) -> str:
    return (
        f"{task.where_dependencies}: dependency {dependency!r} of task {task.id!r} "
        f"is not in the backlog (known: {_known_ids(dependency, by_id)})"
    )


def _known_ids(missing: str, ids: Iterable[str]) -> str:
    known = sorted(ids, key=id_sort_key)
    if len(known) <= _KNOWN_SHOWN:
        return ", ".join(known) or "none"
    close = difflib.get_close_matches(missing, known, n=_KNOWN_SHOWN // 2, cutoff=0.5)
    shown = close or list(known[:_KNOWN_SHOWN])
    return f"{', '.join(shown)}, ... {len(known)} tasks"


def _topological_order(
    graph: Mapping[str, Iterable[str]],
    by_id: Mapping[str, Task],
    implied: Mapping[tuple[str, str], str],
) -> list[str]:
    """Every task after its dependencies, or a `PlanError` showing a cycle and where its
    first edge is declared."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        raise _cycle_error(list(error.args[1]), by_id, implied) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorter.get_ready()
        order.extend(ready)
        sorter.done(*ready)
    return order


def _cycle_error(
    found: list[str], by_id: Mapping[str, Task], implied: Mapping[tuple[str, str], str]
) -> PlanError:
    # graphlib lists a cycle along predecessor -> successor edges (dependency first);
    # people read "a -> b" as "a depends on b", so reverse it and start at the lowest id.
    cycle = list(reversed(found))[:-1]
    start = min(range(len(cycle)), key=lambda index: id_sort_key(cycle[index]))
    cycle = cycle[start:] + cycle[:start]
    cycle.append(cycle[0])
    task, dependency = cycle[0], cycle[1]
    reason = implied.get((task, dependency))
    if reason is not None:
        where = f"{by_id[task].source}: {task} depends on {dependency} ({reason})"
    else:
        where = f"{by_id[task].where_dependencies}: {task} depends on {dependency}"
    return PlanError(
        f"dependency cycle {' -> '.join(cycle)}; first edge at {where}", cycle=tuple(cycle)
    )


# --------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Plan:
    """A validated task graph for one scope. Build it with `Plan.build`.

    `dependencies` and `dependents` hold the effective edges between tasks in the plan;
    `priority` is the weight of the longest path from a task to the end of the graph,
    its own weight included, so the scheduler can run the task that holds up most first.
    """

    tasks: tuple[Task, ...]
    dependencies: Mapping[str, tuple[str, ...]]
    dependents: Mapping[str, tuple[str, ...]]
    waves: tuple[tuple[str, ...], ...]
    wave_of: Mapping[str, int]
    critical_path: tuple[str, ...]
    priority: Mapping[str, float]
    out_of_scope: Mapping[str, tuple[str, ...]]
    skipped: tuple[str, ...]
    expanded: tuple[str, ...]
    options: PlanOptions
    by_id: Mapping[str, Task] = field(repr=False)
    implied: Mapping[tuple[str, str], str] = field(repr=False)

    @classmethod
    def build(
        cls,
        tasks: Sequence[Task],
        scope: Sequence[str] = (),
        options: PlanOptions = PlanOptions(),
    ) -> Plan:
        """Validate `tasks`, add implied edges, cut to `scope` and compute the schedule."""
        _check_tasks(tasks)
        ordered = sorted(tasks, key=lambda task: id_sort_key(task.id))
        by_id = {task.id: task for task in ordered}
        graph, implied = _effective_graph(ordered, options)
        # One graphlib pass over the whole graph (implied edges can close a cycle too);
        # the scoped waves are then read off its order.
        order = _topological_order(graph, by_id, implied)

        requested = select_scope(ordered, scope)
        in_scope = set(requested)
        out_of_scope = _outside(requested, in_scope, graph, by_id)
        skipped: list[str] = []
        expanded: list[str] = []
        if out_of_scope and options.out_of_scope == "error":
            raise PlanError(out_of_scope_message(out_of_scope))
        if out_of_scope and options.out_of_scope == "expand":
            expanded = _expand(in_scope, graph, by_id)
        elif out_of_scope and options.out_of_scope == "skip":
            skipped = _skip(in_scope, graph, by_id)

        chosen = tuple(task for task in ordered if task.id in in_scope)
        dependencies = {
            task.id: tuple(dict.fromkeys(d for d in graph[task.id] if d in in_scope))
            for task in chosen
        }
        waves, wave_of = _waves(order, dependencies, by_id)
        dependents: dict[str, list[str]] = {task.id: [] for task in chosen}
        for task in chosen:
            for dependency in dependencies[task.id]:
                dependents[dependency].append(task.id)
        topological = [task_id for wave in waves for task_id in wave]
        return cls(
            tasks=chosen,
            dependencies=MappingProxyType(dependencies),
            dependents=MappingProxyType({k: tuple(v) for k, v in dependents.items()}),
            waves=tuple(tuple(wave) for wave in waves),
            wave_of=MappingProxyType(wave_of),
            critical_path=_critical_path(topological, dependencies, by_id),
            priority=MappingProxyType(_priorities(topological, dependents, by_id)),
            out_of_scope=MappingProxyType(out_of_scope),
            skipped=tuple(skipped),
            expanded=tuple(sorted(expanded, key=id_sort_key)),
            options=options,
            by_id=MappingProxyType({task.id: task for task in chosen}),
            implied=MappingProxyType(implied),
        )

    # ------------------------------------------------------------------ derived views

    @property
    def unresolved(self) -> bool:
        """True while out-of-scope dependencies wait for the caller's decision (`ask`)."""
        return bool(self.out_of_scope) and self.options.out_of_scope == "ask"

    @property
    def critical_length(self) -> float:
        """The summed weight of the critical path: the least time the plan can take."""
        return sum(self.by_id[task_id].weight for task_id in self.critical_path)

    @property
    def max_parallelism(self) -> int:
        """The widest wave: how many agents the plan can keep busy at best."""
        return max((len(wave) for wave in self.waves), default=0)

    @property
    def done_in_files(self) -> frozenset[str]:
        """Tasks the backlog files already mark as done."""
        return frozenset(task.id for task in self.tasks if task.status is TaskStatus.DONE)

    @property
    def started_in_files(self) -> frozenset[str]:
        """Tasks the files mark as neither pending nor done (in progress, blocked, ...)."""
        return frozenset(
            task.id
            for task in self.tasks
            if task.status not in (TaskStatus.PENDING, TaskStatus.READY, TaskStatus.DONE)
        )

    def ready(self, finished: Collection[str], busy: Collection[str] = ()) -> list[str]:
        """Tasks that can start once `finished` are done: highest priority first.

        `busy` tasks (running, or otherwise not to be offered) are left out. While the plan is
        `unresolved`, a task with a dependency outside the scope is never ready.
        """
        done = set(finished)
        excluded = done | set(busy)
        held = self.out_of_scope if self.unresolved else {}
        position = {task.id: index for index, task in enumerate(self.tasks)}
        found = [
            task.id
            for task in self.tasks
            if task.id not in excluded
            and task.id not in held
            and all(dependency in done for dependency in self.dependencies[task.id])
        ]
        return sorted(found, key=lambda task_id: (-self.priority[task_id], position[task_id]))

    def batch(self, finished: Collection[str], busy: Collection[str] = ()) -> list[str]:
        """Ready tasks that can run side by side now.

        Taken in priority order, a task joins unless its files overlap a task already taken
        or busy; a task marked `parallel: False` only starts alone (nothing else taken or
        busy).
        """
        taken: list[str] = []
        occupied = [self.by_id[task_id] for task_id in busy if task_id in self.by_id]
        claims = FileClaims(occupied)
        for task_id in self.ready(finished, busy):
            task = self.by_id[task_id]
            if not task.parallel:
                if not taken and not occupied:
                    return [task_id]
                continue
            if claims.conflicts(task):
                continue
            claims.add(task)
            taken.append(task_id)
        return taken

    def next_task(self) -> str | None:
        """The one task to start next, judging by the statuses written in the files."""
        ready = self.ready(self.done_in_files, self.started_in_files)
        return ready[0] if ready else None

    def parallel_tasks(self) -> list[str]:
        """The tasks that could start together now, judging by the files' statuses."""
        return self.batch(self.done_in_files, self.started_in_files)

    def why(self, task_id: str, dependency: str) -> str:
        """Why `task_id` depends on `dependency`: `declared`, or the implied rule."""
        return self.implied.get((task_id, dependency), "declared")


def _waves(
    order: Sequence[str], dependencies: Mapping[str, Sequence[str]], by_id: Mapping[str, Task]
) -> tuple[list[list[str]], dict[str, int]]:
    """Wave of a task: 0 without dependencies, else one past its latest dependency."""
    wave_of: dict[str, int] = {}
    for task_id in order:
        if task_id in dependencies:
            wave_of[task_id] = 1 + max((wave_of[d] for d in dependencies[task_id]), default=-1)
    waves: list[list[str]] = [[] for _ in range(max(wave_of.values(), default=-1) + 1)]
    for task_id in by_id:  # by_id is in natural id order, and so is each wave
        if task_id in wave_of:
            waves[wave_of[task_id]].append(task_id)
    return waves, wave_of


def _epic_key(task: Task) -> str | None:
    if "." in task.id:
        return task.id.rsplit(".", 1)[0]
    return task.epic


def _effective_graph(
    ordered: Sequence[Task], options: PlanOptions
) -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, str], str]]:
    """Declared plus implied dependencies of every task, and the reason of each implied one."""
    graph = {task.id: task.dependencies for task in ordered}
    implied: dict[tuple[str, str], str] = {}
    if options.implicit_dependencies:
        previous: dict[str, str] = {}
        for task in ordered:  # natural order: 1.2 comes right after 1.1b within epic 1
            epic = _epic_key(task)
            if epic is None:
                continue
            if epic in previous and previous[epic] not in graph[task.id]:
                implied[(task.id, previous[epic])] = f"implied: previous story of epic {epic}"
            previous[epic] = task.id
    if options.foundation_dependencies:
        foundation = [task.id for task in ordered if _epic_key(task) == "0"]
        for task in ordered:
            if _epic_key(task) == "0":
                continue
            for base in foundation:
                if base not in graph[task.id]:
                    implied[(task.id, base)] = "implied: foundation story"
    if implied:
        extra: dict[str, list[str]] = {}
        for task_id, dependency in implied:
            extra.setdefault(task_id, []).append(dependency)
        graph = {
            task_id: (*dependencies, *extra.get(task_id, ()))
            for task_id, dependencies in graph.items()
        }
    return graph, implied


def _outside(
    requested: Sequence[str],
    in_scope: set[str],
    graph: Mapping[str, Sequence[str]],
    by_id: Mapping[str, Task],
) -> dict[str, tuple[str, ...]]:
    """In-scope task -> its dependencies outside the scope that are not done yet."""
    found: dict[str, tuple[str, ...]] = {}
    for task_id in requested:
        missing = tuple(
            d
            for d in graph[task_id]
            if d not in in_scope and by_id[d].status is not TaskStatus.DONE
        )
        if missing:
            found[task_id] = missing
    return found


def _expand(
    in_scope: set[str], graph: Mapping[str, Sequence[str]], by_id: Mapping[str, Task]
) -> list[str]:
    """Pull every unfinished dependency into the scope, transitively; return what was added."""
    added: list[str] = []
    pending = list(in_scope)
    while pending:
        for dependency in graph[pending.pop()]:
            if dependency not in in_scope and by_id[dependency].status is not TaskStatus.DONE:
                in_scope.add(dependency)
                added.append(dependency)
                pending.append(dependency)
    return added


def _skip(
    in_scope: set[str], graph: Mapping[str, Sequence[str]], by_id: Mapping[str, Task]
) -> list[str]:
    """Drop tasks waiting on unfinished work outside the scope, and then their dependents."""
    dependents: dict[str, list[str]] = {}
    for task_id in in_scope:
        for dependency in graph[task_id]:
            dependents.setdefault(dependency, []).append(task_id)
    dropped: list[str] = []
    pending = [
        task_id
        for task_id in in_scope
        if any(d not in in_scope and by_id[d].status is not TaskStatus.DONE for d in graph[task_id])
    ]
    while pending:
        task_id = pending.pop()
        if task_id not in in_scope:
            continue
        in_scope.discard(task_id)
        dropped.append(task_id)
        pending.extend(dependents.get(task_id, ()))
    return sorted(dropped, key=id_sort_key)


def out_of_scope_message(out_of_scope: Mapping[str, tuple[str, ...]]) -> str:
    task_id, missing = next(iter(out_of_scope.items()))
    which = ", ".join(missing)
    noun = "story" if len(missing) == 1 else "stories"
    more = len(out_of_scope) - 1
    others = f" ({more} more tasks have dependencies outside the scope)" if more else ""
    return (
        f"task {task_id} depends on {noun} {which}, which is not in the scope{others}; "
        "expand the scope (--expand-scope) or skip such tasks (--skip-out-of-scope)"
    )


def _critical_path(
    topological: Sequence[str],
    dependencies: Mapping[str, Sequence[str]],
    by_id: Mapping[str, Task],
) -> tuple[str, ...]:
    longest: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for task_id in topological:
        best: str | None = None
        for dependency in dependencies[task_id]:
            if best is None or longest[dependency] > longest[best]:
                best = dependency
        longest[task_id] = by_id[task_id].weight + (longest[best] if best is not None else 0.0)
        via[task_id] = best
    if not longest:
        return ()
    order = {task_id: index for index, task_id in enumerate(by_id)}
    end: str | None = max(longest, key=lambda task_id: (longest[task_id], -order[task_id]))
    path: list[str] = []
    while end is not None:
        path.append(end)
        end = via[end]
    return tuple(reversed(path))


def _priorities(
    topological: Sequence[str],
    dependents: Mapping[str, Sequence[str]],
    by_id: Mapping[str, Task],
) -> dict[str, float]:
    priority: dict[str, float] = {}
    for task_id in reversed(topological):
        tail = max((priority[after] for after in dependents[task_id]), default=0.0)
        priority[task_id] = by_id[task_id].weight + tail
    return priority


def describe_out_of_scope(plan: Plan) -> str:
    """The warning text for a plan waiting on a decision, for prompts."""
    lines = ["Out-of-scope dependency detected", ""]
    for task_id, missing in plan.out_of_scope.items():
        noun = "story" if len(missing) == 1 else "stories"
        lines.append(
            f"Task {task_id} depends on {noun} {', '.join(missing)}, "
            "which is not in the current scope."
        )
    return "\n".join(lines)
