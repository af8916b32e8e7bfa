"""No process of an attempt outlives it: each agent's processes carry a tag, and go with it.

Killing the agent's process group misses what left the group (`setsid`, a daemon's double
fork), and a killed wavefront kills nothing at all. So every process an attempt starts
inherits `WAVEFRONT_ATTEMPT=<run>:<attempt>` in its environment; the tag is journaled
before the agent starts, and whatever still carries it is killed when the attempt ends,
and by `resume` for the attempts of a dead engine. Finding the tag needs only `/proc`
(no root, no cgroup delegation), so it works the same here and on a user's Linux box.
A program that wipes its own environment escapes the tag; the engine is also a child
subreaper (`PR_SET_CHILD_SUBREAPER`), so such orphans become its children and are killed
when the run ends. Only the bubblewrap sandbox (a pid namespace) closes the gap fully.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TAG_VARIABLE",
    "AttemptScope",
    "attempt_scope",
    "become_subreaper",
    "current_scope",
    "kill_orphans",
    "kill_tagged",
    "run_tag",
    "tagged_processes",
]

TAG_VARIABLE = "WAVEFRONT_ATTEMPT"
_PROC = Path("/proc")
_PR_SET_CHILD_SUBREAPER = 36
_reaping = False  # set once this process is a subreaper: only then are orphans its own


@dataclass(frozen=True)
class AttemptScope:
    """The attempt the processes started in this context belong to."""

    tag: str
    on_start: Callable[[int], None]  # told each started process group's id
    wrap: Callable[[Sequence[str]], list[str]] | None = None  # the sandbox's argv, if any


_scope: ContextVar[AttemptScope | None] = ContextVar("wavefront_attempt", default=None)


@contextlib.contextmanager
def attempt_scope(tag: str, on_start: Callable[[int], None],
                  wrap: Callable[[Sequence[str]], list[str]] | None = None) -> Iterator[None]:
    """Tag every process `run_process` starts in this (async) context with `tag` (and run
    it through `wrap`, the sandbox, when given)."""
    token = _scope.set(AttemptScope(tag, on_start, wrap))
    try:
        yield
    finally:
        _scope.reset(token)


def run_tag(run_id: str, journal: Path) -> str:
    """The tag prefix of a run's attempts: its id and where its journal is, so two
    repositories' runs of the same id (`--run-id nightly`) never kill each other's agents."""
    import hashlib

    where = hashlib.sha1(str(journal.resolve()).encode(), usedforsecurity=False).hexdigest()
    return f"{run_id}@{where[:10]}:"


def current_scope() -> AttemptScope | None:
    return _scope.get()


def tagged_processes(prefix: str, since_pid: int = 0) -> list[int]:
    """Live processes whose environment holds a tag starting with `prefix`.

    `since_pid`: only processes started after the one of that pid (its descendants are
    among them). Pids grow until the counter wraps, so unless it wrapped meanwhile the
    older processes are skipped unread: on a busy machine reading every process's
    environment took tens of milliseconds after every agent process."""
    if not _PROC.is_dir():
        return []
    wanted = f"{TAG_VARIABLE}={prefix}".encode()
    found = []
    me = os.getpid()
    if since_pid and _last_pid() < since_pid:
        since_pid = 0  # the counter wrapped: a newer process may have a smaller pid
    try:
        names = os.listdir(_PROC)
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) == me or int(name) < since_pid:
            continue
        try:
            with open(f"{_PROC}/{name}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        # A whole variable: the tag at the start of the block or after a NUL.
        if environ.startswith(wanted) or b"\0" + wanted in environ:
            found.append(int(name))
    return sorted(found)


def _last_pid() -> int:
    try:
        return int((_PROC / "sys" / "kernel" / "ns_last_pid").read_text())
    except (OSError, ValueError):
        return 0  # unknown: read every process


def kill_tagged(prefix: str, since_pid: int = 0) -> list[int]:
    """SIGKILL every process carrying a tag that starts with `prefix`; return their pids.

    Their process groups go too: a child that cleared its environment but stayed in the
    group of a tagged process is caught that way. `since_pid` as for `tagged_processes`.
    """
    pids = tagged_processes(prefix, since_pid)
    groups = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    own = os.getpgrp()
    for group in groups - {own}:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
    return pids


def become_subreaper() -> bool:
    """Make orphaned descendants this process's children (Linux); False where unsupported."""
    global _reaping
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here: every `wavefront` command calls this, most need no ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _reaping = int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        _reaping = False
    return _reaping


def kill_orphans(keep: Callable[[int], bool] = lambda pid: False) -> list[int]:
    """SIGKILL this process's children that `keep` does not claim; return their pids.

    Called when a run ends, when every agent and gate is over: a child left then is an
    orphan a subreaper inherited. Does nothing unless `become_subreaper` succeeded (a
    program embedding wavefront keeps its own children).
    """
    me = os.getpid()
    killed: list[int] = []
    if not _reaping or not _PROC.is_dir():
        return killed
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; the ppid comes after.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(me) and not keep(int(entry.name)):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    for pid in killed:  # reap them, so no zombie is left either
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    return killed
