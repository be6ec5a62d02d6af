"""Contribute a prompt and its reference response."""

import streamlit as st

from jamii.collector import forms, ui, widgets
from jamii.core.schema import TASK_TYPES

store, viewer, tr = ui.guard("write")
FORM = "pr"
KEYS = {"prompt": "pr_prompt", "response": "pr_response", "task_type": "pr_task_type"}
TEXTS = [KEYS["prompt"], KEYS["response"], f"{FORM}_dialect_other"]
CHOICES = [KEYS["task_type"], "pr_language", *widgets.choice_keys(FORM)]

widgets.draft_restored(tr, store, viewer, FORM, texts=TEXTS, choices=CHOICES)  # before any widget is drawn
forms.submission_key(st.session_state, FORM)  # made when the form is first shown
above, below = [], []
if widgets.take_sent(FORM):  # handled before the form is drawn: a stored item empties it now
    language = widgets.chosen_language(tr, viewer, "pr_language")
    dialect, domain = widgets.dialect_domain_values(viewer, language, FORM)
    outcome = forms.submit_item(store, st.session_state, FORM, viewer=viewer,
                                kind="prompt_response", language=language,
                                values=widgets.values_of(KEYS), dialect=dialect, domain=domain,
                                confirmed=widgets.confirmed(FORM))
    above, below = widgets.after_submit(tr, FORM, outcome, KEYS.values(), store=store, viewer=viewer)
ui.say(above)

widgets.kind_intro(tr, "prompt_response", viewer)
language = widgets.item_language(tr, viewer, "pr_language")

if st.session_state.get(KEYS["task_type"]) not in TASK_TYPES:  # a draft's, no longer offered
    st.session_state.pop(KEYS["task_type"], None)
st.selectbox(tr("field.task_type"), TASK_TYPES, key=KEYS["task_type"],
             format_func=lambda v: tr(f"task_type.{v}", default=v))
widgets.dialect_and_domain(tr, viewer, language, FORM)
with st.form("pr_form"):
    st.text_area(tr("field.prompt"), key=KEYS["prompt"], placeholder=tr("write.prompt_hint"),
                 height=120)
    st.text_area(tr("field.response"), key=KEYS["response"], placeholder=tr("write.response_hint"),
                 height=160)
    widgets.other_dialect(tr, viewer, language, FORM)
    widgets.confirm_box(tr, FORM)
    widgets.send_button(tr, FORM)
ui.say(below)
widgets.draft_kept(store, viewer, FORM, texts=TEXTS, choices=CHOICES)
