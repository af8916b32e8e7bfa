"""The book record every other module works with, and the checks that keep it valid."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field, replace
from typing import Any

STATUSES = ("to-read", "reading", "read", "abandoned")


class BookshelfError(Exception):
    """Base of every error bookshelf raises on purpose; the CLI prints these as messages."""


class InvalidBook(BookshelfError, ValueError):
    """A book field holds a value the shelf cannot keep."""


@dataclass(frozen=True)
class Book:
    """One book on the shelf. `id` is None until the shelf stores the book."""

    title: str
    author: str
    status: str = "to-read"
    tags: tuple[str, ...] = ()
    rating: int | None = None
    isbn: str | None = None
    pages: int | None = None
    finished: str | None = None
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise InvalidBook("a book needs a title")
        if not self.author.strip():
            raise InvalidBook(f"{self.title!r} needs an author")
        if self.status not in STATUSES:
            raise InvalidBook(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise InvalidBook(f"rating must be 1 to 5, not {self.rating}")
        if self.pages is not None and self.pages < 1:
            raise InvalidBook(f"pages must be positive, not {self.pages}")
        if self.finished is not None:
            try:
                datetime.date.fromisoformat(self.finished)
            except ValueError:
                raise InvalidBook(
                    f"finished must be a date like 2024-05-31, not {self.finished!r}"
                ) from None

    def with_status(self, status: str, today: datetime.date | None = None) -> Book:
        """The same book moved to `status`; finishing it records the date it was read."""
        finished = self.finished
        if status == "read" and finished is None:
            finished = (today or datetime.date.today()).isoformat()
        return replace(self, status=status, finished=finished)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Book:
        """Build a book from stored data; unknown keys are an error, not silently lost."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidBook(f"unknown book field(s): {', '.join(unknown)}")
        values = dict(data)
        values["tags"] = tuple(values.get("tags") or ())
        try:
            return cls(**values)
        except TypeError as exc:  # a required field is missing
            raise InvalidBook(str(exc)) from None
