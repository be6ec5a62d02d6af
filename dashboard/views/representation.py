"""Representation (reviewers, organisers): self-described profiles vs targets, rule of five."""

import pandas as pd
import streamlit as st

from jamii.dashboard import charts, representation, ui

store, viewer, tr = ui.guard("representation")
campaign = viewer.campaign

st.title(tr("dash.representation.title"))
st.caption(tr("dash.representation.intro"))
st.info(tr("dash.representation.rule_of_five"), icon=":material/visibility_off:")

fewer = tr("dash.fewer_than_5")
rep = representation.representation(campaign, ui.campaign_query(store, campaign.id, "profile_counts"),
                                    label=fewer, not_said=tr("dash.not_said"))
st.metric(tr("dash.representation.people"), rep.people)

st.subheader(tr("dash.representation.targets"))
if rep.targets.empty:
    st.caption(tr("dash.representation.no_targets"))
goals: dict[str, tuple[float, str]] = {}
for row in rep.targets.itertuples():
    if row.problem:
        st.warning(ui.plain(tr("dash.representation.target_problem",
                               target=row.target.replace(":", " = "), problem=row.problem)))
        continue
    goals[row.dimension] = (row.goal, row.value)
    share = fewer if pd.isna(row.share) else f"{row.share:.0%}"
    value = tr(f"gender.{row.value}", default=row.value) if row.dimension == "gender" else row.value
    # "field = value", never "field:value": Streamlit would read ":woman:" as an emoji
    target = f"{tr(f'dash.representation.dim_{row.dimension}', default=row.dimension)} = {value}"
    line = tr("dash.representation.target_line", target=ui.plain(target), goal=f"{row.goal:.0%}",
              share=share, status=tr(f"dash.representation.status_{row.status}"))
    {"met": st.success, "below": st.warning}.get(row.status, st.info)(line)

dims = list(rep.groups)
if dims:
    tabs = st.tabs([ui.plain(tr(f"dash.representation.dim_{d}", default=d)) for d in dims])
    for tab, dim in zip(tabs, dims):
        with tab:
            table = rep.groups[dim]
            if dim == "gender":
                table = table.assign(value=table["value"].map(lambda v: tr(f"gender.{v}", default=v)))
            goal, goal_value = goals.get(dim, (None, None))
            chart = charts.share_bars(table, share_title=tr("dash.representation.share"),
                                      goal=goal, goal_value=goal_value)
            if chart is not None:
                st.altair_chart(chart, width="stretch")
            table = table.assign(share=[fewer if pd.isna(v) else f"{v:.0%}" for v in table["share"]])
            st.dataframe(table, hide_index=True, width="stretch", column_config={
                "value": tr("dash.representation.col_value"),
                "people": tr("dash.representation.col_people"),
                "share": tr("dash.representation.col_share"),
                "items": tr("dash.representation.col_items")})
