"""JSON with line numbers: load a backlog file and say on which line any key or item sits.

`json` gives values but forgets where they were; messages must name the line. Values come
from `json.loads`; lines come from one extra pass over the (already valid) text that
records where each key and list item starts. That pass costs more than the parse, and a
valid file needs at most the lines of its root and its top-level keys, so it runs only when
a deeper line is asked for. Schema errors reuse `yamlsource`'s wording so
every format reports `path:line: field: what was expected` the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import pydantic

from wavefront.errors import BacklogError
from wavefront.yamlsource import raise_validation_error, read_text

if TYPE_CHECKING:
    from wavefront.yamlsource import YamlDocument

__all__ = [
    "JsonDocument",
    "LineIndex",
    "load_json",
    "parse_json",
    "raise_json_validation_error",
    "read_text",
]

Key = str | int

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity")
_SPACE = re.compile(r"[ \t\n\r]*")
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"[ \t\n\r]*:[ \t\n\r]*', re.S)
_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
# The C scanner behind json.loads (untyped in typeshed): reads one whole value at a position
# of text that json.loads accepted, and says where it ends.
_SCAN_VALUE: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


@dataclass(frozen=True)
class JsonDocument:
    """A loaded JSON document: its data and the line where each key or item starts."""

    path: Path
    data: Any
    lines: Mapping[tuple[Key, ...], int] = field(repr=False)

    def line_of(self, *keys: Key) -> int:
        """The 1-based line of the key (or list item) reached by `keys` from the root.

        A path that leads nowhere gives the line of its deepest part that exists, so a
        message about a missing field points at the object that lacks it.
        """
        lines = self.lines
        if isinstance(lines, LineIndex) and not lines.built and len(keys) <= 1:
            # The root and its own keys are found without indexing the whole document.
            if keys and isinstance(keys[0], str):
                found = lines.top_level_line(keys[0])
                if found is not None:
                    return found
            elif keys:
                return lines.get(keys, lines.root_line())
            return lines.root_line()
        for end in range(len(keys), 0, -1):
            line = self.lines.get(tuple(keys[:end]))
            if line is not None:
                return line
        return self.lines.get((), 1)


def load_json(path: Path) -> JsonDocument:
    """Read and parse the JSON file at `path`; errors name the file and line."""
    return parse_json(read_text(path), path)


def parse_json(text: str, path: Path) -> JsonDocument:
    """Parse JSON `text` (read from `path`, named in errors) into a `JsonDocument`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BacklogError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise BacklogError(path, None, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise BacklogError(path, None, f"invalid JSON: {exc}") from None
    return JsonDocument(path=path, data=data, lines=LineIndex(text))


class LineIndex(Mapping[tuple[Key, ...], int]):
    """The line of every key path of valid JSON text, indexed on first use.

    `root_line` and `top_level_line` answer from the text directly, so a valid document
    whose callers ask only for those is never indexed.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[tuple[Key, ...], int] | None = None

    @property
    def built(self) -> bool:
        return self._lines is not None

    def _index(self) -> dict[tuple[Key, ...], int]:
        if self._lines is None:
            self._lines = _index_lines(self._text)
        return self._lines

    def __getitem__(self, keys: tuple[Key, ...]) -> int:
        return self._index()[keys]

    def __iter__(self) -> Iterator[tuple[Key, ...]]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._index())

    def _line_at(self, position: int) -> int:
        return self._text.count("\n", 0, position) + 1

    def root_line(self) -> int:
        """The line where the document's value starts."""
        return self._line_at(_after_space(self._text, 0))

    def top_level_line(self, key: str) -> int | None:
        """The line of `key` in the root object (its last occurrence, as json.loads keeps
        the last value); None when the root is no object or has no such key."""
        text = self._text
        position = _after_space(text, 0)
        if not text.startswith("{", position):
            return None
        position = _after_space(text, position + 1)
        found: int | None = None
        # Valid JSON: every key is followed by a colon and a value, every value by a comma
        # or the closing brace.
        while (member := _KEY.match(text, position)) is not None:
            raw = member[1]
            name = json.loads(f'"{raw}"') if "\\" in raw else raw  # escapes are rare
            if name == key:
                found = position
            _value, end = _SCAN_VALUE(text, member.end())
            comma = _COMMA.match(text, end)
            if comma is None:
                break
            position = comma.end()
        return self._line_at(found) if found is not None else None


def _after_space(text: str, position: int) -> int:
    """The position of the first non-space character at or after `position`."""
    match = _SPACE.match(text, position)
    return match.end() if match else position


def raise_json_validation_error(
    doc: JsonDocument,
    exc: pydantic.ValidationError,
    model: type[pydantic.BaseModel] | None = None,
) -> NoReturn:
    """Turn pydantic's first error into one `path:line: field: what was expected` error."""
    # yamlsource's formatter only reads `.data` and `.line_of(*keys)`, which this class
    # provides with the same meaning; sharing it keeps one wording for all formats.
    raise_validation_error(doc.path, cast("YamlDocument", doc), exc, BacklogError, model)


def _string(text: str, pos: int) -> tuple[str, int]:
    """The JSON string starting at `pos` (its opening quote) and the position after it."""
    match = _STRING.match(text, pos)
    if match is None:  # cannot happen on text that json.loads accepted
        return "", len(text)
    return json.loads(match.group(0)), match.end()


def _skip(text: str, pos: int) -> int:
    """The position of the first non-space character at or after `pos`."""
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _index_lines(text: str) -> dict[tuple[Key, ...], int]:
    """Map every key path of valid JSON `text` to the line its key or item starts on.

    Iterative on purpose: deep nesting that `json.loads` accepted must not overflow here.
    """
    lines: dict[tuple[Key, ...], int] = {}
    line_starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def line_at(pos: int) -> int:
        low, high = 0, len(line_starts)
        while high - low > 1:
            mid = (low + high) // 2
            if line_starts[mid] <= pos:
                low = mid
            else:
                high = mid
        return low + 1

    # Each frame: (path of the container, kind "{" or "[", index of the next list item).
    stack: list[tuple[tuple[Key, ...], str, int]] = []
    pos = _skip(text, 0)
    lines[()] = line_at(pos)
    path: tuple[Key, ...] = ()
    expect_value = True
    while pos < len(text):
        char = text[pos]
        if expect_value:
            if char in "{[":
                stack.append((path, char, 0))
                pos = _skip(text, pos + 1)
                if text[pos] in "}]":
                    stack.pop()
                    pos += 1
                    expect_value = False
                    continue
                if char == "{":
                    key, end = _string(text, pos)
                    path = (*stack[-1][0], key)
                    lines[path] = line_at(pos)
                    pos = _skip(text, end)
                    pos = _skip(text, pos + 1)  # ":"
                else:
                    path = (*stack[-1][0], 0)
                    lines[path] = line_at(pos)
                continue
            if char == '"':
                pos = _string(text, pos)[1]
            else:
                match = _SCALAR.match(text, pos)
                pos = match.end() if match else pos + 1
            expect_value = False
            continue
        # After a value: a separator, a closing bracket, or trailing space.
        pos = _skip(text, pos)
        if pos >= len(text) or not stack:
            break
        char = text[pos]
        container, kind, index = stack[-1]
        if char in "}]":
            stack.pop()
            pos += 1
            continue
        pos = _skip(text, pos + 1)  # ","
        if kind == "{":
            key, end = _string(text, pos)
            path = (*container, key)
            lines[path] = line_at(pos)
            pos = _skip(text, end)
            pos = _skip(text, pos + 1)
        else:
            stack[-1] = (container, kind, index + 1)
            path = (*container, index + 1)
            lines[path] = line_at(pos)
        expect_value = True
    return lines
