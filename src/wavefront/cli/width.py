"""How wide click makes its help, computed without importing click."""

from __future__ import annotations

import os
import sys

__all__ = ["help_width"]


def help_width() -> int:
    """The width click would give its help: the terminal's (COLUMNS first), at most 80,
    less 2, at least 50. Computed here because click's own way imports shutil (with bz2
    and lzma)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(min(columns, 80) - 2, 50)
