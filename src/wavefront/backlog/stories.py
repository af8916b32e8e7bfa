"""Markdown stories: one file per story under `docs/stories/` (the story workflow, BMAD v4), or the
`### Story N.M:` sections of one `epics.md` (BMAD v6 planning file).

A story's id comes from its file name (`1.11b.refactor-x.story.md` -> `1.11b`), never from
its heading: headings are prose and collide (`4.5-review-summary.md` is titled "Story 4.5").
The text is read with markdown-it so that labels inside lists, quotes and code
(`- **Dependencies**: axios`) are not taken for the story's own fields. `bmad` reuses
`parse_story` and `resolve_dependencies` for the story files next to `sprint-status.yaml`.
"""

from __future__ import annotations

import functools
import gc
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wavefront.backlog.base import Backlog, each_readable
from wavefront.backlog.statuswords import BMAD_WORDS, story_status
from wavefront.backlog.storytext import (
    DependencyRefs,
    StoryFields,
    dependency_refs,
    parse_story,
    slugify,
)
from wavefront.errors import BacklogError
from wavefront.model import SourceLocation, Task

__all__ = [
    "DESCRIPTION",
    "NAME",
    "DependencyRefs",
    "StoryFields",
    "discover",
    "load",
    "matches",
    "parse_story",
    "read_text",
    "resolve_dependencies",
    "story_id_from_name",
    "story_sort_key",
    "story_task",
]

NAME = "stories"
DESCRIPTION = (
    "markdown stories: docs/stories/<epic>.<story>[letter].<slug>[.story].md "
    "(the story workflow, BMAD v4), or a docs/epics.md with '### Story N.M:' sections"
)

# <epic>.<story>[.<sub-story>][letter][.<slug>][.story].md; the slug is optional so `1.2.md`
# is a story too. A number right after the story number is a sub-story (`4.3.1.story.md`);
# one followed by a hyphen names a document about a story (`4.3.1-course-correction.md`).
_STORY_FILE = re.compile(
    r"^(?P<epic>\d+)\.(?P<number>\d+)(?:\.(?P<sub>\d+)(?=\.))?(?P<letter>[a-z]?)"
    r"(?:\.(?P<slug>(?!\d+-).+?))?(?:\.story)?\.md$",
    re.IGNORECASE,
)
_EPICS_FILE = "epics.md"
_EPIC_HEADING = re.compile(r"^Epic\s+(?P<number>\d+(?:\.\d+)?)\s*[:.\-–—]\s*(?P<title>.*)$", re.I)
_STORY_HEADING = re.compile(
    r"^Story\s+(?P<id>\d+\.\d+(?:-\d+)?[a-z]?)\s*[:.\-–—]\s*(?P<title>.*)$", re.I
)


# Status words repeat across thousands of stories; the mapping is pure, so remember it.
_status = functools.lru_cache(maxsize=512)(story_status)


def matches(path: Path) -> bool:
    """A story file, an `epics.md`, or a directory named `stories` (or holding story files)."""
    if path.is_dir():
        return path.name == "stories" or any(_is_story_name(p.name) for p in path.glob("*.md"))
    return _is_story_name(path.name) or path.name.lower() == _EPICS_FILE


def discover(root: Path) -> list[Path]:
    """`docs/stories/` when it holds stories, else `docs/epics.md` when it has story sections."""
    stories_dir = root / "docs" / "stories"
    if stories_dir.is_dir() and any(_is_story_name(p.name) for p in stories_dir.glob("*.md")):
        return [stories_dir]
    epics = root / "docs" / _EPICS_FILE
    if epics.is_file():
        try:
            text = epics.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return [epics]  # let `load` report why it cannot be read
        if re.search(r"^#{2,6}\s+Story\s+\d+\.\d+", text, re.MULTILINE):
            return [epics]
    return []


def load(path: Path) -> Backlog:
    """Load a stories directory, one story file, or an `epics.md`."""
    if path.is_dir():
        return _load_directory(path)
    if path.name.lower() == _EPICS_FILE:
        return _load_epics_file(path)
    task_id = story_id_from_name(path.name)
    if task_id is None:
        raise BacklogError(
            path,
            1,
            "expected a story file named <epic>.<story>.<slug>.md (e.g. 1.2.login-form.md) "
            "so that its id can be read from the name",
        )
    story = _read_story_file(path, task_id)
    return _backlog([story], [path], known=None)


def story_id_from_name(name: str) -> str | None:
    """`1.11b.refactor-x.story.md` -> `1.11b`, `4.3.1.story.md` -> `4.3.1`; None for
    README.md, `4.5-review-summary.md`, `4.3.1-course-correction-request.md`."""
    found = _STORY_FILE.match(name)
    if found is None:
        return None
    sub = f".{int(found['sub'])}" if found["sub"] else ""
    return f"{int(found['epic'])}.{int(found['number'])}{sub}{found['letter'].lower()}"


def story_sort_key(task_id: str) -> tuple[Any, ...]:
    """Numeric order of story ids: 1.2 < 1.10 < 1.10b < 4.5-1 < 10.1."""
    parts = re.findall(r"\d+|[a-z]+", task_id.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def read_text(path: Path) -> str:
    """The UTF-8 text of `path`; unreadable or undecodable files raise `BacklogError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BacklogError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BacklogError(path, line, "expected UTF-8 text (found undecodable bytes)") from None


def resolve_dependencies(
    task_id: str,
    epic: str | None,
    refs: DependencyRefs,
    known: Mapping[str, str | None] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The dependency ids of a story, and notes about references that could not be resolved.

    Whole-epic references ("Epic 1 completion") become every known story of that epic;
    without `known` (a single file was loaded) they are reported in the notes instead.
    """
    ids: list[str] = [ref for ref in refs.stories if ref != task_id]
    notes: list[str] = [
        f"dependency prose {phrase!r} does not say which way it points; not read as a "
        "dependency (write 'Depends on: ...' or 'Blocks: ...')"
        for phrase in refs.unclear
    ]
    notes += [
        f"dependencies {value!r} name no story; no dependency read (write story ids such as "
        "1.1, or None)"
        for value in refs.unreadable
    ]
    for epic_ref in refs.epics:
        if known is None:
            notes.append(f"depends on all of epic {epic_ref}; load the whole backlog to expand it")
            continue
        if epic_ref == epic:
            notes.append(f"depends on its own epic {epic_ref}; ignored")
            continue
        members = [other for other, other_epic in known.items() if other_epic == epic_ref]
        if not members:
            notes.append(f"depends on epic {epic_ref}, which has no stories in the backlog")
        ids.extend(members)
    return tuple(dict.fromkeys(i for i in ids if i != task_id)), tuple(notes)


@dataclass(frozen=True)
class _Story:
    """A parsed story before its whole-epic references are expanded."""

    task_id: str
    epic: str | None
    path: Path
    text: str
    fields: StoryFields
    line: int
    epic_tag: str | None = None


def _is_story_name(name: str) -> bool:
    return story_id_from_name(name) is not None


def _load_directory(directory: Path) -> Backlog:
    named: list[tuple[Path, str]] = []
    # scandir knows each entry's type without a stat call per file.
    with os.scandir(directory) as entries:
        for entry in entries:
            task_id = story_id_from_name(entry.name) if entry.name.endswith(".md") else None
            if task_id is not None and _is_file(entry):
                named.append((directory / entry.name, task_id))
    if not named:
        raise BacklogError(
            directory, None, "no story files (<epic>.<story>.<slug>.md) in this directory"
        )
    # Thousands of stories make millions of small objects and none of them cycles: the
    # cyclic collector would only walk them again and again while they are made.
    collecting = gc.isenabled()
    gc.disable()
    try:
        stories = each_readable(named, lambda pair: _read_story_file(*pair))
        stories.sort(key=lambda s: (story_sort_key(s.task_id), s.path.name))
        known = {s.task_id: s.epic for s in stories}
        return _backlog(stories, [s.path for s in stories], known)
    finally:
        if collecting:
            gc.enable()


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _read_story_file(path: Path, task_id: str) -> _Story:
    text = read_text(path)
    fields = parse_story(text, path)
    epic = task_id.split(".", 1)[0]
    title_line = fields.title_line or 1
    return _Story(task_id, epic, path, text, fields, title_line)


def _load_epics_file(path: Path) -> Backlog:
    """Every `Story N.M:` heading of an epics file is a task; `Epic N:` headings give epics."""
    text = read_text(path)
    lines = text.splitlines()
    headings = [
        (index, len(found[1]), found[2].strip())
        for index, line in enumerate(lines)
        if (found := re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line))
    ]
    # Raw lines, not markdown-it: real epics files nest ``` fences inside ``` fences, which
    # CommonMark reads as one long code block that swallows the next story headings.
    stories: list[_Story] = []
    epic_number: str | None = None
    epic_title: str | None = None
    epic_level = 0
    for position, (index, level, heading) in enumerate(headings):
        if (epic_found := _EPIC_HEADING.match(heading)) is not None:
            epic_number, epic_title = epic_found["number"], epic_found["title"]
            epic_level = level
            continue
        if level <= epic_level:  # "## Summary" after an epic ends it
            epic_number, epic_title, epic_level = None, None, 0
        story_found = _STORY_HEADING.match(heading)
        if story_found is None:
            continue
        end = next((h[0] for h in headings[position + 1 :] if h[1] <= level), len(lines))
        section = "\n".join(lines[index:end])
        # Blank lines before the section keep markdown-it's line numbers equal to the file's.
        fields = parse_story("\n" * index + section, path)
        task_id = story_found["id"]
        epic = epic_number if epic_number is not None else task_id.split(".", 1)[0]
        fields = _with_title(fields, story_found["title"].strip() or None, index + 1)
        if fields.dependencies is None:
            fields = _bold_prerequisites(fields, lines, index, end)
        tag = slugify(_short_epic_title(epic_title)) if epic_title else None
        stories.append(_Story(task_id, epic, path, section, fields, index + 1, tag))
    if not stories:
        raise BacklogError(
            path, None, "expected '### Story N.M: <title>' sections in an epics file"
        )
    known = {s.task_id: s.epic for s in stories}
    return _backlog(stories, [path], known)


def _bold_prerequisites(fields: StoryFields, lines: list[str], start: int, end: int) -> StoryFields:
    """A `**Prerequisites:** Story 1.1` line that an unbalanced code fence hid from the
    markdown parser (seen in real epics files); only bold labels, so code stays code."""
    for index in range(start, end):
        found = re.match(
            r"^\*\*(?:Prerequisites|Dependencies|Depends on)(?::\*\*|\*\*:)\s*(.+)$",
            lines[index].strip(),
            re.I,
        )
        if found and (refs := dependency_refs(found[1])) is not None:
            return replace(fields, dependencies=refs, dependencies_line=index + 1)
    return fields


def _with_title(fields: StoryFields, title: str | None, line: int) -> StoryFields:
    return replace(fields, title=title or fields.title, title_line=line)


def _short_epic_title(title: str) -> str:
    """An epic's name without its notes: `Auth - POST-MVP (DEFERRED)` -> `Auth`."""
    return re.split(r"\s+[-–—]\s+|\s*\(", title, maxsplit=1)[0].strip()


def _backlog(
    stories: Iterable[_Story], files: list[Path], known: Mapping[str, str | None] | None
) -> Backlog:
    tasks: list[Task] = []
    notes: list[str] = []
    for story in stories:
        task, task_notes = story_task(
            story.task_id,
            story.epic,
            story.fields,
            body=story.text,
            source=SourceLocation(story.path, story.line),
            known=known,
            slug_title=_slug_title(story.path.name),
            extra_tags=(story.epic_tag,) if story.epic_tag else (),
        )
        tasks.append(task)
        notes.extend(f"{task.where_dependencies}: {note}" for note in task_notes)
    return Backlog(tasks=tuple(tasks), files=tuple(files), formats=(NAME,), notes=tuple(notes))


def _slug_title(name: str) -> str | None:
    found = _STORY_FILE.match(name)
    if found is None or not found["slug"]:
        return None
    words = found["slug"].replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else None


def story_task(
    task_id: str,
    epic: str | None,
    fields: StoryFields,
    *,
    body: str,
    source: SourceLocation,
    known: Mapping[str, str | None] | None,
    slug_title: str | None = None,
    status_text: str | None = None,
    extra_tags: tuple[str, ...] = (),
    metadata: Mapping[str, Any] | None = None,
    bmad: bool = False,
) -> tuple[Task, tuple[str, ...]]:
    """Build the `Task` for a parsed story; `status_text` overrides what the story says
    (a sprint-status file is the tracker of record). `bmad` (or a story written on BMAD's
    template) reads the status in BMAD's words. Returns the task and notes."""
    dependencies: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    dependencies_source = None
    if fields.dependencies is not None:
        dependencies, notes = resolve_dependencies(task_id, epic, fields.dependencies, known)
        dependencies_source = SourceLocation(source.path, fields.dependencies_line or source.line)
    raw_status = status_text if status_text is not None else fields.status_text
    tags = tuple(dict.fromkeys(t for t in (*extra_tags, fields.epic_tag) if t))
    extra: dict[str, Any] = dict(metadata or {})
    if fields.dependencies is not None and fields.dependencies.epics:
        extra["epic_dependencies"] = fields.dependencies.epics
    if status_text is not None and fields.status_text is not None:
        extra["story_status_text"] = fields.status_text
    bmad = bmad or fields.bmad_template
    if bmad:
        extra[BMAD_WORDS] = True
    task = Task(
        id=task_id,
        title=fields.title or slug_title or f"Story {task_id}",
        source=source,
        body=body,
        dependencies=dependencies,
        dependencies_source=dependencies_source,
        status=_status(raw_status, bmad=bmad),
        status_text=raw_status,
        epic=epic,
        agent=fields.agent,
        acceptance_criteria=fields.acceptance_criteria,
        deliverables=fields.deliverables,
        files=fields.files,
        estimate=fields.estimate,
        tags=tags,
        metadata=extra,
    )
    return task, notes
