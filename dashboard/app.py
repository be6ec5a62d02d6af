"""The dashboard's Streamlit entrypoint: `jamii dashboard` runs `streamlit run` on this file.

One `st.navigation` holds every page (menu hidden); the sidebar lists only the pages this
viewer may open, and before any page runs the entrypoint checks access again from the store
(roles and withdrawal are never read from session state). The leaderboard is public; the
campaign pages need the collector's invite-code sign-in.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from jamii.collector import session
from jamii.dashboard import access, ui
from jamii.dashboard.i18n import autonym, available_languages

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="jamii dashboard", page_icon=":material/leaderboard:",
                   layout="wide", initial_sidebar_state="auto")

ui.clear_current()
store, viewer = ui.build_current()
tr = viewer.tr

ICONS = {
    "leaderboard": ":material/leaderboard:", "coverage": ":material/donut_large:",
    "representation": ":material/diversity_3:", "agreement": ":material/handshake:",
    "compensation": ":material/payments:", "sign_in": ":material/login:",
}
home = "coverage" if access.refusal("coverage", viewer) is None else "leaderboard"
pages = {
    pid: st.Page(str(HERE / f"page_{pid}.py"), title=tr(f"dash.nav.{pid}"), icon=ICONS[pid],
                 url_path=pid.replace("_", "-"), default=(pid == "leaderboard"))
    for pid in access.PAGES
}
by_path = {p.url_path: pid for pid, p in pages.items()}
current = st.navigation(list(pages.values()), position="hidden")
current_id = by_path.get(current.url_path, "leaderboard")


def _set_language() -> None:
    chosen = st.session_state.get("dash_lang_select")
    if chosen:
        st.session_state[session.LANG_KEY] = chosen
        st.query_params["lang"] = chosen


def _set_campaign() -> None:
    st.session_state[session.CAMPAIGN_KEY] = st.session_state.get("dash_campaign_select")


def _sign_out() -> None:
    for key in list(st.session_state.keys()):
        if key != session.LANG_KEY:
            del st.session_state[key]


with st.sidebar:
    st.markdown(f"### {tr('dash.app_title')}")
    if viewer.signed_in and viewer.campaign is not None:
        st.caption(viewer.campaign.name)
    for pid in access.visible_pages(viewer):
        st.page_link(pages[pid], label=tr(f"dash.nav.{pid}"), icon=ICONS[pid])
    st.divider()
    languages = available_languages()
    st.selectbox(tr("app.language"), languages, index=languages.index(tr.language),
                 format_func=autonym, key="dash_lang_select", on_change=_set_language)
    campaigns = store.campaigns() if viewer.signed_in else []
    if len(campaigns) > 1 and viewer.campaign is not None:
        ids = [c.id for c in campaigns]
        st.selectbox(tr("app.campaign"), ids, index=ids.index(viewer.campaign.id),
                     format_func=lambda cid: next(c.name for c in campaigns if c.id == cid),
                     key="dash_campaign_select", on_change=_set_campaign)
    if viewer.signed_in:
        st.caption(tr("app.signed_in_as", pseudonym=viewer.person.pseudonym))
        st.button(tr("app.sign_out"), key="dash_sign_out", on_click=_sign_out,
                  icon=":material/logout:")

if current_id == "sign_in" and viewer.signed_in:
    st.switch_page(pages[home])
reason = access.refusal(current_id, viewer)
if reason:
    st.error(tr(reason), icon=":material/block:")
    target = "sign_in" if not viewer.signed_in else "leaderboard"
    st.page_link(pages[target], label=tr(f"dash.nav.{target}"), icon=ICONS[target])
    st.stop()
ui.set_current(store, viewer)
try:
    current.run()
finally:
    ui.clear_current()
