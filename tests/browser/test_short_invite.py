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
