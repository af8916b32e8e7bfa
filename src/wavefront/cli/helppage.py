"""`wavefront --help` without importing click: the page click prints, stored.

Importing click is most of what `wavefront --help` costs (171 of 202 million
instructions), so the page click renders at the width it gives every terminal of 80
columns or more is kept in `help.txt` beside this module and printed as it is. At any
other width click renders the page itself. A test renders the page with click and
compares; after a command or its help changes, `python -m wavefront.cli.helppage` writes
it again.
"""

from __future__ import annotations

import os

from wavefront.cli.width import help_width

__all__ = ["STORED_WIDTH", "render", "stored_page"]

# What help_width() gives a terminal of 80 columns or more, and output that is no terminal.
STORED_WIDTH = 78
_PAGE = os.path.join(os.path.dirname(__file__), "help.txt")


def stored_page() -> str | None:
    """The stored page when it is the one click would print here, else None."""
    if help_width() != STORED_WIDTH:
        return None
    try:
        with open(_PAGE, encoding="utf-8") as page:
            return page.read()
    except OSError:
        return None


def render(width: int = STORED_WIDTH) -> str:
    """The page as click prints it at `width` (with its final newline)."""
    import click

    from wavefront.cli.group import wavefront

    settings = {**wavefront.context_settings, "terminal_width": width}
    context = click.Context(wavefront, info_name="wavefront", **settings)
    return wavefront.get_help(context) + "\n"


if __name__ == "__main__":
    with open(_PAGE, "w", encoding="utf-8") as out:
        out.write(render())
    print(f"wrote {_PAGE}")
