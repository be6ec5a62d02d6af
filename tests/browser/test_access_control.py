"""A contributor can never open a reviewer's or an organiser's page: not from the menu, not by
URL, not by editing the URL's query, not by forging Streamlit's own protocol messages.

Signed in as demo-zawadi (contributor only, consented, Swahili interface).
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from jamii.collector.i18n import Translator

pytestmark = pytest.mark.browser

SW = Translator("sw")
CONTRIBUTOR = ("DEMO-ZAWA-DI01", "demo-zawadi")
ORGANISER = "demo-mratibu"
# url path -> (page id, refusal key for a signed-in contributor)
CLOSED = {
    "review": ("review", "access.reviewers_only"),
    "org-campaigns": ("org_campaigns", "access.organisers_only"),
    "org-people": ("org_people", "access.organisers_only"),
    "org-payouts": ("org_payouts", "access.organisers_only"),
    "org-audit": ("org_audit", "access.organisers_only"),
}
# what each closed page shows only when it really runs
MARKERS = {
    "review": [SW("review.verdict"), SW("review.submit")],
    "org_campaigns": [SW("admin.tab_rates"), SW("admin.tab_consent")],
    "org_people": [SW("admin.invite_title"), SW("admin.invite")],
    "org_payouts": [SW("admin.export_prepare"), SW("admin.move")],
    "org_audit": [],
}


def signed_in(st):
    st.goto("", lang="sw")
    st.fill(st.key("sign_in_code"), CONTRIBUTOR[0])
    st.click(st.button(SW("sign_in.submit"), exact=True))
    st.wait_text(SW("write.intro"))
    return st


def assert_refused(st, page_id: str, reason_key: str) -> None:
    st.wait_text(SW(reason_key))
    main = st.main().inner_text()
    titles = [t.strip() for t in st.main().locator("h1").all_inner_texts()]
    assert SW(f"nav.{page_id}") not in titles, titles
    for marker in MARKERS[page_id]:
        assert marker not in main, f"{page_id} leaked '{marker}'"
    assert not st.exceptions(), st.exceptions()


def assert_still_contributor(st, store) -> None:
    st.open_menu()
    side = st.sidebar().inner_text()
    st.close_menu()
    assert SW("app.signed_in_as", pseudonym=CONTRIBUTOR[1]) in side, side
    person = store.contributor_by_pseudonym(CONTRIBUTOR[1])
    assert person.roles == ["contributor"]


def test_menu_offers_no_reviewer_or_organiser_page(st, jamii_app):
    signed_in(st)
    links = st.menu_links()
    st.close_menu()
    for page_id, _ in CLOSED.values():
        assert SW(f"nav.{page_id}") not in links, links
    assert SW("nav.write") in links and SW("nav.mine") in links


def test_url_path_inside_the_session_is_refused(st, jamii_app):
    """The signed-in contributor asks for each closed page's URL in the running session."""
    signed_in(st)
    for path, (page_id, reason) in sorted(CLOSED.items()):
        st.open_path(path)
        assert urlparse(st.page.url).path.rstrip("/").endswith(path)  # the query keeps ?lang
        assert_refused(st, page_id, reason)
    assert_still_contributor(st, jamii_app.store)


def _session_cookie(st, timeout_s: float = 10.0):
    """The session cookie once the page has posted its hand-off (a moment after sign-in)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [c for c in st.page.context.cookies() if c["name"] == "jamii_session"]
        if found:
            return found[0]
        st.page.wait_for_timeout(50)
    raise AssertionError("no session cookie was set after signing in")


def test_a_reload_or_a_new_tab_keeps_the_person_signed_in_as_themself(new_st, jamii_app):
    """A reload starts a new Streamlit session: the HttpOnly cookie signs the same person back
    in, with their own pages only; a browser without it, or with a forged one, sees nothing."""
    st = signed_in(new_st())
    cookie = _session_cookie(st)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert st.page.evaluate("document.cookie").find("jamii_session") < 0  # no script can read it
    st.goto("", lang="sw")
    st.wait_text(SW("write.intro"))
    for path in ("org-payouts", "review"):  # typed into the address bar: a new session
        st.goto(path, lang="sw")
        assert_refused(st, CLOSED[path][0], CLOSED[path][1])
    assert_still_contributor(st, jamii_app.store)
    stranger = new_st()
    stranger.page.context.add_cookies([{**cookie, "value": "A" * 43}])
    stranger.goto("org-payouts", lang="sw")
    assert_refused(stranger, "org_payouts", "access.sign_in_first")


def test_sign_out_ends_the_session_for_good_and_everywhere_reaches_an_open_phone(new_st, jamii_app):
    phone, laptop = signed_in(new_st()), signed_in(new_st())
    _session_cookie(phone), _session_cookie(laptop)
    laptop.open_menu()
    laptop.click(laptop.button(SW("app.sign_out"), exact=True))
    laptop.goto("", lang="sw")  # the cookie is still in the browser: it signs nobody in
    laptop.wait_text(SW("sign_in.title"))
    again = signed_in(new_st())
    _session_cookie(again)
    again.open_menu()
    again.click(again.button(SW("app.sign_out_everywhere"), exact=True))
    phone.nav(SW("nav.mine"), expect=None)  # the phone left open: its next click
    phone.wait_text(SW("access.sign_in_first"))
    phone.goto("", lang="sw")
    phone.wait_text(SW("sign_in.title"))


FORGED_QUERIES = [
    {"contributor_id": "1"},
    {"roles": "organiser"},
    {"role": "organiser", "user": ORGANISER},
    {"campaign_id": "1", "contributor_id": "1", "page": "org_payouts"},
]


def test_tampered_query_params_grant_nothing(st, jamii_app):
    # before signing in: a forged query does not sign anyone in
    for query in FORGED_QUERIES:
        st.goto("org-payouts", lang="sw", **query)
        assert_refused(st, "org_payouts", "access.sign_in_first")
    # signed in as a contributor: a forged query on an organiser page is refused all the same
    signed_in(st)
    for query in FORGED_QUERIES:
        st.open_path("org-people?" + "&".join(f"{k}={v}" for k, v in query.items()))
        assert_refused(st, "org_people", "access.organisers_only")
    assert_still_contributor(st, jamii_app.store)


def test_forged_protocol_messages_grant_nothing(new_st, jamii_app):
    """Rewrite the browser's websocket messages: every rerun request carries forged widget
    states named like the session's keys (contributor_id = the organiser's id, roles) and asks
    for the organiser's payouts page. The server must still see a contributor."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    store = jamii_app.store
    organiser = store.contributor_by_pseudonym(ORGANISER)
    st = new_st()
    forging = {"on": False, "forged": 0}

    def forge(payload):
        if not forging["on"] or isinstance(payload, str):
            return payload
        msg = BackMsg()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") != "rerun_script":
            return payload
        states = msg.rerun_script.widget_states
        for wid in ("contributor_id", "$$ID-00000000000000000000000000000000-contributor_id"):
            w = states.widgets.add()
            w.id = wid
            w.int_value = organiser.id
        w = states.widgets.add()
        w.id = "$$ID-00000000000000000000000000000000-roles"
        w.string_array_value.data.extend(["organiser", "reviewer"])
        forging["forged"] += 1
        return msg.SerializeToString()

    def route(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda m: server.send(forge(m)))
        server.on_message(lambda m: ws.send(m))

    st.page.route_web_socket("**/_stcore/stream", route)
    signed_in(st)
    forging["on"] = True
    st.open_path("org-payouts")
    assert forging["forged"] >= 1
    assert_refused(st, "org_payouts", "access.organisers_only")
    st.nav(SW("nav.mine"))  # another forged run: still the contributor's own page
    assert_still_contributor(st, store)
    before = len(store.audit_events(action_prefix="payout"))
    st.open_path("org-payouts")
    assert_refused(st, "org_payouts", "access.organisers_only")
    assert len(store.audit_events(action_prefix="payout")) == before


def test_an_invite_link_signs_in_and_leaves_no_code_in_the_address(new_st, jamii_app):
    """The link on a printed QR code (`?code=`): signed in as its person, the code dropped from
    the address (history, a shoulder); a wrong code signs nobody in and says so."""
    st = new_st()
    st.goto("", lang="sw", code=CONTRIBUTOR[0].lower())
    st.wait_text(SW("write.intro"))
    assert "code=" not in st.page.url and "lang=sw" in st.page.url
    _session_cookie(st)
    assert_still_contributor(st, jamii_app.store)
    other = new_st()
    other.goto("", lang="sw", code="ZZZZ-ZZZZ-ZZZZ")
    other.wait_text(SW("sign_in.unknown"))
    assert "code=" not in other.page.url
    assert SW("sign_in.title") in other.main().inner_text()


def test_a_link_to_a_page_works_whoever_opens_it(new_st, jamii_app):
    """Each page keeps its own address whether or not the viewer is signed in: a printed
    `/sign-in?lang=sw` shows the Swahili sign-in, and a `/write?code=` link signs its person in
    and shows the form it names; neither ends on Streamlit's "Page not found"."""
    st = new_st()
    st.goto("sign-in", lang="sw")
    st.wait_text(SW("sign_in.title"))
    assert "Page not found" not in st.page.inner_text("body")
    assert urlparse(st.page.url).path.rstrip("/").endswith("sign-in")
    other = new_st()
    other.goto("write", lang="sw", code=CONTRIBUTOR[0])
    other.wait_text(SW("write.intro"))
    other.page.wait_for_timeout(1500)  # the toast comes a moment after the page
    assert "Page not found" not in other.page.inner_text("body")
    assert urlparse(other.page.url).path.rstrip("/").endswith("write")
    assert "code=" not in other.page.url
    assert_still_contributor(other, jamii_app.store)
