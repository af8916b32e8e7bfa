"""The `contract` gate: documents that other work builds on hold no placeholder.

The phased workflow's "No TBD sections allowed": an architecture, API or interface document is
finished before tasks build on it. Placeholders are whole-word markers (`TBD`, `TODO`,
`???` by default); in markdown, a heading with nothing under it before the next heading of
its level is an empty section.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from wavefront.gates.base import GateContext, existing, strings
from wavefront.model import GateResult
from wavefront.words import plural

__all__ = ["DEFAULT_MARKERS", "ContractGate", "empty_sections"]

DEFAULT_MARKERS: tuple[str, ...] = ("TBD", "TODO", "???")
_DOCUMENT_SUFFIXES = frozenset({".md", ".markdown", ".mdx", ".rst", ".txt", ".adoc"})


class ContractGate:
    """Named documents hold no placeholder (`TBD`, `TODO`, `???`) and no empty section.

    The phased workflow's "No TBD sections allowed": an architecture or interface
    document that other tasks build on must be finished. Documents are the `paths`
    option, else the task's deliverables that are documents, else the documents the
    attempt changed.
    """

    kind = "contract"

    def __init__(
        self,
        paths: Sequence[str] | None = None,
        markers: Sequence[str] = DEFAULT_MARKERS,
        name: str | None = None,
    ) -> None:
        self.paths = tuple(paths) if paths is not None else None
        self.markers = tuple(markers)
        self.name = name or "contract"
        self._pattern = re.compile(
            "|".join(
                rf"(?<![\w]){re.escape(m)}(?![\w])"
                if m[:1].isalnum() and m[-1:].isalnum()
                else re.escape(m)
                for m in self.markers
            )
        )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ContractGate:
        markers = strings(options.get("markers"))
        return cls(
            strings(options.get("paths")),
            DEFAULT_MARKERS if markers is None else markers,
            options.get("name"),
        )

    def documents(self, context: GateContext) -> tuple[str, ...]:
        if self.paths is not None:
            return self.paths
        declared = tuple(p for p in context.task.deliverables if _is_document(p))
        return declared or tuple(p for p in context.changed_files if _is_document(p))

    async def check(self, context: GateContext) -> GateResult:
        wanted = self.documents(context)
        if not wanted:
            return GateResult(self.name, True, "no documents to check")
        findings: list[str] = []
        checked = 0
        for path in wanted:
            files = existing(context.workspace, path)
            if not files:
                findings.append(f"{path}: missing")
            for file in files:
                if file.is_dir():
                    continue
                checked += 1
                relative = file.relative_to(context.workspace).as_posix()
                text = file.read_text(encoding="utf-8", errors="replace")
                findings.extend(
                    f"{relative}:{line}: {problem}"
                    for line, problem in self.problems(text, relative)
                )
        if findings:
            return GateResult(
                self.name,
                False,
                f"{plural(len(findings), 'placeholder or gap', 'placeholders or gaps')} in "
                f"{', '.join(wanted)}",
                "\n".join(findings[:200]),
                tuple(findings[:200]),
            )
        return GateResult(self.name, True, f"{plural(checked, 'document')} complete")

    def problems(self, text: str, path: str = "") -> list[tuple[int, str]]:
        """(line, problem) for every placeholder and, in markdown, every empty section."""
        found: list[tuple[int, str]] = []
        if self.markers:
            for number, line in enumerate(text.splitlines(), 1):
                for match in self._pattern.finditer(line):
                    found.append((number, f"placeholder {match.group(0)!r}"))
        if Path(path).suffix.lower() in (".md", ".markdown", ".mdx", ""):
            found.extend(empty_sections(text))
        return sorted(found)


def empty_sections(text: str) -> list[tuple[int, str]]:
    """Markdown headings with nothing under them before the next heading of their level."""
    tokens = MarkdownIt("commonmark").parse(text)
    # (level, line, title, has_content) for headings still open
    open_sections: list[list[Any]] = []
    empty: list[tuple[int, str]] = []

    def close(down_to: int) -> None:
        while open_sections and open_sections[-1][0] >= down_to:
            level, line, title, has_content = open_sections.pop()
            if not has_content:
                empty.append((line, f"section {'#' * level} {title} is empty"))

    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and token.level == 0:
            level = int(token.tag[1:])
            close(level)
            title = tokens[index + 1].content if index + 1 < len(tokens) else ""
            line = token.map[0] + 1 if token.map else 1
            open_sections.append([level, line, title, False])
            index += 3
            continue
        if (
            token.level == 0
            and token.nesting >= 0
            and token.type != "hr"
            and not (token.type == "html_block" and token.content.strip().startswith("<!--"))
        ):
            for section in open_sections:
                section[3] = True
        index += 1
    close(0)
    return sorted(empty)


def _is_document(path: str) -> bool:
    return Path(path).suffix.lower() in _DOCUMENT_SUFFIXES
