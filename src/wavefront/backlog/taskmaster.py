"""Task Master `tasks.json`: the tagged form `{"master": {"tasks": [...]}, ...}` and the
legacy form `{"tasks": [...]}`.

Which tag is read: the one named by `currentTag` in `.taskmaster/state.json` when that file
sits beside the backlog, else `master`, else the only tag; `load_tag` reads any tag by name.
`Backlog.notes` says which tag was read.

Units of work. A task without subtasks is one unit, id `"5"`. When a task has subtasks,
its subtasks are the units (ids `"5.2"`) and the parent itself is not one:

- a subtask depends on everything its parent depends on, plus its own dependencies;
- a subtask's bare number (`2` or `"2"`) names a sibling (`"5.2"`); a dotted string
  (`"12.1"`) names that exact task;
- anything that depends on a parent depends on all of that parent's subtasks.

A dependency that names no task is kept as written, so the plan reports it with its line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictStr

from wavefront.backlog.base import Backlog
from wavefront.backlog.jsonsource import JsonDocument, Key, load_json, raise_json_validation_error
from wavefront.backlog.statuswords import read_status
from wavefront.errors import BacklogError
from wavefront.model import SourceLocation, Task, TaskStatus
from wavefront.words import plural

__all__ = ["DESCRIPTION", "NAME", "discover", "load", "load_tag", "matches", "next_order_key",
           "tag_names"]

NAME = "taskmaster"
DESCRIPTION = "Task Master tasks.json (tagged or legacy; subtasks become the units of work)"


def _id_value(value: object) -> int | float | str:
    # One plain check instead of a union, so an error names the field, not a union member.
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected a number or a string, got {value!r}")


_Id = Annotated[int | float | str, PlainValidator(_id_value)]
_NUMBERED = re.compile(r"\d+(?:\.\d+)*")

_STATUSES = {
    "pending": TaskStatus.PENDING,
    "in-progress": TaskStatus.RUNNING,
    "done": TaskStatus.DONE,
    "review": TaskStatus.REVIEWING,
    "deferred": TaskStatus.SKIPPED,
    "cancelled": TaskStatus.CANCELLED,
    "blocked": TaskStatus.BLOCKED,
}


class _Subtask(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: _Id
    title: StrictStr | None = None
    description: StrictStr | None = None
    details: StrictStr | None = None
    status: StrictStr | None = None
    dependencies: list[_Id] | None = None
    test_strategy: StrictStr | None = Field(default=None, alias="testStrategy")


class _Task(_Subtask):
    title: StrictStr
    priority: StrictStr | None = None
    subtasks: list[_Subtask] | None = None


class _TagBlock(BaseModel):
    model_config = ConfigDict(extra="allow")

    tasks: list[_Task]
    metadata: dict[str, Any] | None = None


class _State(BaseModel):
    model_config = ConfigDict(extra="allow")

    current_tag: Annotated[StrictStr | None, Field(alias="currentTag")] = None


def matches(path: Path) -> bool:
    return path.name == "tasks.json" or ".taskmaster" in path.parts


def discover(root: Path) -> list[Path]:
    for candidate in (root / ".taskmaster" / "tasks" / "tasks.json", root / "tasks" / "tasks.json"):
        if candidate.is_file():
            return [candidate]
    return []


def load(path: Path) -> Backlog:
    """Load the tag chosen by the rule in the module docstring."""
    path = _tasks_file(path)
    doc = load_json(path)
    tags = _tag_keys(doc)
    if tags is None:
        return _load_block(doc, (), None, note=f"{path}: legacy Task Master file (no tags)")
    tag, why = _choose_tag(path, tags)
    return _load_block(doc, (tag,), tag, note=f"{path}: read tag {tag!r} ({why})")


def load_tag(path: Path, tag: str) -> Backlog:
    """Load the tasks of one named tag of a tagged `tasks.json`."""
    path = _tasks_file(path)
    doc = load_json(path)
    tags = _tag_keys(doc)
    if tags is None:
        raise BacklogError(
            path, 1, f"tag {tag!r} asked for, but this is a legacy file without tags"
        )
    if tag not in tags:
        raise BacklogError(path, 1, f"no tag {tag!r} (tags: {', '.join(tags)})")
    return _load_block(doc, (tag,), tag, note=f"{path}: read tag {tag!r} (asked for)")


def tag_names(path: Path) -> list[str]:
    """The tags of a tagged `tasks.json` (empty for the legacy form)."""
    return _tag_keys(load_json(_tasks_file(path))) or []


def _tasks_file(path: Path) -> Path:
    if path.is_dir():
        found = discover(path) or ([path / "tasks.json"] if (path / "tasks.json").is_file() else [])
        if not found:
            raise BacklogError(
                path, None, "no tasks.json here (looked for .taskmaster/tasks/, tasks/)"
            )
        return found[0]
    return path


def _tag_keys(doc: JsonDocument) -> list[str] | None:
    """The tag names of a tagged file, or None for the legacy `{"tasks": [...]}` form."""
    data = doc.data
    if not isinstance(data, dict):
        raise BacklogError(doc.path, doc.line_of(), "expected a JSON object with tasks or tags")
    if "tasks" in data and isinstance(data["tasks"], list):
        return None
    tags = [name for name, block in data.items() if isinstance(block, dict) and "tasks" in block]
    if not tags:
        raise BacklogError(
            doc.path,
            doc.line_of(),
            'expected {"tasks": [...]} or tags like {"master": {"tasks": [...]}}',
        )
    return tags


def _choose_tag(path: Path, tags: Sequence[str]) -> tuple[str, str]:
    state_path = _state_file(path)
    if state_path is not None:
        state_doc = load_json(state_path)
        try:
            state = _State.model_validate(state_doc.data)
        except pydantic.ValidationError as exc:
            raise_json_validation_error(state_doc, exc, _State)
        if state.current_tag is not None:
            if state.current_tag not in tags:
                raise BacklogError(
                    state_path,
                    state_doc.line_of("currentTag"),
                    f"currentTag {state.current_tag!r} is not a tag of {path} "
                    f"(tags: {', '.join(tags)})",
                )
            return state.current_tag, f"currentTag in {state_path}"
    if "master" in tags:
        return "master", "default tag"
    if len(tags) == 1:
        return tags[0], "the only tag"
    raise BacklogError(
        path, 1, f"several tags and no 'master' (tags: {', '.join(tags)}); choose one with load_tag"
    )


def _state_file(path: Path) -> Path | None:
    """`.taskmaster/state.json` for `.taskmaster/tasks/tasks.json` or `tasks/tasks.json`."""
    project = path.resolve().parent.parent
    for candidate in (project / "state.json", project / ".taskmaster" / "state.json"):
        if candidate.is_file() and candidate.parent.name == ".taskmaster":
            return _as_named(path, candidate)
    return None


def _as_named(backlog: Path, found: Path) -> Path:
    """`found` relative when the backlog's path is, so notes name files as the user does."""
    return found if backlog.is_absolute() else Path(os.path.relpath(found))


def _load_block(doc: JsonDocument, prefix: tuple[Key, ...], tag: str | None, note: str) -> Backlog:
    block = _subdocument(doc, prefix)
    try:
        tasks = _TagBlock.model_validate(block.data).tasks
    except pydantic.ValidationError as exc:
        raise_json_validation_error(block, exc, _TagBlock)
    notes = [note]
    units = _units(doc, prefix, tag, tasks, notes)
    report = _complexity_report(doc.path, tag)
    if report is not None:
        units = _with_complexity(units, _complexity_scores(report, notes))
    return Backlog(tasks=tuple(units), files=(doc.path,), formats=(NAME,), notes=tuple(notes))


def _complexity_report(path: Path, tag: str | None) -> Path | None:
    """The complexity report `task-master analyze-complexity` wrote for this tag, if any:
    `.taskmaster/reports/task-complexity-report[_<tag>].json` (`scripts/` in old projects)."""
    name = ("task-complexity-report.json" if tag in (None, "master")
            else f"task-complexity-report_{tag}.json")
    folder = path.resolve().parent.parent  # .taskmaster/ (or the project, for tasks/)
    project = folder.parent if folder.name == ".taskmaster" else folder
    for candidate in (project / ".taskmaster" / "reports" / name, project / "scripts" / name):
        if candidate.is_file():
            return _as_named(path, candidate)
    return None


def _complexity_scores(report: Path, notes: list[str]) -> dict[str, float]:
    """Task id -> its `complexityScore` (1-10) in the report; unreadable entries are noted
    and left out, since the report only refines the plan."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{report}: complexity report not read ({exc})")
        return {}
    entries = data.get("complexityAnalysis") if isinstance(data, dict) else None
    scores: dict[str, float] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        task_id, score = entry.get("taskId"), entry.get("complexityScore")
        if isinstance(score, (int, float)) and not isinstance(score, bool) and score > 0:
            scores[str(task_id)] = float(score)
    notes.append(f"{report}: complexity scores of {plural(len(scores), 'task')} read as "
                 "estimates")
    return scores


def _with_complexity(units: list[Task], scores: dict[str, float]) -> list[Task]:
    """Each unit's estimate from its task's score; a task's subtasks share its score."""
    parts: dict[str, int] = {}
    for unit in units:
        parent = unit.metadata.get("parent_id")
        if parent is not None:
            parts[str(parent)] = parts.get(str(parent), 0) + 1
    estimated = []
    for unit in units:
        parent = unit.metadata.get("parent_id")
        owner = str(parent) if parent is not None else unit.id
        score = scores.get(owner)
        estimated.append(unit if score is None
                         else replace(unit, estimate=score / parts.get(owner, 1)))
    return estimated


def _subdocument(doc: JsonDocument, prefix: tuple[Key, ...]) -> JsonDocument:
    """The part of `doc` under `prefix`, with its own key paths (for schema errors)."""
    if not prefix:
        return doc
    size = len(prefix)
    lines = {key[size:]: line for key, line in doc.lines.items() if key[:size] == prefix}
    return JsonDocument(path=doc.path, data=doc.data[prefix[0]], lines=lines)


def _units(
    doc: JsonDocument,
    prefix: tuple[Key, ...],
    tag: str | None,
    tasks: list[_Task],
    notes: list[str],
) -> list[Task]:
    # First pass: ids of every unit, so dependencies on a parent can fan out to its subtasks.
    subtask_ids: dict[str, list[str]] = {}
    named: set[str] = set()  # every id, for files that name tasks by words, not numbers
    for index, task in enumerate(tasks):
        parent_id = _task_id(doc, (*prefix, "tasks", index, "id"), task.id)
        named.add(parent_id)
        if task.subtasks:
            subtask_ids[parent_id] = [_subtask_id(parent_id, sub.id) for sub in task.subtasks]
            named.update(subtask_ids[parent_id])

    # Task Master counts a cancelled task as out of the way: depending on it waits for
    # nothing (its `list --ready` offers the dependent).
    cancelled = {_subtask_id(_task_id(doc, (*prefix, "tasks", i, "id"), t.id), sub.id)
                 for i, t in enumerate(tasks) for sub in t.subtasks or []
                 if (sub.status or "").lower() == "cancelled"}
    cancelled |= {_task_id(doc, (*prefix, "tasks", i, "id"), t.id) for i, t in enumerate(tasks)
                  if (t.status or "").lower() == "cancelled"}

    def expand(dep: str) -> list[str]:
        return [unit for unit in subtask_ids.get(dep, [dep]) if unit not in cancelled]

    units: list[Task] = []
    for index, task in enumerate(tasks):
        where = (*prefix, "tasks", index)
        parent_id = _task_id(doc, (*where, "id"), task.id)
        parent_deps = [
            unit
            for position, dep in enumerate(task.dependencies or [])
            for unit in expand(
                _dependency(doc, (*where, "dependencies", position), dep, None, named)
            )
        ]
        if not task.subtasks:
            units.append(
                _make_task(doc, where, parent_id, task, parent_deps, tag, parent=None, notes=notes)
            )
            continue
        for sub_index, sub in enumerate(task.subtasks):
            sub_where = (*where, "subtasks", sub_index)
            sub_id = _subtask_id(parent_id, sub.id)
            own = [
                unit
                for position, dep in enumerate(sub.dependencies or [])
                for unit in expand(
                    _dependency(doc, (*sub_where, "dependencies", position), dep, parent_id, named)
                )
            ]
            if sub_id in own:
                notes.append(
                    f"{doc.path}:{doc.line_of(*sub_where, 'dependencies')}: subtask {sub_id} "
                    "depends on itself (Task Master shows it as [SELF]); ignored"
                )
            deps = [d for d in dict.fromkeys([*parent_deps, *own]) if d != sub_id]
            units.append(
                _make_task(
                    doc, sub_where, sub_id, sub, deps, tag, parent=(parent_id, task), notes=notes
                )
            )
    return units


def _make_task(
    doc: JsonDocument,
    where: tuple[Key, ...],
    task_id: str,
    item: _Subtask,
    dependencies: list[str],
    tag: str | None,
    parent: tuple[str, _Task] | None,
    notes: list[str],
) -> Task:
    status, status_note = read_status(
        item.status,
        _STATUSES,
        format_label="Task Master",
        path=doc.path,
        line=doc.line_of(*where, "status") if item.status is not None else None,
    )
    notes.extend(filter(None, [status_note]))
    title = item.title or item.description or f"Task {task_id}"
    sections = []
    if parent is not None:
        sections.append(f"Part of task {parent[0]}: {parent[1].title}")
    if item.description and item.description != title:
        sections.append(item.description)
    if item.details:
        sections.append(item.details)
    if item.test_strategy:
        sections.append(f"Test strategy:\n{item.test_strategy}")
    metadata: dict[str, Any] = {"taskmaster_id": item.id}
    if item.details:
        metadata["details"] = item.details
    if item.test_strategy:
        metadata["test_strategy"] = item.test_strategy
    if tag is not None:
        metadata["tag"] = tag
    priority = item.priority if isinstance(item, _Task) else None
    if parent is not None:
        metadata["parent_id"] = parent[0]
        metadata["parent_title"] = parent[1].title
        metadata["parent_status"] = parent[1].status
        priority = priority or parent[1].priority
    if priority:
        metadata["priority"] = priority
    return Task(
        id=task_id,
        title=title,
        source=SourceLocation(doc.path, doc.line_of(*where)),
        body="\n\n".join(sections),
        dependencies=tuple(dependencies),
        dependencies_source=(
            SourceLocation(doc.path, doc.line_of(*where, "dependencies"))
            if item.dependencies
            else None
        ),
        status=status,
        status_text=item.status,
        epic=parent[0] if parent is not None else None,
        tags=(tag,) if tag else (),
        metadata=metadata,
    )


_PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


def next_order_key(task: Task) -> tuple[int, int, int]:
    """Task Master's order for `next` among ready tasks: subtasks of a task in progress
    first, then priority (high, medium, low), then fewer dependencies."""
    metadata = task.metadata
    in_progress_parent = (metadata.get("parent_status") or "").strip().lower() == "in-progress"
    priority = str(metadata.get("priority") or "medium").strip().lower()
    return (0 if in_progress_parent else 1, _PRIORITY_RANK.get(priority, 1),
            len(task.dependencies))


def _number_text(value: int | float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _task_id(doc: JsonDocument, where: tuple[Key, ...], value: int | float | str) -> str:
    text = _number_text(value)
    if not text or any(ch.isspace() for ch in text):
        raise BacklogError(
            doc.path, doc.line_of(*where), f"task id must be a number, got {value!r}"
        )
    return text


def _subtask_id(parent_id: str, value: int | float | str) -> str:
    """`5.2` for subtask 2 of task 5; ids already written as `5.2` (a float) are kept."""
    text = _number_text(value)
    if "." in text and text.startswith(parent_id + "."):
        return text
    return f"{parent_id}.{text}"


def _dependency(
    doc: JsonDocument,
    where: tuple[Key, ...],
    value: int | float | str,
    parent_id: str | None,
    named: set[str],
) -> str:
    """The id a dependency names; `parent_id` is set for a subtask's dependencies. Ids are
    numbers in Task Master's own files; tools that sync with it also write words
    (`rust-conversion-core`), which are read when a task of the file has that id."""
    text = _number_text(value)
    if not _NUMBERED.fullmatch(text):
        for candidate in (f"{parent_id}.{text}" if parent_id else None, text):
            if candidate in named:
                return candidate
        raise BacklogError(
            doc.path,
            doc.line_of(*where),
            f'dependency {value!r} is not a task id (expected a number like 5, "5" or "5.2", '
            "or the id of a task in this file)",
        )
    if parent_id is not None and "." not in text:
        return f"{parent_id}.{text}"
    return text
