"""What a CLI's failure text says went wrong: a rate or usage limit (and when it resets),
missing or rejected credentials, or something else.

Every runner reads its CLI's errors through `classify_failure`, so a limit pauses the
runner until its reset whichever CLI hit it, and a missing key stops its tasks before
they spend their retries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wavefront.model import FailureKind

__all__ = ["Failure", "classify_failure", "parse_reset_time", "readable"]


@dataclass(frozen=True)
class Failure:
    """A classified failure: its kind, a one-line reason and, for limits, when to retry."""

    kind: FailureKind
    reason: str
    retry_at: float | None = None


# Where a model service's JSON error body starts in a CLI's message.
_JSON_ERROR = re.compile(r'\{\s*"error"\s*:')
_DECODER = json.JSONDecoder()


def readable(text: str) -> str:
    """`text` with each JSON error body it quotes (`{"error": {"code": 401, "message":
    ..., "status": ...}}`, as the model services send) replaced by its message and its
    status, which is what a person needs of it."""
    parts: list[str] = []
    at = 0
    for found in _JSON_ERROR.finditer(text):
        if found.start() < at:
            continue
        try:
            body, end = _DECODER.raw_decode(text, found.start())
        except ValueError:
            continue
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if not isinstance(message, str) or not message.strip():
            continue
        status = (error.get("status") or error.get("type")) if isinstance(error, dict) else None
        parts += [text[at:found.start()], message.strip()]
        if isinstance(status, str) and status:
            parts.append(f" ({status})")
        at = end
    return "".join(parts) + text[at:] if parts else text


_RATE_LIMIT = re.compile(
    r"\b429\b|rate[ _-]?limit|usage[ _-]?limit|hit your (usage )?limit|too many requests"
    r"|quota|resource[ _-]?exhausted|limit reached|overloaded_error",
    re.IGNORECASE,
)
_AUTH = re.compile(
    r"\b401\b|unauthori[sz]ed|invalid[ _-]?api[ _-]?key|authenticat(e|ion)"
    r"|not logged in|please (run )?/?login|missing api key|api key (is )?(missing|not set)"
    r"|no api key|credentials? (not found|missing|expired)|permission_denied.*api key"
    r"|api key not valid|api_key_invalid|incorrect api key",
    re.IGNORECASE,
)


def classify_failure(text: str, now: datetime | None = None) -> Failure | None:
    """RATE_LIMITED (with `retry_at` when the text names a reset) or AUTH when `text`
    says so; None when it is some other failure."""
    if not text.strip():
        return None
    rate = _RATE_LIMIT.search(text)
    if rate is not None:
        line = _line_at(text, rate.start())
        return Failure(FailureKind.RATE_LIMITED, line, parse_reset_time(text, now))
    auth = _AUTH.search(text)
    if auth is not None:
        return Failure(FailureKind.AUTH, _line_at(text, auth.start()))
    return None


def _line_at(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : end if end >= 0 else len(text)].strip()[:300]


_EPOCH_PATTERNS = (
    re.compile(
        r"limit reached\|(\d{10})"
    ),  # Claude Code: "Claude AI usage limit reached|1749924000"
    re.compile(r"[\"']?(?:resets_?at|resetsAt|reset_at)[\"']?\s*[:=]\s*(\d{10})", re.IGNORECASE),
)
_SECONDS_PATTERNS = (
    re.compile(r"resets_in_seconds[\"']?\s*[:=]\s*(\d+)", re.IGNORECASE),
    re.compile(r"retry[- ]after[\"']?\s*[:=]?\s*[\"']?(\d+)", re.IGNORECASE),
    re.compile(r"retry in (\d+(?:\.\d+)?)\s*s\b", re.IGNORECASE),  # Gemini: "Please retry in 34.5s"
)
_DURATION = re.compile(
    r"(?:try again|retry|resets?) in ((?:\s*,?\s*(?:and\s+)?\d+\s*"
    r"(?:days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b)+)",
    re.IGNORECASE,
)
_DURATION_PART = re.compile(r"(\d+)\s*(d|h|m|s)", re.IGNORECASE)
_CLOCK = re.compile(
    r"(?:resets?|reset at|try again at)\s+(?:at\s+)?"
    r"(?:(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2}),?\s+"
    r"(?:at\s+)?)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*\((?P<tz>[A-Za-z_]+(?:/[A-Za-z_+\-]+)*)\))?",
    re.IGNORECASE,
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def parse_reset_time(text: str, now: datetime | None = None) -> float | None:
    """When a limit named in `text` resets, as epoch seconds, or None when it does not say.

    Understands epoch stamps (`...limit reached|1749924000`, `"resetsAt": 1771390800`),
    waits (`retry-after: 30`, `try again in 2 days 17 hours 14 minutes`, `retry in 34.5s`)
    and clock times (`resets 7pm (America/Los_Angeles)`, `resets Apr 23 at 4pm (UTC)`,
    `try again at 3:04 PM`), the last taken as the next such time in the named zone.
    """
    now = now or datetime.now().astimezone()
    for pattern in _EPOCH_PATTERNS:
        match = pattern.search(text)
        if match:
            return float(match.group(1))
    for pattern in _SECONDS_PATTERNS:
        match = pattern.search(text)
        if match:
            return now.timestamp() + float(match.group(1))
    match = _DURATION.search(text)
    if match:
        seconds = 0
        unit_seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1}
        for number, unit in _DURATION_PART.findall(match.group(1)):
            seconds += int(number) * unit_seconds[unit.lower()]
        if seconds:
            return now.timestamp() + seconds
    match = _CLOCK.search(text)
    if match and (match.group("ampm") or match.group("minute") or match.group("tz")):
        return _next_clock_time(match, now)
    return None


def _next_clock_time(match: re.Match[str], now: datetime) -> float | None:
    zone = now.tzinfo
    if match.group("tz"):
        try:
            zone = ZoneInfo(match.group("tz"))
        except (ZoneInfoNotFoundError, ValueError):
            zone = now.tzinfo
    local_now = now.astimezone(zone)
    hour = int(match.group("hour"))
    minute = int(match.group("minute") or 0)
    ampm = (match.group("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    candidate = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if match.group("month"):
        month = _MONTHS.index(match.group("month").lower()[:3]) + 1
        try:
            candidate = candidate.replace(month=month, day=int(match.group("day")))
        except ValueError:
            return None
        if candidate < local_now - timedelta(days=180):
            candidate = candidate.replace(year=candidate.year + 1)
    elif candidate <= local_now - timedelta(minutes=1):
        candidate += timedelta(days=1)
    elif candidate <= local_now:
        # The minute named is this one (a clock time has no seconds): its end, not
        # tomorrow, and not a moment already past.
        candidate += timedelta(minutes=1)
    return candidate.timestamp()
