"""How both apps are served as a deployment: Streamlit's `st.App` (Starlette under uvicorn)
with a `/healthz` route, `/auth/adopt` (which sets the session cookie after a sign-in), the
short invite path `/j/CODE` (for printed QR codes) and gzip.

Each app keeps a `serve.py` beside its `app.py` holding `app = st.App(..., **app_options())`:
`streamlit run` reads that file (without running it) and, finding a module-level `st.App`,
serves it instead of running the file as a page. `run` does that in this process, so whatever
the caller imported before (`jamii collect` warms pandas, altair, SQLAlchemy) is already loaded
when the first visitor arrives.

`/healthz`, `/j/...` and every Streamlit route sit under `server.baseUrlPath` (`--base-path`), so
one proxy rule forwards them all.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

GZIP_MINIMUM_SIZE = 500
"""Bytes below which a response goes as it is: a gzip header and a round of CPU buy nothing."""
GZIP_LEVEL = 6
"""zlib's default: Streamlit's bundles come out 0.3% larger than at level 9 for a third less CPU,
which counts because they are compressed again for every browser that has not cached them."""

from jamii.web.draft_route import save_typed_draft
from jamii.web.kit_upload import kit_upload_routes
from jamii.web.session_cookie import RenewSessionCookie, is_https, set_session_cookie

_log = logging.getLogger(__name__)

INVITE_PATH = re.compile(r"[A-Za-z0-9]+(?:[- ][A-Za-z0-9]+)*")
"""What `/j/` accepts as a code: ASCII letters and digits, in groups split by single dashes
or spaces (`ABCD-EFGH-JKLM`, `abcdefghjklm`). Anything else (a slash, a backslash, `%`, a
control character, a dot) is not a code and gets a 404: nothing but this reaches the Location."""
INVITE_CHARS = (8, 32)
"""Letters and digits a code may have: `new_invite_code` makes 12 and the seeds' demo codes
need at least 8 (`jamii.core.seeding`); 32 leaves room for hand-made ones and no more."""
NOT_FOUND = "Not found: check the link on the invitation.\n"
"""The whole body of a refused `/j/` path: it never repeats what was asked for."""
SHORT_PATH_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                      "X-Content-Type-Options": "nosniff"}
"""On every `/j/` answer: neither a cache nor the next page's Referer keeps the code."""


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
    """What an app's `st.App` adds to Streamlit's own routes: `/healthz`, `/auth/adopt` and
    `/j/CODE` under the base path, gzip on every response a browser accepts it for, the
    session cookie renewed while it is used (`session_cookie.RenewSessionCookie`), and the
    browser opened unless headless."""
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
                       Route(f"{prefix}/auth/adopt", adopt, methods=["POST"]),
                       Route(f"{prefix}/j/{{rest:path}}", short_invite),
                       Route(f"{prefix}/drafts", save_typed_draft, methods=["POST"]),
                       *kit_upload_routes(prefix)],
            "middleware": [Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE,
                                      compresslevel=GZIP_LEVEL),
                           Middleware(RenewSessionCookie)],
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


def short_invite(request) -> Any:
    """`/j/CODE`, the short invite link a printed QR code carries: 303 to `../?code=CODE`
    (`?lang=` kept when it names a language the apps have), where the page signs the person in
    as the sign-in form would, throttled, and drops the code from the address.

    The Location is relative (`../` from `{base}/j/CODE` is `{base}/`), so it holds whatever
    prefix a proxy puts in front, and is built only from the code's letters and digits (made
    upper case, separators dropped: `normalise_code`, as the sign-in) and a language tag from the
    catalogues' own names: no header, open redirect (`/j//evil.com`, `/j/%5Cevil.com`) or
    markup can ride on it. A path that is not a code gets a fixed plain-text 404. Nothing is
    looked up here: whether a code is real is the sign-in's to say, with its throttle."""
    from urllib.parse import urlencode

    from starlette.responses import PlainTextResponse, RedirectResponse

    code = _invite_code(request.path_params.get("rest"))
    if code is None:
        return PlainTextResponse(NOT_FOUND, status_code=404, headers=SHORT_PATH_HEADERS)
    query = {"code": code}
    language = _known_language(request.query_params.get("lang"))
    if language:
        query["lang"] = language
    return RedirectResponse(f"../?{urlencode(query)}", status_code=303, headers=SHORT_PATH_HEADERS)


def _invite_code(raw: object) -> str | None:
    """A `/j/` path's code as the sign-in reads it (upper case, letters and digits), or None."""
    from jamii.core.store._people import normalise_code

    if not isinstance(raw, str) or len(raw) > 64 or not INVITE_PATH.fullmatch(raw):
        return None
    code = normalise_code(raw)
    low, high = INVITE_CHARS
    return code if low <= len(code) <= high else None


def _known_language(raw: object) -> str | None:
    """The catalogue tag a `?lang=` asks for, as the pages accept it (`resolve_language`), or
    None when no catalogue has it (English counts only when English was asked for)."""
    from jamii.web.i18n import Translator

    if not isinstance(raw, str) or not raw or len(raw) > 35:
        return None
    found = Translator.catalogues.resolve_language(raw)
    if found == "en" and raw.strip().lower().replace("_", "-").split("-")[0] != "en":
        return None
    return found


async def adopt(request) -> Any:
    """Turn a sign-in's one-use hand-off (posted by the page that signed the person in) into
    the session cookie (`session_cookie.set_session_cookie`), kept as long as the session may
    sit idle (`session.idle_days`: the organiser's choice on the People page, else
    JAMII_SESSION_IDLE_DAYS, else 30) and renewed by `RenewSessionCookie` while it is used.

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
    store = get_store()
    token = await run_in_threadpool(store.adopt_web_session, handoff)
    if token is None:
        return Response("this sign-in has been used or has expired: sign in again", status_code=403)
    days = await run_in_threadpool(session.idle_days, store)  # the organiser's, else the env's
    response = Response(status_code=204)
    set_session_cookie(response, token, https=is_https(request), days=days,
                       base=config.get_option("server.baseUrlPath").strip("/"))
    return response


@asynccontextmanager
async def _open_browser(_app):
    """`--open-browser`: Streamlit opens one only when it serves a plain script itself."""
    from streamlit import cli_util, config
    from streamlit.web.server import server_util

    if not config.get_option("server.headless"):
        cli_util.open_browser(server_util.get_url(config.get_option("browser.serverAddress")))
    yield
