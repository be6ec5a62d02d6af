"""The short invite link a printed QR code carries (`/j/CODE?lang=sw`), opened on a phone.

It must sign its person in as `?code=` does, leave no code in the address, speak the link's
language (not the person's own, French here, nor the phone's English), and keep them signed in
across a reload. A code nobody has signs nobody in and says so; a path that is no code is a
plain page that goes nowhere else.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from jamii.collector.i18n import Translator
from jamii.web.serve import NOT_FOUND

from test_access_control import _session_cookie  # noqa: E402 - tests/browser is on sys.path

pytestmark = pytest.mark.browser

SW, EN, FR = Translator("sw"), Translator("en"), Translator("fr")
CONSENT = {"open_publication": True, "model_evaluation": True, "voice": False}


def _assert_signed_in_in_swahili(st, pseudonym: str) -> None:
    st.wait_text(SW("write.intro"))
    address = urlsplit(st.page.url)
    assert "code" not in address.query and "/j/" not in address.path, st.page.url
    assert "lang=sw" in address.query, st.page.url
    main = st.main().inner_text()
    assert SW("write.intro") in main
    assert EN("write.intro") not in main and FR("write.intro") not in main
    st.open_menu()
    side = st.sidebar().inner_text()
    st.close_menu()
    assert SW("app.signed_in_as", pseudonym=pseudonym) in side, side
    assert not st.errors(), st.errors()


def test_a_short_invite_link_signs_in_in_its_language_and_survives_a_reload(new_st, jamii_app):
    person, code = jamii_app.person(consent=CONSENT, ui_language="fr")
    st = new_st()  # a phone: 420 x 900, English browser
    st.goto(f"j/{code}", lang="sw")
    _assert_signed_in_in_swahili(st, person.pseudonym)
    st.shot("short-invite-sw")
    cookie = _session_cookie(st)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    started = jamii_app.store.audit_events(action_prefix="session.start")[0]
    assert started["actor"] == person.pseudonym

    before = st.runs()
    st.page.reload()
    st.wait_runs(before)
    st.wait_idle()
    _assert_signed_in_in_swahili(st, person.pseudonym)  # from the cookie, in the same language
    assert code.replace("-", "") not in st.page.url.upper().replace("-", "")


def test_a_short_link_with_a_code_nobody_has_signs_nobody_in(new_st, jamii_app):
    st = new_st()
    st.goto("j/ZZZZ-ZZZZ-ZZZZ", lang="sw")
    st.wait_text(SW("sign_in.unknown"))
    assert "code" not in urlsplit(st.page.url).query, st.page.url
    assert SW("sign_in.title") in st.main().inner_text()
    assert not [c for c in st.page.context.cookies() if c["name"] == "jamii_session"]


def test_a_short_path_that_is_no_code_goes_nowhere(new_st, jamii_app):
    st = new_st()
    for path in ("/j//evil.example", "/j/%5Cevil.example",
                 "/j/%3Cimg%20src=x%20onerror=alert(1)%3E"):
        response = st.page.goto(jamii_app.url + path)
        assert response.status == 404
        assert urlsplit(st.page.url).netloc == urlsplit(jamii_app.url).netloc, st.page.url
        assert st.page.locator("body").inner_text().strip() == NOT_FOUND.strip()
        assert st.page.locator("img").count() == 0


def test_an_organisers_new_invite_comes_with_a_qr_code_of_its_short_link(new_st, jamii_app):
    """The People page shows a new invite's short link under its QR code (what a printed card
    carries); that link, opened on another phone, signs the new person in."""
    _, organiser_code = jamii_app.person(roles=["organiser"], consent=CONSENT, language="en")
    st = new_st()
    st.goto("", code=organiser_code, lang="en")
    _session_cookie(st)  # set by the page's hand-off, a moment after the sign-in
    st.goto("org-people", lang="en")
    st.wait_text(EN("admin.invite_title"))
    st.click(st.button(EN("admin.invite"), exact=True))
    st.wait_text(EN("admin.code_once"))
    image = st.main().locator("[data-testid='stImage'] img")
    assert image.count() == 1 and image.evaluate("i => i.naturalWidth") > 100
    link = st.main().locator("[data-testid='stImageCaption']").inner_text().strip()
    shown_code = st.main().locator("[data-testid='stCode']").inner_text().strip()
    assert link == f"{jamii_app.url}/j/{shown_code}", (link, shown_code)
    phone = new_st()
    phone.goto(urlsplit(link).path.lstrip("/"), lang="sw")
    phone.wait_text(SW("consent.title"))  # the new person, not yet consented
    assert "code" not in urlsplit(phone.page.url).query
