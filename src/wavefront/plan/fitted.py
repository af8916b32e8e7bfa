"""Tables that fit the terminal: ids and names kept whole, the prose wrapping instead.

Rich narrows an overfull table by shrinking its columns evenly, which folds a task id or
an agent name mid-word (`full-stack-enginee` / `r`) while a title beside it had room to
wrap. `Fitted` keeps the columns a reader looks things up by at their widths and gives
the rest to the columns that read as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table

__all__ = ["Fitted", "widest"]

_UNBOUNDED = 1 << 20  # columns: enough to measure any table at its own width
_NARROWEST_WRAPPING = 12  # columns each wrapping column needs for the kept widths to pay


def widest(texts: Sequence[str]) -> int:
    """The length of the longest of `texts` (0 for none)."""
    return max((len(text) for text in texts), default=0)


class Fitted:
    """A table at its own width where that fits; otherwise as wide as the console, the
    `kept` columns (index -> width) at their widths and the `wrapping` ones (index ->
    ratio) sharing the rest."""

    def __init__(self, table: Table, wrapping: Mapping[int, int],
                 kept: Mapping[int, int]) -> None:
        self.table = table
        self.wrapping = wrapping
        self.kept = kept

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.measure import Measurement

        unbounded = options.update_width(_UNBOUNDED)
        wanted = Measurement.get(console, unbounded, self.table).maximum
        columns = self.table.columns
        # Each column's padding and the border left of it, and the border on the right.
        frame = 3 * len(columns) + 1
        left = options.max_width - frame - sum(self.kept.values())
        fitted = wanted > options.max_width and left >= _NARROWEST_WRAPPING * len(
            self.wrapping)
        self.table.expand = fitted
        for index, column in enumerate(columns):
            column.width = self.kept.get(index) if fitted else None
            column.ratio = self.wrapping.get(index) if fitted else None
        yield self.table
