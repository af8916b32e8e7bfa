"""The task CLI of the multi-stage workflow over `.tmp/tasks/<feature>/`: a feature named
by its folder, `complete` by hand, and the checks of `validate`.

`complete` writes what a run's write-back writes (`writeback.taskjson`), in the working tree,
as the original CLI does. `problems` finds what the task JSON loader accepts but the
workflow forbids: unknown status words, a `subtask_count` that disagrees with the files, an
objective over 200 characters.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from wavefront.backlog.writeback.taskjson import complete_subtask
from wavefront.errors import BacklogError
from wavefront.model import Completion

__all__ = [
    "FEATURE_STATUSES",
    "OBJECTIVE_LIMIT",
    "SUBTASK_STATUSES",
    "complete",
    "feature_folder",
    "features",
    "problems",
]

TASKS_DIR = Path(".tmp") / "tasks"
OBJECTIVE_LIMIT = 200
FEATURE_STATUSES = ("active", "completed", "blocked", "archived")
SUBTASK_STATUSES = ("pending", "in_progress", "completed", "blocked")


def features(root: Path) -> list[str]:
    """The feature names under `root/.tmp/tasks/` (folders that hold a task.json)."""
    folder = root / TASKS_DIR
    if not folder.is_dir():
        return []
    return sorted(child.name for child in folder.iterdir() if (child / "task.json").is_file())


def feature_folder(root: Path, name: str) -> Path | None:
    """`.tmp/tasks/<name>` when `name` is a feature with a task.json, else None."""
    if not name or "/" in name or name.startswith("."):
        return None
    folder = root / TASKS_DIR / name
    return folder if (folder / "task.json").is_file() else None


def complete(root: Path, feature: str, seq: str, summary: str) -> list[Path]:
    """Mark subtask `seq` of `feature` completed with `summary`; returns the files written."""
    folder = feature_folder(root, feature)
    if folder is None:
        known = ", ".join(features(root)) or "none"
        raise BacklogError(root / TASKS_DIR / feature, None,
                           f"no feature {feature!r} (expected {TASKS_DIR}/{feature}/task.json; "
                           f"features: {known})")
    subtask = folder / f"subtask_{seq.zfill(2)}.json"
    if not subtask.is_file():
        seqs = ", ".join(p.stem.removeprefix("subtask_")
                         for p in sorted(folder.glob("subtask_*.json"))) or "none"
        raise BacklogError(subtask, None, f"no subtask {seq} in feature {feature} "
                           f"(seqs: {seqs})")
    header_path = folder / "task.json"
    data = _object(subtask)
    agent = data.get("agent_id")
    changes = complete_subtask(data, _object(header_path), subtask.name, header_path.name,
                               Completion(agent=str(agent) if agent else None, started_at=None,
                                          completed_at=time.time(), summary=summary.strip()))
    written = []
    for name, text in changes.items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written


def problems(folder: Path) -> list[str]:
    """`file:line: problem` for each rule of the workflow that `folder`'s files break."""
    found: list[str] = []
    header_path = folder / "task.json"
    header = _object(header_path)
    status = header.get("status")
    if status is not None and status not in FEATURE_STATUSES:
        found.append(f"{header_path}:{_line(header_path, 'status')}: status {status!r} is not "
                     f"one of {', '.join(FEATURE_STATUSES)}")
    objective = header.get("objective")
    if isinstance(objective, str) and len(objective) > OBJECTIVE_LIMIT:
        found.append(f"{header_path}:{_line(header_path, 'objective')}: objective has "
                     f"{len(objective)} characters; keep it to {OBJECTIVE_LIMIT}")
    files = sorted(folder.glob("subtask_*.json"))
    count = header.get("subtask_count")
    if isinstance(count, int) and count != len(files):
        found.append(f"{header_path}:{_line(header_path, 'subtask_count')}: subtask_count is "
                     f"{count} but the folder has {len(files)} subtask file"
                     f"{'' if len(files) == 1 else 's'}")
    done = 0
    for path in files:
        value = _object(path).get("status")
        done += value == "completed"
        if value is not None and value not in SUBTASK_STATUSES:
            found.append(f"{path}:{_line(path, 'status')}: status {value!r} is not one of "
                         f"{', '.join(SUBTASK_STATUSES)}")
    completed = header.get("completed_count")
    if isinstance(completed, int) and completed != done:
        found.append(f"{header_path}:{_line(header_path, 'completed_count')}: completed_count "
                     f"is {completed} but {done} subtask{'' if done == 1 else 's'} "
                     f"{'is' if done == 1 else 'are'} completed")
    return found


def _object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BacklogError(path, exc.lineno, f"not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise BacklogError(path, 1, "expected a JSON object")
    return data


def _line(path: Path, key: str) -> int:
    """The line where `"key":` is written (1 when not found)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if f'"{key}"' in line:
            return number
    return 1
