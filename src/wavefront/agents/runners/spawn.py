"""A child process started on a worker thread and followed without polling.

`asyncio.create_subprocess_exec` forks and execs on the event loop's thread, so every
task waits while a large process forks; and before Python 3.12 its `wait()` also waits
for the pipes, which made `run_process` poll the exit status every 50 ms. Here the fork
and exec run on a thread, the pipes are read by the loop as usual, and the leader's exit
arrives through a pidfd (Linux 5.3 and later) the moment it happens. `run_process` keeps
its process groups, timeouts, kill-on-cancel and output limits; where pidfds are
missing, `start` falls back to asyncio's own subprocess.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["Child", "start"]

_PIDFD = hasattr(os, "pidfd_open")


class Child:
    """A started child: its pid, pipes and exit status (None while it runs)."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader, stderr: asyncio.StreamReader,
                 stdin: asyncio.StreamWriter | None, exited: asyncio.Future[int]) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self._exited = exited

    @property
    def returncode(self) -> int | None:
        if self._exited.done() and not self._exited.cancelled():
            return self._exited.result()
        return None

    async def exited(self) -> int:
        """The leader's exit status, as soon as it exits (not when its pipes close)."""
        return await asyncio.shield(self._exited)


async def start(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                stdin_pipe: bool) -> Child:
    """Start `argv` in its own session (its own process group), stdout and stderr piped,
    stdin a pipe or /dev/null. Raises `OSError` when it cannot start."""
    if not _PIDFD:
        return await _start_asyncio(argv, cwd=cwd, env=env, stdin_pipe=stdin_pipe)
    loop = asyncio.get_running_loop()
    popen = await asyncio.to_thread(
        subprocess.Popen, list(argv), cwd=cwd, env=dict(env),
        stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    exited: asyncio.Future[int] = loop.create_future()
    try:
        pidfd = os.pidfd_open(popen.pid)
    except OSError:  # a kernel without pidfds for processes: wait on a thread instead
        loop.run_in_executor(None, _reap_blocking, popen, loop, exited)
    else:
        loop.add_reader(pidfd, _reap, popen, pidfd, loop, exited)
    assert popen.stdout is not None and popen.stderr is not None
    stdout = await _reader(loop, popen.stdout)
    stderr = await _reader(loop, popen.stderr)
    stdin = None
    if popen.stdin is not None:
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(), loop=loop),
            popen.stdin)
        stdin = asyncio.StreamWriter(transport, protocol, None, loop)
    return Child(popen.pid, stdout, stderr, stdin, exited)


async def _reader(loop: asyncio.AbstractEventLoop, pipe: object) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                                 pipe)
    return reader


def _reap(popen: subprocess.Popen[bytes], pidfd: int, loop: asyncio.AbstractEventLoop,
          exited: asyncio.Future[int]) -> None:
    """The pidfd is readable: the leader exited; collect its status (no zombie left)."""
    loop.remove_reader(pidfd)
    os.close(pidfd)
    try:
        code = popen.wait()  # returns at once; Popen keeps the status, so nothing else reaps it
    except ChildProcessError:
        code = 255
    if not exited.done():
        exited.set_result(code)


def _reap_blocking(popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop,
                   exited: asyncio.Future[int]) -> None:
    code = popen.wait()
    loop.call_soon_threadsafe(_settle, exited, code)


def _settle(exited: asyncio.Future[int], code: int) -> None:
    if not exited.done():
        exited.set_result(code)


async def _start_asyncio(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                         stdin_pipe: bool) -> Child:
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=dict(env),
        stdin=asyncio.subprocess.PIPE if stdin_pipe else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[int] = loop.create_future()

    async def poll() -> None:
        # Not `proc.wait()`: before Python 3.12 it also waits for the pipes.
        while proc.returncode is None:
            await asyncio.sleep(0.05)
        exited.set_result(proc.returncode)

    poller = asyncio.ensure_future(poll())
    exited.add_done_callback(lambda _: poller.cancel())
    assert proc.stdout is not None and proc.stderr is not None
    return Child(proc.pid, proc.stdout, proc.stderr, proc.stdin, exited)
