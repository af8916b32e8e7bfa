"""Reading books from CSV, checking every row and naming the line of any mistake."""

from __future__ import annotations

import csv
from typing import TextIO

from bookshelf.csvexport import COLUMNS, TAG_SEPARATOR
from bookshelf.isbn import normalize_isbn
from bookshelf.models import Book, BookshelfError
from bookshelf.tags import normalize_tag

REQUIRED = ("title", "author")


class CsvImportError(BookshelfError):
    """A CSV file that cannot be imported; the message names the line."""


def _number(row: dict[str, str], column: str, line: int) -> int | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise CsvImportError(
            f"line {line}: {column} must be a whole number, not {text!r}"
        ) from None


def _book(row: dict[str, str], line: int) -> Book:
    cells = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in REQUIRED:
        if not cells[column]:
            raise CsvImportError(f"line {line}: {column} is empty")
    try:
        return Book(
            title=cells["title"],
            author=cells["author"],
            status=cells["status"] or "to-read",
            tags=tuple(
                sorted({normalize_tag(t) for t in cells["tags"].split(TAG_SEPARATOR) if t.strip()})
            ),
            rating=_number(row, "rating", line),
            isbn=normalize_isbn(cells["isbn"]) if cells["isbn"] else None,
            pages=_number(row, "pages", line),
            finished=cells["finished"] or None,
        )
    except CsvImportError:
        raise
    except BookshelfError as exc:
        raise CsvImportError(f"line {line}: {exc}") from None


def import_csv(stream: TextIO) -> list[Book]:
    """Every book in `stream`; the first bad row stops the import with its line number."""
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise CsvImportError(f"line 1: header lacks column(s) {', '.join(missing)}")
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        raise CsvImportError(
            f"line 1: unknown column(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})"
        )
    # reader.line_num is the physical line just read, so quoted newlines keep numbers right.
    return [_book(row, reader.line_num) for row in reader]
