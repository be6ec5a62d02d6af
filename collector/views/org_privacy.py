"""Organiser: accepted items whose text may hold personal data, and clearing them for release."""

import streamlit as st

from jamii.collector import ui
from jamii.collector.forms import field_label
from jamii.core.store import StoreError

store, viewer, tr = ui.guard("org_privacy")
st.title(tr("nav.org_privacy"))
ui.show_flash()
st.caption(tr("admin.privacy_help"))
flagged = store.flagged_items(viewer.campaign.id) if viewer.campaign else []
if not flagged:
    st.info(tr("admin.privacy_none"))
    st.stop()

for f in flagged:
    with st.expander(f"{f.item.public_id} · {tr(f'kind.{f.item.kind}')}"):
        for field, hit in f.hits:
            ui.show_text(tr("admin.privacy_found", kind=hit.kind, field=field_label(tr, field),
                            text=hit.text))

with st.form("privacy_form"):
    chosen = st.multiselect(tr("admin.privacy_select"), [f.item.id for f in flagged],
                            format_func=lambda i: next(f.item.public_id for f in flagged if f.item.id == i),
                            key="privacy_items")
    note = st.text_input(tr("admin.privacy_note"), key="privacy_note", max_chars=500)
    go = st.form_submit_button(tr("admin.privacy_clear"), type="primary")
if go:
    try:
        n = store.clear_pii(chosen, actor_id=viewer.id, note=note or "")
    except StoreError as exc:
        ui.say([("error", str(exc))])
    else:
        ui.flash([("success", tr("admin.privacy_cleared", n=n))])
        st.rerun()
