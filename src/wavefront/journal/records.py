"""What the journal stores, as values: runs, tasks, attempts, events; and how a task
definition is kept as JSON so a resume never re-reads the backlog files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from wavefront.model import GateSpec, SourceLocation, Task, TaskOptions, TaskStatus

__all__ = [
    "AttemptRecord",
    "Event",
    "RunRecord",
    "TaskRecord",
    "attempt_from_row",
    "dumps",
    "run_from_row",
    "split_sql",
    "task_from_json",
    "task_from_row",
    "task_to_json",
]



@dataclass(frozen=True)
class RunRecord:
    id: str
    created_at: float
    repo: str
    base_commit: str
    branch: str
    state: str
    options: Mapping[str, Any]
    finished_at: float | None


@dataclass(frozen=True)
class TaskRecord:
    run_id: str
    task_id: str
    position: int
    status: TaskStatus
    reason: str
    agent: str | None
    runner: str | None
    priority: float
    wave: int
    task: Task
    retries_used: int
    merge_commit: str | None
    updated_at: float


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    run_id: str
    task_id: str
    number: int
    kind: str
    state: str
    started_at: float
    finished_at: float | None
    runner: str | None
    agent: str | None
    base_commit: str | None
    head_commit: str | None
    workspace: str | None
    ok: bool | None
    failure: str | None
    reason: str
    text: str
    cost_usd: float | None
    cost_estimated: bool
    tokens_in: int
    tokens_out: int
    duration_s: float
    log_path: str | None
    changed_files: tuple[str, ...]
    deviations: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    id: int
    run_id: str
    at: float
    kind: str
    task_id: str | None
    data: Mapping[str, Any]

# -- (de)serialisation ---------------------------------------------------------------


def task_to_json(task: Task) -> str:
    """A task's definition as JSON, so a resume never re-reads the backlog files."""
    data: dict[str, Any] = {}
    for item in fields(Task):
        value = getattr(task, item.name)
        if isinstance(value, SourceLocation):
            value = {"path": str(value.path), "line": value.line}
        elif isinstance(value, tuple) and value and isinstance(value[0], GateSpec):
            value = [{"kind": g.kind, "options": dict(g.options)} for g in value]
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, TaskStatus):
            value = value.value
        elif isinstance(value, TaskOptions):
            value = value.to_json()
        elif isinstance(value, Mapping):
            value = dict(value)
        data[item.name] = value
    return dumps(data)


@lru_cache(maxsize=16384)
def task_from_json(text: str) -> Task:
    """The task a definition stores (cached: definitions never change and tasks are frozen,
    while the engine reads them on every step of every task)."""
    data = json.loads(text)
    kwargs: dict[str, Any] = {}
    for item in fields(Task):
        if item.name not in data:
            continue
        value = data[item.name]
        if item.name in {"source", "dependencies_source"} and value is not None:
            value = SourceLocation(Path(value["path"]), int(value["line"]))
        elif item.name == "gates":
            value = tuple(GateSpec(g["kind"], g.get("options", {})) for g in value)
        elif item.name == "status":
            value = TaskStatus(value)
        elif item.name == "options":
            value = TaskOptions.split(value)[0]
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[item.name] = value
    metadata = dict(kwargs.get("metadata") or {})
    # Journals written before these were typed kept them among the metadata.
    if "options" not in data and metadata:
        kwargs["options"], metadata = TaskOptions.split(metadata)
    elif "fixes_gate" in metadata:
        kwargs["options"] = replace(kwargs["options"], fixes_gate=metadata.pop("fixes_gate"))
    if "backlog_format" not in data and "backlog_format" in metadata:
        kwargs["backlog_format"] = metadata.pop("backlog_format")
    if "metadata" in kwargs:
        kwargs["metadata"] = metadata
    return Task(**kwargs)


def dumps(data: Any) -> str:
    return json.dumps(data, default=str, ensure_ascii=False)


def split_sql(script: str) -> Iterable[str]:
    return (part.strip() for part in script.split(";") if part.strip())


def run_from_row(row: sqlite3.Row) -> RunRecord:
    return RunRecord(id=row["id"], created_at=row["created_at"], repo=row["repo"],
                     base_commit=row["base_commit"], branch=row["branch"], state=row["state"],
                     options=json.loads(row["options"]), finished_at=row["finished_at"])


def task_from_row(row: sqlite3.Row) -> TaskRecord:
    return TaskRecord(run_id=row["run_id"], task_id=row["task_id"], position=row["position"],
                      status=TaskStatus(row["status"]), reason=row["reason"],
                      agent=row["agent"], runner=row["runner"], priority=row["priority"],
                      wave=row["wave"], task=task_from_json(row["definition"]),
                      retries_used=row["retries_used"], merge_commit=row["merge_commit"],
                      updated_at=row["updated_at"])


def attempt_from_row(row: sqlite3.Row) -> AttemptRecord:
    return AttemptRecord(
        id=row["id"], run_id=row["run_id"], task_id=row["task_id"], number=row["number"],
        kind=row["kind"], state=row["state"], started_at=row["started_at"],
        finished_at=row["finished_at"], runner=row["runner"], agent=row["agent"],
        base_commit=row["base_commit"], head_commit=row["head_commit"],
        workspace=row["workspace"], ok=None if row["ok"] is None else bool(row["ok"]),
        failure=row["failure"], reason=row["reason"], text=row["text"],
        cost_usd=row["cost_usd"], cost_estimated=bool(row["cost_estimated"]),
        tokens_in=row["tokens_in"], tokens_out=row["tokens_out"],
        duration_s=row["duration_s"], log_path=row["log_path"],
        changed_files=tuple(json.loads(row["changed_files"])),
        deviations=tuple(json.loads(row["deviations"])),
    )
