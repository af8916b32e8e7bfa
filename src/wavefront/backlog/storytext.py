"""What a story's markdown says about itself: title, status, dependencies, acceptance
criteria, files, agent and epic.

Shared by the `stories` and `bmad` formats. Structure comes from markdown-it: a label such
as `**Dependencies**: 1.1` counts only in a paragraph of the story itself, not inside a list
item, a quote or a code block, where stories keep notes about libraries and other work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wavefront.backlog.mdblocks import (
    Block,
    BlockEvent,
    flat_blocks,
    markdown_events,
    scan_blocks,
)
from wavefront.backlog.storyrefs import (
    DEPENDENCY_LABELS,
    LABEL,
    DependencyRefs,
    dependency_refs,
    plain,
    section_refs,
)
from wavefront.errors import BacklogError
from wavefront.estimates import parse_estimate
from wavefront.yamlsource import parse_yaml

__all__ = ["DependencyRefs", "StoryFields", "dependency_refs", "parse_story", "slugify"]

_STATUS_LABELS = frozenset({"status", "story status"})
_AGENT_LABELS = frozenset({"agent", "assigned agent", "suggested agent", "assignee agent"})
_BMAD_SECTIONS = frozenset({"dev notes", "dev agent record", "qa results"})
_ESTIMATE_LABELS = frozenset({"estimate", "estimated effort", "effort", "effort estimate",
                              "estimation", "estimated time", "time estimate", "story points",
                              "points", "estimated hours"})
_FILE_SECTION = re.compile(r"^(file list|files\b|deliverables\b)", re.I)
_DELIVERABLES_SECTION = re.compile(r"^deliverables\b", re.I)
_TITLE_PREFIX = re.compile(r"^(?:Story\s+)?\d+(?:[.\-]\d+)*[a-z]?\s*[:.\-–—]\s*(?P<rest>.+)$", re.I)
_LABEL_ONLY = re.compile(r"^(?:\*\*|__)?[A-Za-z][\w /&-]*:?(?:\*\*|__)?:?\s*$")
_CHECKBOX = re.compile(r"^\[[ xX]\]\s*")
_PLAIN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_PATH_TOKEN = re.compile(r"^(?!https?:)[\w.@~{}\[\]+-]*(?:/[\w.@~{}\[\]+-]*)*$")


@dataclass(frozen=True)
class StoryFields:
    """The fields found in one story's text; None/empty where the story says nothing.

    `dependencies` is None when the story has no dependency declaration at all, and
    empty when it says "None". Lines are 1-based lines of the parsed text.
    """

    title: str | None = None
    title_line: int | None = None
    status_text: str | None = None
    dependencies: DependencyRefs | None = None
    dependencies_line: int | None = None
    acceptance_criteria: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    deliverables: tuple[str, ...] = ()
    agent: str | None = None
    epic_tag: str | None = None
    estimate: float | None = None  # hours, or points (see `wavefront.estimates`)
    front_matter: dict[str, Any] = field(default_factory=dict)
    # Written on BMAD's story template (its Dev Notes / Dev Agent Record / QA Results
    # sections): its status words are BMAD's, where Approved means ready to start.
    bmad_template: bool = False


_Block = Block


class _Doc:
    """One story's blocks and lines, with what several fields look up: the headings that
    open sections (and their plain text) and the label lines of the story's paragraphs."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.blocks = _blocks(text)
        self.headings = [
            (position, block, plain(block.text))
            for position, block in enumerate(self.blocks)
            if block.kind == "heading" and not block.quoted
        ]
        self.labels = list(_labels(self.blocks, self.lines))
        # Where each heading's section ends (the position of the next heading of the same
        # or a higher level), found once for every field that reads sections.
        self.section_end: dict[int, int] = {}
        open_headings: list[tuple[int, int]] = []  # (level, position), levels rising
        for position, block, _plain_text in self.headings:
            while open_headings and open_headings[-1][0] >= block.level:
                self.section_end[open_headings.pop()[1]] = position
            open_headings.append((block.level, position))
        for _level, position in open_headings:
            self.section_end[position] = len(self.blocks)


def parse_story(text: str, path: Path) -> StoryFields:
    """Read the fields of one story from its markdown `text` (read from `path`).

    Front matter, when present, must be YAML key/value pairs; its `title`, `status`,
    `dependencies` (or `depends_on`), `agent` and `epic` win over the text.
    """
    front, text = _split_front_matter(text, path)
    doc = _Doc(text)
    title, title_line = _title(doc)
    dependencies, dependencies_line = _dependencies(doc)
    fields = StoryFields(
        title=title,
        title_line=title_line,
        status_text=_status(doc),
        dependencies=dependencies,
        dependencies_line=dependencies_line,
        acceptance_criteria=_acceptance_criteria(doc),
        files=_files(doc, _FILE_SECTION),
        deliverables=_files(doc, _DELIVERABLES_SECTION),
        agent=_agent(doc),
        epic_tag=_epic_tag(doc),
        estimate=_estimate(doc),
        front_matter=front,
        bmad_template=any(block.level == 2 and text.lower().strip(" :") in _BMAD_SECTIONS
                          for _position, block, text in doc.headings),
    )
    return _apply_front_matter(fields, front) if front else fields


def slugify(text: str) -> str:
    """A tag from a title: `CLI Tool & Developer Experience` -> `cli-tool-developer-experience`."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def _blocks(text: str) -> list[_Block]:
    """The blocks of `text` in order, each with its list depth and line range."""
    blocks = flat_blocks(text)
    if blocks is not None:
        return blocks
    events = scan_blocks(text, try_flat=False)
    if events is None:  # a construct the line scanner leaves to markdown-it
        events = markdown_events(text)
    return _blocks_from(events)


def _blocks_from(events: list[BlockEvent]) -> list[_Block]:
    """Blocks from markdown-it's (or the line scanner's) block events."""
    blocks: list[_Block] = []
    list_depth = 0
    quote_depth = 0
    open_items: list[int] = []  # indexes into `blocks` of list items still open
    filled: set[int] = set()  # list items whose first paragraph was seen
    for kind, start, end, level, content in events:
        # Most frequent kinds first.
        if kind == "paragraph":
            if open_items and open_items[-1] not in filled:
                item = blocks[open_items[-1]]
                blocks[open_items[-1]] = _Block(
                    "item", item.start, item.end, item.depth, item.quoted, text=content
                )
                filled.add(open_items[-1])
            blocks.append(
                _Block("paragraph", start, end, list_depth, quote_depth > 0, text=content)
            )
        elif kind == "item_open":
            blocks.append(_Block("item", start, end, list_depth, quote_depth > 0))
            open_items.append(len(blocks) - 1)
        elif kind == "item_close":
            open_items.pop()
        elif kind == "heading":
            blocks.append(
                _Block("heading", start, end, list_depth, quote_depth > 0, level, content.strip())
            )
        elif kind == "list_open":
            list_depth += 1
        elif kind == "list_close":
            list_depth -= 1
        elif kind == "quote_open":
            quote_depth += 1
        elif kind == "quote_close":
            quote_depth -= 1
        elif kind in ("code", "hr"):
            blocks.append(_Block(kind, start, end, list_depth, quote_depth > 0, text=content))
    return blocks


def _sections(doc: _Doc, wanted: Callable[[str], bool]) -> Iterator[tuple[_Block, list[_Block]]]:
    """Each heading whose text `wanted` accepts, with the blocks up to the next heading of
    the same or a higher level."""
    for position, block, heading_text in doc.headings:
        if not wanted(heading_text):
            continue
        yield block, doc.blocks[position + 1 : doc.section_end[position]]


def _labels(blocks: list[_Block], lines: list[str]) -> Iterator[tuple[int, str, str]]:
    """(0-based line, lower-case label, value) of label lines in the story's own paragraphs."""
    for block in blocks:
        if block.kind != "paragraph" or block.depth or block.quoted:
            continue
        for index in range(block.start, min(block.end, len(lines))):
            # Every label has a colon; most lines do not, and the match is the cost.
            found = ":" in lines[index] and LABEL.match(lines[index].strip())
            if found:
                yield index, found["label"].strip().lower(), found["value"].strip()


def _title(doc: _Doc) -> tuple[str | None, int | None]:
    """The first H1 without its `Story 1.2:` prefix."""
    for _position, block, text in doc.headings:
        if block.level == 1:
            found = _TITLE_PREFIX.match(text)
            return (found["rest"].strip() if found else text) or None, block.start + 1
    return None, None


def _status(doc: _Doc) -> str | None:
    """A `## Status` section's first line, else the first `**Status:**` label line."""
    for heading, inside in _sections(doc, lambda t: t.lower().rstrip(":") in _STATUS_LABELS):
        if heading.level > 2:
            continue  # `### status` is more often a command's name than the story's state
        for block in inside:
            if block.kind in ("paragraph", "item") and block.text.strip():
                first = block.text.strip().splitlines()[0]
                labelled = LABEL.match(first)
                return plain(labelled["value"] if labelled else first) or None
    for _line, label, value in doc.labels:
        if label in _STATUS_LABELS and value:
            return plain(value) or None
    return None


def _dependencies(doc: _Doc) -> tuple[DependencyRefs | None, int | None]:
    """A `**Dependencies**: 0.1, 1.1` line (or Depends on / Prerequisites), else a
    `Dependencies` section, where only what follows "Depends on"-like labels counts and
    "Blocks:"/"Enables:" parts are left out. The first that names stories or says "None" wins.
    """
    unreadable: tuple[int, str] | None = None
    for line, label, value in doc.labels:
        if label in DEPENDENCY_LABELS and value:
            refs = dependency_refs(value)
            if refs is not None:
                return refs, line + 1
            unreadable = unreadable or (line + 1, plain(value))
    for heading, inside in _sections(doc, lambda t: t.lower().startswith("dependenc")):
        start = heading.end
        end = max((b.end for b in inside), default=start)
        refs = section_refs(doc.lines[start:end])
        if refs is not None:
            return refs, heading.start + 1
    if unreadable is not None:
        return DependencyRefs(unreadable=(unreadable[1],)), unreadable[0]
    return None, None


def _acceptance_criteria(doc: _Doc) -> tuple[str, ...]:
    """Items under an `Acceptance Criteria` heading (or after an `**Acceptance Criteria:**`
    label, as in epics files): list items, each code block (gherkin) whole, or paragraphs."""
    regions = [
        inside
        for _h, inside in _sections(doc, lambda t: t.lower().startswith("acceptance criteria"))
    ]
    if not regions:
        regions = [_after_label(doc.blocks, "acceptance criteria")]
    criteria: list[str] = []
    for inside in regions:
        items = [b for b in inside if b.kind == "item" and not b.quoted]
        top = min((b.depth for b in items), default=0)
        for block in inside:
            if block.kind == "item" and block.depth == top and block.text.strip():
                criteria.append(_criterion(block.text))
            elif block.kind == "code" and block.depth == 0 and block.text.strip():
                criteria.append(block.text.strip())
        if not criteria:
            criteria.extend(
                plain(b.text)
                for b in inside
                if b.kind == "paragraph" and not b.depth and b.text.strip()
            )
    return tuple(c for c in criteria if c)


def _after_label(blocks: list[_Block], label: str) -> list[_Block]:
    """The blocks after a paragraph that is only `**<label>:**`, up to the next such label
    paragraph, heading or rule."""
    region: list[_Block] = []
    collecting = False
    for block in blocks:
        is_label = (
            block.kind == "paragraph"
            and not block.depth
            and bool(_LABEL_ONLY.match(block.text.strip()))
        )
        if collecting and (block.kind in ("heading", "hr") or is_label):
            break
        if collecting:
            region.append(block)
        elif is_label and plain(block.text).rstrip(":").strip().lower() == label:
            collecting = True
    return region


def _criterion(text: str) -> str:
    first = " ".join(part.strip() for part in text.strip().splitlines())
    return plain(_CHECKBOX.sub("", first))


def _files(doc: _Doc, section: re.Pattern[str]) -> tuple[str, ...]:
    """Paths named by the list items of file-list sections (`### File List`, `Files to
    Create`, `Deliverables`): backticked, linked or plain, before any ` - note`."""
    paths: list[str] = []
    for heading, inside in _sections(doc, lambda t: bool(section.match(t))):
        if "validation" in heading.text.lower():
            continue
        items = [b for b in inside if b.kind == "item" and not b.quoted]
        top = min((b.depth for b in items), default=0)
        for item in items:
            if item.depth == top:
                paths.extend(_paths_in(item.text))
    return tuple(dict.fromkeys(paths))


def _paths_in(text: str) -> list[str]:
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = _CHECKBOX.sub("", first)
    first = _PLAIN_LINK.sub(r"\1", first)
    first = first.replace("**", "")
    # Notes follow a dash, a parenthesis or a colon after the path(s).
    head = re.split(r"\s+[-–—]\s+|\s+\(|:\s", first, maxsplit=1)[0]
    found: list[str] = []
    for raw in re.split(r"[,\s]+", head):
        token = raw.strip("`'\"*;:").removeprefix("./")
        if not token or ".." in token.split("/") or not _PATH_TOKEN.match(token):
            continue
        if "/" in token or re.search(r"\.[A-Za-z0-9]{1,10}$", token):
            found.append(token)
    return found


def _agent(doc: _Doc) -> str | None:
    """An `**Agent**: name` line in the story's header (before its second `##` section):
    agent names further down are records of who did past work."""
    h2 = [block.start for _p, block, _t in doc.headings if block.level <= 2]
    limit = h2[1] if len(h2) > 1 else len(doc.lines)
    for line, label, value in doc.labels:
        if line < limit and label in _AGENT_LABELS and value:
            name = re.split(r"\s*\(", plain(value), maxsplit=1)[0].strip()
            return name or None
    return None


def _estimate(doc: _Doc) -> float | None:
    """The first `**Estimate:** 3h`-like label line (Effort, Story Points, ...) that holds a
    size: "4 sessions (14-18 hours)" is 16 hours, "5" is 5 points."""
    for _line, label, value in doc.labels:
        if label in _ESTIMATE_LABELS and value:
            size = parse_estimate(plain(value))
            if size is not None:
                return size
    return None


def _epic_tag(doc: _Doc) -> str | None:
    """`**Epic:** 4 - End-to-End Testing` -> `end-to-end-testing` (scope `epic:<slug>`)."""
    for _line, label, value in doc.labels:
        if label != "epic" or not value:
            continue
        text = plain(value)
        found = re.match(r"^(?:Epic\s+)?[\d.]+\s*(?:[-:–—]\s*)?(?P<title>.*)$", text, re.I)
        title = found["title"] if found else text
        title = re.split(r"\s+[-–—]\s+|\s*\(", title, maxsplit=1)[0]
        return slugify(title) or None
    return None


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """YAML front matter (`---` ... `---` at the top) and the text with it blanked out, so
    that line numbers still match the file."""
    if not text.startswith("---"):
        return {}, text
    found = re.match(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?^---[ \t]*$", text, re.S | re.M)
    if found is None:
        return {}, text
    inner = found[1] if found[1].strip() else ""
    try:
        document = parse_yaml(inner, path)
    except BacklogError as exc:
        # The YAML starts on the file's second line.
        line = exc.line + 1 if exc.line else 1
        raise BacklogError(path, line, f"front matter: {exc.reason}") from None
    data = document.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BacklogError(path, 2, "front matter: expected 'key: value' lines between the '---'")
    blanked = "\n" * found.group(0).count("\n") + text[found.end() :]
    return {str(k): v for k, v in data.items()}, blanked


def _apply_front_matter(fields: StoryFields, front: dict[str, Any]) -> StoryFields:
    changes: dict[str, Any] = {}
    if isinstance(front.get("title"), str) and front["title"].strip():
        changes["title"] = front["title"].strip()
    if front.get("status") is not None:
        changes["status_text"] = str(front["status"])
    if isinstance(front.get("agent"), str) and front["agent"].strip():
        changes["agent"] = front["agent"].strip()
    if front.get("estimate") is not None:
        changes["estimate"] = parse_estimate(str(front["estimate"])) or fields.estimate
    if front.get("epic") is not None:
        changes["epic_tag"] = slugify(str(front["epic"])) or fields.epic_tag
    raw = front.get("dependencies", front.get("depends_on"))
    if raw is not None:
        values = raw if isinstance(raw, list) else [raw]
        refs = dependency_refs(", ".join(str(v) for v in values))
        changes["dependencies"] = refs if refs is not None else DependencyRefs()
        changes["dependencies_line"] = 1
    return replace(fields, **changes)
