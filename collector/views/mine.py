"""My contributions: own items and outcomes, own earnings, own data, consent withdrawal."""

import streamlit as st

from jamii.collector import earnings, review, ui
from jamii.collector.forms import field_label
from jamii.core.store import StoreError

store, viewer, tr = ui.guard("mine")
st.title(tr("nav.mine"))

if viewer.withdrawn:
    st.warning(tr("mine.withdrawn_notice"))

tab_items, tab_pay, tab_data = st.tabs([tr("mine.tab_items"), tr("mine.tab_earnings"),
                                        tr("mine.tab_data")])

with tab_items:
    mine = store.my_items(viewer.id, viewer.campaign.id if viewer.campaign else None)
    if not mine:
        st.info(tr("mine.no_items"))
    counts: dict[str, int] = {}
    for item, _ in mine:
        counts[item.status] = counts.get(item.status, 0) + 1
    if counts:
        st.caption(" · ".join(f"{tr(f'status.{s}')}: {n}" for s, n in sorted(counts.items())))
    for item, reviews in mine:
        first = next(iter(v for _, v in review.item_fields(item)), "")
        first = first[0] if isinstance(first, list) and first else first
        title = f"{tr(f'status.{item.status}')} · {tr(f'kind.{item.kind}')} · {ui.plain(str(first)[:60])}"
        with st.expander(title):
            st.caption(f"{item.public_id} · v{item.version} · {item.created_at:%Y-%m-%d}")
            for name, value in review.item_fields(item):
                values = value if isinstance(value, list) else [value]
                for v in values:
                    ui.show_text(v, field_label(tr, name))
            for line in review.outcome_summary(tr, item, reviews):
                st.caption(ui.plain(line))  # quotes reviewers' suggested wording
            if item.status in ("needs_edit", "submitted") and not viewer.withdrawn:
                for r in reviews:
                    if r.verdict != "edit" or r.item_version != item.version:
                        continue
                    if st.button(tr("mine.use_edit"), key=f"use_edit_{item.id}_{r.id}"):
                        level, key = review.apply_suggested_edit(store, item.id, viewer.id, r)
                        ui.flash([(level, tr(key))])
                        st.rerun()

with tab_pay:
    st.caption(tr("mine.earnings_help"))
    lines = earnings.totals_lines(tr, earnings.totals(store, viewer.id))
    for line in lines:
        st.markdown(f"**{ui.plain(line)}**")  # units and goods are the organisers' words
    rows = earnings.earning_rows(store, viewer.id, tr)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.info(tr("mine.no_earnings"))

with tab_data:
    st.write(tr("mine.download_help"))
    st.download_button(tr("mine.download"), data=lambda: earnings.own_data_json(store, viewer.id),
                       file_name=f"jamii-{viewer.person.pseudonym}.json", mime="application/json",
                       key="mine_download", icon=":material/download:")
    st.divider()
    st.subheader(tr("mine.withdraw_title"))
    if viewer.withdrawn:
        st.info(tr("mine.withdrawn_notice"))
    else:
        st.write(tr("mine.withdraw_explain"))
        with st.form("withdraw_form"):
            sure = st.checkbox(tr("mine.withdraw_confirm"), key="withdraw_sure")
            reason = st.text_input(tr("mine.withdraw_reason"), key="withdraw_reason", max_chars=500)
            go = st.form_submit_button(tr("mine.withdraw_button"), type="secondary")
        if go:
            if not sure:
                st.error(tr("mine.withdraw_tick"))
            else:
                try:
                    store.withdraw(viewer.id, actor_id=viewer.id, reason=(reason or "").strip())
                except StoreError as exc:
                    ui.say([("error", str(exc))])
                else:
                    ui.flash([("success", tr("mine.withdrawn_done"))])
                    st.rerun()
