"""What a person does from the page: answer, approve, request changes, fail, retry, cancel.

Each action is the library call the CLI makes (`wavefront.runs`), run in a worker thread
(it may wait for SQLite's lock), so a running engine in another process applies it exactly
as it applies `wavefront approve` from a second terminal. Forms post here and are sent back
to the page they came from, with one line saying what happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from wavefront.errors import WavefrontError
from wavefront.runs import STATE_DIR
from wavefront.web.security import csrf_ok

__all__ = ["answer", "approve", "cancel", "fail", "reject", "retry"]

# (repository, run, task or None, action name, note, who) -> the line shown to the person.
_Action = Callable[[Path, str, str | None, str, str, str], str]


async def approve(request: Request) -> Response:
    return await _act(request, _decide, "approve")


async def reject(request: Request) -> Response:
    """Reject with a note: a change request, as `wavefront reject --note` makes."""
    return await _act(request, _decide, "change")


async def fail(request: Request) -> Response:
    """Reject for good: the task fails, as `wavefront reject --fail` makes it."""
    return await _act(request, _decide, "reject")


async def answer(request: Request) -> Response:
    return await _act(request, _answer, "answer")


async def retry(request: Request) -> Response:
    return await _act(request, _retry, "retry")


async def cancel(request: Request) -> Response:
    return await _act(request, _cancel, "cancel")


async def _act(request: Request, action: _Action, name: str) -> Response:
    # The forms are plain urlencoded ones: parsed here, without a multipart library.
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    if not csrf_ok(request.app.state.csrf, form.get("csrf"), request.headers):
        return PlainTextResponse("refused: the form did not come from this dashboard "
                                 "(reload the page and try again)", status_code=403)
    run_id = request.path_params["run_id"]
    task_id = request.path_params.get("task_id")
    note = form.get("note", "").strip()
    root: Path = request.app.state.root
    client = request.client.host if request.client else "an unknown address"
    by = f"the dashboard, from {client}"
    try:
        said = await run_in_threadpool(action, root, run_id, task_id, name, note, by)
    except WavefrontError as error:
        said = f"{name} refused: {error}"
    back = form.get("next", "")
    # Only a path of this server: a form must not send the browser elsewhere.
    if not back.startswith("/") or back.startswith("//"):
        back = f"/runs/{run_id}"
    back = back.split("?", 1)[0]
    return RedirectResponse(f"{back}?{urlencode({'said': said})}", status_code=303)


def _decide(root: Path, run_id: str, task_id: str | None, name: str, note: str,
            by: str) -> str:
    from wavefront.runs import record_decision

    record_decision(root, str(task_id), name, note, run_id, who=by)
    what = {"approve": "approval", "change": "change request", "reject": "rejection"}[name]
    return _applied(root, f"{what} recorded for {task_id}")


def _answer(root: Path, run_id: str, task_id: str | None, name: str, note: str,
            by: str) -> str:
    from wavefront.runs import answer_question

    answer_question(root, str(task_id), note, run_id, who=by)
    return _applied(root, f"answer recorded for {task_id}")


def _applied(root: Path, said: str) -> str:
    if _driver(root) is None:
        return f"{said}; no process drives the run now: `wavefront resume` applies it"
    return f"{said}; the run applies it"


def _retry(root: Path, run_id: str, task_id: str | None, name: str, note: str,
           by: str) -> str:
    from wavefront.runs import retry_tasks

    holder = _driver(root)
    if holder is not None:
        # The engine in that process does not see a retry written by another, and no
        # second process may resume the run while it holds the lock.
        raise WavefrontError(f"the run is still going (process {holder}); retry once it "
                             "has stopped, or cancel it first")
    released = retry_tasks(root, [str(task_id)], run_id)
    _resume_in_background(root, run_id)
    return f"queued again: {', '.join(released)}; the run goes on"


def _cancel(root: Path, run_id: str, task_id: str | None, name: str, note: str,
            by: str) -> str:
    from wavefront.runs import cancel_run

    pid, cancelled = cancel_run(root, run_id, stop=lambda pid: os.kill(pid, signal.SIGTERM))
    count = len(cancelled)
    stopped = f"stopped process {pid}; " if pid else ""
    return f"{stopped}cancelled {count} unfinished task{'' if count == 1 else 's'}"


def _driver(root: Path) -> int | None:
    """The process driving a run of the repository, if one does."""
    from wavefront.workspace.runlock import RunLock

    return RunLock(root / STATE_DIR).holder()


def _resume_in_background(root: Path, run_id: str) -> None:
    """`wavefront resume` in a process of its own, as the CLI's `retry` runs it: the
    dashboard only reads and asks, it never drives a run itself."""
    logs = root / STATE_DIR / "logs" / run_id
    logs.mkdir(parents=True, exist_ok=True)
    log = (logs / f"resume-{time.strftime('%Y%m%d-%H%M%S')}.log").open("ab")
    with log:
        child = subprocess.Popen(
            [sys.executable, "-m", "wavefront", "resume", run_id, "-C", str(root),
             "--no-progress"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # Ctrl-C on the dashboard does not stop the run
    threading.Thread(target=child.wait, daemon=True).start()  # reaped, never a zombie
