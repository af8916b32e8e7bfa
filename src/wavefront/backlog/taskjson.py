"""Task JSON as the multi-stage workflow writes it: `.tmp/tasks/<feature>/task.json` plus one
`subtask_NN.json` per unit of work (OpenAgents' base and "enhanced" schemas).

`load` takes `.tmp/tasks/` (every feature folder that holds a `task.json`), one feature
folder, or one `task.json`. Each subtask is a `Task` with its own `id`; the feature id is
its `epic`. `depends_on` holds sequence numbers (`"01"`) of subtasks of the same feature and
becomes their ids. The feature's context and reference files are inherited by every
subtask; its objective and exit criteria go into the body and metadata. Context entries may
be plain paths or `{path, lines, reason}` objects (kept whole in metadata).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from wavefront.backlog.base import Backlog, each_readable
from wavefront.backlog.jsonsource import JsonDocument, load_json, raise_json_validation_error
from wavefront.backlog.statuswords import read_status
from wavefront.errors import BacklogError
from wavefront.model import SourceLocation, Task, TaskStatus

__all__ = ["DESCRIPTION", "NAME", "discover", "load", "matches"]

NAME = "taskjson"
DESCRIPTION = "Task JSON: .tmp/tasks/<feature>/task.json with subtask_NN.json files"

M = TypeVar("M", bound=BaseModel)

_SUBTASK_FILE = re.compile(r"subtask_(\d+)\.json")


class _FileRef(BaseModel):
    """A context entry: a plain path, or (enhanced schema) a path narrowed to some lines."""

    model_config = ConfigDict(extra="allow")

    path: StrictStr
    lines: StrictStr | None = None
    reason: StrictStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


def _seq_value(value: object) -> str | int:
    # One plain check instead of a union, so an error names the field, not a union member.
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    raise ValueError(f'expected a seq like "01", got {value!r}')


_Seq = Annotated[str | int, PlainValidator(_seq_value)]


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr | None = None
    status: StrictStr | None = None
    context_files: list[_FileRef] | None = None
    reference_files: list[_FileRef] | None = None
    completed_at: StrictStr | None = None


class _Feature(_Common):
    name: StrictStr | None = None
    objective: StrictStr | None = None
    exit_criteria: list[StrictStr] | None = None
    subtask_count: StrictInt | None = None
    completed_count: StrictInt | None = None
    created_at: StrictStr | None = None


class _Subtask(_Common):
    seq: _Seq | None = None
    title: StrictStr
    depends_on: list[_Seq] | None = None
    parallel: StrictBool | None = None
    suggested_agent: StrictStr | None = None
    acceptance_criteria: list[StrictStr] | None = None
    deliverables: list[StrictStr] | None = None
    agent_id: StrictStr | None = None
    started_at: StrictStr | None = None
    completion_summary: StrictStr | None = None


# Fields that become Task attributes; every other field of a subtask is kept in metadata.
_MAPPED = {
    "id", "seq", "title", "status", "depends_on", "parallel", "suggested_agent",
    "context_files", "reference_files", "acceptance_criteria", "deliverables",
}  # fmt: skip


_FEATURE_FIELDS = frozenset(_Feature.model_fields) | {"context_files", "reference_files"}

# The statuses OpenAgents' task schema defines for a subtask.
_SUBTASK_STATUSES = {
    "pending": TaskStatus.PENDING,
    "in_progress": TaskStatus.RUNNING,
    "completed": TaskStatus.DONE,
    "blocked": TaskStatus.BLOCKED,
}


def matches(path: Path) -> bool:
    if path.name == "task.json" or _SUBTASK_FILE.fullmatch(path.name):
        return True
    parts = path.parts
    return any(parts[i : i + 2] == (".tmp", "tasks") for i in range(len(parts) - 1))


def discover(root: Path) -> list[Path]:
    """Every feature folder under `root/.tmp/tasks/` that holds a `task.json`."""
    tasks_dir = root / ".tmp" / "tasks"
    if not tasks_dir.is_dir():
        return []
    return sorted(child for child in tasks_dir.iterdir() if (child / "task.json").is_file())


def load(path: Path) -> Backlog:
    """Load `.tmp/tasks/`, one feature folder, or one `task.json` (or subtask file)."""
    if path.is_file():
        return _load_feature(path.parent)
    if (path / "task.json").is_file():
        return _load_feature(path)
    if not path.is_dir():
        raise BacklogError(path, None, "no such file or directory")
    features = sorted(child for child in path.iterdir() if (child / "task.json").is_file())
    orphans = sorted(
        child
        for child in path.iterdir()
        if child.is_dir() and child not in features and any(_subtask_files(child))
    )
    if orphans:
        raise BacklogError(orphans[0], None, "subtask files without a task.json beside them")
    if not features:
        raise BacklogError(
            path, None, "no task.json here or in its folders (expected <feature>/task.json)"
        )
    return Backlog.merge(each_readable(features, _load_feature))


def _subtask_files(folder: Path) -> list[Path]:
    # scandir knows each entry's type without a stat call per file.
    with os.scandir(folder) as entries:
        found = [
            (int(match.group(1)), folder / entry.name)
            for entry in entries
            if (match := _SUBTASK_FILE.fullmatch(entry.name)) and _is_file(entry)
        ]
    return [child for _, child in sorted(found)]


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _load_feature(folder: Path) -> Backlog:
    task_path = folder / "task.json"
    if not task_path.is_file():
        raise BacklogError(folder, None, "no task.json in this feature folder")
    feature_doc = load_json(task_path)
    feature = _validate(feature_doc, _Feature)
    feature_id = feature.id or folder.name

    subtasks: list[tuple[JsonDocument, _Subtask, str, str]] = []
    for sub_path in _subtask_files(folder):
        doc = load_json(sub_path)
        sub = _validate(doc, _Subtask)
        number = _SUBTASK_FILE.fullmatch(sub_path.name)
        seq = _seq_text(sub.seq) if sub.seq is not None else number.group(1) if number else ""
        subtasks.append((doc, sub, seq, sub.id or f"{feature_id}-{seq}"))

    by_seq: dict[str, str] = {}
    for doc, _, seq, task_id in subtasks:
        if seq in by_seq:
            raise BacklogError(
                doc.path, doc.line_of("seq"), f"seq {seq!r} is used twice in {folder}"
            )
        by_seq[seq] = task_id
    ids = set(by_seq.values())

    # Enhanced-schema fields of the feature (bounded_context, rice_score, contracts, ...).
    feature_extras = {
        key: value for key, value in feature_doc.data.items() if key not in _FEATURE_FIELDS
    }
    notes: list[str] = []
    tasks = tuple(
        _make_task(
            doc, sub, task_id, feature, feature_id, feature_doc.path, feature_extras, by_seq, ids,
            notes,
        )
        for doc, sub, _, task_id in subtasks
    )
    if not tasks:
        notes.append(f"{folder}: task.json has no subtask_NN.json files yet")
    return Backlog(
        tasks=tasks,
        files=(task_path, *(doc.path for doc, *_ in subtasks)),
        formats=(NAME,),
        notes=tuple(notes),
    )


def _subtask_checks(doc: JsonDocument, sub: _Subtask, task_id: str, feature_id: str) -> list[str]:
    """What OpenAgents' task CLI checks of a subtask besides its schema: an id of the form
    `<feature>-<seq>` and non-empty acceptance criteria and deliverables (the counts of the
    feature are `validate`'s, in `taskcli.problems`)."""
    found = []
    if sub.id is not None and not task_id.startswith(f"{feature_id}-"):
        found.append(f"{doc.path}:{doc.line_of('id')}: id {task_id!r} does not start with "
                     f"the feature id ('{feature_id}-')")
    for field_name in ("acceptance_criteria", "deliverables"):
        if not getattr(sub, field_name):
            found.append(f"{doc.path}:{doc.line_of()}: no {field_name} (empty or missing)")
    return found


def _validate(doc: JsonDocument, model: type[M]) -> M:
    if not isinstance(doc.data, dict):
        raise BacklogError(doc.path, doc.line_of(), "expected a JSON object")
    try:
        return model.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        raise_json_validation_error(doc, exc, model)


def _seq_text(value: str | int) -> str:
    return f"{value:02d}" if isinstance(value, int) else value.strip()


def _make_task(
    doc: JsonDocument,
    sub: _Subtask,
    task_id: str,
    feature: _Feature,
    feature_id: str,
    feature_path: Path,
    feature_extras: dict[str, Any],
    by_seq: dict[str, str],
    ids: set[str],
    notes: list[str],
) -> Task:
    status, status_note = read_status(
        sub.status,
        _SUBTASK_STATUSES,
        format_label="task JSON",
        path=doc.path,
        line=doc.line_of("status") if sub.status is not None else None,
    )
    notes.extend(filter(None, [status_note]))
    notes.extend(_subtask_checks(doc, sub, task_id, feature_id))
    dependencies = []
    for position, dep in enumerate(sub.depends_on or []):
        text = _seq_text(dep)
        if text in by_seq:
            dependencies.append(by_seq[text])
        elif text in ids:
            dependencies.append(text)
        else:
            known = ", ".join(sorted(by_seq)) or "none"
            raise BacklogError(
                doc.path,
                doc.line_of("depends_on", position),
                f"depends_on {dep!r} names no subtask of {feature_id} "
                f'(expected a seq like "01"; known: {known})',
            )

    context = [*(feature.context_files or []), *(sub.context_files or [])]
    reference = [*(feature.reference_files or []), *(sub.reference_files or [])]
    deliverables = tuple(sub.deliverables or ())

    body_parts = []
    if feature.objective:
        body_parts.append(f"Feature {feature.name or feature_id}: {feature.objective}")
    if feature.exit_criteria:
        body_parts.append(
            "Feature exit criteria:\n" + "\n".join(f"- {c}" for c in feature.exit_criteria)
        )

    metadata: dict[str, Any] = {
        "feature": feature_id,
        "feature_file": str(feature_path),
        "seq": _seq_text(sub.seq) if sub.seq is not None else None,
    }
    for key in ("agent_id", "started_at", "completed_at", "completion_summary"):
        metadata[key] = getattr(sub, key)
    if feature.name:
        metadata["feature_name"] = feature.name
    if feature.objective:
        metadata["objective"] = feature.objective
    if feature.exit_criteria:
        metadata["exit_criteria"] = list(feature.exit_criteria)
    if feature_extras:
        metadata["feature_fields"] = dict(feature_extras)
    refs = [_ref_dict(ref) for ref in [*context, *reference] if ref.lines or ref.reason]
    if refs:
        metadata["file_refs"] = refs
    extras = {k: v for k, v in doc.data.items() if k not in _MAPPED and k not in metadata}
    metadata.update(extras)

    return Task(
        id=task_id,
        title=sub.title,
        source=SourceLocation(doc.path, doc.line_of()),
        body="\n\n".join(body_parts),
        dependencies=tuple(dict.fromkeys(dependencies)),
        dependencies_source=(
            SourceLocation(doc.path, doc.line_of("depends_on")) if sub.depends_on else None
        ),
        status=status,
        status_text=sub.status,
        epic=feature_id,
        agent=sub.suggested_agent,
        acceptance_criteria=tuple(sub.acceptance_criteria or ()),
        deliverables=deliverables,
        files=deliverables,
        context_files=_paths(context),
        reference_files=_paths(reference),
        # As OpenAgents' task CLI reads it: only `parallel: true` may run beside others.
        parallel=sub.parallel is True,
        metadata=metadata,
    )


def _paths(refs: list[_FileRef]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ref.path for ref in refs))


def _ref_dict(ref: _FileRef) -> dict[str, Any]:
    return ref.model_dump(exclude_none=True)
