"""The session cookie's own lifetime, kept in step with the session it carries.

A web session ends after the organiser's idle period without use (`session.idle_days`), counted
by the store from the person's last click. The browser forgets the cookie by its own Max-Age,
counted from when it was set. Set only at sign-in, an active person would lose it one idle
period after signing in (a day, when the organiser chose one), however busy they were. So the
cookie is set again, with a fresh Max-Age, whenever the browser shows it on a request that
proves the person is here: a page load (any HTML answer) and a kept draft (`/drafts`, posted
as they type). Nothing is looked up to do so: the value goes back as the browser sent it, so a
stale or forged cookie gains nothing (the store still refuses it), and no request costs a read.
"""

from __future__ import annotations

import re
from typing import Any

from jamii.web import session

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""What a session token looks like (`secrets.token_urlsafe`): only such a value is sent back,
so nothing a browser put in its cookie header can ride into a response header."""


def set_session_cookie(response: Any, token: str, *, https: bool, days: int, base: str) -> None:
    """HttpOnly (no script reads it), SameSite=Lax, Secure over HTTPS, for the app's path."""
    response.set_cookie(session.COOKIE, token, max_age=days * 86400,
                        path=f"/{base}" if base else "/", httponly=True, samesite="lax",
                        secure=https)


def is_https(scope_or_request: Any) -> bool:
    """Served over HTTPS, directly or behind a proxy that says so (X-Forwarded-Proto)."""
    from starlette.requests import HTTPConnection

    conn = HTTPConnection(scope_or_request) if isinstance(scope_or_request, dict) else scope_or_request
    return conn.url.scheme == "https" or conn.headers.get("x-forwarded-proto") == "https"


class RenewSessionCookie:
    """ASGI middleware: an HTML answer to a request that carried the session cookie sets it
    again with a fresh Max-Age (unless the answer sets it itself, as `/auth/adopt` does).
    `/drafts` renews it in its own answer, after the store accepted the session."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import HTTPConnection

        token = HTTPConnection(scope).cookies.get(session.COOKIE)
        if not token or not TOKEN_SHAPE.fullmatch(token):
            await self.app(scope, receive, send)
            return

        async def renewing(message: dict) -> None:
            if message["type"] == "http.response.start" and _is_html(message) \
                    and not _sets_cookie(message):
                message = {**message, "headers": [*message.get("headers", []),
                                                  *(await _cookie_headers(scope, token))]}
            await send(message)

        await self.app(scope, receive, renewing)


def _is_html(message: dict) -> bool:
    return any(k.lower() == b"content-type" and v.lower().startswith(b"text/html")
               for k, v in message.get("headers", []))


def _sets_cookie(message: dict) -> bool:
    name = session.COOKIE.encode() + b"="
    return any(k.lower() == b"set-cookie" and v.startswith(name)
               for k, v in message.get("headers", []))


async def _cookie_headers(scope: dict, token: str) -> list[tuple[bytes, bytes]]:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response
    from streamlit import config

    from jamii.web.ui import get_store

    days = await run_in_threadpool(session.idle_days, get_store())  # kept a minute per process
    carrier = Response()
    set_session_cookie(carrier, token, https=is_https(scope), days=days,
                       base=config.get_option("server.baseUrlPath").strip("/"))
    return [(k, v) for k, v in carrier.raw_headers if k.lower() == b"set-cookie"]
