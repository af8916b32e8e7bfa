"""Words for what users read: `1 task`, `2 tasks`, never `1 tasks`; task ids in commands
that paste into a shell as they read."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

__all__ = ["plural", "shell_words"]


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and `word`, in the plural unless `count` is 1; `many` for irregular ones."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def shell_words(words: Sequence[str]) -> str:
    """`words` as the last arguments of a command a person pastes into a shell: each quoted
    when the shell would read it otherwise, after `--` when one looks like an option.

    A task id is whatever the backlog says (`a; rm -rf x`, `-rf`); printed bare in a next
    step, it would run as a command of its own."""
    quoted = " ".join(shlex.quote(word) for word in words)
    return f"-- {quoted}" if any(word.startswith("-") for word in words) else quoted
