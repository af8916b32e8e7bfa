"""Sub-commands of the CLI. Each module here has `register(subparsers)`; every parser it adds
sets `run(args, shelf, out) -> int` as a default. A new command is a new module: the CLI
finds it, so stories that add commands do not need to edit one shared list."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from bookshelf.models import Book


def command_modules() -> list[ModuleType]:
    """Every command module, in name order so `--help` lists commands the same way each time."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.ispkg)
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def book_line(book: Book) -> str:
    """One book on one line, as `list`, `search` and friends print it."""
    tags = f"  [{', '.join(book.tags)}]" if book.tags else ""
    rating = f"  {'*' * book.rating}" if book.rating else ""
    return f"{book.id:>3}  {book.status:<9}  {book.title} by {book.author}{rating}{tags}"
