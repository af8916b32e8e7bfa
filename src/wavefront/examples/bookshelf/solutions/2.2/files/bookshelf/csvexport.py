"""Writing books to CSV, in the column layout `csvimport` reads back."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from bookshelf.models import Book

COLUMNS = ("title", "author", "status", "tags", "rating", "isbn", "pages", "finished")
TAG_SEPARATOR = ";"


def book_row(book: Book) -> dict[str, str]:
    """One CSV row; empty cells for fields the book does not have."""
    values = book.to_dict()
    row = {column: "" if values[column] is None else str(values[column]) for column in COLUMNS}
    row["tags"] = TAG_SEPARATOR.join(book.tags)
    return row


def export_csv(books: Iterable[Book], stream: TextIO) -> int:
    """Write a header and one row per book to `stream`; return the number of books."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for book in books:
        writer.writerow(book_row(book))
        count += 1
    return count
