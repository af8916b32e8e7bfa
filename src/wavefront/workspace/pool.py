"""Released attempt repositories, kept to be reset for the next attempt instead of rebuilt.

A fresh repository costs a checkout of every file (seconds at tens of thousands of files);
a released one needs only the files that differ from the new base. Only repositories
whose work is finished with go in: a merged task's, a finished merged-tree check's. A
failed or waiting task's workspace stays where it is, for the person to look at.

Crash safety comes from renames, which are atomic: a repository is put in under a plain
name, claimed by renaming it to `<name>.resetting`, reset there, and only then renamed to
where the attempt works. A `.resetting` entry found later was being reset when the
process died; `discard_interrupted` throws it away.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

from wavefront.workspace.attempt_repo import is_attempt_repo

__all__ = ["WorkspacePool"]

_CLAIMED = ".resetting"


class WorkspacePool:
    """Up to `limit` released attempt repositories in `folder` (one per slot of a run)."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self._lock = threading.Lock()

    def put(self, path: Path) -> bool:
        """Move the repository at `path` into the pool; False (nothing moved) when the pool
        is full or `path` is not an attempt repository."""
        if self.limit <= 0 or path.is_symlink() or not is_attempt_repo(path):
            return False
        with self._lock:
            if len(self._entries()) >= self.limit:
                return False
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(path, self.folder / uuid.uuid4().hex)
            except OSError:
                return False
        return True

    def take(self) -> Path | None:
        """Claim a pooled repository (renamed to `<name>.resetting`); None when empty."""
        with self._lock:
            for entry in self._entries():
                claimed = entry.with_name(entry.name + _CLAIMED)
                try:
                    os.rename(entry, claimed)
                except OSError:
                    continue
                return claimed
        return None

    def discard_interrupted(self) -> list[Path]:
        """Remove repositories a dead process was resetting; return them."""
        with self._lock:
            interrupted = (sorted(self.folder.glob(f"*{_CLAIMED}"))
                           if self.folder.is_dir() and not self.folder.is_symlink() else [])
            for path in interrupted:
                _remove(path)
        return interrupted

    def clear(self) -> list[Path]:
        """Remove every repository in the pool; return them."""
        with self._lock:
            found = (sorted(self.folder.iterdir())
                     if self.folder.is_dir() and not self.folder.is_symlink() else [])
            for path in found:
                _remove(path)
        return found

    def _entries(self) -> list[Path]:
        # A link (the folder or an entry) could lead the reset into someone else's checkout.
        if self.folder.is_symlink() or not self.folder.is_dir():
            return []
        return sorted(entry for entry in self.folder.iterdir()
                      if not entry.name.endswith(_CLAIMED) and not entry.is_symlink()
                      and is_attempt_repo(entry))


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)
