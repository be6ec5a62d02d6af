"""`jamii collect` and `jamii dashboard` as a deployment serves them: the real command on a free
port, asked over HTTP what a load balancer, a proxy and a phone's browser ask.

* `/healthz` says ok while the store answers, and 503 with a short reason, naming neither the
  database nor its password, when it does not;
* Streamlit's main JS bundle and the page go gzipped to a browser that accepts gzip (a bare
  page is about 2.9 MB as Streamlit sends it, 1.1 MB gzipped);
* `--base-path /jamii` serves the app, its bundles and `/healthz` under /jamii, and the page
  still connects (its websocket) in chromium;
* `/j/CODE`, the short invite link of a printed QR code, sends the browser on to `?code=` (and a
  known `?lang=`), and nothing else: hostile paths get a fixed 404.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))

import _jamii_browser as jb  # noqa: E402

pytestmark = pytest.mark.slow

PASSWORD = "s3cret-Pw"
UNREACHABLE = f"postgresql+psycopg://jamii:{PASSWORD}@127.0.0.1:5432/jamii_no_such_db"


@contextmanager
def serving(data: Path, *command: str, db_url: str | None = None, ready: str = "/_stcore/health",
            cwd: Path | None = None):
    """`jamii <command> --host 127.0.0.1 --port P` (run in `cwd`) until the block ends; yields
    its URL."""
    port = jb.free_port()
    log = data.parent / f"{command[0]}-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            jb.jamii_command() + [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=jb.app_env(data, db_url), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while get(url + ready)[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`jamii {' '.join(command)}` never answered:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def get(url: str, encoding: str = "identity") -> tuple[int, dict, bytes]:
    """Status, headers and body exactly as sent (urllib never unzips)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()
    except (urllib.error.URLError, OSError):
        return 0, {}, b""


def assert_page_and_bundle_gzipped(app_url: str) -> None:
    """The page and the main JS bundle it loads: gzipped when asked, the same bytes unzipped,
    and under half the size; as they are when gzip is not asked for."""
    status, _, page = get(f"{app_url}/")
    assert status == 200
    bundle = re.search(rb'<script[^>]+src="\./(static/js/index\.[^"]+\.js)"', page)
    assert bundle, page[:500]
    for url in (f"{app_url}/", f"{app_url}/{bundle.group(1).decode()}"):
        _, plain_headers, plain = get(url)
        status, headers, zipped = get(url, "gzip, deflate, br")
        assert status == 200 and headers.get("content-encoding") == "gzip", (url, headers)
        assert "content-encoding" not in plain_headers
        assert gzip.decompress(zipped) == plain
        assert len(zipped) < len(plain) / 2, (url, len(zipped), len(plain))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("serve") / "data"
    jb.init_store(folder, seeds=False)
    return folder


@pytest.fixture(scope="module")
def collector(data):
    with serving(data, "collect") as url:
        yield url


@pytest.fixture(scope="module")
def dashboard_under_jamii(data):
    with serving(data, "dashboard", "--base-path", "/jamii", ready="/jamii/_stcore/health") as url:
        yield url + "/jamii"


def test_healthz_says_ok_while_the_store_answers(collector):
    status, headers, body = get(f"{collector}/healthz")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"status": "ok"}


def test_page_and_main_bundle_go_gzipped_to_a_browser_that_accepts_it(collector):
    assert_page_and_bundle_gzipped(collector)


def test_healthz_answers_503_naming_neither_database_nor_password(tmp_path):
    with serving(tmp_path / "data", "collect", db_url=UNREACHABLE) as url:
        status, _, body = get(f"{url}/healthz")
    assert status == 503
    answer = json.loads(body)
    assert answer["status"] == "unavailable" and answer["reason"]
    text = body.decode()
    for secret in (PASSWORD, "postgresql", "127.0.0.1", "5432", "jamii_no_such_db", "Traceback"):
        assert secret not in text


def test_base_path_serves_the_app_its_bundles_and_healthz_under_it(dashboard_under_jamii):
    root = dashboard_under_jamii.removesuffix("/jamii")
    status, _, body = get(f"{dashboard_under_jamii}/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert get(f"{root}/healthz")[0] == 404
    assert get(f"{root}/")[0] == 404
    assert_page_and_bundle_gzipped(dashboard_under_jamii)


def test_page_under_the_base_path_connects_and_shows_the_leaderboard(dashboard_under_jamii):
    """The websocket (`/jamii/_stcore/stream`) goes through st.App and its gzip untouched."""
    if not jb.chromium_available():
        pytest.skip(f"needs chromium at {jb.CHROMIUM}")
    pytest.importorskip("playwright")
    # in a thread of its own: Playwright's sync API refuses a thread where another is running
    # (the browser tests' session-wide one, when they run in the same pytest)
    with ThreadPoolExecutor(1) as thread:
        shown = thread.submit(main_text, f"{dashboard_under_jamii}/").result()
    assert "Leaderboard" in shown


def main_text(url: str) -> str:
    """The main area of the page at `url` in chromium, once connected and done running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = jb.launch_chromium(playwright)
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(url)
            page.wait_for_function(jb.IDLE, timeout=60000)
            return page.locator("[data-testid='stMain']").inner_text()
        finally:
            browser.close()


def _adopt(url: str, handoff: str, origin: str | None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/auth/adopt", data=f"h={handoff}".encode(), method="POST",
                                     headers={"Origin": origin} if origin else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def test_the_session_cookie_is_set_once_and_only_for_the_apps_own_pages(collector, data):
    """A page on another site cannot plant its session in someone's browser (the Origin must be
    this host), a hand-off works once, and the cookie is HttpOnly and SameSite=Lax."""
    from jamii.core.store import OPERATOR, Store

    store = Store(f"sqlite:///{data / 'jamii.sqlite3'}", data / "audio")
    try:
        person, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        _, handoff = store.start_web_session(person.id, actor_id=person.id)
        host = collector.split("://", 1)[1]
        assert _adopt(collector, handoff, "https://evil.example")[0] == 403
        assert _adopt(collector, handoff, None)[0] == 403
        status, headers = _adopt(collector, handoff, f"http://{host}")  # the page that signed in
        assert status == 204
        cookie = headers["set-cookie"]
        assert cookie.startswith("jamii_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http here; over HTTPS (or behind nginx) it is set
        token = cookie.split("=", 1)[1].split(";", 1)[0]
        assert store.web_session_person(token)[0].id == person.id
        assert _adopt(collector, handoff, f"http://{host}")[0] == 403  # once only
    finally:
        store.close()


def test_a_relative_data_folder_means_the_one_where_the_command_was_typed(tmp_path):
    """The server runs from the app's own folder; `--data-dir data` must still be the `data`
    beside the person who typed it, not a new empty store inside the installed package."""
    from jamii import collector

    inside = Path(collector.__file__).parent / "data"
    assert not inside.exists(), f"{inside} is left from an earlier run: remove it"
    work = tmp_path / "work"
    jb.init_store(work / "data", seeds=False)
    before = (work / "data" / "jamii.sqlite3").stat().st_mtime_ns
    with serving(work / "data", "collect", "--data-dir", "data", cwd=work) as url:
        assert get(f"{url}/healthz")[0] == 200
    assert not inside.exists()
    assert (work / "data" / "jamii.sqlite3").stat().st_mtime_ns >= before
    # and a relative SQLite URL likewise
    with serving(work / "data", "collect", "--db", "sqlite:///data/jamii.sqlite3", cwd=work) as url:
        assert get(f"{url}/healthz")[0] == 200
    assert not inside.exists()


# --- the short invite path --------------------------------------------------------------------
def raw_get(url: str, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    """`path` sent exactly as written (no client tidies or follows anything): status, headers
    (lower-case names) and body."""
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def assert_redirects_to(app_url: str, path: str, query: str) -> None:
    """`path` (under the app's URL) answers 303 with a relative Location that lands on the
    app's own page with exactly `query`, and keeps the code out of caches and Referers."""
    prefix = urlsplit(app_url).path
    status, headers, _ = raw_get(app_url, prefix + path)
    assert status == 303, (path, status, headers)
    location = headers["location"]
    assert not urlsplit(location).scheme and not urlsplit(location).netloc, location
    assert urljoin(app_url + path, location) == f"{app_url}/?{query}", location
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"


def test_a_short_invite_link_goes_on_to_the_sign_in_link(collector):
    """What a printed QR code carries: `/j/CODE`, spelt as people write codes (any case, dashes
    or spaces between groups), becomes `?code=` as the sign-in reads it; a language the apps
    have is kept, canonical, and any other query is dropped."""
    code = "ABCDEFGHJKLM"
    for spelt in ("ABCD-EFGH-JKLM", "abcd-efgh-jklm", "ABCDEFGHJKLM", "abcd%20efgh%20jklm"):
        assert_redirects_to(collector, f"/j/{spelt}", f"code={code}")
    # the seeds' demo codes, which use letters and digits new codes leave out
    assert_redirects_to(collector, "/j/DEMO-ZAWA-DI01", "code=DEMOZAWADI01")
    assert_redirects_to(collector, f"/j/{code}?lang=sw", f"code={code}&lang=sw")
    assert_redirects_to(collector, f"/j/{code}?lang=SW-ke", f"code={code}&lang=sw")
    assert_redirects_to(collector, f"/j/{code}?lang=fr", f"code={code}&lang=fr")
    assert_redirects_to(collector, f"/j/{code}?lang=en", f"code={code}&lang=en")
    for dropped in ("xx", "zz-Latn", "%3Cscript%3E", "sw%0d%0aSet-Cookie:%20a=b", "sw%22%3E%3Cb%3E",
                    "//evil.example", "x" * 300):
        assert_redirects_to(collector, f"/j/{code}?lang={dropped}", f"code={code}")
    assert_redirects_to(collector, f"/j/{code}?code=OTHERCODE123&next=//evil.example&lang=sw",
                        f"code={code}&lang=sw")
    status, headers, _ = raw_get(collector, f"/j/{code}", method="HEAD")
    assert status == 303 and headers["location"] == f"../?code={code}"
    # and the page it lands on is the app
    status, _, page = get(f"{collector}/j/{code}?lang=sw")  # urllib follows the redirect
    assert status == 200 and b"<noscript>" in page


HOSTILE_PATHS = [
    "/j/", "/j//evil.example", "/j//evil.example/ABCD-EFGH-JKLM", "/j/%2F%2Fevil.example",
    "/j/%5Cevil.example", "/j/\\evil.example", "/j/%5C%5Cevil.example%5CABCDEFGHJKLM",
    "/j/http://evil.example", "/j/http:%2F%2Fevil.example", "/j/ABCD-EFGH-JKLM/",
    "/j/ABCD-EFGH-JKLM/..%2F..%2Fevil", "/j/ABCD-EFGH-JKLM%0d%0aSet-Cookie:%20jamii_session=x",
    "/j/%0d%0aLocation:%20http://evil.example", "/j/ABCD-EFGH-JKLM%00", "/j/ABCD%09EFGH%09JKLM",
    "/j/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/j/ABCD-EFGH-JKLM%22%3E%3Cimg%20src=x%3E",
    "/j/ABCD.EFGH.JKLM", "/j/ABCD--EFGH-JKLM", "/j/-ABCDEFGHJKLM", "/j/ABCD_EFGH_JKLM",
    "/j/%EF%BC%A1%EF%BC%A2%EF%BC%A3%EF%BC%A4%EF%BC%A5%EF%BC%A6%EF%BC%A7%EF%BC%A8",  # full-width
    "/j/ABCD+EFGH+JKLM", "/j/SHORT", "/j/" + "A" * 33, "/j/" + "AB-" * 400 + "AB",
    "/j/..", "/j/%2e%2e", "/j/.%2e/.%2e/healthz",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_path_that_is_not_a_code_gets_a_plain_404_that_repeats_nothing(collector, path):
    """No header, open redirect or markup rides on `/j/`: whatever is not a code gets the same
    short plain-text 404 (never a Location, never a word of what was asked for)."""
    from jamii.web.serve import NOT_FOUND

    status, headers, body = raw_get(collector, path)
    assert "location" not in headers and "set-cookie" not in headers, headers
    # 400: Streamlit's own path guard answered first; "Not Found": a line break in the path,
    # which no route's pattern matches, so Starlette's own 404 answered
    assert status in (400, 404), (status, body[:200])
    if status == 404:
        assert body.decode() in (NOT_FOUND, "Not Found"), body[:200]
        assert headers["content-type"].startswith("text/plain")
    for piece in ("evil", "script", "img", "jamii_session", "ABCD", "AAAA"):
        assert piece.encode() not in body.lower() and piece.lower().encode() not in body.lower()


def test_the_short_path_sits_under_the_base_path(dashboard_under_jamii):
    """Behind a proxy at /jamii, `/jamii/j/CODE` lands on `/jamii/?code=` (the relative
    Location keeps whatever prefix the browser used), and `/j/` outside it is not served."""
    root = dashboard_under_jamii.removesuffix("/jamii")
    assert_redirects_to(dashboard_under_jamii, "/j/ABCD-EFGH-JKLM?lang=sw",
                        "code=ABCDEFGHJKLM&lang=sw")
    status, headers, _ = raw_get(root, "/j/ABCD-EFGH-JKLM")
    assert status == 404 and "location" not in headers
