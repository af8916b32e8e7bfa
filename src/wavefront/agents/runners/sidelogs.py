"""Following the log files a CLI writes of its own, beside its output.

Some CLIs say nothing on stdout or stderr while they retry a failing model call for
minutes, but write each retry into a debug log (Qwen Code). `follow` reads the lines
added to the files of such a folder while the child runs, so the runner's watcher sees
them as it sees the child's output. What was in the folder before the child started is
not read again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

__all__ = ["SideLogs"]

POLL_S = 0.25
_READ_LIMIT = 1 << 20  # per file and poll: a runaway log cannot stall the loop


class SideLogs:
    """The new lines of every file in `folder` (not its subfolders), fed to `feed`."""

    def __init__(self, folder: Path, feed: Callable[[str], None]) -> None:
        self.folder = folder
        self._feed = feed
        self._offsets: dict[Path, int] = {path: _size(path) for path in self._files()}
        self._pending: dict[Path, str] = {}

    async def follow(self) -> None:
        """Poll until cancelled."""
        while True:
            self.read()
            await asyncio.sleep(POLL_S)

    def read(self) -> None:
        """Feed the complete lines written since the last read."""
        for path in self._files():
            offset = self._offsets.get(path, 0)
            if _size(path) <= offset:
                continue
            with contextlib.suppress(OSError), path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(_READ_LIMIT)
                self._offsets[path] = offset + len(data)
                text = self._pending.pop(path, "") + data.decode("utf-8", errors="replace")
                *lines, rest = text.split("\n")
                if rest:
                    self._pending[path] = rest
                for line in lines:
                    self._feed(line)

    def _files(self) -> list[Path]:
        try:
            return sorted(p for p in self.folder.iterdir() if p.is_file() and not p.is_symlink())
        except OSError:
            return []


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
