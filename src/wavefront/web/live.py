"""Server-sent events: the journal's events of a run, and an attempt's log as it grows.

The engine runs in another process, so the stream follows the journal file itself: it
asks for events after the last one it sent (an indexed query) a few times a second and
pushes what is new. The event id is the journal's, so a browser that reconnects
(`Last-Event-ID`) gets exactly what it missed, and a reload starts from what it rendered.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from wavefront.journal.database import Event, Journal
from wavefront.redact import Redactor
from wavefront.web.views import counts_of, ended

__all__ = ["follow_log", "follow_run", "message"]

POLL_S = 0.25
KEEP_ALIVE_S = 15.0
# A browser appends a log in pieces of at most this many bytes.
LOG_CHUNK = 64 * 1024
# What of an event's data the page uses; the rest (prompts, paths) stays on the server.
_PUBLIC_KEYS = ("status", "reason", "state", "cost_usd", "gate", "passed", "decision",
                "attempt", "kind", "number")


def message(kind: str, data: Mapping[str, Any], event_id: int | None = None) -> str:
    """One server-sent event; `data` travels as JSON, so no line of it can break the frame."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def public(event: Event) -> dict[str, Any]:
    data = {key: event.data[key] for key in _PUBLIC_KEYS if key in event.data}
    return {"id": event.id, "kind": event.kind, "task": event.task_id, "data": data}


async def follow_run(journal: Journal, run_id: str, since: int) -> AsyncIterator[str]:
    """The run's events after `since`, then a `totals` message after each batch."""
    yield "retry: 1000\n\n"
    quiet = 0.0
    while True:
        events = journal.events(run_id, since_id=since)
        if events:
            quiet = 0.0
            for event in events:
                yield message("journal", public(event), event.id)
            since = events[-1].id
            yield message("totals", totals(journal, run_id))
        else:
            quiet += POLL_S
            if quiet >= KEEP_ALIVE_S:  # a comment keeps proxies from closing the stream
                quiet = 0.0
                yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)


def totals(journal: Journal, run_id: str) -> dict[str, Any]:
    run = journal.get_run(run_id)
    tasks = journal.tasks(run_id)
    return {"counts": counts_of(tasks), "cost_usd": journal.totals(run_id)["cost_usd"],
            "state": run.state if run else "", "ended_at": ended(run, tasks) if run else None}


async def follow_log(journal: Journal, attempt_id: int, offset: int) -> AsyncIterator[str]:
    """An attempt's log from byte `offset`, growing while the attempt runs; `end` after.

    Only whole lines are sent while it runs, so a secret split across two reads is still
    redacted; the message id is the byte offset reached, for a reconnect.
    """
    yield "retry: 1000\n\n"
    redactor = Redactor()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while True:
        attempt = journal.attempt(attempt_id)
        if attempt is None:
            yield message("end", {"reason": "no such attempt"})
            return
        running = attempt.state == "running"
        chunk = _read(Path(attempt.log_path), offset) if attempt.log_path else b""
        offset += len(chunk)
        pending += decoder.decode(chunk, final=not running and len(chunk) < LOG_CHUNK)
        cut = pending.rfind("\n") + 1 if running else len(pending)
        if cut:
            pending, text = pending[cut:], pending[:cut]
            # The id is the offset of what the browser now has, for a reconnect.
            sent = offset - len(pending.encode("utf-8")) - len(decoder.getstate()[0])
            yield message("log", {"text": redactor.text(text)}, sent)
        if not chunk and not running:
            yield message("end", {"state": attempt.state}, offset)
            return
        if len(chunk) < LOG_CHUNK:
            await asyncio.sleep(POLL_S)


def _read(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            return log.read(LOG_CHUNK)
    except OSError:  # not written yet: the runner creates it with its first line
        return b""
