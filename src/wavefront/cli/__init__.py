"""The `wavefront` command: a thin layer that parses, calls the library, prints and exits.

`group` holds the click group, the shared options and the error-to-exit-code rule; each other
module holds one family of commands and registers them on the group when imported.
"""

from __future__ import annotations

from collections.abc import Sequence

from wavefront.cli import inspect, mcp, plan, run, web, workflow
from wavefront.cli.group import wavefront

__all__ = ["main", "wavefront"]

_COMMAND_MODULES = (inspect, mcp, plan, run, web, workflow)  # imported for their commands


def main(argv: Sequence[str] | None = None) -> None:
    """The console script `wavefront`."""
    from wavefront.lifetime import become_subreaper

    # Orphans of agents become this process's children, so a run can kill them at its end.
    become_subreaper()
    wavefront.main(args=list(argv) if argv is not None else None, prog_name="wavefront")
