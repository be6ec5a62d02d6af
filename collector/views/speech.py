"""Record speech: record, listen back, write what was said, send."""

import streamlit as st

from jamii.collector import drafts, forms, ui, widgets

store, viewer, tr = ui.guard("speech")
FORM = "sp"
KEYS = {"transcript": "sp_transcript", "prompt_text": "sp_prompt_text"}
TEXTS = [*KEYS.values(), f"{FORM}_dialect_other"]
CHOICES = ["sp_language", *widgets.choice_keys(FORM)]
KEPT = drafts.AUDIO_STATE.format(form=FORM)
"""A recording given back with the draft: it is sent unless a new one is recorded."""


def audio_key() -> str:
    take = st.session_state.get("_sp_take", 0)
    return "sp_audio" if not take else f"sp_audio_{take}"


def recorded() -> bytes | None:
    """What the form would send: a new recording, else the one kept with the draft."""
    recording = st.session_state.get(audio_key())
    return recording.getvalue() if recording is not None else st.session_state.get(KEPT)


def drop_kept() -> None:
    st.session_state.pop(KEPT, None)


if not viewer.scope("voice"):
    widgets.kind_intro(tr, "speech", viewer)
    st.warning(tr("speech.no_voice_consent"))
    st.page_link("views/consent.py", label=tr("nav.consent"), icon=":material/handshake:")
    st.stop()

widgets.draft_restored(tr, store, viewer, FORM, texts=TEXTS, choices=CHOICES)  # before any widget is drawn
forms.submission_key(st.session_state, FORM)
above, below = [], []
if widgets.take_sent(FORM):  # handled before the form is drawn: a stored item empties it now
    language = widgets.chosen_language(tr, viewer, "sp_language")
    dialect, domain = widgets.dialect_domain_values(viewer, language, FORM)
    outcome = forms.submit_speech(store, st.session_state, FORM, viewer=viewer, language=language,
                                  clip=forms.check_clip(recorded()), values=widgets.values_of(KEYS),
                                  dialect=dialect, domain=domain, confirmed=widgets.confirmed(FORM))
    above, below = widgets.after_submit(tr, FORM, outcome, [*KEYS.values(), audio_key()],
                                        store=store, viewer=viewer)
    if outcome.ok:
        # a recorder cannot be emptied through session state: a new one replaces it
        st.session_state["_sp_take"] = st.session_state.get("_sp_take", 0) + 1
ui.say(above)

widgets.kind_intro(tr, "speech", viewer)
language = widgets.item_language(tr, viewer, "sp_language")

AUDIO_KEY = audio_key()
if st.session_state.get(KEPT) and st.session_state.get(AUDIO_KEY) is None:
    st.caption(tr("speech.kept_recording"))
    st.audio(st.session_state[KEPT], format="audio/wav")
    st.button(tr("speech.drop_recording"), key="sp_drop_kept",
              on_click=drop_kept)
recording = st.audio_input(tr("speech.record"), key=AUDIO_KEY, sample_rate=16000,
                           help=tr("speech.record_help"))
if recording is not None:
    drop_kept()  # a new take replaces the kept one
clip = forms.check_clip(recorded())
if clip is not None:
    if clip.problems:
        for p in clip.problems:
            ui.say([("error", forms.problem_text(tr, p))])
    else:
        st.caption(tr("speech.listen_back", seconds=f"{clip.duration_s:.1f}"))

widgets.dialect_and_domain(tr, viewer, language, FORM)
with st.form("sp_form"):
    st.text_area(tr("field.prompt_text"), key=KEYS["prompt_text"], help=tr("speech.prompt_help"))
    st.text_area(tr("field.transcript"), key=KEYS["transcript"], help=tr("speech.transcript_help"))
    widgets.other_dialect(tr, viewer, language, FORM)
    widgets.confirm_box(tr, FORM)
    widgets.send_button(tr, FORM)
ui.say(below)
widgets.draft_kept(store, viewer, FORM, texts=TEXTS, choices=CHOICES, audio=recorded())
