"""The `wavefront` command: a thin layer that parses, calls the library, prints and exits.

`group` holds the click group and the error-to-exit-code rule, `options` the options
commands share; each other module holds one family of commands and registers them on the
group when imported. `commands.COMMANDS` says which module holds which command, so that a
command's module is imported only when it runs, and `wavefront --help` prints its stored
page (`helppage`) without importing click at all.
"""

from __future__ import annotations

import sys

from wavefront.cli.commands import COMMANDS

TYPE_CHECKING = False  # typing itself is a tenth of the help page's cost
if TYPE_CHECKING:
    from collections.abc import Sequence

    from wavefront.cli.group import wavefront

__all__ = ["COMMANDS", "main", "wavefront"]

_HELP = (["--help"], ["-h"])


def main(argv: Sequence[str] | None = None) -> None:
    """The console script `wavefront`."""
    args = list(argv) if argv is not None else None
    if (args if args is not None else sys.argv[1:]) in _HELP:
        from wavefront.cli.helppage import stored_page

        page = stored_page()
        if page is not None:
            sys.stdout.write(page)
            sys.exit(0)
    from wavefront.cli.group import wavefront

    wavefront.main(args=args, prog_name="wavefront")


def __getattr__(name: str) -> object:
    # The group is imported with click, on first use: `wavefront --help` needs neither.
    if name == "wavefront":
        from wavefront.cli.group import wavefront

        return wavefront
    raise AttributeError(f"module 'wavefront.cli' has no attribute {name!r}")
