"""Writing answers on the wire: JSON bodies, server-sent events, and the errors each
protocol family sends for the failure scenarios."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

# scenario -> (HTTP status, extra headers); the body depends on the protocol.
FAILURES: dict[str, tuple[int, dict[str, str]]] = {
    "auth401": (401, {}),
    "ratelimit429": (429, {"retry-after": "30"}),
    "ratelimit429-bare": (429, {}),
    # A subscription's usage limit, as OpenAI's service answers Codex: when it resets is in
    # the body and in Codex's own rate-limit headers.
    "usagelimit429": (429, {"retry-after": "30", "x-codex-primary-used-percent": "100",
                            "x-codex-primary-window-minutes": "300",
                            "x-codex-primary-reset-after-seconds": "30"}),
    "overloaded529": (529, {}),
    "error500": (500, {}),
}

_MESSAGES = {
    401: "Incorrect API key provided: scripted.",
    429: "Rate limit reached for requests. Please try again in 30s.",
    500: "The server had an error while processing your request.",
    529: "Overloaded",
}


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any,
              headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def start_events(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("cache-control", "no-cache")
    handler.send_header("connection", "close")
    handler.end_headers()
    handler.close_connection = True


def send_event(handler: BaseHTTPRequestHandler, data: Any, name: str | None = None) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {name}\n" if name else ""
    handler.wfile.write(f"{head}data: {text}\n\n".encode())
    handler.wfile.flush()


def send_garbage(handler: BaseHTTPRequestHandler, stream: bool) -> None:
    """A 200 whose body no client can read."""
    if stream:
        start_events(handler)
        handler.wfile.write(b"data: {this is not json\n\nevent: ???\ndata: \x00\x01\n\n")
        handler.wfile.flush()
        return
    data = b"<html>this is not a model answer"
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def send_hangup(handler: BaseHTTPRequestHandler, stream: bool) -> None:
    """The start of a 200 answer, then the connection closed: a server that went away."""
    if stream:
        start_events(handler)
        handler.wfile.write(b'data: {"type": "message_start", "choices": [')
    else:
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", "4096")
        handler.end_headers()
        handler.wfile.write(b'{"id": "cut-off", "choices": [')
    handler.wfile.flush()
    handler.close_connection = True
    # No FIN-and-wait: the socket is shut at once, as when a server process dies.
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


def send_failure(handler: BaseHTTPRequestHandler, scenario: str, family: str) -> None:
    status, headers = FAILURES[scenario]
    message = _MESSAGES[status]
    if family == "anthropic":
        kinds = {401: "authentication_error", 429: "rate_limit_error", 500: "api_error",
                 529: "overloaded_error"}
        body: Any = {"type": "error", "error": {"type": kinds[status], "message": message}}
    elif family == "gemini":
        statuses = {401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                    529: "UNAVAILABLE"}
        body = {"error": {"code": status, "message": message, "status": statuses[status]}}
        if status == 429 and "retry-after" in headers:
            body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                         "retryDelay": headers["retry-after"] + "s"}]
    else:
        codes = {401: "invalid_api_key", 429: "rate_limit_exceeded", 500: "server_error",
                 529: "overloaded"}
        kinds = {401: "invalid_request_error", 429: "requests", 500: "server_error",
                 529: "server_error"}
        body = {"error": {"message": message, "type": kinds[status], "code": codes[status],
                          "param": None}}
        if scenario == "usagelimit429":
            body = {"error": {"type": "usage_limit_reached", "message": "The usage limit has "
                              "been reached", "plan_type": "plus",
                              "resets_at": int(time.time()) + 30, "resets_in_seconds": 30}}
    send_json(handler, status, body, headers)
