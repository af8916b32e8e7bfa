"""The run's task graph laid out for drawing: waves as columns, the critical path marked.

The layout is computed here, once per page, so the browser needs no layout library: it
draws the boxes and edges as given and only changes a node's colour when its state moves.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from wavefront.journal.database import TaskRecord

__all__ = ["Edge", "Layout", "Node", "critical_path", "layout"]

NODE_WIDTH = 180
NODE_HEIGHT = 46
COLUMN_GAP = 56
ROW_GAP = 14
MARGIN = 10


@dataclass(frozen=True)
class Node:
    task_id: str
    title: str
    status: str
    x: int
    y: int
    critical: bool


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str  # an SVG path from the dependency's right side to the task's left side
    critical: bool


@dataclass(frozen=True)
class Layout:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT


def critical_path(records: Sequence[TaskRecord]) -> tuple[str, ...]:
    """The chain of dependencies with the largest summed weight (first task first)."""
    by_id = {r.task_id: r for r in records}
    longest: dict[str, float] = {}
    via: dict[str, str | None] = {}

    def finish(task_id: str) -> float:
        # Iterative rather than recursive: a long chain must not hit the recursion limit.
        stack = [task_id]
        while stack:
            current = stack[-1]
            deps = [d for d in by_id[current].task.dependencies if d in by_id]
            waiting = [d for d in deps if d not in longest]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            best = max(deps, key=lambda d: longest[d], default=None)
            via[current] = best
            longest[current] = by_id[current].task.weight + (longest[best] if best else 0.0)
        return longest[task_id]

    if not records:
        return ()
    end: str | None = max((r.task_id for r in records), key=finish)
    path: list[str] = []
    while end is not None:
        path.append(end)
        end = via[end]
    return tuple(reversed(path))


def layout(records: Sequence[TaskRecord]) -> Layout:
    """Place each task in the column of its wave, in the run's order within a column."""
    columns: dict[int, list[TaskRecord]] = {}
    for record in records:
        columns.setdefault(record.wave, []).append(record)
    critical = critical_path(records)
    on_path = set(critical)
    critical_edges = set(itertools.pairwise(critical))
    nodes: dict[str, Node] = {}
    for column, wave in enumerate(sorted(columns)):
        for row, record in enumerate(columns[wave]):
            nodes[record.task_id] = Node(
                task_id=record.task_id, title=record.task.title, status=record.status.value,
                x=MARGIN + column * (NODE_WIDTH + COLUMN_GAP),
                y=MARGIN + row * (NODE_HEIGHT + ROW_GAP),
                critical=record.task_id in on_path)
    edges = []
    for record in records:
        for dependency in record.task.dependencies:
            if dependency in nodes:
                edges.append(Edge(dependency, record.task_id,
                                  _curve(nodes[dependency], nodes[record.task_id]),
                                  (dependency, record.task_id) in critical_edges))
    rows = max((len(c) for c in columns.values()), default=0)
    return Layout(
        nodes=tuple(nodes.values()), edges=tuple(edges),
        width=2 * MARGIN + max(len(columns), 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP,
        height=2 * MARGIN + max(rows, 1) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP)


def _curve(source: Node, target: Node) -> str:
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT // 2
    x2, y2 = target.x, target.y + NODE_HEIGHT // 2
    bend = max((x2 - x1) // 2, 20)
    return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
