"""JSON with line numbers: load a backlog file and say on which line any key or item sits.

`json` gives values but forgets where they were; messages must name the line. Values come
from `json.loads`; lines come from one extra pass over the (already valid) text that
records where each key and list item starts. Schema errors reuse `yamlsource`'s wording so
every format reports `path:line: field: what was expected` the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import pydantic

from wavefront.errors import BacklogError
from wavefront.yamlsource import raise_validation_error

if TYPE_CHECKING:
    from wavefront.yamlsource import YamlDocument

__all__ = ["JsonDocument", "load_json", "parse_json", "raise_json_validation_error", "read_text"]

Key = str | int

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity")


@dataclass(frozen=True)
class JsonDocument:
    """A loaded JSON document: its data and the line where each key or item starts."""

    path: Path
    data: Any
    lines: dict[tuple[Key, ...], int] = field(repr=False)

    def line_of(self, *keys: Key) -> int:
        """The 1-based line of the key (or list item) reached by `keys` from the root.

        A path that leads nowhere gives the line of its deepest part that exists, so a
        message about a missing field points at the object that lacks it.
        """
        for end in range(len(keys), 0, -1):
            line = self.lines.get(tuple(keys[:end]))
            if line is not None:
                return line
        return self.lines.get((), 1)


def read_text(path: Path) -> str:
    """The UTF-8 text of `path`; unreadable files raise `BacklogError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BacklogError(path, None, "no such file") from None
    except UnicodeDecodeError as exc:
        raise BacklogError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise BacklogError(path, None, f"cannot read: {exc.strerror or exc}") from None


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
    return JsonDocument(path=path, data=data, lines=_index_lines(text))


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
