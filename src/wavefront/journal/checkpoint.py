"""Keeping the journal's write-ahead log short without stalling the engine."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import suppress
from pathlib import Path

__all__ = ["AUTOCHECKPOINT_PAGES", "CHECKPOINT_EVERY", "WAL_LIMIT_BYTES", "Checkpointer",
           "enable_wal"]

# Checkpoints (copying the WAL back into the database file, with two fsyncs) run on a
# thread of their own, as SQLite's WAL documentation suggests: run on the committing
# connection, every thousandth page stalled the engine's loop for tens of milliseconds.
# The thread is asked for one every this many commits (a few pages each)...
CHECKPOINT_EVERY = 200
# ...and should it fall behind, the engine's own connection checkpoints past this many
# pages (SQLite's automatic checkpoint, normally 1000, kept as the safety net).
AUTOCHECKPOINT_PAGES = 20000
# A passive checkpoint never restarts the log while the engine keeps writing (it copies up
# to where the log was, and more is appended meanwhile), so the file only grows. Past this
# size the thread asks for a TRUNCATE checkpoint, which waits (briefly: `_BUSY_MS`) for a
# moment with no transaction open, copies the rest and restarts the log at zero bytes; if
# no such moment comes, the next request tries again. The engine's own connection has
# the same limit for the restarts that do happen (`journal_size_limit`).
WAL_LIMIT_BYTES = 4 * 2**20
_BUSY_MS = 50


class Checkpointer:
    """A thread with its own connection that checkpoints the WAL when asked.

    A PASSIVE checkpoint never blocks the engine's writes or reads; the sqlite3 module
    releases the GIL while SQLite works, so the fsyncs no longer stall the event loop.
    Durability is unchanged: the same checkpoint, with the same synchronous level, only
    on another connection (a crash mid-checkpoint is recovered from the WAL as before).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="journal-checkpoint",
                                        daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def stop(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join()

    def _loop(self) -> None:
        try:
            connection = sqlite3.connect(self._path, timeout=1.0, isolation_level=None)
        except sqlite3.Error:
            return  # the engine's connection keeps checkpointing by itself
        try:
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            wal = self._path.with_name(self._path.name + "-wal")
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                # Busy or failed: the next request tries again, and the safety net holds.
                with suppress(sqlite3.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                with suppress(sqlite3.Error, OSError):
                    if wal.stat().st_size > WAL_LIMIT_BYTES:
                        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            connection.close()


def enable_wal(connection: sqlite3.Connection) -> None:
    """Switch to WAL. Changing the mode needs a moment of exclusive access, and SQLite
    answers "locked" at once rather than waiting when several processes open a new journal
    together; so wait and try again (it is a no-op once the file is in WAL mode)."""
    for delay in (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(delay)
    connection.execute("PRAGMA journal_mode=WAL")
