"""The `wavefront` command: a thin layer that parses, calls the library, prints and exits.

`group` holds the click group, the shared options and the error-to-exit-code rule; each other
module holds one family of commands and registers them on the group when imported.
"""

from __future__ import annotations

from collections.abc import Sequence

from wavefront.cli import mcp, plan, run, workflow
from wavefront.cli.group import wavefront

__all__ = ["main", "wavefront"]

_COMMAND_MODULES = (plan, run, workflow, mcp)  # imported for their commands


def main(argv: Sequence[str] | None = None) -> None:
    """The console script `wavefront`."""
    wavefront.main(args=list(argv) if argv is not None else None, prog_name="wavefront")
