"""One active run per repository: an advisory lock that dies with its process.

`fcntl.flock` is released by the kernel when the holder exits, however it exits, so a
`kill -9` never leaves a lock that blocks the next `wavefront resume`. The lock is held on
the state directory itself, not only on `run.lock` (which just names the holder's pid): an
agent that deletes `run.lock` cannot let a second engine in, since a new file would be a
new lock, while the directory stays the one the journal lives in.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from wavefront.errors import RunLockedError, WorkspaceError

__all__ = ["RunLock"]


class RunLock:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.state_dir, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise self._unwritable(exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self._recorded_pid()
            raise RunLockedError(
                f"another wavefront run (pid {holder or 'unknown'}) is active in this "
                "repository; wait for it to finish or stop it (Ctrl-C / `wavefront cancel`)"
            ) from None
        self._fd = fd
        try:
            self.path.unlink(missing_ok=True)
            self.path.write_text(str(os.getpid()), encoding="utf-8")
        except OSError as exc:
            self.release()
            raise self._unwritable(exc) from None

    def _unwritable(self, exc: OSError) -> WorkspaceError:
        return WorkspaceError(
            f"cannot write wavefront's state directory {self.state_dir}: "
            f"{exc.strerror or exc}; a run keeps its journal, logs and workspaces there, "
            "so it must be writable")

    def release(self) -> None:
        if self._fd is not None:
            if self._recorded_pid() == os.getpid():
                self.path.unlink(missing_ok=True)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> int | None:
        """The pid of a live holder (-1 when it is not known), or None when nobody holds
        the lock."""
        if not self.state_dir.is_dir():
            return None
        fd = os.open(self.state_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return self._recorded_pid() or -1
        finally:
            os.close(fd)
        return None

    def _recorded_pid(self) -> int | None:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
