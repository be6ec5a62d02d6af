"""Organiser: approve owed entries, mark paid or failed with a reference, export a payout CSV.

Totals per person and unit come from one grouped query; the entries themselves are shown a
page at a time, so a ledger of 100,000 lines opens as fast as one of ten.
"""

import math

import streamlit as st

from jamii.collector import ui
from jamii.core.records import PAYMENT_STATUSES
from jamii.core.store import StoreError

store, viewer, tr = ui.guard("org_payouts")
st.title(tr("nav.org_payouts"))
camp = viewer.campaign
PAGE_SIZE = 50
if camp is None:
    ui.refuse(tr, "access.no_campaign")

status = st.segmented_control(tr("earnings.status"), PAYMENT_STATUSES, default="owed", key="po_status",
                              format_func=lambda s: tr(f"payment.{s}")) or "owed"
total = store.ledger_count(camp.id, status)
if not total:
    st.info(tr("admin.no_entries"))
else:
    # what to pay whom: a few lines per person, however long the ledger is
    st.subheader(tr("admin.totals"))
    st.dataframe([{tr("admin.pseudonym"): t["pseudonym"], tr("admin.entries"): t["entries"],
                   tr("earnings.amount"): f"{t['amount']:.2f} {t['unit']}"}
                  for t in store.ledger_totals(camp.id, status)],
                 hide_index=True, width="stretch")
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_key = f"po_page_{status}"
    if pages > 1:
        if int(st.session_state.get(page_key) or 1) > pages:  # fewer entries since last run
            st.session_state[page_key] = pages
        page = int(st.number_input(tr("admin.page"), min_value=1, max_value=pages, step=1,
                                   key=page_key))
    else:
        page = 1
    rows = store.ledger_rows(camp.id, status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    first = (page - 1) * PAGE_SIZE + 1
    st.caption(tr("admin.page_of", first=first, last=first + len(rows) - 1, total=total))
    st.dataframe([{"#": r["id"], tr("admin.pseudonym"): r["pseudonym"],
                   tr("earnings.activity"): tr(f"activity.{r['activity']}"),
                   tr("earnings.amount"): f"{r['amount']:.2f} {r['unit']}",
                   tr("earnings.reference"): r["reference"]} for r in rows],
                 hide_index=True, width="stretch")
    moves = {"owed": ["approved"], "approved": ["paid", "failed"], "failed": ["owed"], "paid": []}[status]
    if moves:
        shown = [r["id"] for r in rows]
        with st.form("po_move_form"):
            ids = st.multiselect(tr("admin.entries"), shown, key="po_ids",
                                 help=tr("admin.entries_help"))
            every = st.checkbox(tr("admin.all_entries", n=total), key="po_all")
            to = st.radio(tr("admin.move_to"), moves, key="po_to", horizontal=True,
                          format_func=lambda s: tr(f"payment.{s}"))
            reference = st.text_input(tr("admin.reference"), key="po_ref", max_chars=200)
            go = st.form_submit_button(tr("admin.move"), type="primary")
        if go:
            chosen = store.ledger_ids(camp.id, status) if every else [i for i in ids if i in shown]
            if not chosen:
                st.error(tr("admin.choose_entries"))
            elif to in ("paid", "failed") and not (reference or "").strip():
                st.error(tr("admin.need_reference"))
            else:
                # one call, one transaction: all the chosen entries move, or none
                failed = None
                try:
                    n = store.move_payments(chosen, to, actor_id=viewer.id,
                                            reference=(reference or "").strip() or None)
                except StoreError as exc:
                    failed = exc
                if failed is not None:
                    ui.say([("error", str(failed))])
                else:
                    st.session_state.pop("po_csv", None)  # a prepared file no longer holds
                    ui.flash([("success", tr("admin.moved", n=n, status=tr(f"payment.{to}")))])
                    st.rerun()

st.divider()
st.subheader(tr("admin.export_title"))
st.caption(tr("admin.export_help"))
# Built on its own click (each export is audited: it reads payment accounts), then offered as
# ready bytes. A download whose file was built when clicked hung in a browser test on a busy
# machine, its button spinning, when the page reran at that moment.
if st.button(tr("admin.export_prepare"), key="po_prepare", icon=":material/description:"):
    try:
        st.session_state["po_csv"] = (camp.id, store.payout_csv(camp.id, "approved",
                                                                actor_id=viewer.id))
    except StoreError as exc:  # e.g. Forbidden: the viewer lost the organiser role meanwhile
        ui.say([("error", str(exc))])
prepared = st.session_state.get("po_csv")
if prepared and prepared[0] == camp.id:
    st.download_button(tr("admin.export"), key="po_export", mime="text/csv", icon=":material/download:",
                       file_name=f"payouts-{camp.slug}.csv", data=prepared[1].encode("utf-8"),
                       on_click="ignore")
