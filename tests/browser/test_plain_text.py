"""Contributor text is never Markdown (issue 10, item 5), in a real browser.

A contributor can write Markdown anywhere: `[x](http://...)` and `![i](http://...)` are plain
words to the input checks (which refuse HTML) and must stay storable. Streamlit reads Markdown
in captions, alerts and nearly every label, so a page that passes such a text on unescaped
shows reviewers a live link, and a remote image that the browser fetches (which also breaks
the promise that no page asks anything of the internet).

The store is seeded (`seed_hostile`, shared with tests/test_plain_text_apptest.py) with a
link, a remote image and a bare address in every contributor-writable field: every item
field, rubric names, descriptions and anchors, dialect "other: ...", a free domain, profile
answers, a suggested edit, a withdrawal reason, plus the campaign's dialect list, in-kind good
and rate card unit, and a results folder's run, model, dataset, metric and subgroup names.
Reviewers, the author and an organiser then open every page that shows them, in the collector
and the dashboard, with every expander opened. On no page may an `<a>` or `<img>` point
anywhere but the app itself, no request may leave for another host, and the planted words
must be on screen as typed.
"""

from __future__ import annotations

import pytest

import _jamii_browser as jb
from jamii.collector.i18n import Translator
from jamii.core.store import Store
from jamii.dashboard.i18n import Translator as DashTranslator
from test_dashboard_offline import PAGES as DASHBOARD_PAGES
from test_dashboard_offline import DashboardServer, record_outside, sign_in as dashboard_sign_in
from test_plain_text_apptest import DIALECT, HOST, hostile, seed_hostile, write_results

pytestmark = pytest.mark.browser

EN = Translator("en")
DASH = DashTranslator("en")

ELSEWHERE = """() => {
  const here = location.origin, out = [];
  for (const el of document.querySelectorAll('a[href], img[src], image[href], source[src], link[href]')) {
    const raw = el.getAttribute('href') || el.getAttribute('src') || '';
    let url;
    try { url = new URL(raw, location.href); } catch (e) { out.push(el.tagName + ' ' + raw); continue; }
    if (url.protocol === 'data:' || url.protocol === 'blob:') continue;
    if (url.origin !== here) out.push(el.tagName + ' ' + raw);
  }
  return out;
}"""


@pytest.fixture(scope="module")
def apps(tmp_path_factory, speech_wav):
    jb.init_store(data := tmp_path_factory.mktemp("plain") / "data", seeds=False)
    store = Store.open(data_dir=data)
    ids = seed_hostile(store, speech_wav.read_bytes() if speech_wav else None)
    results = tmp_path_factory.mktemp("results")
    write_results(results / "run-a")
    collector = jb.AppServer(data).start()
    try:
        dashboard = DashboardServer(data, env={"JAMII_RESULTS": str(results)}).start()
    except Exception:
        collector.stop()
        raise
    yield {"collector": collector, "dashboard": dashboard, "ids": ids}
    dashboard.stop()
    collector.stop()
    store.close()


@pytest.fixture
def visit(browser, apps, screenshots_dir):
    """Factory: a phone-sized page on one of the apps, recording requests for other hosts."""
    opened = []

    def make(app: str):
        context = jb.new_phone_context(browser)
        base = apps[app].url
        outside = record_outside(context, base)
        opened.append(context)
        return jb.StPage(context.new_page(), base, screenshots_dir), outside

    yield make
    for context in opened:
        context.close()


def check_page(st, where: str, problems: list, shown: list) -> None:
    """Open every expander and tab, then note links/images to elsewhere and keep the text."""
    for summary in st.main().locator("[data-testid='stExpander'] summary").all():
        if summary.is_visible():
            summary.click()
    st.page.wait_for_timeout(300)
    for tab in st.main().get_by_role("tab").all():
        if tab.is_visible():
            tab.click()
            st.page.wait_for_timeout(150)
            shown.append(st.main().inner_text().replace("\u2060", ""))
    st.page.wait_for_timeout(200)
    found = st.page.evaluate(ELSEWHERE)
    if found:
        problems.append((where, found))
    if st.exceptions():
        problems.append((where, st.exceptions()))
    shown.append(st.text().replace("\u2060", ""))


def collector_sign_in(st, code: str) -> None:
    st.goto("", lang="en")
    st.fill(st.key("sign_in_code"), code)
    st.click(st.button(EN("sign_in.submit"), exact=True))
    st.wait_text(EN("write.intro"))


def test_no_page_turns_planted_markdown_into_links_or_images(visit, apps):
    ids, problems, shown, leaks = apps["ids"], [], [], []

    # a reviewer who has reviewed nothing: the three open items, one after the other
    st, outside = visit("collector")
    leaks.append(outside)
    collector_sign_in(st, ids["codes"]["fresh"])
    st.nav(EN("nav.review"))
    for kind in ("contextual", "prompt_response", "speech"):
        check_page(st, f"review/{kind}", problems, shown)
        st.click(st.button(EN("review.skip")))
    st.nav(EN("nav.contextual"))  # the accepted item's rubric fills the form
    check_page(st, "contextual", problems, shown)

    # the author: own items with the suggested edit, profile, earnings
    st, outside = visit("collector")
    leaks.append(outside)
    collector_sign_in(st, ids["codes"]["author"])
    for page in ("mine", "profile", "write", "speech"):
        st.nav(EN(f"nav.{page}"))
        check_page(st, page, problems, shown)

    # the organiser's pages: flagged text, people, audit (withdrawal reason), campaign, payouts
    st, outside = visit("collector")
    leaks.append(outside)
    collector_sign_in(st, ids["codes"]["organiser"])
    for page in ("org_privacy", "org_people", "org_audit", "org_campaigns", "org_payouts"):
        st.nav(EN(f"nav.{page}"))
        check_page(st, page, problems, shown)

    # the dashboard: every page, as the organiser
    st, outside = visit("dashboard")
    leaks.append(outside)
    dashboard_sign_in(st, ids["codes"]["organiser"])
    for page in DASHBOARD_PAGES:
        st.nav(DASH(f"dash.nav.{page}"), expect=DASH(f"dash.{page}.title"))
        check_page(st, f"dashboard/{page}", problems, shown)

    assert problems == [], problems
    assert [url for urls in leaks for url in urls] == []
    text = "\n".join(shown)
    # the planted words are on screen as typed: dropped text would pass the checks above too
    for planted in (DIALECT, hostile("kilimo"), hostile("swali"), hostile("nakala"),
                    hostile("maelezo"), hostile("alama 5"), hostile("pendekezo"),
                    hostile("manufaa")[:80], f"mtu@{HOST}.example"):
        assert planted in text, planted
