"""Helpers for the dashboard's tests: a real `wavefront serve` and a real run, each in a
process of its own, as a person would have them in two terminals."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from components import need

DEADLINE_S = 60.0

RUN_IN_CHILD = """\
import sys
from pathlib import Path
from wavefront.backlog.load import load_and_plan
from wavefront.runs import RunOptions, start_run
repo = Path(sys.argv[1])
loaded = load_and_plan([], root=repo)
result = start_run(repo, loaded.backlog, loaded.plan,
                   RunOptions(run_id=sys.argv[2], wait_for_humans=True))
sys.exit(result.exit_code)
"""


def need_web() -> None:
    need(importlib.util.find_spec("starlette") is not None
         and importlib.util.find_spec("uvicorn") is not None,
         "the dashboard needs the web extra: pip install -e '.[web]'")


def wait_until(check: Callable[[], object], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting until {what}")


@contextlib.contextmanager
def serving(repo: Path, *args: str) -> Iterator[str]:
    """`wavefront serve` on a free loopback port; yields the address it printed."""
    need_web()
    server = subprocess.Popen(
        [sys.executable, "-m", "wavefront", "serve", "-C", str(repo), "--port", "0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        if "http://" not in line:
            server.kill()
            pytest.fail(f"serve did not start: {line}{server.stderr.read()}")
        yield line.split(": ", 1)[1].strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def run_in_child(repo: Path, run_id: str) -> Iterator[subprocess.Popen[str]]:
    """The run going on in another process (killed if the test leaves it running)."""
    child = subprocess.Popen([sys.executable, "-c", RUN_IN_CHILD, str(repo), run_id],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        # The journal is ready for readers once the run's branch exists (tests/test_human_gate).
        wait_until(lambda: child.poll() is not None or _branch(repo, f"wavefront/{run_id}"),
                   "the run has started")
        if child.poll() is not None:
            pytest.fail(f"the run ended at once: {child.communicate()}")
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def _branch(repo: Path, branch: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q",
                           f"refs/heads/{branch}"], capture_output=True).returncode == 0


def status_json(repo: Path, run_id: str) -> str:
    done = subprocess.run([sys.executable, "-m", "wavefront", "status", run_id, "-C", str(repo),
                           "--json"], capture_output=True, text=True, check=True,
                          env={**os.environ})
    return done.stdout
