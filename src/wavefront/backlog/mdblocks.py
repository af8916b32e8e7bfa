"""The block structure of a markdown story, fast: headings, paragraphs, lists, code, rules.

`storytext` needs only where blocks start and end, how deep in lists they sit and their
raw text, never the inline markup. markdown-it gives that at about 0.4 ms a file; a
10,000-story backlog needs it in a tenth of that. `scan_blocks` reads the common shapes
of stories line by line, following the CommonMark block rules as markdown-it applies them
(list item indentation, lazy paragraph lines, what may interrupt a paragraph), and gives
up - returns None - on anything it does not model: block quotes, HTML blocks, link
reference definitions, setext headings, indented code, tabs, empty list items and very deep
nesting. The caller then asks markdown-it, so the two always agree; a property test holds
them to that on the real fixtures and on generated documents.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, NamedTuple

__all__ = ["Block", "BlockEvent", "flat_blocks", "markdown_events", "scan_blocks"]

# (kind, first line, line after, heading level, text). Kinds: list_open, list_close,
# item_open, item_close, quote_open, quote_close, heading, paragraph, code, hr.
BlockEvent = tuple[str, int, int, int, str]


class Block(NamedTuple):
    """One block of the markdown: heading, paragraph, list item, code or rule. A list item's
    text is its first paragraph's."""

    kind: str
    start: int  # 0-based first line
    end: int  # 0-based line after the block
    depth: int = 0  # list nesting (0: not in a list)
    quoted: bool = False
    level: int = 0  # heading level
    text: str = ""


if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@functools.cache
def _markdown() -> MarkdownIt:
    """The parser for what the scanner leaves to markdown-it, imported only then (most
    story files never need it). Block tokens only: `storytext` reads no inline markup,
    and the inline pass was more than half of markdown-it's time."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").disable("inline")

# CommonMark's whitespace for trimming a paragraph or heading (what markdown-it strips).
_TRIM = "".join(
    chr(code)
    for code in sorted(
        {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x202F, 0x205F, 0x3000}
        | set(range(0x2000, 0x200B))
        | {0x2028, 0x2029}
    )
)
# A bullet, or 1-9 digits and `.` or `)`, then a space or the end of the line.
_LIST_MARKER = re.compile(r"(?:[*+-]|(\d{1,9})[.)])(?= |\Z)")
_MARKER_FIRST = frozenset("*-+0123456789")  # what a list marker starts with
_MAX_LEVEL = 20  # markdown-it's nesting limit (list + item count two levels each)


class _Unmodelled(Exception):
    """The text has a construct the line scanner leaves to markdown-it."""


def markdown_events(text: str) -> list[BlockEvent]:
    """The block events of `text` as markdown-it parses it (the reference for the scanner)."""
    tokens = _markdown().parse(text)
    events: list[BlockEvent] = []
    for index, token in enumerate(tokens):
        kind = token.type
        start, end = token.map if token.map else (0, 0)
        if kind in ("bullet_list_open", "ordered_list_open"):
            events.append(("list_open", start, end, 0, ""))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            events.append(("list_close", 0, 0, 0, ""))
        elif kind == "list_item_open":
            events.append(("item_open", start, end, 0, ""))
        elif kind == "list_item_close":
            events.append(("item_close", 0, 0, 0, ""))
        elif kind == "blockquote_open":
            events.append(("quote_open", start, end, 0, ""))
        elif kind == "blockquote_close":
            events.append(("quote_close", 0, 0, 0, ""))
        elif kind in ("heading_open", "paragraph_open"):
            content = tokens[index + 1].content if index + 1 < len(tokens) else ""
            level = int(token.tag[1:]) if kind == "heading_open" else 0
            events.append((kind.removesuffix("_open"), start, end, level, content))
        elif kind in ("fence", "code_block"):
            events.append(("code", start, end, 0, token.content))
        elif kind == "hr":
            events.append(("hr", start, end, 0, ""))
    return events


def scan_blocks(text: str, *, try_flat: bool = True) -> list[BlockEvent] | None:
    """The block events of `text`, equal to `markdown_events(text)`; None when the text
    has a construct the scanner does not model. `try_flat=False` skips the flat reader
    (for a caller that has just tried `flat_blocks`)."""
    if "\t" in text or "\r" in text or "\0" in text:
        return None  # tab stops and newline forms are markdown-it's business
    flat = _flat(text) if try_flat else None
    if flat is not None:
        return _flat_events(*flat)
    try:
        return _Scanner(text).run()
    except _Unmodelled:
        return None


class _Scanner:
    """One pass over the lines. `indent[n]` is where line n's content starts; a list item
    moves it past its marker while the item is read, as markdown-it does."""

    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        # A last line of only spaces is not a line to markdown-it; every other line ends
        # in a newline unless it is the text's last.
        self.open_end = True
        if lines[-1].strip(" ") == "":
            lines.pop()
            self.open_end = False
        self.lines = lines
        self.count = len(lines)
        self.indent = [len(line) - len(line.lstrip(" ")) for line in lines]
        # Blank stays blank: a list item moves `indent` only on a line with content.
        self.blank = [indent == len(line) for indent, line in zip(self.indent, lines, strict=True)]
        self.block_indent = 0
        self.list_indent = -1
        self.line = 0
        self.level = 0
        self.events: list[BlockEvent] = []

    def run(self) -> list[BlockEvent]:
        self._tokenize(0)
        return self.events

    # ----------------------------------------------------------------- line helpers

    def _text(self, begin: int, end: int, indent: int, keep_last_newline: bool) -> str:
        """Lines begin..end less up to `indent` columns of indentation, newline-joined."""
        if end == begin + 1 and not keep_last_newline:
            return self.lines[begin][min(indent, self.indent[begin]) :]
        parts = [self.lines[line][min(indent, self.indent[line]) :] for line in range(begin, end)]
        text = "\n".join(parts)
        if parts and keep_last_newline and (end < self.count or not self.open_end):
            text += "\n"
        return text

    def _hr(self, line: int) -> bool:
        text = self.lines[line]
        marker = text[self.indent[line]]
        if marker not in "*-_":
            return False
        rest = text[self.indent[line] :]
        return rest.count(marker) >= 3 and not rest.replace(marker, "").strip(" ")

    def _fence_open(self, line: int) -> tuple[str, int] | None:
        text = self.lines[line]
        start = self.indent[line]
        marker = text[start]
        if marker not in "`~":
            return None
        size = len(text) - start - len(text[start:].lstrip(marker))
        if size < 3 or (marker == "`" and "`" in text[start + size :]):
            return None
        return marker, size

    def _heading_level(self, line: int) -> int:
        text = self.lines[line]
        start = self.indent[line]
        size = len(text) - start - len(text[start:].lstrip("#"))
        if not 1 <= size <= 6 or (start + size < len(text) and text[start + size] != " "):
            return 0
        return size

    def _marker(self, line: int) -> tuple[bool, int, int, str] | None:
        """A list marker at the start of `line`: (ordered, number, position after it,
        marker character)."""
        text = self.lines[line]
        found = _LIST_MARKER.match(text, self.indent[line])
        if found is None:
            return None
        after = found.end()
        digits = found[1]
        return digits is not None, int(digits or 0), after, text[after - 1]

    # ------------------------------------------------------------------- block rules

    def _tokenize(self, start: int) -> None:
        line = start
        while line < self.count:
            while line < self.count and self.blank[line]:
                line += 1
            self.line = line
            if line >= self.count or self.indent[line] < self.block_indent:
                break
            if self.level >= _MAX_LEVEL:
                raise _Unmodelled("nested too deeply")
            self._block(line)
            line = self.line
            if line < self.count and self.blank[line]:
                line += 1
                self.line = line

    def _block(self, line: int) -> None:
        if self.indent[line] - self.block_indent >= 4:
            raise _Unmodelled("indented code")
        text = self.lines[line]
        first = text[self.indent[line]]
        if first in "`~" and (fence := self._fence_open(line)) is not None:
            self._fence(line, *fence)
        elif first == ">":
            raise _Unmodelled("block quote")
        elif first in "*-_" and self._hr(line):
            self.events.append(("hr", line, line + 1, 0, ""))
            self.line = line + 1
        elif (first in "*-+" or "0" <= first <= "9") and self._list(line):
            pass
        elif first == "[" and self._may_be_reference(text[self.indent[line] :]):
            raise _Unmodelled("link reference definition")
        elif first == "<":
            raise _Unmodelled("HTML block")
        elif first == "#" and (level := self._heading_level(line)):
            self._heading(line, level)
        else:
            self._paragraph(line)

    @staticmethod
    def _may_be_reference(text: str) -> bool:
        # `[label]:` opens a definition; a checkbox `[ ] ` or a link `[a](b)` cannot.
        for position in range(1, len(text)):
            char = text[position]
            if char == "[":
                return False
            if char == "\\":
                return True
            if char == "]":
                return text[position + 1 : position + 2] == ":"
        return True  # the label may go on to the next line

    def _fence(self, start: int, marker: str, size: int) -> None:
        line = start
        closed = False
        while True:
            line += 1
            if line >= self.count:
                break
            text = self.lines[line]
            position = self.indent[line]
            if position < len(text) and self.indent[line] < self.block_indent:
                break
            if position >= len(text) or text[position] != marker:
                continue
            if self.indent[line] - self.block_indent >= 4:
                continue
            run = len(text) - position - len(text[position:].lstrip(marker))
            if run >= size and not text[position + run :].strip(" "):
                closed = True
                break
        self.line = line + 1 if closed else line
        content = self._text(start + 1, line, self.indent[start], True)
        self.events.append(("code", start, self.line, 0, content))

    def _heading(self, line: int, level: int) -> None:
        text = self.lines[line]
        begin = self.indent[line] + level
        end = len(text.rstrip(" "))
        end = max(end, begin)
        hashes = begin + len(text[begin:end].rstrip("#"))
        # A closing run of #s counts only after a space: `# C#` keeps its #.
        if hashes > begin and text[hashes - 1] == " ":
            end = hashes
        self.events.append(("heading", line, line + 1, level, text[begin:end].strip(_TRIM)))
        self.line = line + 1

    def _paragraph(self, start: int) -> None:
        line = start + 1
        while line < self.count and not self.blank[line]:
            if self.indent[line] - self.block_indent > 3:
                line += 1  # lazy continuation, whatever it looks like
                continue
            text = self.lines[line]
            first = text[self.indent[line]]
            if (
                first in "-="
                and self.indent[line] >= self.block_indent
                and not text.strip(" ").strip(first)
            ):
                raise _Unmodelled("setext heading")
            if self._interrupts_paragraph(line):
                break
            line += 1
        content = self._text(start, line, self.block_indent, False).strip(_TRIM)
        self.events.append(("paragraph", start, line, 0, content))
        self.line = line

    def _interrupts_paragraph(self, line: int) -> bool:
        first = self.lines[line][self.indent[line]]
        if first in "`~" and self._fence_open(line) is not None:
            return True
        if first in "><":
            raise _Unmodelled("block quote or HTML after a paragraph line")
        if first in "*-_" and self._hr(line):
            return True
        if first == "#" and self._heading_level(line):
            return True
        indent = self.indent[line]
        if self.list_indent >= 0 and indent - self.list_indent >= 4 and indent < self.block_indent:
            return False
        marker = self._marker(line)
        if marker is None:
            return False
        if indent < self.block_indent:
            return True  # a lazy line that starts a list ends the item's paragraph
        ordered, number, after, _char = marker
        # Only a list starting at 1 with some text may interrupt a paragraph.
        return not (ordered and number != 1) and bool(self.lines[line][after:].strip(" "))

    def _list(self, start: int) -> bool:
        marker = self._marker(start)
        if marker is None:
            return False
        ordered, _number, after, char = marker
        opened = len(self.events)
        self.events.append(("list_open", start, 0, 0, ""))
        self.level += 1
        line = start
        while line < self.count:
            text = self.lines[line]
            content = len(text) - len(text[after:].lstrip(" "))
            if content >= len(text):
                raise _Unmodelled("empty list item")
            if content - after > 4:
                raise _Unmodelled("indented code in a list item")
            item = len(self.events)
            self.events.append(("item_open", line, 0, 0, ""))
            saved_indent, saved_list_indent = self.indent[line], self.list_indent
            self.list_indent, self.block_indent = self.block_indent, content
            self.indent[line] = content
            self.level += 1
            self._tokenize(line)
            self.level -= 1
            self.block_indent, self.list_indent = self.list_indent, saved_list_indent
            self.indent[line] = saved_indent
            self.events.append(("item_close", 0, 0, 0, ""))
            line = self.line
            self.events[item] = ("item_open", self.events[item][1], line, 0, "")
            if line >= self.count or self.indent[line] < self.block_indent:
                break
            if self.indent[line] - self.block_indent >= 4:
                break
            first = self.lines[line][self.indent[line]]
            if first == ">":
                raise _Unmodelled("block quote after a list item")
            if first in "`~" and self._fence_open(line) is not None:
                break
            if first in "*-_" and self._hr(line):
                break
            following = self._marker(line)
            if following is None or following[0] != ordered or following[3] != char:
                break
            after = following[2]
        self.level -= 1
        self.events.append(("list_close", 0, 0, 0, ""))
        self.events[opened] = ("list_open", start, line, 0, "")
        self.line = line
        return True


# ------------------------------------------------------------------ flat documents
#
# Most stories are flat: every line outside code starts at column 0, lists are one level
# deep and each item is one paragraph. `_flat` reads those in one loop straight into
# blocks, and declines (None) at the first indented line or any shape it does not know,
# which then goes to `_Scanner`. `scan_blocks` answers through it too, so the property
# test holds both to markdown-it.


def flat_blocks(text: str) -> list[Block] | None:
    """The blocks of a flat `text` (see above), or None when the text is not flat."""
    if "\t" in text or "\r" in text or "\0" in text:
        return None
    flat = _flat(text)
    return None if flat is None else flat[0]


def _heading_text(text: str, level: int) -> str:
    begin = level
    end = max(len(text.rstrip(" ")), begin)
    hashes = begin + len(text[begin:end].rstrip("#"))
    # A closing run of #s counts only after a space: `# C#` keeps its #.
    if hashes > begin and text[hashes - 1] == " ":
        end = hashes
    return text[begin:end].strip(_TRIM)


def _is_hr(text: str, marker: str) -> bool:
    return text.count(marker) >= 3 and not text.replace(marker, "").strip(" ")


def _fence_marker(text: str) -> tuple[str, int] | None:
    marker = text[0]
    size = len(text) - len(text.lstrip(marker))
    if size < 3 or (marker == "`" and "`" in text[size:]):
        return None
    return marker, size


def _starts_block(text: str) -> bool:
    """Whether `text` (at its block's indentation) opens anything but a paragraph."""
    first = text[0]
    if first in "<>":
        return True
    if first in "`~":
        return _fence_marker(text) is not None
    if first in "*-_" and _is_hr(text, first):
        return True
    if (first in "*-+" or "0" <= first <= "9") and _LIST_MARKER.match(text) is not None:
        return True
    if first == "[":
        return _Scanner._may_be_reference(text)
    return first == "#" and _heading_size(text) > 0


def _heading_size(text: str) -> int:
    size = len(text) - len(text.lstrip("#"))
    if size > 6 or (size < len(text) and text[size] != " "):
        return 0
    return size


def _flat(text: str) -> tuple[list[Block], list[tuple[int, int]]] | None:
    """(blocks, line spans of the lists) of a flat text; None when it is not flat.

    One pass with the state markdown-it would hold for such a text: an open paragraph
    (`para`), and an open list item (`item`, its content column `column`) with its list.
    """
    lines = text.split("\n")
    open_end = True
    if not lines[-1].strip(" "):
        lines.pop()
        open_end = False
    count = len(lines)
    blocks: list[Block] = []
    lists: list[tuple[int, int]] = []
    para = -1  # first line of the open paragraph
    item = -1  # position in `blocks` of the open list item
    column = 0  # where the open item's content starts
    item_text = ""  # the open item's paragraph, once it is closed
    list_start = -1
    list_kind = ("", False)  # (marker character, ordered) of the open list
    index = 0
    while index < count:
        line = lines[index]
        if not line or line[0] == " ":
            if line.strip(" "):
                return None  # indented: nested blocks, code or continuation lines
            if para >= 0:
                blocks.append(_paragraph_block(lines, para, index, item, column))
                item_text = blocks[-1].text
                para = -1
            index += 1
            continue
        first = line[0]
        # What the line could open, each worked out once: a list marker, a rule.
        found = _LIST_MARKER.match(line) if first in _MARKER_FIRST else None
        rule = first in "*-_" and _is_hr(line, first)
        if para >= 0:
            if first in "><":
                return None
            if item < 0 and first in "-=" and not line.rstrip(" ").strip(first):
                return None  # setext heading underline
            if found is not None and not rule:
                # In an item any marker at column 0 ends the paragraph; at the top only a
                # bullet or `1.` with text does.
                starts = item >= 0 or (
                    not (found[1] is not None and int(found[1]) != 1)
                    and bool(line[found.end() :].strip(" "))
                )
            else:
                starts = (
                    rule
                    or (first in "`~" and _fence_marker(line) is not None)
                    or (first == "#" and _heading_size(line) > 0)
                )
            if not starts:
                index += 1
                continue
            blocks.append(_paragraph_block(lines, para, index, item, column))
            item_text = blocks[-1].text
            para = -1
        if item >= 0:
            # A line at column 0 ends the item; a marker of the same list opens the next one.
            blocks[item] = Block("item", blocks[item].start, index, 1, text=item_text)
            item = -1
            if first == ">":
                return None
            if found is None or rule or (line[found.end() - 1], found[1] is not None) != list_kind:
                lists.append((list_start, index))
                list_start = -1
        if rule:
            blocks.append(Block("hr", index, index + 1))
            index += 1
        elif found is not None:
            after = found.end()
            column = len(line) - len(line[after:].lstrip(" "))
            if column >= len(line) or column - after > 4:
                return None  # an empty item, or indented code in one
            if _starts_block(line[column:]):
                return None  # a block on the item's first line other than a paragraph
            if list_start < 0:
                list_start = index
                list_kind = (line[after - 1], found[1] is not None)
            item = len(blocks)
            blocks.append(Block("item", index, index, 1))
            para = index
            index += 1
        elif first == "#" and (level := _heading_size(line)):
            # `## Status`: no closing #s and no trailing space, so nothing else to cut.
            heading = (
                line[level:].strip(_TRIM) if line[-1] not in " #" else _heading_text(line, level)
            )
            if heading != heading.strip():
                return None  # space markdown-it keeps but storytext strips
            blocks.append(Block("heading", index, index + 1, 0, False, level, heading))
            index += 1
        elif first in "`~" and (fence := _fence_marker(line)) is not None:
            index = _fence_block(lines, index, fence, open_end, blocks)
        elif first in "<>" or (first == "[" and _Scanner._may_be_reference(line)):
            return None  # HTML, a quote or a link reference definition
        else:
            para = index
            index += 1
    if para >= 0:
        blocks.append(_paragraph_block(lines, para, count, item, column))
        item_text = blocks[-1].text
    if item >= 0:
        old = blocks[item]
        blocks[item] = Block("item", old.start, count, 1, text=item_text)
    if list_start >= 0:
        lists.append((list_start, count))
    return blocks, lists


def _paragraph_block(lines: list[str], start: int, end: int, item: int, column: int) -> Block:
    if item < 0:
        content = lines[start] if end == start + 1 else "\n".join(lines[start:end])
        return _new_block(("paragraph", start, end, 0, False, 0, content.strip(_TRIM)))
    first = lines[start][column:]
    content = first if end == start + 1 else "\n".join([first, *lines[start + 1 : end]])
    return _new_block(("paragraph", start, end, 1, False, 0, content.strip(_TRIM)))


def _new_block(fields: tuple[str, int, int, int, bool, int, str]) -> Block:
    # NamedTuple's own constructor is a Python function; this is the C one it ends in.
    return tuple.__new__(Block, fields)


def _fence_block(
    lines: list[str], start: int, fence: tuple[str, int], open_end: bool, blocks: list[Block]
) -> int:
    """Append the code block opened at `start`; return the line after it."""
    marker, size = fence
    count = len(lines)
    line = start
    closed = False
    while True:
        line += 1
        if line >= count:
            break
        text = lines[line]
        if marker not in text:
            continue
        stripped = text.lstrip(" ")
        if not stripped or stripped[0] != marker or len(text) - len(stripped) >= 4:
            continue
        run = len(stripped) - len(stripped.lstrip(marker))
        if run >= size and not stripped[run:].strip(" "):
            closed = True
            break
    content = "\n".join(lines[start + 1 : line])
    if line > start + 1 and (line < count or not open_end):
        content += "\n"
    after = line + 1 if closed else line
    blocks.append(Block("code", start, after, text=content))
    return after


def _flat_events(blocks: list[Block], lists: list[tuple[int, int]]) -> list[BlockEvent]:
    """The events markdown-it gives for the blocks of a flat text."""
    events: list[BlockEvent] = []
    spans = iter(lists)
    list_end = item_end = -1
    for block in blocks:
        if item_end >= 0 and block.start >= item_end:
            events.append(("item_close", 0, 0, 0, ""))
            item_end = -1
        if list_end >= 0 and block.start >= list_end:
            events.append(("list_close", 0, 0, 0, ""))
            list_end = -1
        kind = block.kind
        if kind == "item":
            if list_end < 0:
                list_start, list_end = next(spans)
                events.append(("list_open", list_start, list_end, 0, ""))
            events.append(("item_open", block.start, block.end, 0, ""))
            item_end = block.end
        elif kind in ("paragraph", "heading"):
            events.append((kind, block.start, block.end, block.level, block.text))
        else:
            events.append((kind, block.start, block.end, 0, block.text))
    if item_end >= 0:
        events.append(("item_close", 0, 0, 0, ""))
    if list_end >= 0:
        events.append(("list_close", 0, 0, 0, ""))
    return events
