"""A duration estimate as people write it ("3h", "2 days", "14-18 hours", "5 points"),
read as a number of hours, or of points when it gives no unit of time.

At the bottom of the layers: the backlog formats and `wavefront.yaml` read estimates,
and the plan turns them into weights (`plan.weights`).
"""

from __future__ import annotations

import re

__all__ = ["parse_estimate"]

_HOURS = {
    "m": 1 / 60, "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60,
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0,
    "d": 8.0, "day": 8.0, "days": 8.0,
    "w": 40.0, "wk": 40.0, "week": 40.0, "weeks": 40.0,
}
_POINTS = frozenset({"", "sp", "pt", "pts", "point", "points", "story point", "story points"})
_NUMBER = r"(\d+(?:\.\d+)?)"
# "3h", "2 days", "14-18 hours", "1.5 weeks", "5 points", "5".
_AMOUNT = re.compile(
    _NUMBER + r"(?:\s*(?:-|–|to)\s*" + _NUMBER + r")?\s*([a-z]+(?: points?)?)?", re.I)


def parse_estimate(text: str) -> float | None:
    """An estimate's size in hours (or in points when it has no unit; a working day is 8
    hours, a week 5 days); None when `text` holds no positive number. A range counts as
    its middle; a time unit anywhere in the text wins over a bare number ("4 sessions
    (14-18 hours)" is 16 hours)."""
    bare: float | None = None
    for found in _AMOUNT.finditer(text):
        low = float(found[1])
        size = (low + float(found[2])) / 2 if found[2] else low
        unit = (found[3] or "").lower()
        if unit in _HOURS:
            return size * _HOURS[unit]
        if unit in _POINTS and bare is None:
            bare = size
    return bare if bare is not None and bare > 0 else None
