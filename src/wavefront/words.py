"""Counted words for what users read: `1 task`, `2 tasks`, never `1 tasks`."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and `word`, in the plural unless `count` is 1; `many` for irregular ones."""
    return f"{count} {word if count == 1 else many or word + 's'}"
