"""Consent: the campaign's current text in the reader's language, and one choice per scope."""

import dataclasses
import re

import streamlit as st

from jamii.collector import access, ui
from jamii.core.langtags import display_name
from jamii.core.store import NotFound, StoreError

store, viewer, tr = ui.guard("consent")
campaign = viewer.campaign

st.title(tr("consent.title"))
if campaign is None:
    ui.refuse(tr, "access.no_campaign")
if viewer.withdrawn:
    ui.refuse(tr, "access.withdrawn")
try:
    text = store.consent_text(campaign.id, tr.language)
except NotFound:
    ui.refuse(tr, "consent.no_text")

st.caption(tr("consent.version", version=ui.plain(text.version),
              language=display_name(text.language, tr.language)))
if text.language.split("-")[0] != tr.language.split("-")[0]:
    st.info(tr("consent.other_language", language=display_name(text.language, tr.language)))
if viewer.consent is not None:
    st.success(tr("consent.current", version=ui.plain(viewer.consent.version)))
elif any(c.campaign_id == campaign.id for c in store.consents_of(viewer.id)):
    st.warning(tr("consent.new_version"))

with st.container(border=True, height=360):
    # written by the organisers; Markdown (no HTML), headings made smaller for a phone screen
    st.markdown(re.sub(r"^(#{1,4})(?=\s)", r"\1##", text.text, flags=re.MULTILINE))

st.subheader(tr("consent.choices"))
st.caption(tr("consent.choices_help"))
previous = viewer.consent.scopes if viewer.consent else {}
with st.form("consent_form"):
    choices = {}
    for scope in text.scopes:
        choices[scope] = st.checkbox(tr(f"scope.{scope}"), value=bool(previous.get(scope)),
                                     help=tr(f"scope.{scope}_help"), key=f"consent_{scope}")
    agreed = st.form_submit_button(tr("consent.accept"), type="primary", width="stretch")

if agreed:
    first_time = viewer.consent is None
    try:
        given = store.accept_consent(viewer.id, text.id, choices)
    except StoreError as exc:
        st.error(tr("consent.refused", reason=ui.plain(exc)))
    else:
        ui.flash([("success", tr("consent.saved", version=text.version))])
        target = access.home_page(dataclasses.replace(viewer, consent=given))
        if first_time and target != "consent":
            st.switch_page(f"views/{target}.py")
        st.rerun()
