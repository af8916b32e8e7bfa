"""Who may use the dashboard: a token beyond loopback, a CSRF token on every action.

Bound to a loopback address, the dashboard answers only requests whose Host is a loopback
name (a page elsewhere cannot reach it through DNS rebinding). Bound to any other address
it needs its token on every request: `?token=` once (then a cookie), or
`Authorization: Bearer`. Every page also forbids inline scripts (CSP), so even text that
slipped through escaping could not run.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Collection
from contextlib import suppress
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LOOPBACK_NAMES", "Guard", "access_rule", "csrf_ok", "is_loopback", "new_token"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_COOKIE = "wavefront_token"
_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    # Not "no-referrer": with it a form's Origin is "null", and the CSRF check refuses it.
    (b"referrer-policy", b"same-origin"),
]


def new_token() -> str:
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _same(given: str, expected: str) -> bool:
    """A comparison in constant time, for any text a request may carry."""
    return secrets.compare_digest(given.encode("utf-8", "replace"),
                                  expected.encode("utf-8"))


def access_rule(host: str, token: str | None) -> tuple[str | None, frozenset[str] | None]:
    """(the token every request needs, the Host names accepted) for a bind address:
    beyond loopback a token always (a new one unless given) and any Host; on loopback
    the given token, if any, and loopback names only."""
    if is_loopback(host):
        return token, LOOPBACK_NAMES
    return token or new_token(), None


def csrf_ok(expected: str, given: str | None, headers: Headers) -> bool:
    """The form carried this server's CSRF token, and came from a page of this server."""
    origin = headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != headers.get("host"):
        return False
    return given is not None and _same(given, expected)


class Guard:
    """ASGI middleware: the Host check, the token and the security headers."""

    def __init__(self, app: ASGIApp, *, token: str | None, hosts: Collection[str] | None
                 ) -> None:
        self.app = app
        self.token = token
        self.hosts = hosts  # None: any Host (the token guards the door)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: Headers) -> Response | None:
        host = urlsplit("//" + headers.get("host", "")).hostname or ""
        if self.hosts is not None and host not in self.hosts:
            return PlainTextResponse(f"unknown host {host!r}: open the address that "
                                     "`wavefront serve` printed", status_code=400)
        if self.token is None:
            return None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token")
        if given is not None and _same(given, self.token):
            # Trade the token in the address for a cookie, so it leaves the address bar.
            del query["token"]
            target = scope["path"] + (f"?{urlencode(query)}" if query else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return response
        if _same(self._presented(headers), self.token):
            return None
        return PlainTextResponse("this dashboard needs its token: open the address with "
                                 "?token=... that `wavefront serve` printed",
                                 status_code=401)

    @staticmethod
    def _presented(headers: Headers) -> str:
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        cookie: SimpleCookie = SimpleCookie()
        with suppress(CookieError):
            cookie.load(headers.get("cookie", ""))
        morsel = cookie.get(TOKEN_COOKIE)
        return morsel.value if morsel is not None else ""
