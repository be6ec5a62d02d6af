"""Coverage (signed in): items per language/dialect/domain/kind by status, against targets."""

import streamlit as st

from jamii.core.records import ITEM_STATUSES
from jamii.dashboard import charts, coverage, ui

store, viewer, tr = ui.guard("coverage")
campaign = viewer.campaign

st.title(tr("dash.coverage.title"))
st.caption(tr("dash.coverage.intro"))

counts = coverage.item_frame(ui.campaign_query(store, campaign.id, "item_counts"))
status_labels = ui.labels(tr, "status", ITEM_STATUSES)
totals = coverage.status_totals(counts)
for col, status in zip(st.columns(len(totals)), totals):
    col.metric(status_labels[status], totals[status])

st.subheader(tr("dash.coverage.targets"))
progress = coverage.progress(campaign, counts)
if progress.empty:
    st.info(tr("dash.coverage.no_targets"))
for row in progress.itertuples():
    if row.problem:
        st.warning(ui.plain(tr("dash.coverage.target_problem", target=row.target,
                               problem=row.problem)))
        continue
    st.progress(row.progress, text=tr("dash.coverage.target_line", target=ui.plain(row.target),
                                      accepted=row.accepted, goal=row.goal,
                                      in_review=row.in_review))
chart = charts.target_bars(progress, goal_title=tr("dash.coverage.goal"),
                           accepted_title=tr("dash.coverage.accepted"),
                           review_title=tr("dash.coverage.in_review"))
if chart is not None:
    st.altair_chart(chart, width="stretch")

if counts.empty:
    st.info(tr("dash.coverage.no_items"))
    st.stop()
dims = list(coverage.DIMENSIONS)
tabs = st.tabs([tr(f"dash.leaderboard.dim_{d}") for d in dims])
for tab, dim in zip(tabs, dims):
    with tab:
        table = coverage.by_status(counts, dim)
        if dim == "kind":
            table[dim] = table[dim].map(lambda k: tr(f"kind.{k}", default=k))
        elif dim == "domain":
            table[dim] = table[dim].map(lambda k: tr(f"domain.{k}", default=k))
        chart = charts.status_bars(table, dim, count_title=tr("dash.coverage.count"),
                                   status_labels=status_labels)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={dim: tr(f"dash.leaderboard.dim_{dim}"),
                                    "total": tr("dash.coverage.col_total"),
                                    **{s: status_labels[s] for s in ITEM_STATUSES}})
