"""Review peers' items: approve, reject with a reason, or suggest an edit; filter by language,
skip an item for now.

A verdict is handled at the top of the run its button starts (the button's callback only notes
which item it was pressed for), so the page is drawn once, with the next item, per review.
"""

import streamlit as st

from jamii.collector import review, ui
from jamii.collector.forms import field_label
from jamii.core.langtags import display_name
from jamii.core.store import REJECT_REASONS

store, viewer, tr = ui.guard("review")
campaign = viewer.campaign
ITEM_KEY, SKIPPED_KEY, LANGS_KEY, SEND_KEY = "rv_item_id", "rv_skipped", "rv_langs", "_rv_send"


def _send(item_id: int, kind: str) -> None:
    # the verdict is for the item on screen when the button was pressed, whatever the queue does
    st.session_state[SEND_KEY] = (item_id, kind)


def _skip(item_id: int) -> None:
    skipped = list(st.session_state.get(SKIPPED_KEY) or [])
    if item_id not in skipped:
        skipped.append(item_id)
    st.session_state[SKIPPED_KEY] = skipped
    st.session_state.pop(ITEM_KEY, None)


def _unskip() -> None:
    st.session_state.pop(SKIPPED_KEY, None)


problems: list[tuple[str, str]] = []
sent = st.session_state.pop(SEND_KEY, None)
if sent:
    sent_id, sent_kind = sent
    sk = f"rv{sent_id}"
    outcome = review.submit_review(
        store, item_id=sent_id, reviewer_id=viewer.id,
        verdict=st.session_state.get(f"{sk}_verdict"), reason=st.session_state.get(f"{sk}_reason"),
        edit_field=st.session_state.get(f"{sk}_edit_field"),
        edit_text=st.session_state.get(f"{sk}_edit_text"), item_kind=sent_kind)
    messages = review.review_messages(tr, outcome)
    if outcome.status in ("recorded", "already", "closed"):
        ui.say(messages)
        if st.session_state.get(ITEM_KEY) == sent_id:
            st.session_state.pop(ITEM_KEY, None)
    else:
        problems = messages

st.title(tr("nav.review"))
st.caption(review.rule_text(tr, campaign.acceptance_rule))

langs = list(campaign.languages or [])
if len(langs) > 1:
    if LANGS_KEY not in st.session_state:
        st.session_state[LANGS_KEY] = review.default_languages(langs, viewer.person.languages_spoken)
    st.pills(tr("review.languages"), langs, selection_mode="multi", key=LANGS_KEY,
             format_func=lambda t: display_name(t, tr.language))
languages = review.chosen_languages(langs, st.session_state.get(LANGS_KEY))
skipped = [i for i in st.session_state.get(SKIPPED_KEY) or [] if isinstance(i, int)]

# the item the reviewer read stays theirs to judge, even if the queue moved meanwhile
item = review.still_open(store, st.session_state.get(ITEM_KEY), viewer.id, campaign.id,
                         languages=languages, skipped=skipped)
if item is None:
    item = review.next_item(store, campaign.id, viewer.id, languages=languages, skipped=skipped)
    st.session_state[ITEM_KEY] = item.id if item else None
if item is None:
    st.info(tr("review.empty"))
    if skipped:
        st.button(tr("review.show_skipped", n=len(skipped)), key="rv_unskip", on_click=_unskip,
                  icon=":material/undo:")
    st.stop()

left = store.open_review_count(campaign.id, viewer.id, languages=languages, exclude=skipped,
                               cap=review.COUNT_CAP)
st.caption(tr("review.left", n=review.count_text(left)))
with st.container(border=True, key="review_item"):
    meta = [tr(f"kind.{item.kind}"), display_name(item.language, tr.language)]
    meta += [x for x in (item.dialect, tr(f"domain.{item.domain}", default=item.domain or "")) if x]
    st.caption(ui.plain(" · ".join(meta)))  # the dialect and domain may be "other: ..."
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
            with st.expander(tr("review.rubric", name=ui.plain(crit.get("name", "")))):
                if crit.get("description"):
                    ui.show_text(crit["description"], tr("field.description"))
                for s, a in enumerate(crit.get("anchors") or [], start=1):
                    ui.show_text(a, tr("contextual.anchor", score=s))

# widget keys carry the item id: a click meant for one item can never count for the next one
k = f"rv{item.id}"
verdict = st.segmented_control(tr("review.verdict"), review.VERDICTS, key=f"{k}_verdict",
                               format_func=lambda v: tr(f"verdict.{v}"))
with st.form(f"{k}_form"):
    if verdict == "reject":
        st.selectbox(tr("review.reason"), REJECT_REASONS, index=None, key=f"{k}_reason",
                     format_func=lambda r: tr(f"reason.{r}", default=r))
    if verdict == "edit":
        st.selectbox(tr("review.edit_field"), review.editable_fields(item.kind),
                     key=f"{k}_edit_field", format_func=lambda f: field_label(tr, f))
        st.text_area(tr("review.edit_text"), key=f"{k}_edit_text")
    st.form_submit_button(tr("review.submit"), type="primary", width="stretch",
                          disabled=verdict is None, on_click=_send, args=(item.id, item.kind))
ui.say(problems)
st.button(tr("review.skip"), key=f"{k}_skip", on_click=_skip, args=(item.id,),
          icon=":material/skip_next:", width="stretch")
