"""Compensation (reviewers, organisers): ledger totals by activity, language, unit, status."""

import streamlit as st

from jamii.core.records import ACTIVITIES, PAYMENT_STATUSES
from jamii.dashboard import charts, compensation, ui

store, viewer, tr = ui.guard("compensation")
campaign = viewer.campaign

st.title(tr("dash.compensation.title"))
st.caption(tr("dash.compensation.intro"))

rows = ui.campaign_query(store, campaign.id, "compensation_totals")
if not rows:
    st.info(tr("dash.compensation.none_yet"))
    st.stop()
status_labels = ui.labels(tr, "payment", PAYMENT_STATUSES)
activity_labels = ui.labels(tr, "activity", ACTIVITIES)
columns = {"activity": tr("dash.compensation.col_activity"),
           "language": tr("dash.compensation.col_language"),
           "unit": tr("dash.compensation.col_unit"), "status": tr("dash.compensation.col_status"),
           "amount": st.column_config.NumberColumn(tr("dash.compensation.col_amount"), format="%.2f"),
           "quantity": st.column_config.NumberColumn(tr("dash.compensation.col_quantity"),
                                                     format="%.2f"),
           "total": st.column_config.NumberColumn(tr("dash.compensation.col_total"), format="%.2f"),
           "entries": tr("dash.compensation.col_entries"),
           **{s: st.column_config.NumberColumn(status_labels[s], format="%.2f")
              for s in PAYMENT_STATUSES}}

st.subheader(tr("dash.compensation.by_status"))
headline = compensation.by_status(rows)
for unit, group in headline.groupby("unit", sort=True):
    cols = st.columns(len(PAYMENT_STATUSES) + 1)
    cols[0].markdown(f"**{ui.plain(unit)}**")  # the rate card's unit, as the organisers wrote it
    amounts = dict(zip(group["status"], group["amount"]))
    for col, status in zip(cols[1:], PAYMENT_STATUSES):
        col.metric(status_labels[status], f"{amounts.get(status, 0):,.2f}")

tab_act, tab_lang = st.tabs([tr("dash.compensation.by_activity"), tr("dash.compensation.by_language")])
for tab, dim in ((tab_act, "activity"), (tab_lang, "language")):
    with tab:
        table = compensation.totals(rows, by=(dim,))
        if dim == "activity":
            table[dim] = table[dim].map(lambda a: activity_labels.get(a, a))
        chart = charts.amount_bars(table, dim, amount_title=tr("dash.compensation.amount"),
                                   status_labels=status_labels)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        st.dataframe(table, hide_index=True, width="stretch", column_config=columns)
