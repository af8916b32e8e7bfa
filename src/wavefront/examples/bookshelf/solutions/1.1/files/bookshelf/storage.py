"""The shelf on disk: one JSON file holding every book, written atomically."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

from bookshelf.models import Book, BookshelfError

FORMAT_VERSION = 1


class StorageError(BookshelfError):
    """The shelf file cannot be read or written."""


class UnknownBook(BookshelfError, KeyError):
    """No book on the shelf has the requested id."""

    def __str__(self) -> str:
        return f"no book with id {self.args[0]}"


class Shelf:
    """Books kept in a JSON file. Each change is saved at once, so a crash loses nothing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._books: dict[int, Book] = {}
        if self.path.exists():
            self._books = {book.id: book for book in self._read()}

    def _read(self) -> list[Book]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise StorageError(
                f"{self.path}: not valid JSON (line {exc.lineno}): {exc.msg}"
            ) from None
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot read: {exc.strerror}") from None
        if not isinstance(data, dict) or not isinstance(data.get("books"), list):
            raise StorageError(f'{self.path}: expected an object with a "books" list')
        if data.get("version") != FORMAT_VERSION:
            raise StorageError(
                f"{self.path}: shelf format {data.get('version')!r} is not supported "
                f"(expected {FORMAT_VERSION})"
            )
        books = []
        for index, item in enumerate(data["books"]):
            try:
                book = Book.from_dict(item)
            except (BookshelfError, TypeError) as exc:
                raise StorageError(f"{self.path}: book #{index + 1}: {exc}") from None
            if book.id is None:
                raise StorageError(f"{self.path}: book #{index + 1} has no id")
            books.append(book)
        return books

    def _write(self) -> None:
        payload = {"version": FORMAT_VERSION, "books": [b.to_dict() for b in self.books()]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename over it: readers never see half a file.
        handle, temp_name = tempfile.mkstemp(dir=self.path.parent, prefix=".shelf-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as temp:
                json.dump(payload, temp, indent=2, ensure_ascii=False)
                temp.write("\n")
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def books(self) -> list[Book]:
        """Every book, in the order they were added."""
        return [self._books[key] for key in sorted(self._books)]

    def get(self, book_id: int) -> Book:
        try:
            return self._books[book_id]
        except KeyError:
            raise UnknownBook(book_id) from None

    def add(self, book: Book) -> Book:
        """Store a new book and return it with its id."""
        stored = dataclasses.replace(book, id=max(self._books, default=0) + 1)
        self._books[stored.id] = stored
        self._write()
        return stored

    def update(self, book: Book) -> Book:
        """Replace the stored book that has the same id."""
        if book.id is None:
            raise UnknownBook(None)
        self.get(book.id)
        self._books[book.id] = book
        self._write()
        return book

    def remove(self, book_id: int) -> Book:
        book = self.get(book_id)
        del self._books[book_id]
        self._write()
        return book

    def __len__(self) -> int:
        return len(self._books)
