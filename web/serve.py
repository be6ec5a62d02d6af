"""How both apps are served as a deployment: Streamlit's `st.App` (Starlette under uvicorn)
with a `/healthz` route, `/auth/adopt` (which sets the session cookie after a sign-in) and gzip.

Each app keeps a `serve.py` beside its `app.py` holding `app = st.App(..., **app_options())`:
`streamlit run` reads that file (without running it) and, finding a module-level `st.App`,
serves it instead of running the file as a page. `run` does that in this process, so whatever
the caller imported before (`jamii collect` warms pandas, altair, SQLAlchemy) is already loaded
when the first visitor arrives.

`/healthz` and every Streamlit route sit under `server.baseUrlPath` (`--base-path`), so one
proxy rule forwards them all.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

GZIP_MINIMUM_SIZE = 500
"""Bytes below which a response goes as it is: a gzip header and a round of CPU buy nothing."""
GZIP_LEVEL = 6
"""zlib's default: Streamlit's bundles come out 0.3% larger than at level 9 for a third less CPU,
which counts because they are compressed again for every browser that has not cached them."""

_log = logging.getLogger(__name__)


def run(script: Path, *, port: int, host: str | None, base_path: str | None,
        headless: bool) -> None:
    """`streamlit run script` in this process: its `st.App` served by uvicorn until stopped."""
    from streamlit.web import cli as streamlit_cli

    options = {"server.port": port, "server.headless": str(headless).lower(),
               "server.address": host, "server.baseUrlPath": base_path,
               "browser.gatherUsageStats": "false"}
    args = [str(script)]
    for name, value in options.items():
        if value is not None:
            args += [f"--{name}", str(value)]
    os.chdir(script.parent)
    streamlit_cli.main(args=["run", *args], prog_name="streamlit")


def app_options() -> dict[str, Any]:
    """What an app's `st.App` adds to Streamlit's own routes: `/healthz` under the base path,
    gzip on every response a browser accepts it for, and the browser opened unless headless."""
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.routing import Route
    from streamlit import config

    base = config.get_option("server.baseUrlPath").strip("/")
    # Streamlit's own gzip skips its static bundles and the index page (CPU per request; it
    # expects a proxy in front to compress). Outside it, this one compresses them: a bare page
    # is about 2.9 MB as sent and 1.1 MB gzipped, which on a phone's connection is the wait.
    prefix = f"/{base}" if base else ""
    return {"routes": [Route(f"{prefix}/healthz", healthz),
                       Route(f"{prefix}/auth/adopt", adopt, methods=["POST"])],
            "middleware": [Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE,
                                      compresslevel=GZIP_LEVEL)],
            "lifespan": _open_browser}


def healthz(request) -> Any:
    """200 `{"status": "ok"}` when the store the pages use answers a trivial query, else 503
    with a fixed reason. Neither carries the error's text, which may name the database's host,
    user or URL; that goes to the server's log for whoever runs it. A plain function: Starlette
    runs it in a worker thread, so a slow database never holds up the pages' event loop."""
    from sqlalchemy import text
    from starlette.responses import JSONResponse

    from jamii.web.ui import get_store

    try:
        with get_store().read() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the store is not usable
        _log.warning("/healthz: the store did not answer (%s: %s)", type(exc).__name__, exc)
        return JSONResponse({"status": "unavailable", "reason": "the store did not answer"},
                            status_code=503)
    return JSONResponse({"status": "ok"})


async def adopt(request) -> Any:
    """Turn a sign-in's one-use hand-off (posted by the page that signed the person in) into
    the session cookie: HttpOnly (no script reads it), SameSite=Lax, Secure over HTTPS, for
    the app's path, kept as long as the session may sit idle.

    Only the app's own pages may post here: the Origin must name this host (a page elsewhere
    cannot plant its own session in someone's browser). A wrong, used or stale hand-off gets
    403 and sets nothing. The hand-off comes in the body, never the URL (which logs keep)."""
    from urllib.parse import parse_qs, urlsplit

    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response
    from streamlit import config

    from jamii.web import session
    from jamii.web.ui import get_store

    origin = request.headers.get("origin") or ""
    host = request.headers.get("host") or ""
    if not origin or not host or urlsplit(origin).netloc != host:
        return Response("cross-origin sign-in refused", status_code=403)
    body = await request.body()
    if len(body) > 1024:
        return Response("not a sign-in hand-off", status_code=400)
    handoff = (parse_qs(body.decode("ascii", "replace")).get("h") or [None])[0]
    token = await run_in_threadpool(get_store().adopt_web_session, handoff)
    if token is None:
        return Response("this sign-in has been used or has expired: sign in again", status_code=403)
    https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    base = config.get_option("server.baseUrlPath").strip("/")
    response = Response(status_code=204)
    response.set_cookie(session.COOKIE, token, max_age=session.idle_days() * 86400,
                        path=f"/{base}" if base else "/", httponly=True, samesite="lax", secure=https)
    return response


@asynccontextmanager
async def _open_browser(_app):
    """`--open-browser`: Streamlit opens one only when it serves a plain script itself."""
    from streamlit import cli_util, config
    from streamlit.web.server import server_util

    if not config.get_option("server.headless"):
        cli_util.open_browser(server_util.get_url(config.get_option("browser.serverAddress")))
    yield
