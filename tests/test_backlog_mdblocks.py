"""The line scanner that reads story blocks agrees with markdown-it wherever it answers:
on every real fixture file, on every story section of an epics file, and on generated
documents made of the shapes where the two could part (list indentation, lazy lines,
fences, rules and headings that interrupt paragraphs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, REPO_ROOT
from wavefront.backlog.mdblocks import markdown_events, scan_blocks

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="real-project fixtures not found (set WAVEFRONT_FIXTURES)"
)


def _markdown_files() -> list[Path]:
    found = sorted(REPO_ROOT.glob("src/**/*.md")) + sorted(REPO_ROOT.glob("tests/**/*.md"))
    if FIXTURES.is_dir():
        found += sorted(FIXTURES.rglob("*.md"))
    return found


def _texts(path: Path) -> list[str]:
    """The file, and each `Story N.M` section the way the epics loader hands it over."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    sections = [
        "\n" * index + "\n".join(lines[index:])
        for index, line in enumerate(lines)
        if re.match(r"^#{2,6}\s+Story\s+\d", line)
    ]
    return [text, *sections]


@needs_fixtures
def test_scanner_agrees_with_markdown_it_on_every_real_file() -> None:
    answered = declined = 0
    for path in _markdown_files():
        for text in _texts(path):
            events = scan_blocks(text)
            if events is None:
                declined += 1
                continue
            answered += 1
            assert events == markdown_events(text), path
    # The fast path must carry most real stories, or it buys nothing.
    assert answered > 3 * declined, (answered, declined)


_PIECES = [
    "- item", "* item", "+ x", "1. one", "2) two", "10. ten", "2. two", "1) paren",
    "# h", "## h ##", "### C#", "#no", "#", "####### seven", "\\# escaped",
    "```", "```py", "~~~", "````", "``` a`b", "~~~~",
    "---", "***", "- - -", "___", "* * *", "- ---",
    "text words", "more text  ", "**Dependencies**: 1.2", "| a | b |", "`code` span",
    "[ ] box", "[x] done", "[link](u) x", "[a]: /url", "- [ ] task",
    "===", "-", "--", "1.", "-x", "1.x", "-   spaced", "1.     far",
    "- # heading", "- ```", "- - nested", "> quote", "<div>",
    "", "", "", "  ",
]  # fmt: skip

_DOCUMENTS = st.builds(
    lambda lines, tail: "\n".join(lines) + tail,
    st.lists(
        st.builds(
            lambda indent, piece: " " * indent + piece,
            st.sampled_from([0, 0, 0, 1, 2, 2, 3, 4, 5, 6, 8]),
            st.sampled_from(_PIECES),
        ),
        min_size=1,
        max_size=16,
    ),
    st.sampled_from(["", "\n", "\n\n", "\n  "]),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_DOCUMENTS)
def test_scanner_agrees_with_markdown_it_on_generated_documents(text: str) -> None:
    events = scan_blocks(text)
    if events is not None:
        assert events == markdown_events(text)


@pytest.mark.parametrize(
    "text",
    [
        "> quoted\n",
        "para\n> quoted\n",
        "<details>\n\nhidden\n</details>\n",
        "Title\n=====\n",
        "Title\n---\n",
        "[ref]: https://example.org\n\ntext\n",
        "para\n\n    indented code\n",
        "-\n  foo\n",
        "- item\n\tindented with a tab\n",
        "line\r\nwith CRLF\r\n",
    ],
)
def test_scanner_leaves_unmodelled_constructs_to_markdown_it(text: str) -> None:
    assert scan_blocks(text) is None
    assert markdown_events(text)  # markdown-it still reads them


def test_scanner_reads_the_seed_story_shape() -> None:
    text = (
        "# Story 1.2: Login form\n\n## Status\n\nDraft\n\n**Dependencies**: 1.1\n\n"
        "## Acceptance Criteria\n\n1. Shows a form\n2. Rejects bad input\n   across lines\n\n"
        "## Tasks / Subtasks\n\n- [ ] Build it (AC: 1)\n  - [ ] sub step\n\n"
        "```py\ncode()\n```\n\n---\n\nFiles: `src/login.py`\n"
    )
    events = scan_blocks(text)
    assert events is not None
    assert events == markdown_events(text)
    kinds = [event[0] for event in events]
    assert kinds.count("item_open") == 4
    assert ("heading", 0, 1, 1, "Story 1.2: Login form") in events
