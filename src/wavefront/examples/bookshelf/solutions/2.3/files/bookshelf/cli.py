"""The `bookshelf` command line: global options, sub-commands found in `bookshelf.commands`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from bookshelf import __version__
from bookshelf.commands import command_modules
from bookshelf.models import BookshelfError
from bookshelf.storage import Shelf

DEFAULT_SHELF = "~/.bookshelf.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bookshelf", description="Keep a reading list in a JSON file."
    )
    parser.add_argument("--version", action="version", version=f"bookshelf {__version__}")
    parser.add_argument(
        "--shelf",
        metavar="PATH",
        default=os.environ.get("BOOKSHELF_FILE", DEFAULT_SHELF),
        help="the shelf file (default: $BOOKSHELF_FILE or %(default)s)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in command_modules():
        module.register(subparsers)
    return parser


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command; return its exit code (1 for a bookshelf error, 2 for bad usage)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        shelf = Shelf(os.path.expanduser(args.shelf))
        return int(args.run(args, shelf, out))
    except BookshelfError as exc:
        print(f"bookshelf: error: {exc}", file=err)
        return 1
