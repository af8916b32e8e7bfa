"""The basic commands: add, list, show, status, remove."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from bookshelf.commands import book_line
from bookshelf.models import STATUSES, Book
from bookshelf.storage import Shelf
from bookshelf.tags import parse_tags


def register(subparsers: Any) -> None:
    add = subparsers.add_parser("add", help="put a book on the shelf")
    add.add_argument("title")
    add.add_argument("author")
    add.add_argument("--status", choices=STATUSES, default="to-read")
    add.add_argument("--tags", default="", help="comma-separated, e.g. sci-fi,classic")
    add.add_argument("--rating", type=int, help="1 to 5")
    add.add_argument("--pages", type=int)
    add.set_defaults(run=run_add)

    listing = subparsers.add_parser("list", help="list the books on the shelf")
    listing.add_argument("--status", choices=STATUSES)
    listing.set_defaults(run=run_list)

    show = subparsers.add_parser("show", help="show every field of one book")
    show.add_argument("id", type=int)
    show.set_defaults(run=run_show)

    status = subparsers.add_parser("status", help="move a book to another status")
    status.add_argument("id", type=int)
    status.add_argument("status", choices=STATUSES)
    status.set_defaults(run=run_status)

    remove = subparsers.add_parser("remove", help="take a book off the shelf")
    remove.add_argument("id", type=int)
    remove.set_defaults(run=run_remove)


def run_add(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    book = Book(
        args.title,
        args.author,
        status=args.status,
        tags=parse_tags(args.tags),
        rating=args.rating,
        pages=args.pages,
    )
    if book.status == "read":
        book = book.with_status("read")
    stored = shelf.add(book)
    print(f"added #{stored.id}: {stored.title} by {stored.author}", file=out)
    return 0


def run_list(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    books = [b for b in shelf.books() if args.status is None or b.status == args.status]
    for book in books:
        print(book_line(book), file=out)
    if not books:
        print("no books", file=out)
    return 0


def run_show(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    for name, value in shelf.get(args.id).to_dict().items():
        if value not in (None, []):
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{name:>8}: {shown}", file=out)
    return 0


def run_status(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    book = shelf.update(shelf.get(args.id).with_status(args.status))
    print(f"#{book.id} {book.title} is now {book.status}", file=out)
    return 0


def run_remove(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    book = shelf.remove(args.id)
    print(f"removed #{book.id}: {book.title}", file=out)
    return 0
