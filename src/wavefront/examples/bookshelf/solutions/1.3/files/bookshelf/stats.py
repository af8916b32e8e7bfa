"""Reading statistics for a list of books: what is where, what was read when, how it rated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bookshelf.models import STATUSES, Book


@dataclass(frozen=True)
class ShelfStats:
    total: int
    by_status: dict[str, int]
    average_rating: float | None
    pages_read: int
    read_per_year: dict[str, int]
    top_authors: list[tuple[str, int]]


def shelf_stats(books: Iterable[Book], top: int = 3) -> ShelfStats:
    """Summarize `books`; `top` limits the list of most-shelved authors."""
    books = list(books)
    by_status = {status: 0 for status in STATUSES}
    by_status.update(Counter(book.status for book in books))
    ratings = [book.rating for book in books if book.rating is not None]
    finished = [book for book in books if book.status == "read"]
    per_year = Counter(book.finished[:4] for book in finished if book.finished)
    authors = Counter(book.author for book in books)
    return ShelfStats(
        total=len(books),
        by_status=by_status,
        average_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
        pages_read=sum(book.pages or 0 for book in finished),
        read_per_year=dict(sorted(per_year.items())),
        top_authors=sorted(authors.items(), key=lambda item: (-item[1], item[0]))[:top],
    )


def format_stats(stats: ShelfStats) -> str:
    """The stats as the few lines a person wants to read."""
    rating = "-" if stats.average_rating is None else f"{stats.average_rating:.2f}"
    lines = [
        f"books: {stats.total}",
        "by status: " + ", ".join(f"{name} {count}" for name, count in stats.by_status.items()),
        f"average rating: {rating}",
        f"pages read: {stats.pages_read}",
    ]
    if stats.read_per_year:
        years = ", ".join(f"{year} {count}" for year, count in stats.read_per_year.items())
        lines.append(f"read per year: {years}")
    if stats.top_authors:
        authors = ", ".join(f"{name} ({count})" for name, count in stats.top_authors)
        lines.append(f"top authors: {authors}")
    return "\n".join(lines)
