"""The collector's Streamlit entrypoint: `jamii collect` serves it through
`serve.py` (an `st.App` with `/healthz`, `/auth/adopt` and gzip: `jamii.web.serve`).

One `st.navigation` holds every page (so links and `AppTest.switch_page` resolve), with its own
menu hidden; the sidebar menu lists only the pages this viewer may open, and before any page
runs the entrypoint checks access again from the store. A contributor who types an organiser
page's URL, or edits session state, gets a refusal, never the page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from jamii.collector import access, rating, ui
from jamii.collector.i18n import available_languages
from jamii.web import ui as web

HERE = Path(__file__).resolve().parent

# an emoji, which the browser draws itself: a ":material/...:" icon is fetched from
# fonts.gstatic.com on every load, and the collector must work with no internet at all
st.set_page_config(page_title="jamii", page_icon="💬", layout="centered",
                   initial_sidebar_state="auto")


ui.clear_current()
store, viewer = ui.build_current()  # roles and consent re-read from the store on every run
tr = viewer.tr

MENU_GROUPS = (
    ("nav.group_contribute", ("write", "contextual", "speech", "review", "rate")),
    ("nav.group_me", ("consent", "profile", "mine")),
    ("nav.group_organise", ("org_campaigns", "org_people", "org_payouts", "org_privacy",
                             "org_audit")),
)
ICONS = {
    "sign_in": ":material/login:", "consent": ":material/handshake:",
    "profile": ":material/person:", "mine": ":material/inventory_2:",
    "write": ":material/edit_note:", "contextual": ":material/diversity_3:",
    "speech": ":material/mic:", "review": ":material/fact_check:",
    "rate": ":material/thumbs_up_down:",
    "org_campaigns": ":material/campaign:", "org_people": ":material/group:",
    "org_payouts": ":material/payments:", "org_audit": ":material/history:",
    "org_privacy": ":material/shield_person:",
}

home = access.home_page(viewer)
pages, current, current_id = web.navigation(
    {pid: HERE / "views" / f"{pid}.py" for pid in access.PAGES}, home,
    title=lambda pid: tr(f"nav.{pid}"), icon=ICONS.__getitem__)


with st.sidebar:
    st.markdown(f"### {tr('app.name')}")
    if viewer.campaign is not None:
        st.caption(ui.plain(viewer.campaign.name))
    visible = set(access.visible_pages(viewer))
    if "rate" in visible and not rating.in_menu(viewer.rating_refusal):  # Store.may_rate's
        visible.discard("rate")  # only reviewers rate in this campaign
    for group_key, ids in MENU_GROUPS:
        shown = [pid for pid in ids if pid in visible]
        if not shown:
            continue
        st.caption(tr(group_key))
        for pid in shown:
            st.page_link(pages[pid], label=tr(f"nav.{pid}"), icon=ICONS[pid])
    st.divider()
    web.account_controls(store, viewer, tr, languages=available_languages(), prefix="ui_")

organiser_page = access.ORGANISER in access.PAGES.get(current_id, ())
if organiser_page and not access.refusal(current_id, viewer):
    # on every organiser page, while anyone still signs in with a code printed in the README
    demo = store.demo_people_active()
    if demo:
        names = ", ".join(web.plain(p) for p in demo)
        st.warning(tr("sign_in_guard.demo_banner", people=names), icon="⚠️")

web.serve_page(store, viewer, current, current_id, pages, refusal=access.refusal, home=home,
               refused_home=home, label=lambda pid: tr(f"nav.{pid}"), icons=ICONS)
