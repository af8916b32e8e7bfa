"""Commands to find and tag books: search, tag, tags."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from bookshelf.commands import book_line
from bookshelf.models import STATUSES
from bookshelf.search import search
from bookshelf.storage import Shelf
from bookshelf.tags import add_tags, remove_tags, tag_counts


def register(subparsers: Any) -> None:
    finder = subparsers.add_parser("search", help="find books by words, tag, status or rating")
    finder.add_argument("words", nargs="*", help="words that must all be in title or author")
    finder.add_argument("--tag")
    finder.add_argument("--status", choices=STATUSES)
    finder.add_argument("--min-rating", type=int, metavar="N")
    finder.set_defaults(run=run_search)

    tag = subparsers.add_parser("tag", help="add tags to a book (or remove them)")
    tag.add_argument("id", type=int)
    tag.add_argument("tags", nargs="+")
    tag.add_argument("--remove", action="store_true", help="remove the tags instead")
    tag.set_defaults(run=run_tag)

    tags = subparsers.add_parser("tags", help="list the tags in use with their counts")
    tags.set_defaults(run=run_tags)


def run_search(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    found = search(
        shelf.books(),
        " ".join(args.words),
        tag=args.tag,
        status=args.status,
        min_rating=args.min_rating,
    )
    for book in found:
        print(book_line(book), file=out)
    print(f"{len(found)} found", file=out)
    # Exit 1 when nothing matches, like grep: scripts can test for a hit.
    return 0 if found else 1


def run_tag(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    book = shelf.get(args.id)
    change = remove_tags if args.remove else add_tags
    book = shelf.update(change(book, args.tags))
    print(f"#{book.id} {book.title}: {', '.join(book.tags) or 'no tags'}", file=out)
    return 0


def run_tags(args: argparse.Namespace, shelf: Shelf, out: TextIO) -> int:
    counts = tag_counts(shelf.books())
    for name, count in counts:
        print(f"{count:>4}  {name}", file=out)
    if not counts:
        print("no tags", file=out)
    return 0
