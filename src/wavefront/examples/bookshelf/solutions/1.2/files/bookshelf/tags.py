"""Tags: one spelling per tag, so "Sci Fi", "sci-fi" and " SCI-FI " are the same tag."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable

from bookshelf.models import Book, InvalidBook

_ALLOWED = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def normalize_tag(raw: str) -> str:
    """The canonical form of a tag: lower case, words joined by single hyphens."""
    tag = re.sub(r"[\s_-]+", "-", raw.strip().lower()).strip("-")
    if not _ALLOWED.match(tag):
        raise InvalidBook(f"tag {raw!r} must hold letters, digits and hyphens")
    return tag


def parse_tags(text: str) -> tuple[str, ...]:
    """Tags from a comma-separated list, normalized, without repeats, sorted."""
    return tuple(sorted({normalize_tag(part) for part in text.split(",") if part.strip()}))


def add_tags(book: Book, tags: Iterable[str]) -> Book:
    merged = set(book.tags) | {normalize_tag(tag) for tag in tags}
    return dataclasses.replace(book, tags=tuple(sorted(merged)))


def remove_tags(book: Book, tags: Iterable[str]) -> Book:
    dropped = {normalize_tag(tag) for tag in tags}
    return dataclasses.replace(book, tags=tuple(t for t in book.tags if t not in dropped))


def tag_counts(books: Iterable[Book]) -> list[tuple[str, int]]:
    """Every tag in use with its number of books, most used first, then by name."""
    counts = Counter(tag for book in books for tag in book.tags)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
