"""Organiser: approve owed entries, mark paid or failed with a reference, export a payout CSV."""

import streamlit as st

from jamii.collector import ui
from jamii.core.records import PAYMENT_STATUSES
from jamii.core.store import StoreError

store, viewer, tr = ui.guard("org_payouts")
st.title(tr("nav.org_payouts"))
camp = viewer.campaign
if camp is None:
    ui.refuse(tr, "access.no_campaign")

status = st.segmented_control(tr("earnings.status"), PAYMENT_STATUSES, default="owed", key="po_status",
                              format_func=lambda s: tr(f"payment.{s}")) or "owed"
rows = store.ledger_rows(camp.id, status)
if not rows:
    st.info(tr("admin.no_entries"))
else:
    st.dataframe([{"#": r["id"], tr("admin.pseudonym"): r["pseudonym"],
                   tr("earnings.activity"): tr(f"activity.{r['activity']}"),
                   tr("earnings.amount"): f"{r['amount']:.2f} {r['unit']}",
                   tr("earnings.reference"): r["reference"]} for r in rows],
                 hide_index=True, width="stretch")
    moves = {"owed": ["approved"], "approved": ["paid", "failed"], "failed": ["owed"], "paid": []}[status]
    if moves:
        with st.form("po_move_form"):
            ids = st.multiselect(tr("admin.entries"), [r["id"] for r in rows], key="po_ids",
                                 help=tr("admin.entries_help"))
            every = st.checkbox(tr("admin.all_entries", n=len(rows)), key="po_all")
            to = st.radio(tr("admin.move_to"), moves, key="po_to", horizontal=True,
                          format_func=lambda s: tr(f"payment.{s}"))
            reference = st.text_input(tr("admin.reference"), key="po_ref", max_chars=200)
            go = st.form_submit_button(tr("admin.move"), type="primary")
        if go:
            chosen = [r["id"] for r in rows] if every else ids
            if not chosen:
                st.error(tr("admin.choose_entries"))
            elif to in ("paid", "failed") and not (reference or "").strip():
                st.error(tr("admin.need_reference"))
            else:
                try:
                    n = store.move_payments(chosen, to, actor_id=viewer.id,
                                            reference=(reference or "").strip() or None)
                except StoreError as exc:
                    st.error(str(exc))
                else:
                    ui.flash([("success", tr("admin.moved", n=n, status=tr(f"payment.{to}")))])
                    st.rerun()

st.divider()
st.subheader(tr("admin.export_title"))
st.caption(tr("admin.export_help"))
st.download_button(tr("admin.export"), key="po_export", mime="text/csv", icon=":material/download:",
                   file_name=f"payouts-{camp.slug}.csv",
                   data=lambda: store.payout_csv(camp.id, "approved", actor_id=viewer.id))
