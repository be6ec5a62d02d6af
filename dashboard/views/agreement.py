"""Review agreement (reviewers, organisers): approval rates and Krippendorff's alpha."""

import streamlit as st

from jamii.core.rules import AcceptanceRule
from jamii.dashboard import agreement, charts, ui

store, viewer, tr = ui.guard("agreement")
campaign = viewer.campaign

st.title(tr("dash.agreement.title"))
st.caption(tr("dash.agreement.intro"))
st.caption(tr("dash.agreement.rule",
              rule=AcceptanceRule.from_campaign(campaign.acceptance_rule).describe()))

table = agreement.agreement(ui.campaign_query(store, campaign.id, "review_votes"))
table["language"] = table["language"].replace({agreement.ALL: tr("dash.all")})
table["note"] = [tr(f"dash.agreement.note_{code}", default=note, units=units) if code else ""
                 for code, note, units in zip(table["note_code"], table["note"], table["units"])]
table = table.drop(columns="note_code")
chart = charts.rate_bars(table, rate_title=tr("dash.agreement.rate"))
if chart is not None:
    st.altair_chart(chart, width="stretch")
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "language": tr("dash.agreement.col_language"),
    "item_versions": tr("dash.agreement.col_versions"),
    "votes": tr("dash.agreement.col_votes"),
    "approvals": tr("dash.agreement.col_approvals"),
    "approval_rate": st.column_config.NumberColumn(tr("dash.agreement.col_rate"), format="percent"),
    "units": tr("dash.agreement.col_units"),
    "alpha": st.column_config.NumberColumn(tr("dash.agreement.col_alpha"), format="%.2f"),
    "note": tr("dash.agreement.col_note")})
