"""spec-kit `specs/<feature>/tasks.md`: checklist lines such as
`- [ ] T005 [P] [US1] Create the parser in src/parser.py` under `## Phase N: Title` headings.

Ids: a file under `specs/<NNN-name>/` prefixes its task ids with the feature number
(`001/T005`), always, so ids do not change when a second feature appears; a `tasks.md`
elsewhere keeps the bare ids. `[x]`/`[X]` is done; an open box whose text says
`(SKIPPED - ...)`, `(DEFERRED ...)`, `(COVERED ...)` is skipped. `[US1]` and other bracket
labels become tags, `[P]` marks a parallel task, paths named in the text become `files`.

Dependencies follow spec-kit's own rule -- phases run in order, tasks marked [P] may run in
parallel -- made into a graph:

- each phase (a level-1 or level-2 heading section holding tasks) waits for the previous one,
  unless the file says which numbered phases it depends on: `**Phase 7 (...)**: Depends on
  Phases 5+6`, `**Setup (Phase 1)**: No dependencies`, or a `**Dependencies**: Phase 2
  complete` line inside the phase. Notes naming no phase number ("Depends on US1") leave
  the default;
- within a phase a task without [P] waits for every task before it; a [P] task waits only
  for the last task without [P] before it (or the phase's start); tasks that a note names
  together as running "in parallel" (`T010, T011 can be developed in parallel`) count as [P];
- notes that order task ids (`T003-T005 ... after T001-T002`, `T013-T014 before T015`) add
  those edges, when they point backwards in the file and are not already implied; an edge
  pointing forwards would contradict the phase order and is reported in `Backlog.notes`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from wavefront.backlog.base import Backlog, each_readable
from wavefront.backlog.jsonsource import read_text
from wavefront.errors import BacklogError
from wavefront.model import SourceLocation, Task, TaskStatus

__all__ = ["DESCRIPTION", "NAME", "discover", "extract_paths", "load", "matches"]

NAME = "speckit"
DESCRIPTION = "spec-kit specs/<feature>/tasks.md checklists (phases in order, [P] in parallel)"

_TASK = re.compile(r"\[([ xX])\]\s+(?:\*\*)?(T\d+[a-z]?)\b(?:\*\*)?[:.]?\s*(.*)", re.S)
_MARKER = re.compile(r"\s*\[([^\]\n]{1,20})\]")
_PHASE_HEADING = re.compile(r"Phase\s+(\d+(?:\.\d+)*)\b", re.I)
_OPEN_STATUS = re.compile(
    r"\((SKIPPED|DEFERRED|COVERED|OPTIONAL|N/A|CANCELL?ED|BLOCKED|DONE|COMPLETED?)\b"
)
_OPEN_STATUSES = {
    "BLOCKED": TaskStatus.BLOCKED,
    "DONE": TaskStatus.DONE,
    "COMPLETE": TaskStatus.DONE,
    "COMPLETED": TaskStatus.DONE,
    "CANCELLED": TaskStatus.CANCELLED,
    "CANCELED": TaskStatus.CANCELLED,
}
_LABEL = re.compile(r"\*\*([^*\n]+?)\*\*\s*:?\s*(.*)", re.S)
_PHASE_IN_LABEL = re.compile(r"\bPhase\s+(\d+(?:\.\d+)*)\b(?!\s*\+)", re.I)
_PHASE_REFS = re.compile(r"\bPhases?\s+(\d+(?:\s*(?:[-–+,&]|and)\s*\d+)*)", re.I)
_DEPENDENCIES_FIELD = re.compile(r"\*\*Dependencies\*\*\s*:\s*([^|\n]*)", re.I)
_TASK_REF = re.compile(r"\bT(\d+)(?:\s*[-–]\s*T(\d+))?\b")
_NO_DEPENDENCIES = re.compile(r"^\s*(?:none\b|no dependencies\b)", re.I)

# Extensions that make a bare word (no slash) a file name; a word with a slash needs any
# extension or a trailing slash. Keeps "e.g." and "6.1.0" out of `files`.
# fmt: off
_FILE_EXTENSIONS = frozenset({
    "py", "pyi", "rs", "swift", "ts", "tsx", "js", "jsx", "mjs", "cjs", "go", "java", "kt",
    "kts", "rb", "php", "c", "h", "cc", "cpp", "hpp", "cs", "m", "mm", "md", "mdx", "rst",
    "txt", "toml", "yml", "yaml", "json", "jsonc", "sql", "sh", "bash", "zsh", "ps1", "html",
    "htm", "css", "scss", "vue", "svelte", "lock", "cfg", "ini", "xml", "gradle", "proto",
    "graphql", "env", "conf", "tf", "dart", "ex", "exs", "erl", "hs", "ml", "lua", "r",
})
# fmt: on
_WORD = re.compile(r"[A-Za-z0-9_.\-/@+]+")


@dataclass
class _Item:
    local_id: str
    line: int
    checked: bool
    text: str
    phase: int
    parallel: bool = False
    tags: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)


@dataclass
class _Phase:
    key: str | None
    title: str
    line: int
    items: list[_Item] = field(default_factory=list)
    explicit: set[str] | None = None


@dataclass
class _Note:
    line: int
    text: str
    phase: int


def matches(path: Path) -> bool:
    return path.name == "tasks.md" or "specs" in path.parts


def discover(root: Path) -> list[Path]:
    return sorted(path for path in root.glob("specs/*/tasks.md") if path.is_file())


def load(path: Path) -> Backlog:
    """Load one `tasks.md`, a feature folder, `specs/`, or a project root (every feature)."""
    if path.is_dir():
        if (path / "tasks.md").is_file():
            files = [path / "tasks.md"]
        else:
            files = sorted(p for p in path.glob("*/tasks.md") if p.is_file()) or discover(path)
        if not files:
            raise BacklogError(
                path, None, "no tasks.md here or in its folders (expected specs/<feature>/tasks.md)"
            )
        return Backlog.merge(each_readable(files, _load_file))
    return _load_file(path)


def _load_file(path: Path) -> Backlog:
    remarks: list[str] = []
    phases, notes = _parse(read_text(path), path, remarks)
    items = [item for phase in phases for item in phase.items]
    prefix = _feature_prefix(path)
    if not items:
        return Backlog(tasks=(), files=(path,), formats=(NAME,), notes=(f"{path}: no tasks found",))
    remarks.extend(_derive_dependencies(phases, notes, path))
    feature = path.parent.name if prefix else None
    tasks = tuple(_make_task(item, phases[item.phase], path, prefix, feature) for item in items)
    return Backlog(tasks=tasks, files=(path,), formats=(NAME,), notes=tuple(remarks))


def _feature_prefix(path: Path) -> str | None:
    folder = path.parent
    if folder.parent.name != "specs":
        return None
    number = re.match(r"(\d+)[-_]", folder.name)
    return number.group(1) if number else folder.name


def _parse(text: str, path: Path, remarks: list[str]) -> tuple[list[_Phase], list[_Note]]:
    """Phases with their task items, and every other paragraph or list item as a note."""
    phases = [_Phase(key=None, title="", line=1)]
    notes: list[_Note] = []
    seen: dict[str, int] = {}
    tokens = MarkdownIt("commonmark").parse(text)
    heading_level = 0
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
            continue
        if token.type == "heading_close":
            heading_level = 0
            continue
        if token.type != "inline" or token.map is None:
            continue
        line = token.map[0] + 1
        content = token.content.strip()
        if heading_level:
            if heading_level <= 2:
                key = _PHASE_HEADING.match(content)
                phases.append(_Phase(key=key.group(1) if key else None, title=content, line=line))
            continue
        match = _TASK.match(content)
        if match is None:
            notes.append(_Note(line=line, text=content, phase=len(phases) - 1))
            continue
        box, local_id, rest = match.groups()
        if local_id in seen:
            # Real files do this (a renumbering slip); both tasks are kept, the later one
            # renamed, and the note says so. References by id mean the first.
            first_line = seen[local_id]
            count = sum(1 for key in seen if key == local_id or key.startswith(local_id + "-"))
            renamed = f"{local_id}-{count + 1}"
            remarks.append(
                f"{path}:{line}: {local_id} is declared again (first on line {first_line}); "
                f"this one is {renamed}"
            )
            local_id = renamed
        seen[local_id] = line
        item = _Item(
            local_id=local_id, line=line, checked=box != " ", text="", phase=len(phases) - 1
        )
        while marker := _MARKER.match(rest):
            label = marker.group(1).strip()
            if label.upper() == "P":
                item.parallel = True
            elif label:
                item.tags.append(label)
            rest = rest[marker.end() :]
        item.text = rest.strip()
        phases[-1].items.append(item)
    return phases, notes


def _derive_dependencies(phases: list[_Phase], notes: list[_Note], path: Path) -> list[str]:
    """Fill each item's `dependencies` (local ids) by the rule in the module docstring."""
    remarks: list[str] = []
    by_id = {item.local_id: item for phase in phases for item in phase.items}
    order = {local_id: index for index, local_id in enumerate(by_id)}
    index_of_key = {phase.key: index for index, phase in enumerate(phases) if phase.key}

    for note in notes:
        _read_phase_note(note, phases, index_of_key)
        _read_parallel_note(note, by_id)

    exits: list[list[str]] = []
    for index, phase in enumerate(phases):
        if phase.explicit is None:
            entry = exits[index - 1] if index else []
        else:
            entry = []
            for key in sorted(phase.explicit, key=lambda k: index_of_key.get(k, -1)):
                target = index_of_key.get(key)
                if target is None or target >= index:
                    remarks.append(
                        f"{path}:{phase.line}: ignored dependency of {phase.title!r} on "
                        f"Phase {key} (not an earlier phase of this file)"
                    )
                    continue
                entry.extend(exits[target])
            entry = list(dict.fromkeys(entry))
        barrier, since = entry, []
        for item in phase.items:
            if item.parallel:
                item.dependencies = list(barrier)
                since.append(item.local_id)
            else:
                # Every [P] task since the barrier already waits for the barrier.
                item.dependencies = list(since or barrier)
                barrier, since = [item.local_id], []
        exits.append(since or barrier if phase.items else entry)

    for note in notes:
        for dependent, dependency in _ordering_edges(note.text, by_id):
            if order[dependency] >= order[dependent]:
                remarks.append(
                    f"{path}:{note.line}: ignored '{dependent} after {dependency}' "
                    f"({dependency} comes later in the file)"
                )
            elif not _reaches(by_id, dependent, dependency):
                by_id[dependent].dependencies.append(dependency)
    return remarks


def _read_phase_note(note: _Note, phases: list[_Phase], index_of_key: dict[str, int]) -> None:
    """Record a phase's explicit predecessors when `note` states them."""
    target: int | None = None
    statement: str | None = None
    field_match = _DEPENDENCIES_FIELD.search(note.text)
    if field_match and phases[note.phase].key is not None:
        target, statement = note.phase, field_match.group(1)
    else:
        label = _LABEL.match(note.text)
        if label:
            named = _PHASE_IN_LABEL.search(label.group(1))
            rest = label.group(2)
            depends = re.search(r"\bdepends?\s+on\b(.*)", rest, re.I | re.S)
            if named and named.group(1) in index_of_key:
                if _NO_DEPENDENCIES.match(rest):
                    target, statement = index_of_key[named.group(1)], "none"
                elif depends:
                    target, statement = index_of_key[named.group(1)], depends.group(1)
    if target is None or statement is None:
        return
    if _NO_DEPENDENCIES.match(statement):
        refs: set[str] = set()
    else:
        refs = set(_phase_refs(statement))
        if not refs:
            return  # names no phase number ("all user stories"): keep the default order
    phase = phases[target]
    phase.explicit = refs if phase.explicit is None else phase.explicit | refs


def _phase_refs(text: str) -> Iterator[str]:
    for match in _PHASE_REFS.finditer(text):
        parts = re.split(r"\s*([-–+,&]|and)\s*", match.group(1))
        numbers, separators = parts[0::2], parts[1::2]
        yield numbers[0]
        for separator, number in zip(separators, numbers[1:], strict=True):
            if separator in "-–" and int(number) > int(numbers[0]):
                yield from (str(n) for n in range(int(numbers[0]) + 1, int(number) + 1))
            else:
                yield number


def _task_refs(text: str, by_id: dict[str, _Item]) -> list[str]:
    found: list[str] = []
    numbered = {int(local_id[1:]): local_id for local_id in by_id if local_id[1:].isdigit()}
    for match in _TASK_REF.finditer(text):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last - first > 500:  # a typo, not a range anyone means
            last = first
        found.extend(numbered[n] for n in range(first, last + 1) if n in numbered)
    return list(dict.fromkeys(found))


def _read_parallel_note(note: _Note, by_id: dict[str, _Item]) -> None:
    """Tasks of one phase that a note names together as parallel are treated as [P]."""
    if not re.search(r"\bparallel\b|\bsimultaneous", note.text, re.I):
        return
    named = _task_refs(re.split(r"\bafter\b", note.text, maxsplit=1, flags=re.I)[0], by_id)
    if len(named) >= 2 and len({by_id[n].phase for n in named}) == 1:
        for local_id in named:
            by_id[local_id].parallel = True


def _ordering_edges(text: str, by_id: dict[str, _Item]) -> Iterable[tuple[str, str]]:
    """(dependent, dependency) pairs from "A after B" and "A before B" notes."""
    for word, flip in (("after", False), ("before", True)):
        parts = re.split(rf"\b{word}\b", text, maxsplit=1, flags=re.I)
        if len(parts) != 2:
            continue
        left, right = _task_refs(parts[0], by_id), _task_refs(parts[1], by_id)
        for a in left:
            for b in right:
                if a != b:
                    yield (b, a) if flip else (a, b)


def _reaches(by_id: dict[str, _Item], start: str, goal: str) -> bool:
    """Whether `goal` is already among `start`'s dependencies, directly or through others."""
    stack, seen = [start], set()
    while stack:
        current = stack.pop()
        for dep in by_id[current].dependencies:
            if dep == goal:
                return True
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return False


def _status(item: _Item) -> tuple[TaskStatus, str]:
    if item.checked:
        return TaskStatus.DONE, "x"
    word = _OPEN_STATUS.search(item.text)
    if word is None:
        return TaskStatus.PENDING, " "
    return _OPEN_STATUSES.get(word.group(1), TaskStatus.SKIPPED), word.group(1)


def extract_paths(text: str) -> tuple[str, ...]:
    """File and folder paths named in free text (`src/x.py`, `Sources/App/`, `README.md`)."""
    found: list[str] = []
    for match in _WORD.finditer(text.replace("`", " ")):
        word = match.group(0).rstrip(".,:;")
        if "://" in text[max(0, match.start() - 8) : match.end()] or word.startswith(("@", "-")):
            continue
        stem, dot, extension = word.rpartition(".")
        has_extension = bool(dot and stem and re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,7}", extension))
        if "/" in word:
            if word.strip("/") and (word.endswith("/") or has_extension) and "//" not in word:
                found.append(word)
        elif has_extension and extension.lower() in _FILE_EXTENSIONS and not stem.endswith("."):
            found.append(word)
        elif re.fullmatch(r"\.[A-Za-z][\w-]*", word) and len(word) > 3:
            found.append(word)  # dotfiles such as .gitignore
    return tuple(dict.fromkeys(found))


def _make_task(
    item: _Item, phase: _Phase, path: Path, prefix: str | None, feature: str | None
) -> Task:
    def full(local_id: str) -> str:
        return f"{prefix}/{local_id}" if prefix else local_id

    status, status_text = _status(item)
    first_line = item.text.splitlines()[0].strip() if item.text else item.local_id
    epic_name = f"Phase {phase.key}" if phase.key else phase.title or None
    epic = f"{prefix}/{epic_name}" if prefix and epic_name else epic_name
    metadata: dict[str, Any] = {
        "local_id": item.local_id,
        "phase_title": phase.title,
        "parallel_marker": item.parallel,
    }
    if phase.key:
        metadata["phase"] = phase.key
    if feature:
        metadata["feature"] = feature
    stories = [tag for tag in item.tags if re.fullmatch(r"US\d+", tag)]
    if stories:
        metadata["user_story"] = stories[0]
    return Task(
        id=full(item.local_id),
        title=first_line,
        source=SourceLocation(path, item.line),
        body=item.text,
        dependencies=tuple(full(dep) for dep in item.dependencies),
        status=status,
        status_text=status_text,
        epic=epic,
        files=extract_paths(item.text),
        # The [P] rule is already in the graph; `parallel=False` would also keep the task
        # apart from other phases' work, which spec-kit does not ask for.
        parallel=True,
        tags=tuple(item.tags),
        metadata=metadata,
    )
