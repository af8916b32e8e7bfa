"""Which stories and epics a story's dependency text names, and in which direction.

"Blocked by 1.1", "requires Epic 2" and "1.3 must be done first" are dependencies;
"blocks 2.1" and "enables 3.1" point at later stories and are not; "related to 1.4" says
neither and is reported, never guessed. Shared by the story and BMAD formats through
`storytext`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "DEPENDENCY_LABELS",
    "LABEL",
    "DependencyRefs",
    "dependency_refs",
    "plain",
    "section_refs",
]

# `**Label**: value`, `**Label:** value` or a plain `Label: value` at the start of a line.
LABEL = re.compile(
    r"^(?:\*\*|__)?(?P<label>[A-Za-z][A-Za-z /&-]{0,40}?)"
    r"(?::(?:\*\*|__)|(?:\*\*|__)?:)\s*(?P<value>.*)$"
)
_STORY_REF = re.compile(r"(?<![\w.])\d+\.\d+(?:-\d+(?![.\d]))?[a-z]?(?![\w])(?!\.\d)")
_EPIC_REF = re.compile(
    r"\bEpics?\s+(?P<first>\d+)(?:\s*(?:-|–|to|through)\s*(?P<last>\d+))?(?![\d.])", re.I
)
# Words that give a dependency phrase its direction. A postfix phrase ("1.1 must be done
# first") makes its whole sentence incoming; the others govern the ids after them, up to
# the next such word.
_WAITS_POSTFIX = re.compile(
    r"\b(?:must|should|needs? to|to) be (?:completed|complete|done|finished|merged|in place)"
    r"(?: first| before)?\b|\b(?:completed|done) first\b",
    re.I,
)
_DIRECTION_WORD = re.compile(
    r"(?P<incoming>\bblocked by\b|\bdepends? (?:up)?on\b|\brequires?\b|\brequired\b(?! by)"
    r"|\bafter\b|\bneeds?\b|\bbuilds? (?:up)?on\b|\bwaits? for\b|\bfollows?\b"
    r"|\bprerequisites?\b(?! (?:for|of|to)))"
    r"|(?P<outgoing>\bblocks\b|\bblocking\b|\bunblocks\b|\benables?\b|\bbefore\b"
    r"|\brequired by\b|\bneeded by\b|\bprerequisite (?:for|of|to)\b|\bfollowed by\b)"
    r"|(?P<unclear>\brelated\b|\brelates\b|\bsee\b|\bsimilar\b|\bcf\.?|\bparallel\b"
    r"|\bconflicts?\b|\boverlaps?\b)",
    re.I,
)
_SENTENCE_END = re.compile(r"(?:[.;!?](?=\s|$)|\n)+")


def _directed_parts(text: str) -> Iterator[tuple[str, str]]:
    """The phrases of a dependency value, each with its direction: "incoming" (what this
    story waits for; also a phrase with no direction word, since the label said it),
    "outgoing" or "unclear"."""
    for sentence in _SENTENCE_END.split(text):
        if _WAITS_POSTFIX.search(sentence):
            yield sentence, "incoming"
            continue
        marks = list(_DIRECTION_WORD.finditer(sentence))
        if not marks:
            yield sentence, "incoming"
            continue
        yield sentence[: marks[0].start()], "incoming"
        for mark, following in zip(marks, [*marks[1:], None], strict=True):
            end = following.start() if following is not None else len(sentence)
            yield sentence[mark.start() : end], str(mark.lastgroup)


_NONE = re.compile(r"^(?:(?:none|n/?a|nothing|no dependencies)\b|[-—–]\s*$)", re.I)
DEPENDENCY_LABELS = frozenset(
    {
        "dependencies",
        "dependency",
        "depends on",
        "prerequisites",
        "prerequisite",
        "blocked by",
        "requires",
        "required stories",
    }
)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"(\*\*|__|`)")


@dataclass(frozen=True)
class DependencyRefs:
    """Story ids a story names as its dependencies, and whole epics it waits for."""

    stories: tuple[str, ...] = ()
    epics: tuple[str, ...] = ()
    # Phrases naming stories whose direction could not be read ("related to 1.1"): reported,
    # never guessed into a dependency.
    unclear: tuple[str, ...] = ()
    # A declaration that names nothing readable (`TBD`, `ASAP`, `1-1`): reported, so a
    # dependency is never dropped without a word.
    unreadable: tuple[str, ...] = ()


def plain(text: str) -> str:
    """Markdown emphasis, code marks and links reduced to their words."""
    if "[" in text:
        text = _LINK.sub(r"\1", text)
    if "**" in text or "__" in text or "`" in text:
        text = _MARKS.sub("", text)
    return text.strip()


def section_refs(section: list[str]) -> DependencyRefs | None:
    counted: list[str] = []
    counting = True  # text before any label counts
    for raw in section:
        line = raw.strip().lstrip("-*+ ").strip()
        found = LABEL.match(line)
        if found:
            counting = found["label"].strip().lower() in DEPENDENCY_LABELS
            line = found["value"]
        if counting and line:
            counted.append(line)
    if not counted:
        return None
    stories: list[str] = []
    epics: list[str] = []
    unclear: list[str] = []
    said_something = False
    for text in counted:
        refs = dependency_refs(text)
        if refs is None:
            continue
        said_something = True
        stories.extend(refs.stories)
        epics.extend(refs.epics)
        unclear.extend(refs.unclear)
    if said_something:
        return DependencyRefs(
            tuple(dict.fromkeys(stories)), tuple(dict.fromkeys(epics)), tuple(unclear)
        )
    return None


def dependency_refs(value: str) -> DependencyRefs | None:
    """The story and epic ids a dependency value says this story waits for; empty refs for
    "None" or for a value that names only stories this one blocks; None when the value
    names nothing recognisable.

    Prose is read for direction: "blocked by", "requires", "after", "must be completed
    first" point at dependencies; "blocks", "enables", "before" point at later stories,
    which are not dependencies. A phrase naming stories in words that say neither
    ("related to 1.1") is kept in `unclear`.
    """
    text = plain(value)
    stories: list[str] = []
    epics: list[str] = []
    unclear: list[str] = []
    named_any = False
    for part, direction in _directed_parts(text):
        part_stories = _STORY_REF.findall(part)
        part_epics = [
            str(n)
            for found in _EPIC_REF.finditer(part)
            for n in range(
                int(found["first"]),
                min(int(found["last"] or found["first"]), int(found["first"]) + 99) + 1,
            )
        ]
        if not (part_stories or part_epics):
            continue
        named_any = True
        if direction == "incoming":
            stories.extend(part_stories)
            epics.extend(part_epics)
        elif direction == "unclear":
            unclear.append(part.strip(" ,;."))
    if named_any:
        return DependencyRefs(
            tuple(dict.fromkeys(stories)), tuple(dict.fromkeys(epics)), tuple(unclear)
        )
    # "**Dependencies**: 0 (none)" counts as none too.
    if _NONE.match(text) or re.match(r"^0\b", text):
        return DependencyRefs()
    return None


