"""BMAD v6 sprint tracking: `sprint-status.yaml` and the story files beside it.

`development_status:` maps keys to statuses, flat (`epic-1: in-progress`,
`1-1-project-scaffolding: done`, `epic-1-retrospective: optional`) or nested
(`epic-1: {status: ..., stories: {1-1-x: done}}`). Story keys become task ids:

* `1-2-slug` -> `1.2` (epic 1, story 2);
* `3-5-0-slug` -> `3.5.0` in epic `3.5` when `epic-3-5` exists (a decimal epic);
* `5-1-1-slug` -> `5.1.1` in epic 5 when story `5.1` exists (a sub-story of 5.1);
* otherwise a third number belongs to the slug (`1-1-404-page` -> `1.1`).

`epic-*` and `*-retrospective` keys are not tasks; epic keys (and the `# Epic N: title`
comments BMAD writes above them) give epic statuses and tags. The yaml is the tracker of
record for status; a story file (`stories/<key>.md`, `stories/epic-N/<key>.md`, or next to
the yaml) adds title, body, acceptance criteria and declared dependencies. Nothing else adds
dependencies: story order within an epic is left to the plan's implicit-dependency option.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from wavefront.backlog.base import Backlog
from wavefront.backlog.stories import read_text, story_sort_key, story_task
from wavefront.backlog.storytext import StoryFields, parse_story, slugify
from wavefront.errors import BacklogError
from wavefront.model import SourceLocation, Task
from wavefront.yamlsource import parse_yaml

__all__ = [
    "DESCRIPTION", "NAME", "EpicProgress", "discover", "epic_progress", "load", "matches",
    "task_id_for_key",
]

NAME = "bmad"
DESCRIPTION = (
    "BMAD v6 sprint-status.yaml (docs/sprint-artifacts/, _bmad-output/implementation-artifacts/"
    ", docs/), with the story files next to it"
)

_STATUS_FILES = ("sprint-status.yaml", "sprint-status.yml")
_LOCATIONS = ("docs/sprint-artifacts", "_bmad-output/implementation-artifacts", "docs")
_EPIC_KEY = re.compile(r"^epic-(?P<number>\d+(?:-\d+)*)$")
_STORY_KEY = re.compile(r"^(?P<a>\d+)-(?P<b>\d+)(?:-(?P<rest>.*))?$")
_EPIC_COMMENT = re.compile(r"^\s*#\s*Epic\s+(?P<number>\d+(?:\.\d+)*)\s*:\s*(?P<title>.+?)\s*$")
_KNOWN_STATUSES = frozenset(
    {
        "backlog",
        "drafted",
        "ready-for-dev",
        "in-progress",
        "review",
        "done",
        "optional",
        "completed",
        "contexted",
        "deferred",
        "blocked",
        "cancelled",
        "skipped",
    }
)


def matches(path: Path) -> bool:
    """A `sprint-status.yaml`, or a directory that holds one."""
    if path.is_dir():
        return any((path / name).is_file() for name in _STATUS_FILES)
    return path.name in _STATUS_FILES


def discover(root: Path) -> list[Path]:
    """The first sprint-status file in BMAD's usual places under `root`."""
    for location in _LOCATIONS:
        for name in _STATUS_FILES:
            candidate = root / location / name
            if candidate.is_file():
                return [candidate]
    return []


def task_id_for_key(key: str, epics: set[str], stories: set[str]) -> tuple[str, str] | None:
    """(task id, epic) of a story key, given the declared epics (`3.5`) and the two-level
    story ids (`5.1`) of the same file; None when `key` is not a story key."""
    found = _STORY_KEY.match(key)
    if found is None:
        return None
    a, b = int(found["a"]), int(found["b"])
    third = re.match(r"^(\d+)(?:-|$)", found["rest"] or "")
    if third is not None:
        if f"{a}.{b}" in epics:
            return f"{a}.{b}.{int(third[1])}", f"{a}.{b}"
        if f"{a}.{b}" in stories:
            return f"{a}.{b}.{int(third[1])}", str(a)
    return f"{a}.{b}", str(a)


def load(path: Path) -> Backlog:
    """Load a sprint-status file (or the directory or repository that holds one)."""
    if path.is_dir():
        found = [path / n for n in _STATUS_FILES if (path / n).is_file()] or discover(path)
        if not found:
            raise BacklogError(path, None, "no sprint-status.yaml here or in BMAD's usual places")
        path = found[0]
    document = parse_yaml(read_text(path), path)
    entries = list(_entries(document.root, path))
    titles = _epic_titles(read_text(path))
    epic_status = {e.epic: e.status for e in entries if e.is_epic and e.epic}
    stories = _stories(entries)
    known: dict[str, str | None] = {task_id: epic for _e, task_id, epic in stories}
    index = _story_files(path, document.data if isinstance(document.data, dict) else {})
    tasks: list[Task] = []
    notes: list[str] = []
    files = [path]
    for entry, task_id, epic in stories:
        source = SourceLocation(path, entry.line)
        story_file = index.get(entry.key)
        body, fields = "", StoryFields()
        if story_file is not None:
            body = read_text(story_file)
            fields = parse_story(body, story_file)
            files.append(story_file)
        tag = slugify(titles[epic]) if epic in titles else None
        metadata = {"bmad_key": entry.key, "epic_status": epic_status.get(epic),
                    "sprint_status_file": str(path)}
        if story_file is not None:
            metadata["story_file"] = str(story_file)
        task, task_notes = story_task(
            task_id,
            epic,
            fields,
            body=body,
            source=source,
            known=known,
            slug_title=_slug_title(entry.key, task_id),
            status_text=entry.status,
            extra_tags=(tag,) if tag else (),
            metadata=metadata,
            bmad=True,
        )
        if story_file is not None and fields.dependencies is not None:
            # Declared in the story file: point errors there, not at the yaml key.
            task = _with_dependency_source(task, story_file, fields.dependencies_line)
        tasks.append(task)
        notes.extend(f"{task.where_dependencies}: {note}" for note in task_notes)
        if entry.status.lower() not in _KNOWN_STATUSES:
            notes.append(
                f"{source}: status {entry.status!r} is not a BMAD status; "
                f"read as {task.status.value}"
            )
    tasks.sort(key=lambda t: story_sort_key(t.id))
    if not tasks:
        notes.append(f"{path}: no stories in development_status yet")
    return Backlog(tasks=tuple(tasks), files=tuple(files), formats=(NAME,), notes=tuple(notes))


@dataclass(frozen=True)
class EpicProgress:
    """Where an epic of a sprint-status file stands: its key and status, whether it is
    written flat (`epic-1: in-progress`), and the statuses of its stories."""

    key: str
    status: str
    flat: bool
    stories: tuple[str, ...]


def epic_progress(text: str, path: Path, story_key: str) -> EpicProgress | None:
    """The epic of the story `story_key` in the sprint-status `text`, or None when the
    file declares no epic for it."""
    entries = list(_entries(parse_yaml(text, path).root, path))
    epic_of = {entry.key: epic for entry, _task_id, epic in _stories(entries)}
    epic = epic_of.get(story_key)
    declared = next((e for e in entries if e.is_epic and e.epic == epic), None)
    if declared is None:
        return None
    statuses = tuple(e.status for e in entries if not e.is_epic and epic_of[e.key] == epic)
    flat = not any(e.epic for e in entries if not e.is_epic and epic_of[e.key] == epic)
    return EpicProgress(declared.key, declared.status, flat, statuses)


def _stories(entries: list[_Entry]) -> list[tuple[_Entry, str, str]]:
    """Each story entry with its task id and its epic."""
    epics = {e.epic for e in entries if e.is_epic and e.epic}
    two_level = {
        f"{int(m['a'])}.{int(m['b'])}"
        for e in entries
        if not e.is_epic
        and (m := _STORY_KEY.match(e.key))
        and not re.match(r"^\d+(?:-|$)", m["rest"] or "")
    }
    stories: list[tuple[_Entry, str, str]] = []
    for entry in entries:
        if entry.is_epic:
            continue
        ids = task_id_for_key(entry.key, epics, two_level)
        assert ids is not None  # `_entries` yields only story keys and epics
        task_id, epic = ids
        stories.append((entry, task_id, entry.epic or epic))
    return stories


@dataclass(frozen=True)
class _Entry:
    """One key of `development_status`: an epic or a story, with its status and line."""

    key: str
    status: str
    line: int
    is_epic: bool
    epic: str | None = None  # the epic it is declared in (nested shape) or names (epic key)


def _entries(root: yaml.Node | None, path: Path) -> Iterator[_Entry]:
    """Epic and story entries of the file, in file order; anything else is an error."""
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise BacklogError(path, line, "expected a mapping with a 'development_status:' key")
    status_map = _value(root, "development_status")
    if status_map is None:
        raise BacklogError(
            path, 1, "expected a 'development_status:' mapping of story keys to statuses"
        )
    if not isinstance(status_map, yaml.MappingNode):
        raise BacklogError(
            path, _line(status_map), "development_status: expected 'key: status' lines"
        )
    for key_node, value_node in status_map.value:
        key = _key(key_node, path)
        epic_found = _EPIC_KEY.match(key)
        if epic_found is not None:
            epic = epic_found["number"].replace("-", ".")
            if isinstance(value_node, yaml.MappingNode):
                yield from _nested_epic(key, epic, value_node, path)
            else:
                yield _Entry(key, _status(value_node, key, path), _line(key_node), True, epic)
        elif key.endswith("-retrospective"):
            continue
        elif _STORY_KEY.match(key):
            yield _Entry(key, _status(value_node, key, path), _line(key_node), False)
        else:
            raise BacklogError(
                path,
                _line(key_node),
                f"development_status: expected a story key like '1-2-login-form', "
                f"'epic-1' or 'epic-1-retrospective', got {key!r}",
            )


def _nested_epic(key: str, epic: str, node: yaml.MappingNode, path: Path) -> Iterator[_Entry]:
    """`epic-1: {status: in-progress, stories: {1-1-x: done}}` (newer v6 layout)."""
    status_node = _value(node, "status")
    status = _status(status_node, key, path) if status_node is not None else "backlog"
    yield _Entry(key, status, _line(node), True, epic)
    stories = _value(node, "stories")
    if stories is None or (
        isinstance(stories, yaml.ScalarNode) and stories.value in ("", "~", "null")
    ):
        return
    if isinstance(stories, yaml.MappingNode):
        pairs = list(stories.value)
    elif isinstance(stories, yaml.SequenceNode) and all(
        isinstance(item, yaml.MappingNode) for item in stories.value
    ):
        pairs = [pair for item in stories.value for pair in item.value]
    else:
        raise BacklogError(path, _line(stories), f"{key}.stories: expected 'key: status' lines")
    for story_key_node, story_value in pairs:
        story_key = _key(story_key_node, path)
        if story_key.endswith("-retrospective"):
            continue
        if not _STORY_KEY.match(story_key):
            raise BacklogError(
                path,
                _line(story_key_node),
                f"{key}.stories: expected a story key like '1-2-login-form', got {story_key!r}",
            )
        yield _Entry(
            story_key, _status(story_value, story_key, path), _line(story_key_node), False, epic
        )


def _value(node: yaml.MappingNode, name: str) -> yaml.Node | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
            return value_node  # type: ignore[no-any-return]
    return None


def _key(node: yaml.Node, path: Path) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise BacklogError(path, _line(node), "development_status: expected a plain key")
    return str(node.value).strip()


def _status(node: yaml.Node, key: str, path: Path) -> str:
    """The status text of a key: a plain scalar, or the `status:` of a mapping."""
    if isinstance(node, yaml.MappingNode):
        inner = _value(node, "status")
        if inner is not None:
            return _status(inner, key, path)
    if isinstance(node, yaml.ScalarNode) and str(node.value).strip():
        return str(node.value).strip()
    raise BacklogError(
        path,
        _line(node),
        f"{key}: expected a status (backlog, drafted, ready-for-dev, in-progress, review, done)",
    )


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _epic_titles(text: str) -> dict[str, str]:
    """`# Epic 3.5: Storage Structure Alignment (Critical ...)` -> {"3.5": "Storage ..."}."""
    titles: dict[str, str] = {}
    for line in text.splitlines():
        found = _EPIC_COMMENT.match(line)
        if found and found["number"] not in titles:
            short = re.split(r"\s+[-–—]\s+|\s*\(", found["title"], maxsplit=1)[0].strip()
            if short:
                titles[found["number"]] = short
    return titles


def _story_files(status_file: Path, data: dict[object, object]) -> dict[str, Path]:
    """Story files by key stem, from the yaml's folder, its `stories/` folder (and their
    `epic-N/` subfolders), and `story_location:` when it resolves to a folder."""
    folders = [status_file.parent, status_file.parent / "stories"]
    location = data.get("story_location")
    if isinstance(location, str) and location.strip():
        relative = location.strip().replace("{project-root}", "").lstrip("/\\")
        for base in [status_file.parent, *list(status_file.parent.parents)[:4]]:
            if relative and (base / relative).is_dir():
                folders.append(base / relative)
                break
    index: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        candidates = [*folder.glob("*.md"), *folder.glob("epic-*/*.md")]
        for candidate in sorted(candidates):
            if candidate.is_file() and _STORY_KEY.match(candidate.stem):
                index.setdefault(candidate.stem, candidate)
    return index


def _slug_title(key: str, task_id: str) -> str | None:
    found = _STORY_KEY.match(key)
    rest = (found["rest"] or "") if found else ""
    if task_id.count(".") == 2:
        rest = re.sub(r"^\d+-?", "", rest)  # the third number is part of the id
    words = rest.replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else None


def _with_dependency_source(task: Task, story_file: Path, line: int | None) -> Task:
    return replace(task, dependencies_source=SourceLocation(story_file, line or 1))
