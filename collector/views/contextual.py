"""Contribute a contextual item: scenario, persona, question, answers, rubric, red flags."""

import streamlit as st

from jamii.collector import forms, ui, widgets

store, viewer, tr = ui.guard("contextual")
FORM = "cx"
KEYS = {"scenario": "cx_scenario", "persona": "cx_persona", "question": "cx_question",
        "reference_answer": "cx_answer", "more_answers": "cx_more_answers",
        "red_flags": "cx_red_flags"}
N_CRITERIA = len(forms.STANDARD_CRITERIA)


def crit_keys(i: int) -> dict[str, str]:
    keys = {"name": f"cx_c{i}_name", "description": f"cx_c{i}_desc"}
    keys.update({f"a{s}": f"cx_c{i}_a{s}" for s in range(1, 6)})
    return keys


CRIT_KEYS = [k for i in range(N_CRITERIA) for k in crit_keys(i).values()]
ALL_KEYS = list(KEYS.values()) + CRIT_KEYS
TEXTS = [*ALL_KEYS, f"{FORM}_dialect_other"]
CHOICES = ["cx_language", *widgets.choice_keys(FORM)]


def rubric_values() -> list[dict]:
    return [{"name": st.session_state.get(k["name"]),
             "description": st.session_state.get(k["description"]),
             "anchors": [st.session_state.get(k[f"a{s}"]) for s in range(1, 6)]}
            for k in (crit_keys(i) for i in range(N_CRITERIA))]


widgets.draft_restored(tr, store, viewer, FORM, texts=TEXTS, choices=CHOICES)  # before any widget is drawn
forms.submission_key(st.session_state, FORM)
above, below = [], []
if widgets.take_sent(FORM):  # handled before the form is drawn: a stored item empties it now
    language = widgets.chosen_language(tr, viewer, "cx_language")
    dialect, domain = widgets.dialect_domain_values(viewer, language, FORM)
    values = widgets.values_of(KEYS)
    values["rubric"] = rubric_values()
    outcome = forms.submit_item(store, st.session_state, FORM, viewer=viewer, kind="contextual",
                                language=language, values=values, dialect=dialect, domain=domain,
                                confirmed=widgets.confirmed(FORM))
    above, below = widgets.after_submit(tr, FORM, outcome, KEYS.values(), store=store,
                                        viewer=viewer)
    if outcome.ok:
        for key in CRIT_KEYS:  # refilled below from the community's anchors
            st.session_state.pop(key, None)
ui.say(above)

widgets.kind_intro(tr, "contextual", viewer)
language = widgets.item_language(tr, viewer, "cx_language")

# anchors the community already wrote for this language are offered as a starting point
template = ui.latest_rubric(store, viewer.campaign.id, language)
for i in range(N_CRITERIA):
    keys = crit_keys(i)
    crit = template[i] if i < len(template) else {"name": forms.STANDARD_CRITERIA[i], "anchors": []}
    defaults = {keys["name"]: crit.get("name", ""), keys["description"]: crit.get("description", "")}
    anchors = crit.get("anchors") or []
    defaults.update({keys[f"a{s}"]: anchors[s - 1] if len(anchors) >= s else "" for s in range(1, 6)})
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value

widgets.dialect_and_domain(tr, viewer, language, FORM)
with st.form("cx_form"):
    st.markdown(f"**1. {tr('contextual.step_situation')}**")
    st.text_area(tr("field.scenario"), key=KEYS["scenario"], placeholder=tr("contextual.scenario_hint"))
    st.text_input(tr("field.persona"), key=KEYS["persona"], placeholder=tr("contextual.persona_hint"))
    st.markdown(f"**2. {tr('contextual.step_question')}**")
    st.text_area(tr("field.question"), key=KEYS["question"], placeholder=tr("contextual.question_hint"))
    st.text_area(tr("field.reference_answer"), key=KEYS["reference_answer"], height=140)
    st.text_area(tr("field.more_answers"), key=KEYS["more_answers"], help=tr("contextual.more_answers_help"))
    st.markdown(f"**3. {tr('contextual.step_rubric')}**")
    st.caption(tr("contextual.rubric_help"))
    for i in range(N_CRITERIA):
        keys = crit_keys(i)
        # the name may come from another contributor's accepted item: a label shows it plainly
        name = ui.plain(st.session_state.get(keys["name"]) or "")
        with st.expander(tr("contextual.criterion", n=i + 1, name=name)):
            st.text_input(tr("field.name"), key=keys["name"], max_chars=80)
            st.text_input(tr("field.description"), key=keys["description"])
            for s in range(1, 6):
                st.text_input(tr("contextual.anchor", score=s), key=keys[f"a{s}"])
    st.markdown(f"**4. {tr('contextual.step_red_flags')}**")
    st.text_area(tr("field.red_flags"), key=KEYS["red_flags"], help=tr("contextual.red_flags_help"))
    widgets.other_dialect(tr, viewer, language, FORM)
    widgets.confirm_box(tr, FORM)
    widgets.send_button(tr, FORM)
ui.say(below)
widgets.draft_kept(store, viewer, FORM, texts=TEXTS, choices=CHOICES)
