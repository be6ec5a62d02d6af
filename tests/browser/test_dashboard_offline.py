"""The dashboard asks nothing of the internet (issue 10, item 10), in a real browser.

A field laptop on a local hotspot has no internet, and a page that waits for a font CDN or a
favicon from one is slow or broken there. The collector has the same check
(tests/browser/test_i18n_mobile.py); here every dashboard page is opened, signed out and as an
organiser, with results folders so that its charts draw, and every request the browser makes
is recorded: each must go to the dashboard itself (or be a data:/blob: URL). Requests for
anywhere else are answered with an error at once, so the test never waits on a network.

`DashboardServer` and `record_outside` are shared with tests/browser/test_plain_text.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import _jamii_browser as jb
from jamii.dashboard.i18n import Translator

pytestmark = pytest.mark.browser

EN = Translator("en")
PAGES = ("leaderboard", "coverage", "representation", "agreement", "compensation", "ratings")

_DASHBOARD = ("import sys; from jamii.cli import main; "
              "sys.argv = ['jamii', 'dashboard'] + sys.argv[2:]; main()")


class DashboardServer(jb.AppServer):
    """`jamii dashboard --port P` in its own process group (the harness starts `jamii collect`)."""

    def start(self, timeout: float = 60) -> "DashboardServer":
        collect = jb.jamii_command
        jb.jamii_command = lambda: [sys.executable, "-c", _DASHBOARD]  # ... + ["collect", ...]
        try:
            super().start(timeout)
        finally:
            jb.jamii_command = collect
        return self


def local(url: str, base: str) -> bool:
    return url.startswith((base, "data:", "blob:", "about:"))


def record_outside(context, base: str) -> list[str]:
    """Every request of this browser context for anywhere but `base`, refused at once."""
    outside: list[str] = []

    def handle(route):
        url = route.request.url
        if local(url, base):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", handle)
    return outside


def write_results(folder: Path) -> None:
    from test_plain_text_apptest import write_results as one_run

    one_run(folder / "run-a")


def sign_in(st, code: str) -> None:
    st.goto("sign-in", lang="en")
    st.fill(st.key("dash_code"), code)
    st.click(st.button(EN("sign_in.submit"), exact=True))
    st.wait_text(EN("dash.coverage.title"))


@pytest.fixture(scope="module")
def dashboard(jamii_app, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    write_results(results)
    server = DashboardServer(jamii_app.data_dir, env={"JAMII_RESULTS": str(results)}).start()
    yield server
    server.stop()


def test_every_dashboard_page_asks_nothing_of_the_internet(browser, dashboard, screenshots_dir):
    context = jb.new_phone_context(browser)
    try:
        outside = record_outside(context, dashboard.url)
        # the first run imports the statistics (scipy) and fits the seeded ratings: slow on a
        # loaded machine, and this test is about what is fetched, not how fast
        st = jb.StPage(context.new_page(), dashboard.url, screenshots_dir, timeout_ms=90_000)
        requests: list[str] = []
        st.page.on("request", lambda r: requests.append(r.url))
        st.goto("", lang="en")  # the public leaderboard, signed out
        st.wait_text(EN("dash.leaderboard.title"))
        # a chart is drawn (it renders after the title, later still on a loaded machine)
        st.page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
        sign_in(st, "DEMO-ORGA-NISR")
        for page in PAGES:
            st.nav(EN(f"dash.nav.{page}"), expect=EN(f"dash.{page}.title"))
            st.page.wait_for_timeout(300)  # late requests: fonts, icons, chart assets
            assert not st.exceptions(), (page, st.exceptions())
        # the favicon is the browser's own drawing, not a file from a font CDN
        icons = st.page.eval_on_selector_all("link[rel~='icon']", "ls => ls.map(l => l.href)")
        assert icons and all(local(href, dashboard.url) for href in icons), icons
        assert len(requests) > 20  # the recorder saw the page load (this is not vacuous)
        assert outside == [], outside
    finally:
        context.close()
