"""ISBN checks: accept ISBN-10 and ISBN-13 as people type them, store one ISBN-13 form."""

from __future__ import annotations

import re

from bookshelf.models import InvalidBook


def _digits(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw).upper()


def is_isbn10(raw: str) -> bool:
    code = _digits(raw)
    if not re.fullmatch(r"\d{9}[\dX]", code):
        return False
    values = [10 if ch == "X" else int(ch) for ch in code]
    total = sum(weight * value for weight, value in zip(range(10, 0, -1), values, strict=True))
    return total % 11 == 0


def is_isbn13(raw: str) -> bool:
    code = _digits(raw)
    if not re.fullmatch(r"97[89]\d{10}", code):
        return False
    total = sum(int(ch) * (1 if index % 2 == 0 else 3) for index, ch in enumerate(code))
    return total % 10 == 0


def to_isbn13(raw: str) -> str:
    """The ISBN-13 of a valid ISBN-10 (prefix 978, new check digit)."""
    body = "978" + _digits(raw)[:9]
    check = (10 - sum(int(ch) * (1 if i % 2 == 0 else 3) for i, ch in enumerate(body)) % 10) % 10
    return body + str(check)


def normalize_isbn(raw: str) -> str:
    """The plain ISBN-13 digits for `raw`, or InvalidBook naming what was wrong."""
    if is_isbn13(raw):
        return _digits(raw)
    if is_isbn10(raw):
        return to_isbn13(raw)
    raise InvalidBook(f"{raw!r} is not a valid ISBN-10 or ISBN-13 (check digit or length)")
