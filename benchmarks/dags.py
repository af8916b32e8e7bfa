"""Seeded task graphs for the benchmarks, their bounds, and simulated schedules.

A generated graph is layered: tasks are spread over layers, and each task after the first
layer depends on one to three tasks of the layers just before it (mostly the previous one),
the shape of a backlog split into phases and stories. Durations are heavy-tailed (Pareto or
lognormal, scaled to a chosen mean), because agent runs are: most finish in minutes, a few
take an hour.

The simulators replay a graph on `slots` identical workers with no overhead, so a real
engine's makespan can be read against what each policy would achieve:

- `barrier_schedule`: the seeds' waves; a wave starts when the previous one has finished.
- `list_schedule(order="first-come")`: a task starts as soon as it is ready and a slot is
  free, in the order tasks became ready (what a plain pool over `graphlib` does).
- `list_schedule(order="critical-path")`: the same, but the ready task with the longest
  remaining path (bottom level) goes first; wavefront's policy, for reference.

Each schedule's makespan is at least `lower_bound` = max(critical path, total work / slots).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

__all__ = [
    "Dag",
    "Distribution",
    "ScheduleOrder",
    "barrier_schedule",
    "chain",
    "generate",
    "list_schedule",
    "simulate_all",
]

Distribution = Literal["pareto", "lognormal", "constant", "zero"]
ScheduleOrder = Literal["first-come", "critical-path"]

# Pareto shape: below 2 the variance is infinite, the tail of long agent runs.
PARETO_ALPHA = 1.5
LOGNORMAL_SIGMA = 1.2
# One draw may not exceed this many means, so a single task cannot be the whole run.
TAIL_CAP = 15.0


@dataclass(frozen=True)
class Dag:
    """Task ids in topological order, each task's dependencies and duration in seconds."""

    ids: tuple[str, ...]
    deps: Mapping[str, tuple[str, ...]]
    durations: Mapping[str, float]
    seed: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def dependents(self) -> dict[str, list[str]]:
        after: dict[str, list[str]] = {task_id: [] for task_id in self.ids}
        for task_id in self.ids:
            for dep in self.deps[task_id]:
                after[dep].append(task_id)
        return after

    @property
    def total_work(self) -> float:
        return math.fsum(self.durations.values())

    @cached_property
    def bottom_levels(self) -> dict[str, float]:
        """Per task, its duration plus the longest path after it: the critical-path priority."""
        level: dict[str, float] = {}
        for task_id in reversed(self.ids):
            tail = max((level[after] for after in self.dependents[task_id]), default=0.0)
            level[task_id] = self.durations[task_id] + tail
        return level

    @property
    def critical_path(self) -> float:
        """The longest chain of durations: no schedule can be shorter."""
        return max(self.bottom_levels.values(), default=0.0)

    def lower_bound(self, slots: int) -> float:
        return max(self.critical_path, self.total_work / slots)

    @cached_property
    def waves(self) -> tuple[tuple[str, ...], ...]:
        """Tasks grouped by depth (longest chain of dependencies before them)."""
        depth: dict[str, int] = {}
        for task_id in self.ids:
            depth[task_id] = 1 + max((depth[dep] for dep in self.deps[task_id]), default=-1)
        grouped: dict[int, list[str]] = {}
        for task_id in self.ids:
            grouped.setdefault(depth[task_id], []).append(task_id)
        return tuple(tuple(grouped[d]) for d in sorted(grouped))

    def with_durations(self, durations: Mapping[str, float]) -> Dag:
        return Dag(self.ids, self.deps, dict(durations), self.seed)


def _draw(rng: random.Random, distribution: Distribution, count: int, mean: float) -> list[float]:
    if distribution == "zero":
        return [0.0] * count
    if distribution == "constant":
        return [mean] * count
    if distribution == "pareto":
        raw = [rng.paretovariate(PARETO_ALPHA) for _ in range(count)]
    else:
        raw = [rng.lognormvariate(0.0, LOGNORMAL_SIGMA) for _ in range(count)]
    # Cap the tail relative to the sample mean, then scale so the sample mean is exact.
    first_mean = math.fsum(raw) / count
    capped = [min(value, TAIL_CAP * first_mean) for value in raw]
    scale = mean / (math.fsum(capped) / count)
    return [value * scale for value in capped]


def generate(
    count: int,
    *,
    seed: int = 0,
    mean_s: float = 0.05,
    distribution: Distribution = "pareto",
    width: int | None = None,
    max_deps: int = 3,
) -> Dag:
    """A layered random DAG of `count` tasks; the same arguments give the same graph.

    `width` is the average layer size (default about 2.5 × √count, so 200 tasks make
    about six layers of 35: wide enough to keep 8 slots busy, deep enough that a wave
    barrier hurts).
    """
    if count < 1:
        raise ValueError("a graph needs at least one task")
    rng = random.Random(seed)
    layer_size = width or max(1, round(2.5 * math.sqrt(count)))
    layers: list[list[str]] = []
    ids: list[str] = []
    deps: dict[str, tuple[str, ...]] = {}
    width_digits = len(str(count))
    for number in range(count):
        if not layers or len(layers[-1]) >= layer_size:
            layers.append([])
        task_id = f"t{number:0{width_digits}d}"
        chosen: set[str] = set()
        if len(layers) > 1:
            for _ in range(rng.randint(1, max_deps)):
                # Mostly the layer just before; sometimes one further back.
                far = len(layers) >= 3 and rng.random() >= 0.8
                back = rng.randint(2, len(layers) - 1) if far else 1
                chosen.add(rng.choice(layers[-1 - back]))
        layers[-1].append(task_id)
        ids.append(task_id)
        deps[task_id] = tuple(sorted(chosen))
    durations = dict(zip(ids, _draw(rng, distribution, count, mean_s), strict=True))
    return Dag(tuple(ids), deps, durations, seed)


def chain(durations: Sequence[float]) -> Dag:
    """Tasks one after another: the critical path is all the work."""
    ids = tuple(f"c{i}" for i in range(len(durations)))
    deps = {task_id: ((ids[i - 1],) if i else ()) for i, task_id in enumerate(ids)}
    return Dag(ids, deps, dict(zip(ids, durations, strict=True)))


def list_schedule(dag: Dag, slots: int, order: ScheduleOrder = "first-come",
                  levels: Mapping[str, float] | None = None) -> float:
    """Makespan of greedy list scheduling with no overhead: a free slot takes a ready task.

    `levels` replaces the true bottom levels as the critical-path order's priorities (to
    see what priorities from estimates would achieve)."""
    position = {task_id: index for index, task_id in enumerate(dag.ids)}
    levels = dag.bottom_levels if levels is None else levels
    key: Callable[[str, float], tuple[float, int]]
    if order == "first-come":

        def key(task_id: str, ready_at: float) -> tuple[float, int]:
            return (ready_at, position[task_id])
    else:

        def key(task_id: str, ready_at: float) -> tuple[float, int]:
            return (-levels[task_id], position[task_id])

    missing = {task_id: len(dag.deps[task_id]) for task_id in dag.ids}
    ready: list[tuple[tuple[float, int], str]] = [
        (key(t, 0.0), t) for t in dag.ids if missing[t] == 0
    ]
    heapq.heapify(ready)
    running: list[tuple[float, int, str]] = []  # (finish time, position, task)
    now = 0.0
    while ready or running:
        while ready and len(running) < slots:
            _, task_id = heapq.heappop(ready)
            heapq.heappush(running, (now + dag.durations[task_id], position[task_id], task_id))
        now, _, finished = heapq.heappop(running)
        for after in dag.dependents[finished]:
            missing[after] -= 1
            if missing[after] == 0:
                heapq.heappush(ready, (key(after, now), after))
    return now


def barrier_schedule(dag: Dag, slots: int) -> float:
    """Makespan when each wave waits for the whole previous wave (first-come inside a wave)."""
    total = 0.0
    for wave in dag.waves:
        wave_dag = Dag(wave, {t: () for t in wave}, {t: dag.durations[t] for t in wave})
        total += list_schedule(wave_dag, slots, "first-come")
    return total


def simulate_all(dag: Dag, slots: int) -> dict[str, float]:
    """Each simulated policy's makespan divided by the lower bound."""
    bound = dag.lower_bound(slots)
    return {
        "barrier_per_wave": barrier_schedule(dag, slots) / bound,
        "first_come": list_schedule(dag, slots, "first-come") / bound,
        "critical_path_first": list_schedule(dag, slots, "critical-path") / bound,
    }


if __name__ == "__main__":
    for seed in range(5):
        graph = generate(200, seed=seed)
        ratios = simulate_all(graph, 8)
        print(
            f"seed {seed}: waves {len(graph.waves)}, cp {graph.critical_path:.2f}s, "
            f"work/8 {graph.total_work / 8:.2f}s, "
            + ", ".join(f"{name} {value:.2f}" for name, value in ratios.items())
        )
