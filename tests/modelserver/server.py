"""The HTTP side: one bounded, threaded server on 127.0.0.1 that routes each request to
its protocol module and records it.

The scenario is chosen by the URL: a client pointed at `<url>/s/<scenario>` gets that
scenario, one pointed at `<url>` gets `ok`. The server stops answering after
`max_requests` requests or `lifetime_s` seconds (a runaway client cannot keep it busy),
and remembers when it first sent a failing answer, so a test can say how long the client
took to give up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from modelserver import anthropic, gemini, openai
from modelserver.script import Script
from modelserver.wire import FAILURES, send_failure, send_garbage, send_hangup, send_json

SCENARIOS = ("ok", "shell", "maxturns", "slow", "garbage", "flaky429", "hangup", "hang",
             *FAILURES)
SLOW_S = 20.0
# Faults without an HTTP status: the connection closed in the middle of an answer, or an
# answer that never comes (until the server stops). They count as failing answers.
BROKEN = ("hangup", "hang")


@dataclass(frozen=True)
class Request:
    """One request as received (authorization values masked)."""

    at: float
    method: str
    path: str
    scenario: str
    headers: dict[str, str]
    body: Any
    status: int


class ModelServer:
    def __init__(self, script: Script | None = None, *, max_requests: int = 300,
                 lifetime_s: float = 900.0) -> None:
        self.script = script or Script()
        self.max_requests = max_requests
        self.lifetime_s = lifetime_s
        self.requests: list[Request] = []
        self.first_failure_at: float | None = None
        self._lock = threading.Lock()
        self._flaky_seen: set[str] = set()
        self.stopped = threading.Event()  # set by `stop`: the `hang` answers give up
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._started = time.monotonic()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def base(self, scenario: str = "ok") -> str:
        """The base URL a client uses for `scenario`."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})")
        return self.url if scenario == "ok" else f"{self.url}/s/{scenario}"

    def start(self) -> ModelServer:
        self._thread.start()
        timer = threading.Timer(self.lifetime_s, self.stop)
        timer.daemon = True
        timer.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def model_calls(self) -> list[Request]:
        """The requests that asked a model for an answer (not HEAD, not model lists)."""
        return [r for r in self.requests if r.method == "POST"
                and not r.path.split("?")[0].endswith(":countTokens")]

    # --- called by the handler --------------------------------------------------------

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
            failing = request.status >= 400 or request.scenario in BROKEN
            if failing and self.first_failure_at is None:
                self.first_failure_at = request.at

    def over_budget(self) -> bool:
        return (len(self.requests) >= self.max_requests
                or time.monotonic() - self._started > self.lifetime_s)

    def first_flaky(self, key: str) -> bool:
        with self._lock:
            if key in self._flaky_seen:
                return False
            self._flaky_seen.add(key)
            return True


@contextmanager
def running(script: Script | None = None, **options: Any) -> Iterator[ModelServer]:
    server = ModelServer(script, **options).start()
    try:
        yield server
    finally:
        server.stop()


def _handler(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # requests are recorded
            return

        def do_HEAD(self) -> None:
            self._record(None, 200)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            scenario, path = _split(self.path)
            self._record(None, 404 if "/responses" in path else 200, scenario, path)
            if "/responses" in path:  # Codex's WebSocket upgrade: use HTTPS instead
                send_json(self, 404, {"error": {"message": "no websocket here"}})
            else:
                send_json(self, 200, {"object": "list", "data": [
                    {"id": "scripted", "object": "model", "owned_by": "wavefront-tests"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            scenario, path = _split(self.path)
            if server.over_budget():
                self._record(body, 503, scenario, path)
                send_json(self, 503, {"error": {"message": "scripted server: budget spent"}})
                return
            status = 200
            if scenario == "flaky429" and server.first_flaky(path.split("?")[0]):
                scenario, status = "ratelimit429", 429
            elif scenario in FAILURES:
                status = FAILURES[scenario][0]
            self._record(body, status, scenario, path)
            if scenario == "slow":
                time.sleep(SLOW_S)
            family = _family(path)
            if family is None:
                send_json(self, 404, {"error": {"message": f"no route {path}"}})
            elif scenario == "hangup":
                send_hangup(self, bool(body.get("stream")) or "alt=sse" in path)
            elif scenario == "hang":
                server.stopped.wait(server.lifetime_s)
            elif scenario in FAILURES:
                send_failure(self, scenario, family)
            elif scenario == "garbage":
                send_garbage(self, bool(body.get("stream")) or "alt=sse" in path)
            else:
                self._answer(family, path, body, scenario)

        def _answer(self, family: str, path: str, body: Any, scenario: str) -> None:
            script = server.script
            if family == "anthropic":
                conversation = anthropic.conversation(body)
                anthropic.respond(self, body, script.answer(conversation, scenario))
            elif family == "responses":
                conversation = openai.responses_conversation(body)
                openai.respond_responses(self, body, script.answer(conversation, scenario))
            elif family == "chat":
                conversation = openai.chat_conversation(body)
                openai.respond_chat(self, body, script.answer(conversation, scenario),
                                    script, conversation, scenario)
            else:
                conversation = gemini.conversation(body)
                model = path.split("/models/")[-1].split(":")[0]
                gemini.respond(self, path, script.answer(conversation, scenario), model)

        def _record(self, body: Any, status: int, scenario: str = "ok",
                    path: str | None = None) -> None:
            headers = {k.lower(): ("***" if k.lower() in ("authorization", "x-api-key",
                                                          "x-goog-api-key") else v)
                       for k, v in self.headers.items()}
            server.record(Request(time.time(), self.command, path or self.path, scenario,
                                  headers, body, status))

    return Handler


def _split(path: str) -> tuple[str, str]:
    if path.startswith("/s/"):
        _, _, rest = path.partition("/s/")
        scenario, _, tail = rest.partition("/")
        return scenario, "/" + tail
    return "ok", path


def _family(path: str) -> str | None:
    bare = path.split("?")[0]
    if bare.endswith("/messages"):
        return "anthropic"
    if bare.endswith("/responses"):
        return "responses"
    if bare.endswith("/chat/completions"):
        return "chat"
    if "/models/" in bare and ":" in bare.rsplit("/", 1)[-1]:
        return "gemini"
    return None
