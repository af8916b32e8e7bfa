"""Commands to move books in and out of CSV: export, import."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from bookshelf.csvexport import export_csv
from bookshelf.csvimport import import_csv
from bookshelf.models import Book, BookshelfError
from bookshelf.storage import Shelf


def register(subparsers: Any) -> None:
    export = subparsers.add_parser("export", help="write the shelf as CSV")
    export.add_argument("file", nargs="?", default="-", help="CSV file (default: stdout)")
    export.set_defaults(run=run_export)

    load = subparsers.add_parser("import", help="add the books of a CSV file")
    load.add_argument("file", help="CSV file with at least title and author columns")
    load.add_argument("--dry-run", action="store_true", help="check the file, change nothing")
    load.set_defaults(run=run_import)


def _key(book: Book) -> tuple[str, ...]:
    """Two books are the same when their ISBNs match, or else their title and author."""
    if book.isbn:
        return ("isbn", book.isbn)
    return ("name", book.title.casefold(), book.author.casefold())


def run_export(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    if args.file == "-":
        export_csv(shelf.books(), out)
        return 0
    try:
        with open(args.file, "w", encoding="utf-8", newline="") as stream:
            count = export_csv(shelf.books(), stream)
    except OSError as exc:
        raise BookshelfError(f"{args.file}: cannot write: {exc.strerror}") from None
    print(f"exported {count} books to {args.file}", file=out)
    return 0


def run_import(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    try:
        if args.file == "-":
            books = import_csv(sys.stdin)
        else:
            with open(args.file, encoding="utf-8", newline="") as stream:
                books = import_csv(stream)
    except OSError as exc:
        raise BookshelfError(f"{args.file}: cannot read: {exc.strerror}") from None
    except BookshelfError as exc:
        raise BookshelfError(f"{args.file}: {exc}") from None
    known = {_key(book) for book in shelf.books()}
    new = []
    for book in books:
        if _key(book) not in known:
            known.add(_key(book))
            new.append(book)
    if not args.dry_run:
        for book in new:
            shelf.add(book)
    verb = "would import" if args.dry_run else "imported"
    print(
        f"{verb} {len(new)} books, skipped {len(books) - len(new)} already on the shelf", file=out
    )
    return 0
