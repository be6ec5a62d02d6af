"""Language and phone-size behaviour in a real browser.

* `?lang=sw` shows the Swahili catalogue's strings (and not the English ones);
* a right-to-left language renders right to left. jamii ships en/sw/fr, so the app is started
  with a community catalogue for Arabic in JAMII_LOCALES (the documented way to add one);
* at 420 px no page of the walk scrolls sideways;
* the app asks nothing of the internet (a field laptop on a local hotspot has none).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jamii.collector.i18n import Translator

pytestmark = pytest.mark.browser

SW = Translator("sw")
EN = Translator("en")

AR_YAML = textwrap.dedent("""\
    # A community catalogue for the test: only a few keys; the rest falls back to English.
    app:
      language: اللغة
    sign_in:
      title: مرحبا بك في جامعي
      intro: ساعد في كتابة أسئلة وأجوبة بلغتك.
      code: رمز الدعوة
      submit: دخول
    """)


def app_environment(tmp: Path) -> dict[str, str]:
    folder = tmp / "locales"
    folder.mkdir()
    (folder / "ar.yaml").write_text(AR_YAML, encoding="utf-8")
    return {"JAMII_LOCALES": str(folder)}


def test_swahili_strings_come_from_the_catalogue(st, jamii_app):
    st.goto("", lang="sw")
    main = st.main().inner_text()
    for key in ("sign_in.title", "sign_in.intro", "sign_in.password_title"):
        assert SW(key) in main, key
        assert SW(key) != EN(key)
        assert EN(key) not in main, f"English '{EN(key)}' shown for {key}"
    # the field's label (the input is labelled a moment after it is drawn)
    st.page.get_by_label(SW("sign_in.code"), exact=True).first.wait_for(timeout=5000)
    assert st.page.get_by_label(SW("sign_in.code"), exact=True).count() == 1
    assert st.page.get_by_label(EN("sign_in.code"), exact=True).count() == 0
    assert st.button(SW("sign_in.submit"), exact=True).count() == 1
    # signed in, the menu and the page are Swahili too
    st.fill(st.key("sign_in_code"), "DEMO-ZAWA-DI01")
    st.click(st.button(SW("sign_in.submit"), exact=True))
    st.wait_text(SW("write.intro"))
    links = st.menu_links()
    st.close_menu()
    for key in ("nav.write", "nav.contextual", "nav.speech", "nav.mine", "nav.profile"):
        assert SW(key) in links, (key, links)
    assert EN("nav.write") not in links


def test_the_language_survives_moving_between_pages_a_reload_and_a_new_tab(new_st, jamii_app):
    """A menu link and the redirect home drop the address's query; the language must stay in
    the address, since a reload (a new session) and a copied link keep nothing else."""
    st = new_st()
    st.goto("", lang="sw")
    st.fill(st.key("sign_in_code"), "DEMO-ZAWA-DI01")
    st.click(st.button(SW("sign_in.submit"), exact=True))
    st.wait_text(SW("write.intro"))
    st.nav(SW("nav.profile"))
    assert "lang=sw" in st.page.url, st.page.url
    before = st.runs()
    st.page.reload()
    st.wait_runs(before)
    st.wait_idle()
    # in Swahili, signed in (once sessions survive a reload) or asked to sign in
    for page in (st, _new_tab(new_st, st.page.url)):  # and the address pasted into a new tab
        main = page.main().inner_text()
        assert SW("nav.profile") in main or SW("access.sign_in_first") in main, main[:300]
        assert EN("access.sign_in_first") not in main and EN("nav.profile") not in main


def _new_tab(new_st, url: str):
    page = new_st()
    page.page.goto(url)
    page.page.wait_for_function(
        "ts => ts.some(t => (document.querySelector(\"[data-testid='stMain']\")?.innerText || '').includes(t))",
        arg=[SW("access.sign_in_first"), SW("nav.profile")], timeout=20000)
    page.wait_idle()
    return page


def test_right_to_left_language_renders_rtl(st, jamii_app, monkeypatch):
    monkeypatch.setenv("JAMII_LOCALES", jamii_app.server.extra_env["JAMII_LOCALES"])
    ar = Translator("ar")
    assert ar.rtl and ar("sign_in.title") != EN("sign_in.title"), "the community catalogue loads"
    st.goto("", lang="ar")
    st.wait_text(ar("sign_in.title"))
    direction = st.main().evaluate("e => getComputedStyle(e).direction")
    assert direction == "rtl"
    heading = st.main().locator("h1").first
    assert heading.evaluate("e => getComputedStyle(e).direction") == "rtl"
    # text typed by people lays out by its own script, even inside an RTL page
    box = st.key("sign_in_code").locator("input")
    assert box.evaluate("e => getComputedStyle(e).unicodeBidi") == "plaintext"
    assert st.horizontal_overflow()["overflow"] == 0
    st.shot("15-sign-in-rtl-ar")
    # English and Swahili stay left to right
    st.goto("", lang="sw")
    assert st.main().evaluate("e => getComputedStyle(e).direction") == "ltr"


def _check_no_overflow(st, where: str, problems: list) -> None:
    found = st.horizontal_overflow()
    if found["overflow"] > 0:
        problems.append((where, found))


def test_no_horizontal_overflow_at_phone_width(new_st, jamii_app):
    problems: list = []
    # a contributor who reviews, in Swahili: every page of the walk
    st = new_st()
    assert st.page.viewport_size["width"] == 420
    st.goto("", lang="sw")
    _check_no_overflow(st, "sign_in", problems)
    st.fill(st.key("sign_in_code"), "DEMO-REVI-EWER")
    st.click(st.button(SW("sign_in.submit"), exact=True))
    st.wait_text(SW("write.intro"))
    for page in ("write", "contextual", "speech", "review", "rate", "consent", "profile", "mine"):
        st.nav(SW(f"nav.{page}"), expect=SW("consent.title") if page == "consent" else "")
        _check_no_overflow(st, page, problems)
        if page == "mine":
            for tab in ("mine.tab_earnings", "mine.tab_data"):
                st.page.get_by_role("tab", name=SW(tab)).click()
                st.page.wait_for_timeout(200)
                _check_no_overflow(st, f"mine/{tab}", problems)
    # the organiser's pages, in English
    org = new_st()
    org.goto("", lang="en")
    org.fill(org.key("sign_in_code"), "DEMO-ORGA-NISR")
    org.click(org.button(EN("sign_in.submit"), exact=True))
    org.wait_text(EN("write.intro"))
    for page in ("org_campaigns", "org_people", "org_payouts", "org_audit"):
        org.nav(EN(f"nav.{page}"))
        _check_no_overflow(org, page, problems)
    assert not problems, problems


def test_the_app_asks_nothing_of_the_internet(st, jamii_app):
    outside: list[str] = []
    st.page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
               else outside.append(r.url))
    st.goto("", lang="sw")
    st.fill(st.key("sign_in_code"), "DEMO-ZAWA-DI01")
    st.click(st.button(SW("sign_in.submit"), exact=True))
    st.wait_text(SW("write.intro"))
    st.nav(SW("nav.speech"))
    st.page.wait_for_timeout(300)
    assert outside == []
