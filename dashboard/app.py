"""The dashboard's Streamlit entrypoint: `jamii dashboard` serves it through
`serve.py` (an `st.App` with `/healthz`, `/auth/adopt` and gzip: `jamii.web.serve`).

One `st.navigation` holds every page (menu hidden); the sidebar lists only the pages this
viewer may open, and before any page runs the entrypoint checks access again from the store
(roles and withdrawal are never read from session state). The leaderboard is public; the
campaign pages need the same invite-code sign-in as the collector.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from jamii.dashboard import access, ui
from jamii.dashboard.i18n import available_languages
from jamii.web import ui as web

HERE = Path(__file__).resolve().parent

# an emoji, which the browser draws itself: a ":material/...:" page icon makes the browser
# fetch a favicon from a font CDN on every load, and the dashboard must work with no internet
st.set_page_config(page_title="jamii dashboard", page_icon="📊",
                   layout="wide", initial_sidebar_state="auto")

ui.clear_current()
store, viewer = ui.build_current()
tr = viewer.tr

ICONS = {
    "leaderboard": ":material/leaderboard:", "coverage": ":material/donut_large:",
    "representation": ":material/diversity_3:", "agreement": ":material/handshake:",
    "compensation": ":material/payments:", "ratings": ":material/thumbs_up_down:",
    "sign_in": ":material/login:",
}
home = "coverage" if access.refusal("coverage", viewer) is None else "leaderboard"
pages, current, current_id = web.navigation(
    {pid: HERE / "views" / f"{pid}.py" for pid in access.PAGES}, "leaderboard",
    title=lambda pid: tr(f"dash.nav.{pid}"), icon=ICONS.__getitem__)


with st.sidebar:
    st.markdown(f"### {tr('dash.app_title')}")
    if viewer.signed_in and viewer.campaign is not None:
        st.caption(ui.plain(viewer.campaign.name))  # the organisers' words, shown as typed
    for pid in access.visible_pages(viewer):
        st.page_link(pages[pid], label=tr(f"dash.nav.{pid}"), icon=ICONS[pid])
    st.divider()
    web.account_controls(store, viewer, tr, languages=available_languages(), prefix="dash_",
                         remember_language=False)

web.serve_page(store, viewer, current, current_id, pages, refusal=access.refusal, home=home,
               refused_home="leaderboard", label=lambda pid: tr(f"dash.nav.{pid}"), icons=ICONS)
