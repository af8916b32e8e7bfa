"""The `wavefront` group: lazy commands, and wavefront's errors as one line and exit code 2.

No logic lives here that a library user would miss: loading and planning is
`wavefront.backlog.load.load_and_plan`, drawing is `wavefront.plan.render`. A new command is
a function with `@wavefront.command()` and the shared option decorators of
`wavefront.cli.options`, in a module that `wavefront.cli.COMMANDS` names.

Help at a width other than the stored page's (`wavefront.cli.helppage`) imports this
module and click, so it imports nothing else at the top: not pathlib, not shutil, not
even wavefront's own errors.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

import click

from wavefront import __version__
from wavefront.cli.commands import COMMANDS
from wavefront.cli.width import help_width

__all__ = ["wavefront"]

# Refusals of a write that are the user's to fix (permissions, a read-only mount, a full
# disk).
_REFUSED_WRITES = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC,
                             errno.EDQUOT})


class _Group(click.Group):
    """A group that turns wavefront's own errors into one line and exit code 2, and imports
    a command's module only when that command runs (so `--help` imports none of them)."""

    # command name -> (module that registers it, its one-line help for `--help`)
    lazy: Mapping[str, tuple[str, str]] = COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            import importlib

            importlib.import_module(self.lazy[cmd_name][0])  # registers its commands
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)  # as click
        rows: list[tuple[str, str]] = []
        for name in names:
            # A command not imported yet is shortened from its listed help the same way.
            command = self.commands.get(name) or click.Command(name, help=self.lazy[name][1])
            rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from wavefront.errors import WavefrontError

        try:
            return super().invoke(ctx)
        except WavefrontError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except OSError as error:
            # A file wavefront must write that the system refuses (a read-only or full
            # disk): one line naming it, not a traceback. Other OS errors are bugs.
            if error.errno not in _REFUSED_WRITES or error.filename is None:
                raise
            click.echo(f"error: cannot write {error.filename}: {error.strerror}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"],
                                           "terminal_width": help_width()})
@click.version_option(__version__, "-V", "--version", prog_name="wavefront")
def wavefront() -> None:
    """Run a software backlog through AI coding agents in parallel, each task in a git
    repository of its own, and get back one integration branch holding only work that
    passed its gates.

    Commands that read a backlog take ARGS: an existing path is a backlog file or
    directory, anything else a scope expression (1.3, 1.1-1.5, 'epic:auth', '1.*').
    With no path the backlog is discovered in the repository (-C).
    """
