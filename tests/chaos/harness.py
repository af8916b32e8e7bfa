"""Driving `wavefront` as a real process from tests: start it, watch its journal, kill it.

Everything here works on real things: the CLI in a subprocess (`python -m wavefront`), the
run's SQLite journal read by a second connection (WAL lets a reader look while the engine
writes), and git itself, optionally behind a wrapper script that can kill the engine at an
exact point of a merge or fail the n-th git call.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GIT_IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.invalid")
REAL_GIT = shutil.which("git") or "/usr/bin/git"

# A stand-in for `git` on PATH. It runs the real git, except that:
# - a file `kill-merge-before` (or `-after`) in $WF_CHAOS_DIR makes the next publishing
#   `update-ref` of a merge SIGKILL the engine (its parent) just before (after) git moves the
#   integration branch: the two sides of the merge queue's critical step; `kill-start-*`
#   does the same around the creation of the integration branch when a run starts;
# - $WF_GIT_FAIL_AT=N makes the N-th call (counted in $WF_CHAOS_DIR/git-calls) fail like git
#   does on a broken repository, exit 128 with a message on stderr.
_WRAPPER = """#!/bin/sh
dir="${WF_CHAOS_DIR:-}"
if [ -n "$dir" ] && [ -n "${WF_GIT_FAIL_AT:-}" ]; then
    n=$(( $(cat "$dir/git-calls" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$dir/git-calls"
    if [ "$n" -eq "$WF_GIT_FAIL_AT" ]; then
        echo "fatal: injected failure of git call $n" >&2
        exit 128
    fi
fi
# After a merge is published ($dir/fail-git-after-merge), the cleanup that follows it fails
# once: its `update-ref --stdin`, which deletes the merged tasks' branches (the cleanup runs
# beside the queue, so "the next git call" could be another one).
if [ -n "$dir" ] && [ -e "$dir/fail-next-git" ]; then
    for arg in "$@"; do
        if [ "$arg" = "--stdin" ] && mv "$dir/fail-next-git" "$dir/fail-next-git.done" \
                2>/dev/null; then
            echo "fatal: injected failure of the git call after a merge" >&2
            exit 128
        fi
    done
fi
# Which wavefront step this call is, from the reflog message wavefront gives it.
step=""
for arg in "$@"; do
    [ "$arg" = "wavefront: merge" ] && step=merge
    [ "$arg" = "wavefront: start run" ] && step=start
done
if [ -n "$dir" ] && [ -n "$step" ]; then
    if mv "$dir/kill-$step-before" "$dir/kill-$step-before.done" 2>/dev/null; then
        kill -9 "$PPID"
        exit 137
    fi
    if mv "$dir/kill-$step-after" "$dir/kill-$step-after.done" 2>/dev/null; then
        "%(git)s" "$@"
        kill -9 "$PPID"
        exit 137
    fi
fi
if [ -n "$dir" ] && [ "$step" = merge ] && [ -e "$dir/fail-git-after-merge" ]; then
    "%(git)s" "$@" && mv "$dir/fail-git-after-merge" "$dir/fail-next-git"
    exit 0
fi
exec "%(git)s" "$@"
"""


def journal_rows(repo: Path, query: str, *params: Any) -> list[sqlite3.Row]:
    """Rows of a query on the repository's journal, read with plain sqlite3 (the way a
    person checking on a run would), not through wavefront."""
    db = sqlite3.connect(repo / ".wavefront" / "journal.db")
    db.row_factory = sqlite3.Row
    try:
        return db.execute(query, params).fetchall()
    finally:
        db.close()


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *GIT_IDENTITY, *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def git_ok(repo: Path, *args: str) -> bool:
    """Whether a git command (a question such as `merge-base --is-ancestor`) says yes."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True).returncode == 0


def make_repo(path: Path) -> Path:
    """A repository with one commit on `main` at `path`."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("hello\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "initial")
    return path


def write_backlog(repo: Path, tasks: Sequence[Mapping[str, Any]], **settings: Any) -> Path:
    """A `wavefront.yaml` with scripted tasks (not committed, as a user would start)."""
    document: dict[str, Any] = {"version": 1, "defaults": {"runner": "script", "retries": 0}}
    for key, value in settings.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key].update(value)
        else:
            document[key] = value
    document["tasks"] = list(tasks)
    path = repo / "wavefront.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def install_git_wrapper(directory: Path) -> Path:
    """Write the `git` wrapper into `directory/bin`; return that bin directory."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "git"
    wrapper.write_text(_WRAPPER % {"git": REAL_GIT})
    wrapper.chmod(0o755)
    return bin_dir


def wavefront_env(chaos_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a `wavefront` process: ours, with the git wrapper first on PATH."""
    env = dict(os.environ)
    env.pop("WF_GIT_FAIL_AT", None)
    if chaos_dir is not None:
        env["PATH"] = f"{install_git_wrapper(chaos_dir)}{os.pathsep}{env.get('PATH', '')}"
        env["WF_CHAOS_DIR"] = str(chaos_dir)
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


class WavefrontProcess:
    """`python -m wavefront ARGS` in `repo`, output to files (a pipe could fill and stall)."""

    def __init__(
        self,
        repo: Path,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        logs: Path | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.logs = logs or repo.parent
        self.logs.mkdir(parents=True, exist_ok=True)
        stamp = f"{time.time_ns()}"
        self._out_path = self.logs / f"wavefront-{stamp}.out"
        self._err_path = self.logs / f"wavefront-{stamp}.err"
        with self._out_path.open("w") as out, self._err_path.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wavefront", *args],
                cwd=repo,
                env=dict(env) if env is not None else wavefront_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=preexec_fn,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, signum: int) -> None:
        if self.alive():
            os.kill(self.proc.pid, signum)

    def wait(self, timeout: float = 120.0) -> Finished:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"wavefront did not finish within {timeout}s; stderr:\n{self.stderr()}"
            ) from None
        return Finished(code, self._out_path.read_text(errors="replace"), self.stderr())

    def stderr(self) -> str:
        return self._err_path.read_text(errors="replace")

    def kill9(self) -> Finished:
        """SIGKILL the engine (only it: the agents and gates it started are left alone, as
        after a real `kill -9`) and reap it."""
        self.send(signal.SIGKILL)
        return self.wait(30.0)


def run_cli(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 180.0
) -> Finished:
    """Run one `wavefront` command to its end."""
    return WavefrontProcess(repo, args, env=env).wait(timeout)


class JournalWatch:
    """Reads a run's journal from outside while the engine writes it."""

    def __init__(self, repo: Path) -> None:
        self.path = repo / ".wavefront" / "journal.db"
        self.seen = 0
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and self.path.exists():
            try:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
                self._db.execute("SELECT 1 FROM events LIMIT 1")
            except sqlite3.Error:
                self.close()
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def new_events(self) -> list[tuple[int, str, str | None, str]]:
        """Events (id, kind, task id, data JSON) since the last call."""
        db = self._connect()
        if db is None:
            return []
        try:
            rows = db.execute(
                "SELECT id, kind, task_id, data FROM events WHERE id > ? ORDER BY id", (self.seen,)
            ).fetchall()
        except sqlite3.Error:
            return []
        if rows:
            self.seen = rows[-1][0]
        return rows

    def wait_for(
        self,
        predicate: Callable[[str, str | None, str], bool],
        process: WavefrontProcess | None = None,
        timeout: float = 60.0,
        poll_s: float = 0.01,
    ) -> bool:
        """Poll until an event matches `predicate(kind, task_id, data)`; False if the process
        ended or the time ran out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, kind, task_id, data in self.new_events():
                if predicate(kind, task_id, data):
                    return True
            if process is not None and not process.alive():
                return False
            time.sleep(poll_s)
        return False


def status_event(status: str, reason: str | None = None) -> Callable[[str, str | None, str], bool]:
    """A `JournalWatch.wait_for` predicate: some task entered `status` (with `reason`)."""

    def matches(kind: str, task_id: str | None, data: str) -> bool:
        return (
            kind == "task_status"
            and f'"status": "{status}"' in data
            and (reason is None or reason in data)
        )

    return matches
