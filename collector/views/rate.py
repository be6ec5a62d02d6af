"""Rate model answers: one task at a time, the situation, person and question, then one answer
scored on the community's rubric, or two answers side by side compared; skip a task for now.

Raters never learn which model wrote an answer (the store's task view holds no model id). A
rating is handled at the top of the run its button starts (the button's callback only notes
which task it was pressed for), so the page is drawn once, with the next task, per rating.
"""

import streamlit as st

from jamii.collector import rating, review, ui
from jamii.collector.forms import field_label
from jamii.core.langtags import display_name

store, viewer, tr = ui.guard("rate")
campaign = viewer.campaign
HELD_KEY, SKIPPED_KEY, LANGS_KEY, SEND_KEY, DONE_KEY = (
    "rt_held", "rt_skipped", "rt_langs", "_rt_send", "rt_done")


def _send(task_id: int) -> None:
    # the rating is for the task on screen when the button was pressed, whatever the queue does
    st.session_state[SEND_KEY] = task_id


def _skip(task_id: int) -> None:
    st.session_state[SKIPPED_KEY] = rating.with_skipped(st.session_state.get(SKIPPED_KEY), task_id)
    st.session_state.pop(HELD_KEY, None)


def _unskip() -> None:
    st.session_state.pop(SKIPPED_KEY, None)


problems: list[tuple[str, str]] = []
sent = st.session_state.pop(SEND_KEY, None)
held = st.session_state.get(HELD_KEY)
if sent is not None:
    done = st.session_state.setdefault(DONE_KEY, [])
    if sent in done:  # a double click: the first click's rating is the one that counts
        ui.say([("info", tr("rate.already"))])
    elif isinstance(held, rating.Held) and held.task.task_id == sent:
        k, ss = f"rt{sent}", st.session_state
        outcome = rating.submit_rating(
            store, held.task, viewer.id, campaign_id=campaign.id, choice=ss.get(f"{k}_choice"),
            scores=rating.form_scores(held.task, ss, k), safety_flag=bool(ss.get(f"{k}_safety")),
            comment=ss.get(f"{k}_comment") or "")
        messages = rating.rating_messages(tr, outcome)
        if outcome.after == "stay":
            problems = messages
        else:
            ui.say(messages)
            done.append(sent)
            st.session_state.pop(HELD_KEY, None)
        if outcome.after == "stop":
            st.stop()

st.title(tr("nav.rate"))
refused = rating.refusal_key(store.may_rate(campaign.id, viewer.id))
if refused:
    st.warning(tr(refused), icon=":material/info:")
    if refused == "rate.needs_consent":
        st.page_link("views/consent.py", label=tr("nav.consent"), icon=":material/handshake:")
    st.stop()
st.caption(tr("rate.intro"))

langs = list(campaign.languages or [])
if len(langs) > 1:  # at first the campaign's languages the rater speaks (their profile)
    st.pills(tr("rate.languages"), langs, selection_mode="multi", key=LANGS_KEY,
             default=review.default_languages(langs, viewer.person.languages_spoken),
             format_func=lambda t: display_name(t, tr.language))
languages = review.chosen_languages(langs, st.session_state.get(LANGS_KEY))
skipped = [i for i in st.session_state.get(SKIPPED_KEY) or [] if isinstance(i, int)]

task = rating.current_task(store, st.session_state.get(HELD_KEY), campaign_id=campaign.id,
                           rater_id=viewer.id, languages=languages, skipped=skipped)
if task is None:
    st.session_state.pop(HELD_KEY, None)
    st.info(tr("rate.empty"))
    if skipped:
        st.button(tr("rate.show_skipped", n=len(skipped)), key="rt_unskip", on_click=_unskip,
                  icon=":material/undo:")
    st.stop()
st.session_state[HELD_KEY] = rating.Held(campaign.id, viewer.id, task)

left = store.open_rating_count(campaign.id, viewer.id, languages=languages, exclude=skipped,
                               cap=review.COUNT_CAP)
st.caption(tr("rate.left", n=review.count_text(left)))
with st.container(border=True, key="rate_task"):
    meta = [display_name(task.language, tr.language)]
    meta += [x for x in (task.dialect, tr(f"domain.{task.domain}", default=task.domain or "")) if x]
    st.caption(ui.plain(" · ".join(meta)))  # the dialect and domain may be "other: ..."
    for name in ("scenario", "persona", "question"):
        if getattr(task, name):
            ui.show_text(getattr(task, name), field_label(tr, name))

# model answers are untrusted text too: shown as typed, never as Markdown or HTML
if task.mode == "pair":
    st.caption(tr("rate.pair_help"))
    col_a, col_b = st.columns(2)
    for col, text, name in ((col_a, task.answer_a, "a"), (col_b, task.answer_b, "b")):
        with col, st.container(border=True, key=f"rate_answer_{name}"):
            ui.show_text(text, tr(f"rate.answer_{name}"))
else:
    with st.container(border=True, key="rate_answer"):
        ui.show_text(task.answer_a, tr("rate.answer"))

# widget keys carry the task id: a click meant for one task can never count for the next one
k = f"rt{task.task_id}"
with st.form(f"{k}_form"):
    if task.mode == "pair":
        st.radio(tr("rate.which"), rating.PAIR_CHOICES, index=None, key=f"{k}_choice",
                 format_func=lambda c: tr(f"rate.choice_{c}"))
    else:
        st.caption(tr("rate.scores_help"))
        for crit in rating.criteria(task):
            st.markdown(f"**{ui.plain(rating.criterion_label(tr, crit.name))}**")
            if crit.description:
                st.caption(ui.plain(crit.description))
            st.radio(ui.plain(rating.criterion_label(tr, crit.name)), rating.SCORES, index=None,
                     key=f"{k}_c{crit.key}", label_visibility="collapsed",
                     format_func=lambda s, a=crit.anchors: ui.plain(rating.score_label(s, a[s - 1])))
    st.checkbox(tr("rate.safety"), key=f"{k}_safety", help=tr("rate.safety_help"))
    st.text_area(tr("rate.comment"), key=f"{k}_comment", max_chars=rating.COMMENT_CHARS,
                 placeholder=tr("rate.comment_hint"))
    st.form_submit_button(tr("rate.submit"), type="primary", width="stretch", on_click=_send,
                          args=(task.task_id,))
ui.say(problems)
st.button(tr("rate.skip"), key=f"{k}_skip", on_click=_skip, args=(task.task_id,),
          icon=":material/skip_next:", width="stretch")
