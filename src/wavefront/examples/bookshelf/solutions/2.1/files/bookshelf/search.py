"""Finding books: words in the title or author, a tag, a status, a minimum rating."""

from __future__ import annotations

from collections.abc import Iterable

from bookshelf.models import STATUSES, Book, InvalidBook
from bookshelf.tags import normalize_tag


def matches_text(book: Book, text: str) -> bool:
    """True when every word of `text` appears in the title or the author (any case)."""
    haystack = f"{book.title} {book.author}".casefold()
    return all(word in haystack for word in text.casefold().split())


def search(
    books: Iterable[Book],
    text: str = "",
    *,
    tag: str | None = None,
    status: str | None = None,
    min_rating: int | None = None,
) -> list[Book]:
    """The books that meet every given filter, sorted by title then author."""
    if status is not None and status not in STATUSES:
        raise InvalidBook(f"status {status!r} is not one of {', '.join(STATUSES)}")
    wanted_tag = normalize_tag(tag) if tag is not None else None
    found = [
        book
        for book in books
        if matches_text(book, text)
        and (wanted_tag is None or wanted_tag in book.tags)
        and (status is None or book.status == status)
        and (min_rating is None or (book.rating or 0) >= min_rating)
    ]
    return sorted(found, key=lambda book: (book.title.casefold(), book.author.casefold()))
