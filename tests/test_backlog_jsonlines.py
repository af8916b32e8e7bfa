"""A JSON document's root and top-level key lines, answered without the full line index,
equal what the index says: on generated documents in several layouts (duplicate keys,
nested values that hold the same key, strings with escapes, NaN) and on the real fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from wavefront.backlog.jsonsource import LineIndex, _index_lines, parse_json

KEYS = st.sampled_from(["id", "depends_on", "seq", 'q"uote', "ünï", "a\\b", "x"])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


def _layouts(members: list[tuple[str, object]]) -> list[str]:
    """The same object written compact, indented, and with keys repeated (which json.dumps
    cannot write), so duplicate keys and odd spacing are covered."""
    body = [f"{json.dumps(key)}: {json.dumps(value, indent=1)}" for key, value in members]
    return [
        "{" + ",".join(body) + "}",
        "\n\n  {\n" + ",\n    ".join(body) + "\n}\n",
        "{ " + " ,\r\n".join(body) + " }",
    ]


def _check(text: str) -> None:
    full = _index_lines(text)
    document = parse_json(text, Path("doc.json"))
    assert isinstance(document.lines, LineIndex)
    assert document.line_of() == full.get((), 1)
    for key in ["id", "depends_on", "seq", 'q"uote', "ünï", "a\\b", "x", "absent"]:
        expected = full.get((key,), full.get((), 1))
        assert document.line_of(key) == expected, key
    assert not document.lines.built  # none of that needed the full index


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=st.lists(st.tuples(KEYS, VALUES), max_size=6))
def test_top_level_lines_match_the_full_index(members: list[tuple[str, object]]) -> None:
    for text in _layouts(members):
        _check(text)


@pytest.mark.parametrize("text", ["[1, 2]", '  "just a string"', "\n\n7", "{}", "[]"])
def test_roots_that_are_not_objects(text: str) -> None:
    _check(text)


def test_deeper_paths_still_use_the_index() -> None:
    text = '{\n  "a": {\n    "b": [\n      1,\n      2\n    ]\n  }\n}\n'
    document = parse_json(text, Path("doc.json"))
    assert document.line_of("a", "b", 1) == 5
    assert document.line_of("a", "missing") == 2
    assert document.lines.built


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="real-project fixtures not found")
def test_real_json_files() -> None:
    files = sorted(FIXTURES.rglob("*.json"))
    assert files
    for path in files:
        _check(path.read_text(encoding="utf-8"))
