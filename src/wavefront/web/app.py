"""The dashboard's Starlette application: routes as data, pages rendered from the journal.

`create_app(root)` serves the runs of the repository at `root`. Every read goes through
one journal connection used only on the event loop's thread (SQLite connections are not
shared between threads), opened when the journal first exists, so the dashboard can start
before the first run.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Collection
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from wavefront.errors import WavefrontError
from wavefront.journal.database import AttemptRecord, Journal, RunRecord
from wavefront.runs import STATE_DIR
from wavefront.web import actions
from wavefront.web.live import follow_log, follow_run
from wavefront.web.security import Guard
from wavefront.web.views import (
    ATTENTION,
    read_attempt_diff,
    run_view,
    runs_view,
    task_view,
)

__all__ = ["create_app"]

_HERE = Path(__file__).parent
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class _JournalSource:
    """The one read connection, opened once the run's journal exists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._journal: Journal | None = None

    def get(self) -> Journal | None:
        if self._journal is None and self.path.exists():
            self._journal = Journal.open(self.path)
        return self._journal

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def create_app(root: Path, *, token: str | None = None,
               hosts: Collection[str] | None = None) -> Starlette:
    """The dashboard for the repository at `root`. `token`, when set, is required on every
    request; `hosts` are the Host names accepted (None: any)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,  # nothing from a task is ever markup: titles, logs, diffs
        undefined=jinja2.StrictUndefined)
    environment.filters.update(duration=_duration, money=_money, when=_when)
    environment.globals.update(ATTENTION=[s.value for s in ATTENTION])
    source = _JournalSource(root / STATE_DIR / "journal.db")

    def render(request: Request, name: str, status_code: int = 200, **values: Any
               ) -> HTMLResponse:
        template = environment.get_template(name)
        html = template.render(request=request, csrf=app.state.csrf,
                               said=request.query_params.get("said"), **values)
        return HTMLResponse(html, status_code=status_code)

    def run_of(request: Request) -> tuple[Journal, RunRecord]:
        journal = source.get()
        run = journal.get_run(request.path_params["run_id"]) if journal else None
        if journal is None or run is None:
            raise HTTPException(404, f"no run {request.path_params['run_id']!r} here")
        return journal, run

    async def runs_page(request: Request) -> Response:
        journal = source.get()
        return render(request, "runs.html", root=root,
                            runs=runs_view(journal) if journal else [])

    async def run_page(request: Request) -> Response:
        journal, run = run_of(request)
        return render(request, "run.html", view=run_view(journal, run))

    async def run_part(request: Request) -> Response:
        """A part of the run page, for the page to replace when the run moves."""
        journal, run = run_of(request)
        name = request.path_params["part"]
        if name not in ("attention", "cost"):
            raise HTTPException(404, f"no part {name!r} of a run page")
        return render(request, f"{name}.html", view=run_view(journal, run),
                            back=f"/runs/{run.id}")

    async def task_page(request: Request) -> Response:
        journal, run = run_of(request)
        try:
            view = task_view(journal, run, request.path_params["task_id"])
        except WavefrontError as error:
            raise HTTPException(404, str(error)) from error
        name = "attempts.html" if request.query_params.get("fragment") else "task.html"
        return render(request, name, view=view)

    async def run_events(request: Request) -> Response:
        journal, run = run_of(request)
        since = max(_int(request.query_params.get("since")),
                    _int(request.headers.get("last-event-id")))
        return StreamingResponse(follow_run(journal, run.id, since),
                                 media_type="text/event-stream", headers=_STREAM_HEADERS)

    def attempt_of(request: Request) -> tuple[Journal, AttemptRecord]:
        journal, run = run_of(request)
        attempt = journal.attempt(request.path_params["attempt_id"])
        if attempt is None or attempt.run_id != run.id:
            raise HTTPException(404, "no such attempt in this run")
        return journal, attempt

    async def attempt_log(request: Request) -> Response:
        journal, attempt = attempt_of(request)
        offset = _int(request.headers.get("last-event-id"))
        return StreamingResponse(follow_log(journal, attempt.id, offset),
                                 media_type="text/event-stream", headers=_STREAM_HEADERS)

    async def attempt_diff(request: Request) -> Response:
        _, attempt = attempt_of(request)
        diff = await run_in_threadpool(read_attempt_diff, root, attempt)
        return PlainTextResponse(diff if diff is not None else "(no commit to show yet)")

    async def not_found(request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else "not found"
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return render(request, "error.html", status_code=status, message=detail,
                            status=status)

    task = "/runs/{run_id}/tasks/{task_id}"
    attempt = "/runs/{run_id}/attempts/{attempt_id:int}"
    routes = [
        Route("/", runs_page),
        Route("/runs/{run_id}", run_page),
        Route("/runs/{run_id}/part/{part}", run_part),
        Route("/runs/{run_id}/events", run_events),
        Route("/runs/{run_id}/cancel", actions.cancel, methods=["POST"]),
        Route(f"{task}/approve", actions.approve, methods=["POST"]),
        Route(f"{task}/reject", actions.reject, methods=["POST"]),
        Route(f"{task}/fail", actions.fail, methods=["POST"]),
        Route(f"{task}/answer", actions.answer, methods=["POST"]),
        Route(f"{task}/retry", actions.retry, methods=["POST"]),
        Route(task, task_page),
        Route(f"{attempt}/log", attempt_log),
        Route(f"{attempt}/diff", attempt_diff),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes,
                    middleware=[Middleware(Guard, token=token, hosts=hosts)],
                    exception_handlers={HTTPException: not_found},
                    lifespan=lambda _: _closing(source))
    app.state.root = root
    app.state.csrf = secrets.token_urlsafe(32)
    return app


@contextlib.asynccontextmanager
async def _closing(source: _JournalSource) -> AsyncIterator[None]:
    yield
    source.close()


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:.2f}"


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
