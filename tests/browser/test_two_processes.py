"""Two `jamii collect` processes on one PostgreSQL store behind nginx: a contributor's sign-in
outlives the process that served it (issue 13).

deploy/nginx/jamii.conf is rendered as tests/browser/test_nginx_proxy.py renders it (its
`render_site`, `main_conf`, throwaway certificate and unprivileged nginx), with the collector
upstream listing both processes. Both run `jamii collect` on 127.0.0.1 only, on a store that
`jamii init` prepared in a PostgreSQL schema of this module's own (tests/support/pg.py), dropped
afterwards.

The upstream is pinned by client address, so every request of the browser reaches one process;
which one is read from the machine's TCP table: nginx keeps no idle connections to the apps,
so the only one established to a collector is the page's websocket.

* Through nginx a contributor (the seeded demo-zawadi, DEMO-ZAWA-DI01, in Swahili, her own
  language) signs in, writes and sends one prompt/response item.
* The process holding their websocket is killed (SIGKILL: a crash, nothing said to anyone).
  The page's own reconnection reaches the other process through nginx; there the session
  cookie signs the same person back in: "My contributions" shows their item, and a second item
  is sent. The store holds both, by that person, submitted.
* Before the crash she has half-written a second item. The phone is locked (the page frozen
  through CDP's `Page.setWebLifecycleState`, as Chrome freezes a hidden tab) and unlocked, and
  the connection is lost and found again (the context offline, then online, then a reload):
  each time she is still signed in and the half-written item is on the page. After the crash,
  a reload on the survivor gives the draft back from the store, and she finishes and sends it.
* Signing out on the surviving process ends the web session: a reload shows the sign-in page.
Skipped, with the reason, without nginx, openssl or the PostgreSQL server (with
JAMII_REQUIRE_BROWSER=1 / JAMII_REQUIRE_POSTGRES=1 those are failures instead).
"""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

import _jamii_browser as jb
from support.pg import pg_schema_url
from test_access_control import _session_cookie
from test_contributor_flow import SW, saved_message, send_form, sign_in
from test_nginx_proxy import LOCAL_ONLY, Nginx, main_conf, render_site, self_signed
from test_nginx_proxy import named_browser, tools  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ZAWADI = ("DEMO-ZAWA-DI01", "demo-zawadi")
FIRST = ("Mama anawezaje kujua kama maji ya kisima ni salama kwa kunywa na kupikia?",
         "Angalia kama kisima kimefunikwa na kiko mbali na choo. Chemsha maji kabla ya kunywa, "
         "na ukiona rangi au harufu isiyo ya kawaida, uliza afisa wa afya aipime.")
SECOND = ("Ni mbegu gani za mtama zinazostahimili ukame katika mikoa ya kati ya Tanzania?",
          "Uliza afisa ugani kuhusu mbegu zilizothibitishwa kwa eneo lako. Panda mapema mvua "
          "zinapoanza, na tumia samadi ili udongo ushike unyevu kwa muda mrefu zaidi.")


@pytest.fixture(scope="module")
def pg_store(tools, tmp_path_factory):
    """`jamii init` (seeded) on a fresh PostgreSQL schema: (URL, data folder, open Store)."""
    from jamii.core.store import Store

    url, drop = pg_schema_url()
    data = tmp_path_factory.mktemp("two-processes") / "data"
    try:
        jb.init_store(data, db_url=url)
        store = Store.open(db_url=url, data_dir=data)
    except BaseException:
        drop()
        raise
    yield url, data, store
    store.close()
    drop()


@pytest.fixture(scope="module")
def collectors(pg_store):
    """Two `jamii collect` processes on the same store, listening on 127.0.0.1 only."""
    url, data, _ = pg_store
    started: list[jb.AppServer] = []
    try:
        for _ in range(2):
            started.append(jb.AppServer(data, db_url=url, env=LOCAL_ONLY).start())
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def proxy(tools, collectors, tmp_path_factory):
    """nginx from deploy/nginx/jamii.conf, its collector upstream listing both processes."""
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key = self_signed(tools["openssl"], tmp)
    http_port, https_port, dashboard_port = jb.free_port(), jb.free_port(), jb.free_port()
    while len({http_port, https_port, dashboard_port}) < 3:
        https_port, dashboard_port = jb.free_port(), jb.free_port()
    first, second = (server.port for server in collectors)
    rendered = render_site(http_port=http_port, https_port=https_port, collector_port=first,
                           dashboard_port=dashboard_port, cert=cert, key=key)
    one = f"server 127.0.0.1:{first};"
    lines = rendered.splitlines()
    at = [i for i, line in enumerate(lines) if line.strip() == one]
    assert len(at) == 1, f"the rendered upstream should name the first collector once: {rendered}"
    indent = lines[at[0]][: len(lines[at[0]]) - len(lines[at[0]].lstrip())]
    lines.insert(at[0] + 1, f"{indent}server 127.0.0.1:{second};")
    site = tmp / "jamii.conf"
    site.write_text("\n".join(lines) + "\n")
    conf = tmp / "nginx.conf"
    conf.write_text(main_conf(tmp, site))
    server = Nginx(tools["nginx"], tmp, conf, https_port, http_port).start()
    yield server
    server.stop()


def websockets_at(port: int) -> int:
    """Established TCP connections to a collector's port: nginx closes its ordinary requests to
    the apps (no upstream keepalive), so what stays open is a page's websocket."""
    return sum(1 for c in psutil.net_connections(kind="tcp4")
               if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def serving(collectors, timeout: float = 10) -> jb.AppServer:
    """The one collector holding the page's websocket (the other holds none)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = {server.port: websockets_at(server.port) for server in collectors}
        holding = [server for server in collectors if counts[server.port]]
        if len(holding) == 1 or time.monotonic() > deadline:
            assert len(holding) == 1, f"websockets by collector port: {counts}"
            return holding[0]
        time.sleep(0.1)


def crash(server: jb.AppServer) -> None:
    """SIGKILL to the whole process group: no clean close of any websocket."""
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)


def write_item(st, prompt: str, response: str) -> None:
    if SW("write.intro") not in st.text():
        st.nav(SW("nav.write"))
    st.fill(st.key("pr_prompt"), prompt)
    st.fill(st.key("pr_response"), response)
    send_form(st, SW)
    saved_message(st, SW)


HALF = "Mvua za vuli zikichelewa, nipande mtama au"
"""The second item's prompt as far as she got before the phone locked."""


def draft_on_page(st, store, person, camp) -> str:
    """The prompt on the writing page, once the store's draft holds the same (the page's
    script sends what is typed a second after the last key press)."""
    st.wait_idle()
    shown = st.key("pr_prompt").locator("textarea").input_value()
    deadline = time.monotonic() + 15
    while True:
        kept = store.draft(person.id, camp.id, "pr", actor_id=person.id)
        if kept is not None and kept.fields.get("pr_prompt") == shown:
            return shown
        assert time.monotonic() < deadline, (kept, shown)
        time.sleep(0.2)


def reload_signed_in(st) -> None:
    """A reload: a new Streamlit session, signed in again by the cookie alone."""
    st.act(lambda: st.page.reload())
    st.wait_text(SW("write.intro"))


def test_a_contributor_stays_signed_in_when_their_process_dies(proxy, collectors, pg_store,
                                                                named_browser):
    store = pg_store[2]
    camp = store.campaign("mazao-na-afya")
    person = store.contributor_by_pseudonym(ZAWADI[1])
    context = jb.new_phone_context(named_browser, ignore_https_errors=True)
    try:
        st = jb.StPage(context.new_page(), proxy.url, timeout_ms=30_000)
        # in Swahili, her own language: a language chosen only in the address is not kept
        # when the page reconnects to another process and the next click is a menu link
        sign_in(st, ZAWADI[0])
        assert _session_cookie(st)["httpOnly"]
        write_item(st, *FIRST)
        st.fill(st.key("pr_prompt"), HALF)  # the next one, half written: the page sends it
        assert draft_on_page(st, store, person, camp) == HALF

        # the phone locks: Chrome freezes the hidden page (no script, no timers), then thaws it
        cdp = context.new_cdp_session(st.page)
        cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
        time.sleep(3)
        cdp.send("Page.setWebLifecycleState", {"state": "active"})
        assert draft_on_page(st, store, person, camp) == HALF
        # the connection drops and comes back; the page is reloaded, as people do
        context.set_offline(True)
        time.sleep(3)
        context.set_offline(False)
        reload_signed_in(st)
        assert draft_on_page(st, store, person, camp) == HALF
        assert "DEMO-ZAWA" not in st.page.url

        killed = serving(collectors)
        survivor = next(server for server in collectors if server is not killed)
        crash(killed)
        # the page notices and reconnects by itself through nginx, which now finds only the
        # survivor; the next click runs there in a new Streamlit session, signed in by the cookie
        assert serving(collectors, timeout=30) is survivor
        st.wait_idle()
        reload_signed_in(st)  # a new session there: the draft comes from the store
        assert draft_on_page(st, store, person, camp) == HALF
        assert serving(collectors) is survivor
        st.nav(SW("nav.mine"))
        mine = st.text()
        assert FIRST[0][:40] in mine and SW("status.submitted") in mine, mine[:1500]
        st.nav(SW("nav.write"))
        assert st.key("pr_prompt").locator("textarea").input_value() == HALF
        write_item(st, *SECOND)
        st.nav(SW("nav.mine"))
        assert SECOND[0][:40] in st.text() and FIRST[0][:40] in st.text(), st.text()[:1500]
        assert not st.exceptions(), st.exceptions()

        # signing out on the survivor ends the session: the cookie signs nobody in any more
        st.open_menu()
        st.click(st.button(SW("app.sign_out"), exact=True))
        st.goto("", lang="sw")
        st.wait_text(SW("sign_in.title"))
        assert serving(collectors) is survivor
    except BaseException:
        for server in collectors:
            print(f"\n--- collector on {server.port} (tail) ---\n{server.log()}")
        print(f"\n--- nginx error.log (tail) ---\n{proxy.log()}")
        raise
    finally:
        context.close()

    written = {i.content.get("prompt"): i for i in store.items(camp.id, author_id=person.id)}
    for prompt, response in (FIRST, SECOND):
        assert prompt in written, sorted(p for p in written if p)
        assert written[prompt].content.get("response") == response
        assert written[prompt].status == "submitted", written[prompt]
    # one web session all along: started by the sign-in, resumed by the survivor, ended there
    started, ended = ([e for e in store.audit_events(action_prefix=action)
                       if e["actor"] == ZAWADI[1]] for action in ("session.start", "session.end"))
    assert len(started) == 1, started
    assert [e["record"] for e in ended] == [started[0]["record"]], (started, ended)
    assert store.draft(person.id, camp.id, "pr", actor_id=person.id) is None  # sent, so gone
    assert "[emerg]" not in proxy.log() and "[crit]" not in proxy.log(), proxy.log()
