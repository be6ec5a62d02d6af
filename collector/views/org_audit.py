"""Organiser: the audit trail of organiser actions and payouts."""

import json

import streamlit as st

from jamii.collector import ui

store, viewer, tr = ui.guard("org_audit")
st.title(tr("nav.org_audit"))
prefix = st.text_input(tr("admin.audit_filter"), key="oa_prefix", max_chars=64,
                       placeholder="payout.") or None
events = store.audit_events(limit=300, action_prefix=prefix)
if not events:
    st.info(tr("admin.no_events"))
else:
    st.dataframe([{tr("admin.when"): e["when"], tr("admin.actor"): e["actor"], tr("admin.action"): e["action"],
                   tr("admin.record"): e["record"],
                   tr("admin.details"): json.dumps(e["details"], ensure_ascii=False)} for e in events],
                 hide_index=True, width="stretch")
