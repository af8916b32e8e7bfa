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

import re

from markdown_it import MarkdownIt

__all__ = ["BlockEvent", "markdown_events", "scan_blocks"]

# (kind, first line, line after, heading level, text). Kinds: list_open, list_close,
# item_open, item_close, quote_open, quote_close, heading, paragraph, code, hr.
BlockEvent = tuple[str, int, int, int, str]

# Block tokens only: `storytext` reads no inline markup, and the inline pass was more
# than half of markdown-it's time.
_MARKDOWN = MarkdownIt("commonmark").disable("inline")

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
_MAX_LEVEL = 20  # markdown-it's nesting limit (list + item count two levels each)


class _Unmodelled(Exception):
    """The text has a construct the line scanner leaves to markdown-it."""


def markdown_events(text: str) -> list[BlockEvent]:
    """The block events of `text` as markdown-it parses it (the reference for the scanner)."""
    tokens = _MARKDOWN.parse(text)
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


def scan_blocks(text: str) -> list[BlockEvent] | None:
    """The block events of `text`, equal to `markdown_events(text)`; None when the text
    has a construct the scanner does not model."""
    if "\t" in text or "\r" in text or "\0" in text:
        return None  # tab stops and newline forms are markdown-it's business
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
