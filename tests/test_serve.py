"""`jamii collect` and `jamii dashboard` as a deployment serves them: the real command on a free
port, asked over HTTP what a load balancer, a proxy and a phone's browser ask.

* `/healthz` says ok while the store answers, and 503 with a short reason, naming neither the
  database nor its password, when it does not;
* Streamlit's main JS bundle and the page go gzipped to a browser that accepts gzip (a bare
  page is about 2.9 MB as Streamlit sends it, 1.1 MB gzipped);
* `--base-path /jamii` serves the app, its bundles and `/healthz` under /jamii, and the page
  still connects (its websocket) in chromium;
* `/j/CODE`, the short invite link of a printed QR code, sends the browser on to `?code=` (and a
  known `?lang=`), and nothing else: hostile paths get a fixed 404;
* how long a sign-in lasts unused is the organiser's choice (People page) over
  JAMII_SESSION_IDLE_DAYS, read at most once a minute per process, and the cookie follows it.
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


# --- how long a sign-in lasts unused ----------------------------------------------------------
def test_the_cookie_lasts_as_long_as_the_organiser_chose(tmp_path, monkeypatch):
    """The cookie's Max-Age is the organiser's setting, not JAMII_SESSION_IDLE_DAYS."""
    from jamii.core.store import OPERATOR, Store

    data = tmp_path / "data"
    jb.init_store(data, seeds=False)
    store = Store(f"sqlite:///{data / 'jamii.sqlite3'}", data / "audio")
    try:
        organiser, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
        store.set_session_idle_days(3, actor_id=organiser.id)
        monkeypatch.setenv("JAMII_SESSION_IDLE_DAYS", "90")  # the server's environment
        with serving(data, "collect") as url:
            _, handoff = store.start_web_session(organiser.id, actor_id=organiser.id)
            status, headers = _adopt(url, handoff, url)
        assert status == 204
        assert f"Max-Age={3 * 86400}" in headers["set-cookie"], headers["set-cookie"]
    finally:
        store.close()


@pytest.fixture
def people_store(store):
    """An organiser and a contributor in an empty store, on SQLite and on PostgreSQL."""
    from jamii.core.store import OPERATOR

    organiser, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    amina, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    return store, organiser, amina


def _cookie_idle_for(store, person, days: float) -> str:
    """A signed-in browser's cookie token, last used `days` ago."""
    from datetime import timedelta

    from sqlalchemy import update

    from jamii.core.records import WebSession, utcnow

    session_id, handoff = store.start_web_session(person.id, actor_id=person.id)
    token = store.adopt_web_session(handoff)
    with store.write() as s:
        s.execute(update(WebSession).where(WebSession.id == session_id)
                  .values(last_seen_at=utcnow() - timedelta(days=days)))
    return token


def test_the_organisers_idle_period_wins_over_the_environment(people_store, monkeypatch):
    """Default, then the environment's, then the organiser's: and `resume` (a reload, a new
    tab) signs a browser in only within the period in force."""
    from jamii.web import session

    store, organiser, amina = people_store
    monkeypatch.delenv(session.IDLE_DAYS_ENV, raising=False)
    assert session.idle_period(store) == (30, session.DEFAULT)
    monkeypatch.setenv(session.IDLE_DAYS_ENV, "90")
    assert session.idle_period(store) == (90, session.ENVIRONMENT)
    ten_days = _cookie_idle_for(store, amina, 10)
    state: dict = {}
    session.resume(store, state, ten_days)
    assert state[session.SESSION_KEY] == amina.id  # 10 days unused, 90 allowed
    session.set_idle_days(store, 7, actor_id=organiser.id)
    assert session.idle_period(store) == (7, session.SETTING)  # at once in this process
    assert store.session_idle_days() == 7
    eight_days = _cookie_idle_for(store, amina, 8)
    state = {}
    session.resume(store, state, eight_days)
    assert session.SESSION_KEY not in state  # 8 days unused, 7 allowed: sign in again
    assert store.web_session_person(eight_days, idle_days=90) is None  # and it stays ended
    with pytest.raises(Exception, match="organiser|Only|may not|cannot"):
        session.set_idle_days(store, 365, actor_id=amina.id)  # a contributor may not
    assert session.idle_period(store) == (7, session.SETTING)


def test_the_setting_is_read_at_most_once_a_minute_per_process(people_store, monkeypatch):
    """Reloads and new tabs ask on every resume; the store is asked once per minute, and a
    change made by another process arrives within that minute."""
    import time

    from jamii.core.store import Store
    from jamii.web import session

    store, organiser, amina = people_store
    other = Store(store.url, store.audio_dir)  # another collector process on the same database
    try:
        reads = []
        real = store.session_idle_days
        monkeypatch.setattr(store, "session_idle_days", lambda: reads.append(1) or real())
        clock = [time.monotonic()]
        monkeypatch.setattr(time, "monotonic", lambda: clock[0])
        session.set_idle_days(store, 20, actor_id=organiser.id)
        for token in [_cookie_idle_for(store, amina, 1) for _ in range(5)]:
            state: dict = {}
            session.resume(store, state, token)  # a reload, a new tab, a reconnect
            assert state[session.SESSION_KEY] == amina.id
        assert all(session.idle_days(store) == 20 for _ in range(50))
        assert len(reads) == 1
        session.set_idle_days(other, 5, actor_id=organiser.id)
        clock[0] += session.IDLE_DAYS_TTL_SECONDS - 1
        assert session.idle_days(store) == 20 and len(reads) == 1
        clock[0] += 2
        assert session.idle_days(store) == 5 and len(reads) == 2
    finally:
        other.close()


# --- the organiser's People page ----------------------------------------------------------------
@pytest.fixture
def collector_app(tmp_path, monkeypatch):
    """AppTest of the collector on a seeded store of its own (the page's store is another
    object than the test's, as another process's would be)."""
    import streamlit as st

    from support.collector_fixtures import seeded_store

    data = tmp_path / "data"
    store = seeded_store(data)
    monkeypatch.setenv("JAMII_DATA", str(data))
    monkeypatch.delenv("JAMII_DB", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield store
    st.cache_resource.clear()
    store.close()


def _people_page(person_id: int, lang: str = "en"):
    from streamlit.testing.v1 import AppTest

    from support.collector_fixtures import APP

    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["contributor_id"] = person_id
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("views/org_people.py").run()
    return at


def test_an_organiser_chooses_how_long_sign_ins_last(collector_app, monkeypatch):
    from jamii.collector.i18n import Translator
    from jamii.core.store import Store, StoreError
    from jamii.web import session
    from jamii.web.ui import plain

    store = collector_app
    tr = Translator("en")
    monkeypatch.setenv(session.IDLE_DAYS_ENV, "45")
    organiser = store.contributor_by_pseudonym("demo-mratibu")
    at = _people_page(organiser.id)
    assert not at.exception
    assert tr("admin.signins_title") in [h.value for h in at.subheader]
    captions = [c.value for c in at.caption]
    from_env = tr("admin.idle_from_environment", days=45, env=session.IDLE_DAYS_ENV)
    assert from_env in captions, captions
    assert at.number_input(key="op_idle_days").value == 45
    at.number_input(key="op_idle_days").set_value(9)
    at.button(key="FormSubmitter:op_idle_form-" + tr("admin.idle_save")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert store.session_idle_days() == 9
    assert plain(tr("admin.idle_saved", days=9)) in [s.value for s in at.success]  # as flashed
    assert tr("admin.idle_from_setting", days=9) in [c.value for c in at.caption]
    assert at.number_input(key="op_idle_days").value == 9
    event = store.audit_events(action_prefix="settings.session_idle_days")[0]
    assert event["actor"] == "demo-mratibu" and event["details"] == {"days": 9}, event
    # the store's refusal is shown, and nothing changes
    def refuse(self, days, *, actor_id):
        raise StoreError("Sign-ins last between 1 and 365 days of inactivity; got 0.")

    monkeypatch.setattr(Store, "set_session_idle_days", refuse)
    at.number_input(key="op_idle_days").set_value(2)
    at.button(key="FormSubmitter:op_idle_form-" + tr("admin.idle_save")).click().run()
    assert not at.exception
    assert any("between 1 and 365" in e.value for e in at.error), [e.value for e in at.error]
    assert store.session_idle_days() == 9


def test_the_sign_ins_section_speaks_swahili_and_french(collector_app):
    from jamii.collector.i18n import Translator

    organiser = collector_app.contributor_by_pseudonym("demo-mratibu")
    for lang in ("sw", "fr"):
        tr = Translator(lang)
        at = _people_page(organiser.id, lang)
        assert not at.exception
        for key in ("admin.signins_title", "admin.idle_days", "admin.idle_from_default"):
            assert tr(key) not in (key, Translator("en")(key)), (lang, key)
        assert tr("admin.signins_title") in [h.value for h in at.subheader]
        assert at.number_input(key="op_idle_days").label == tr("admin.idle_days")
        assert tr("admin.idle_from_default", days=30) in [c.value for c in at.caption]


def test_a_contributor_never_sees_the_sign_ins_setting(collector_app):
    from jamii.collector.i18n import Translator

    tr = Translator("en")
    zawadi = collector_app.contributor_by_pseudonym("demo-zawadi")
    at = _people_page(zawadi.id)
    assert not at.exception
    assert "organisers only" in "\n".join(e.value for e in at.error)
    assert not at.number_input and tr("admin.signins_title") not in [h.value for h in at.subheader]
    at.session_state["roles"] = ["organiser"]  # tampering: roles come from the store
    at.run()
    assert not at.number_input
    assert collector_app.session_idle_days() is None


def _get_with_cookie(url: str, cookie: str) -> tuple[int, str | None]:
    request = urllib.request.Request(url, headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status, response.headers.get("set-cookie")


def test_a_page_load_keeps_the_cookie_as_long_as_the_session_is_used(collector, data):
    """Set once at sign-in, the cookie would end one idle period after it, however active the
    person: every page load (and kept draft) sets it again for a fresh period, the same value,
    so a person who keeps using jamii stays signed in. Only the page does it, and only for a
    value shaped like a token (nothing else from the header is echoed into a response)."""
    from jamii.core.store import OPERATOR, Store

    store = Store(f"sqlite:///{data / 'jamii.sqlite3'}", data / "audio")
    try:
        person, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        _, handoff = store.start_web_session(person.id, actor_id=person.id)
        token = store.adopt_web_session(handoff)
    finally:
        store.close()
    status, cookie = _get_with_cookie(f"{collector}/write", f"jamii_session={token}")
    assert status == 200 and cookie, "a page load did not renew the session cookie"
    assert cookie.startswith(f"jamii_session={token};")
    assert f"Max-Age={30 * 86400}" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    # the bundles, the health check and a browser without the cookie: nothing set
    assert _get_with_cookie(f"{collector}/healthz", f"jamii_session={token}")[1] is None
    assert _get_with_cookie(f"{collector}/", "other=1")[1] is None
    # a value no session has the shape of goes back nowhere
    assert _get_with_cookie(f"{collector}/", 'jamii_session="x\\r\\nSet-Cookie: a=b"')[1] is None
    assert _get_with_cookie(f"{collector}/", "jamii_session=short")[1] is None
