"""Default weights from duration estimates: what the scheduler's priority counts.

A task's weight is, in order: the `weight:` its backlog gave; the measured duration of
its earlier successful attempts (from the journal); the backlog's estimate of it (a
story's "Estimate: 3h", `estimate:` in wavefront.yaml, Task Master's complexity score);
for a task with none of these, the median of the weights found for the others. With
nothing known at all, every task keeps weight 1 and the plan follows the graph's shape.

Weights are in hours. Measured durations are converted from seconds; estimates given
in time are read as hours (see `wavefront.estimates`); estimates without a unit (story
points, a complexity score) count as they are, and when some tasks also have
measured durations, every estimate is scaled by how long estimated work really took.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace

from wavefront.model import Task, WeightSource

__all__ = ["WEIGHT_SOURCES", "default_weights", "weight_summary"]

# How a task's weight was found (`Task.weight_source`), in order of precedence.
WEIGHT_SOURCES: tuple[WeightSource, ...] = ("given", "measured", "estimate", "median", "unit")

def default_weights(tasks: Sequence[Task], measured: Mapping[str, float]) -> list[Task]:
    """`tasks` with their weights set by the rule in the module docstring; `measured` maps
    a task id to the seconds its earlier successful attempts took."""
    hours = {task.id: measured[task.id] / 3600 for task in tasks
             if task.weight_source != "given" and measured.get(task.id, 0) > 0}
    estimates = {task.id: task.estimate for task in tasks
                 if task.weight_source != "given" and task.estimate}
    if not hours and not estimates:
        return list(tasks)
    scale = _scale(hours, estimates)
    found: dict[str, tuple[float, WeightSource]] = {}
    for task in tasks:
        if task.weight_source == "given":
            found[task.id] = (task.weight, "given")
        elif task.id in hours:
            found[task.id] = (hours[task.id], "measured")
        elif task.id in estimates:
            found[task.id] = (estimates[task.id] * scale, "estimate")
    middle = statistics.median(weight for weight, _source in found.values())
    median: tuple[float, WeightSource] = (middle, "median")
    return [replace(task, weight=weight, weight_source=source)
            for task in tasks
            for weight, source in [found.get(task.id, median)]]


def weight_summary(tasks: Sequence[Task]) -> str:
    """How the weights were found, for people: "" when every task has weight 1 by default."""
    counts = {source: sum(1 for task in tasks if task.weight_source == source)
              for source in WEIGHT_SOURCES}
    if counts["unit"] == len(tasks):
        return ""
    words = {"given": "given", "measured": "measured in earlier runs",
             "estimate": "from estimates", "median": "with no estimate (the median)",
             "unit": "with no weight given (1)"}
    return "weights of tasks: " + ", ".join(f"{count} {words[source]}"
                                            for source, count in counts.items() if count)


def _scale(hours: Mapping[str, float], estimates: Mapping[str, float | None]) -> float:
    """Hours of real work per hour (or point) of estimate: 1 without measurements."""
    sizes = {task_id: size for task_id, size in estimates.items() if size}
    both = [hours[task_id] / sizes[task_id] for task_id in sizes if task_id in hours]
    if both:
        return statistics.median(both)
    if hours and sizes:
        return statistics.median(hours.values()) / statistics.median(sizes.values())
    return 1.0
