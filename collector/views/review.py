"""Review peers' items: approve, reject with a reason, or suggest an edit."""

import streamlit as st

from jamii.collector import review, ui
from jamii.collector.forms import field_label
from jamii.core.langtags import display_name
from jamii.core.store import REJECT_REASONS

store, viewer, tr = ui.guard("review")
campaign = viewer.campaign

st.title(tr("nav.review"))
st.caption(review.rule_text(tr, campaign.acceptance_rule))

# the item the reviewer read is the one the verdict is for, even if the queue moved meanwhile
item = review.still_open(store, st.session_state.get("rv_item_id"), viewer.id, campaign.id)
if item is None:
    item = review.next_item(store, campaign.id, viewer.id)
    st.session_state["rv_item_id"] = item.id if item else None
if item is None:
    st.info(tr("review.empty"))
    st.stop()

left = store.open_review_count(campaign.id, viewer.id)
st.caption(tr("review.left", n=left))
with st.container(border=True, key="review_item"):
    meta = [tr(f"kind.{item.kind}"), display_name(item.language, tr.language)]
    meta += [x for x in (item.dialect, tr(f"domain.{item.domain}", default=item.domain or "")) if x]
    st.caption(" · ".join(meta))
    if item.kind == "speech" and item.content.get("audio_sha256"):
        path = store.audio_path(item.content["audio_sha256"])
        if path.exists():
            st.audio(path.read_bytes(), format="audio/wav")
    for name, value in review.item_fields(item):
        if isinstance(value, list):
            for i, v in enumerate(value, start=1):
                ui.show_text(v, f"{field_label(tr, name)} {i}")
        else:
            ui.show_text(value, field_label(tr, name))
    if item.kind == "contextual":
        for crit in item.content.get("rubric") or []:
            with st.expander(tr("review.rubric", name=crit.get("name", ""))):
                for s, a in enumerate(crit.get("anchors") or [], start=1):
                    ui.show_text(a, tr("contextual.anchor", score=s))

# widget keys carry the item id: a click meant for one item can never count for the next one
k = f"rv{item.id}"
verdict = st.segmented_control(tr("review.verdict"), review.VERDICTS, key=f"{k}_verdict",
                               format_func=lambda v: tr(f"verdict.{v}"))
with st.form(f"{k}_form"):
    reason = edit_field = edit_text = None
    if verdict == "reject":
        reason = st.selectbox(tr("review.reason"), REJECT_REASONS, index=None, key=f"{k}_reason",
                              format_func=lambda r: tr(f"reason.{r}", default=r))
    if verdict == "edit":
        fields = review.editable_fields(item.kind)
        edit_field = st.selectbox(tr("review.edit_field"), fields, key=f"{k}_edit_field",
                                  format_func=lambda f: field_label(tr, f))
        edit_text = st.text_area(tr("review.edit_text"), key=f"{k}_edit_text")
    sent = st.form_submit_button(tr("review.submit"), type="primary", width="stretch",
                                 disabled=verdict is None)

if sent:
    outcome = review.submit_review(store, item_id=item.id, reviewer_id=viewer.id, verdict=verdict,
                                   reason=reason, edit_field=edit_field, edit_text=edit_text,
                                   item_kind=item.kind)
    messages = review.review_messages(tr, outcome)
    if outcome.status in ("recorded", "already", "closed"):
        ui.flash(messages)
        st.session_state.pop("rv_item_id", None)
        st.rerun()
    ui.say(messages)
