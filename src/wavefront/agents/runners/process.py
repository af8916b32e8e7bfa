"""Run one child process the way every runner and command gate must: contained and logged.

The child gets stdin from /dev/null (or a pipe holding `stdin_text`), runs in its own
process group so a timeout or a cancellation can kill everything it started, and has its
stdout and stderr both captured and streamed into a log file as they arrive, so
`wavefront log` can tail an attempt while it runs. A program that cannot be started is an
outcome (exit status 127 or 126, the OS error as stderr), never an exception: the caller
treats it like any other failed command.

The child's environment is built by `child_environment`: a short allow-list of the parent's
variables plus whatever the caller passes. Secrets in the parent's environment (API keys,
tokens) therefore do not reach an agent unless a runner passes them on purpose.

Started inside an attempt's scope (`lifetime.attempt_scope`), the child carries the
attempt's tag, its process group is reported before any output is read, and whatever
still carries the tag when the leader has exited (a `setsid` daemon) is killed with it.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import shlex
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from wavefront.agents.runners.spawn import Child, start
from wavefront.lifetime import TAG_VARIABLE, current_scope, kill_tagged
from wavefront.redact import Redactor, redactor_for

__all__ = ["BASE_ENV_NAMES", "ProcessOutcome", "SideLogs", "child_environment", "run_process"]

# Variables passed from the parent so tools behave normally: locating programs, the user's
# home and locale, temp dirs, git identity and config, Python environments, proxies and CA
# bundles (an agent CLI behind a corporate proxy needs them to reach its API). Nothing here
# should hold a credential; runners add API keys explicitly through `env`.
BASE_ENV_NAMES: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "NO_COLOR",
    "TMPDIR",
    "TMP",
    "TEMP",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_EXEC_PATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)

# After the leader exits, how long its pipes may stay open (held by something it started)
# before the rest of its group is killed; and how long to wait for EOF after that.
_DRAIN_S = 2.0
_AFTER_KILL_DRAIN_S = 1.0
_CHUNK = 65536


@dataclass(frozen=True)
class ProcessOutcome:
    """How a child process ended. `returncode` is None when we killed it (timeout);
    negative when a signal we did not send ended it (POSIX convention)."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    log_path: Path
    stopped: bool = False  # `stop_on` asked for the group to be stopped (returncode None)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a child gets: the allow-listed parent variables, then `extra` on top.

    A later hardening may narrow the list further; callers that need a variable (an API
    key, a config dir) must pass it in `extra` rather than rely on inheritance.
    """
    env = {name: os.environ[name] for name in BASE_ENV_NAMES if name in os.environ}
    env.setdefault("PATH", os.defpath)
    if extra:
        env.update({str(key): str(value) for key, value in extra.items()})
    return env


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    kill_grace_s: float = 3.0,
    stop_on: Callable[[str], bool] | None = None,
    side_logs: Path | None = None,
) -> ProcessOutcome:
    """Run `argv` in `cwd` in its own process group, capturing and logging its output.

    On timeout the group gets SIGTERM, then SIGKILL after `kill_grace_s`, and the outcome
    has `timed_out=True`. On cancellation the group is killed the same way and
    `CancelledError` propagates. When the leader exits normally, anything it left running
    in its group is killed too, so nothing outlives the attempt in its worktree.
    `stop_on` sees each line of output as it arrives; when it returns True the group is
    stopped the same way (a CLI that retries for minutes what will not get better). It also
    sees the lines the child adds to the files of the folder `side_logs` while it runs (a
    CLI that logs its retries only there).
    """
    args = [str(arg) for arg in argv]
    if not args:
        raise ValueError("run_process needs a program to run")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Secrets of this process and those handed to the child (an API key in `env`).
    redactor = redactor_for({**os.environ, **(env or {})})
    scope = current_scope()
    child_env = child_environment(env)
    if scope is not None:
        child_env[TAG_VARIABLE] = scope.tag
    launched = scope.wrap(args) if scope is not None and scope.wrap is not None else args
    with log_path.open("a", encoding="utf-8", errors="replace") as log:
        log.write(redactor.text(f"$ {shlex.join(args)}  (cwd: {cwd})") + "\n")
        log.flush()
        stop_requested = asyncio.Event()

        def watch(line: str) -> None:
            if stop_on is not None and not stop_requested.is_set() and stop_on(line):
                stop_requested.set()

        # Read from before the start: a line the child logs at once is a new line.
        followed = _side_logs(side_logs, watch)
        # Forked on a thread: the event loop goes on meanwhile (see `spawn`).
        spawn = asyncio.ensure_future(start(launched, cwd=cwd, env=child_env,
                                            stdin_pipe=stdin_text is not None))
        try:
            proc = await asyncio.shield(spawn)
        except OSError as exc:
            return _not_started(args, cwd, exc, log, log_path, started)
        except asyncio.CancelledError:
            # Cancelled while starting: asyncio's own clean-up would kill the leader only
            # and then wait for pipes its children may hold. Let the start finish, then
            # kill the whole group.
            with contextlib.suppress(OSError):
                started_proc = await spawn
                await _stop_group(started_proc, 0.0)
            if scope is not None:
                kill_tagged(scope.tag)
            log.write("[cancelled: process group killed]\n")
            log.flush()
            raise
        if scope is not None:
            scope.on_start(proc.pid)

        out = _Capture(log, "", redactor, watch)
        err = _Capture(log, "[stderr] ", redactor, watch)
        tasks = [
            asyncio.create_task(_pump(proc.stdout, out)),
            asyncio.create_task(_pump(proc.stderr, err)),
        ]
        following = asyncio.create_task(followed.follow()) if followed is not None else None
        if stdin_text is not None:
            tasks.append(asyncio.create_task(_feed(proc.stdin, stdin_text)))
        timed_out = stopped = False
        try:
            # The leader's exit (not its pipes closing, see `spawn`), or a line the runner's
            # watcher says means the CLI is stuck retrying.
            exited = asyncio.ensure_future(proc.exited())
            asked = asyncio.ensure_future(stop_requested.wait())
            try:
                await asyncio.wait({exited, asked}, timeout=timeout_s,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                asked.cancel()
            if not exited.done():
                exited.cancel()
                stopped = stop_requested.is_set()
                timed_out = not stopped
                await _stop_group(proc, kill_grace_s)
            await _finish_pipes(proc.pid, tasks)
            if scope is not None:
                kill_tagged(scope.tag, since_pid=proc.pid)
        except asyncio.CancelledError:
            await _stop_group(proc, kill_grace_s)
            if scope is not None:
                kill_tagged(scope.tag, since_pid=proc.pid)
            _end_log(log, out, err, "[cancelled: process group killed]")
            raise
        finally:
            # Reached with the child alive only if cancelled again while stopping it.
            if proc.returncode is None:
                _signal_group(proc.pid, signal.SIGKILL)
            for task in tasks:
                task.cancel()
            if following is not None:
                following.cancel()

        duration = time.monotonic() - started
        if timed_out:
            footer = f"[timed out after {duration:.1f}s: process group killed]"
        elif stopped:
            footer = f"[stopped after {duration:.1f}s: process group killed]"
        else:
            footer = f"[exit {proc.returncode} after {duration:.1f}s]"
        _end_log(log, out, err, footer)
        code = proc.returncode
        if launched is not args and code is not None and 128 < code < 128 + signal.NSIG:
            code = 128 - code  # bubblewrap reports a child killed by signal N as exit 128+N
        return ProcessOutcome(
            returncode=None if timed_out or stopped else code,
            stdout=out.text(),
            stderr=err.text(),
            timed_out=timed_out,
            duration_s=duration,
            log_path=log_path,
            stopped=stopped,
        )


def _side_logs(folder: Path | None, watch: Callable[[str], None]) -> SideLogs | None:
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return SideLogs(folder, watch)


class _Capture:
    """Collects one stream's text and copies it into the log line by line."""

    def __init__(self, log: TextIO, prefix: str, redactor: Redactor,
                 watch: Callable[[str], None] | None = None) -> None:
        self._log = log
        self._watch = watch
        self._redact = redactor.text
        self._prefix = prefix
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._pending = ""  # text after the last newline, not yet in the log

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if not text:
            return
        self._parts.append(text)
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if self._watch is not None:
            for line in lines:
                self._watch(line)
        if lines:
            # Secrets are replaced line by line: a value never spans a line of output.
            self._log.write(self._redact("".join(f"{self._prefix}{line}\n" for line in lines)))
            self._log.flush()

    def close(self) -> None:
        self.feed(b"", final=True)
        if self._pending:
            self._log.write(self._redact(f"{self._prefix}{self._pending}\n"))
            self._pending = ""
            self._log.flush()

    def text(self) -> str:
        return self._redact("".join(self._parts))


async def _pump(stream: asyncio.StreamReader, sink: _Capture) -> None:
    while chunk := await stream.read(_CHUNK):
        sink.feed(chunk)


async def _feed(stdin: asyncio.StreamWriter | None, text: str) -> None:
    if stdin is None:
        return
    # A child that exits without reading its input is not our failure.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(text.encode("utf-8"))
        await stdin.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.close()
        await stdin.wait_closed()


async def _finish_pipes(pgid: int, tasks: list[asyncio.Task[None]]) -> None:
    """Wait for the pipes to close, then kill whatever the leader left in its group."""
    _, pending = await asyncio.wait(tasks, timeout=_DRAIN_S)
    _signal_group(pgid, signal.SIGKILL)
    if pending:
        await asyncio.wait(pending, timeout=_AFTER_KILL_DRAIN_S)


async def _stop_group(proc: Child, grace_s: float) -> None:
    """SIGTERM the group, give the leader `grace_s` to go, then SIGKILL what is left."""
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.exited(), max(grace_s, 0.0))
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.exited()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    # The group may already be empty (ProcessLookupError) or, rarely, not ours to signal.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _end_log(log: TextIO, out: _Capture, err: _Capture, footer: str) -> None:
    out.close()
    err.close()
    log.write(footer + "\n")
    log.flush()


def _not_started(
    args: list[str], cwd: Path, exc: OSError, log: TextIO, log_path: Path, started: float
) -> ProcessOutcome:
    """The outcome for a program that could not be started, shaped like a shell's."""
    missing = isinstance(exc, FileNotFoundError)
    if missing and not cwd.is_dir():
        message = f"{args[0]}: cannot start in {cwd}: no such directory"
    else:
        message = f"{args[0]}: {exc.strerror or exc}"
    log.write(f"[stderr] {message}\n[not started]\n")
    log.flush()
    return ProcessOutcome(
        returncode=127 if missing else 126,
        stdout="",
        stderr=message + "\n",
        timed_out=False,
        duration_s=time.monotonic() - started,
        log_path=log_path,
    )


# --- a CLI's own log files, read beside its output ---------------------------------

_SIDE_POLL_S = 0.25
_READ_LIMIT = 1 << 20  # per file and poll: a runaway log cannot stall the loop


class SideLogs:
    """The new lines of every file in `folder` (not its subfolders), fed to `feed`: some
    CLIs log their retries only there (Qwen Code). What was there before is not read."""

    def __init__(self, folder: Path, feed: Callable[[str], None]) -> None:
        self.folder = folder
        self._feed = feed
        self._offsets: dict[Path, int] = {path: _size(path) for path in self._files()}
        self._pending: dict[Path, str] = {}

    async def follow(self) -> None:
        """Poll until cancelled."""
        while True:
            self.read()
            await asyncio.sleep(_SIDE_POLL_S)

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
