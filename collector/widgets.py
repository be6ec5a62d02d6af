"""Widgets shared by the three contribution pages: language, dialect, domain, submit handling."""

from __future__ import annotations

from typing import Any, Iterable

import streamlit as st

from jamii.collector import drafts, forms, ui
from jamii.collector.i18n import Translator
from jamii.core.langtags import display_name
from jamii.web.draft_route import draft_script
from jamii.web.session import Viewer

OTHER = "__other__"


def default_language(tr: Translator, viewer: Viewer) -> str:
    langs = list(viewer.campaign.languages)
    spoken = [t for t in (viewer.person.languages_spoken or []) if t in langs]
    return spoken[0] if spoken else (tr.language if tr.language in langs else langs[0])


def chosen_language(tr: Translator, viewer: Viewer, key: str) -> str:
    """The item's language as chosen so far (readable before the chooser is drawn)."""
    langs = list(viewer.campaign.languages)
    if len(langs) == 1:
        return langs[0]
    chosen = st.session_state.get(key)
    return chosen if chosen in langs else default_language(tr, viewer)


def item_language(tr: Translator, viewer: Viewer, key: str) -> str:
    """Which of the campaign's languages the item is in (outside the form: it steers dialects)."""
    langs = list(viewer.campaign.languages)
    default = default_language(tr, viewer)
    if len(langs) == 1:
        return langs[0]
    if st.session_state.get(key) not in langs:
        st.session_state[key] = default
    return st.segmented_control(tr("item.language"), langs, key=key,
                                format_func=lambda t: display_name(t, tr.language)) or default


def _dialects(viewer: Viewer, language: str) -> list[str]:
    return list((viewer.campaign.dialects or {}).get(language) or [])


def dialect_and_domain(tr: Translator, viewer: Viewer, language: str, prefix: str) -> None:
    """Dialect (the campaign's list or "other", named in the form by `other_dialect`) and
    domain, above the form so a choice reaches the server (and the draft) at once; their values
    are read with `dialect_domain_values`."""
    campaign = viewer.campaign
    dialects = _dialects(viewer, language)
    if dialects:
        options = ["", *dialects, OTHER]
        mine = viewer.person.dialect if viewer.person.dialect in dialects else ""
        if st.session_state.get(f"{prefix}_dialect") not in options:  # unset, or a draft's
            st.session_state[f"{prefix}_dialect"] = mine  # dialect the campaign since dropped
        st.selectbox(tr("item.dialect"), options, key=f"{prefix}_dialect",
                     format_func=lambda d: tr("item.no_dialect") if d == "" else
                     (tr("item.other_dialect") if d == OTHER else d))
    if campaign.domains:
        if st.session_state.get(f"{prefix}_domain") not in campaign.domains:
            st.session_state.pop(f"{prefix}_domain", None)
        st.selectbox(tr("item.domain"), list(campaign.domains), key=f"{prefix}_domain",
                     format_func=lambda d: tr(f"domain.{d}", default=d))


def other_dialect(tr: Translator, viewer: Viewer, language: str, prefix: str) -> None:
    """Inside the form: the name of a dialect the campaign does not list, once "other" is chosen."""
    if _dialects(viewer, language) and st.session_state.get(f"{prefix}_dialect") == OTHER:
        st.text_input(tr("item.other_dialect_name"), key=f"{prefix}_dialect_other", max_chars=100)


def choice_keys(prefix: str) -> list[str]:
    """The keys of `dialect_and_domain`'s choices (a draft keeps them)."""
    return [f"{prefix}_dialect", f"{prefix}_domain"]


def dialect_domain_values(viewer: Viewer, language: str,
                          prefix: str) -> tuple[str | None, str | None]:
    """The dialect and domain the form holds (only values the campaign offers count)."""
    state = st.session_state
    dialects = _dialects(viewer, language)
    dialect = None
    if dialects:
        choice = state.get(f"{prefix}_dialect")
        if choice not in ("", *dialects, OTHER):
            choice = viewer.person.dialect if viewer.person.dialect in dialects else ""
        dialect = forms.dialect_value(choice, state.get(f"{prefix}_dialect_other"))
    domains = list(viewer.campaign.domains or [])
    domain = None
    if domains:
        domain = state.get(f"{prefix}_domain")
        domain = domain if domain in domains else domains[0]
    return dialect, domain


def confirm_box(tr: Translator, form: str) -> bool:
    """Shown inside the form once a warning was raised for this draft."""
    if not st.session_state.get(f"_warned:{form}"):
        return False
    ui.say(st.session_state.get(f"_warnings:{form}") or [])
    return st.checkbox(tr("contribute.confirm"), key=f"{form}_confirm")


def confirmed(form: str) -> bool:
    """The confirm tick as sent with the form (it only exists once a warning was shown)."""
    state = st.session_state
    return bool(state.get(f"_warned:{form}") and state.get(f"{form}_confirm") is True)


# A submit is handled at the top of the run the button starts, before any widget is drawn, so
# that a stored item empties the form in that same run (no second run through st.rerun).
# The texts stay in an `st.form`: outside one, a phone's tap on a button straight after
# typing sends the text box's old value (streamlit#10007). Their drafts go by the page's own
# script instead (`draft_saver`); the choices sit above the form and reach the server at once.
def send_button(tr: Translator, form: str) -> None:
    st.form_submit_button(tr("contribute.submit"), type="primary", width="stretch",
                          on_click=_mark_sent, args=(form,))


def _mark_sent(form: str) -> None:
    st.session_state[f"_send:{form}"] = True


def take_sent(form: str) -> bool:
    """True once per press of the form's submit button."""
    return bool(st.session_state.pop(f"_send:{form}", False))


def after_submit(tr: Translator, form: str, outcome: forms.Outcome,
                 widget_keys: Iterable[str], *, store, viewer: Viewer) -> tuple[list, list]:
    """Called before the form is drawn. Success: empty the form and forget its draft. A
    warning: keep the text and ask for the confirm tick (for exactly this text). Returns
    (messages above the form, messages below it)."""
    messages = forms.outcome_messages(tr, outcome)
    st.session_state.pop(f"_warnings:{form}", None)
    if outcome.status == "confirm":  # the form is drawn with the warnings and a confirm box
        st.session_state[f"_warnings:{form}"] = messages
        st.session_state.pop(f"{form}_confirm", None)
        return [], []
    if outcome.ok:
        ui.clear_widgets([*widget_keys, f"{form}_confirm"])
        drafts.clear(store, st.session_state, viewer, form)
        return messages, []
    return [], messages


def kind_intro(tr: Translator, kind: str, viewer: Viewer) -> None:
    st.title(tr(f"nav.{_page(kind)}"))
    st.caption(tr(f"{_page(kind)}.intro"))


def _page(kind: str) -> str:
    return {"prompt_response": "write", "contextual": "contextual", "speech": "speech"}[kind]


def values_of(keys: dict[str, str]) -> dict[str, Any]:
    return {name: st.session_state.get(key) for name, key in keys.items()}


def draft_restored(tr: Translator, store, viewer: Viewer, form: str, *, texts: list[str],
                   choices: list[str]) -> None:
    """Before the widgets: give back the person's unsent draft of this form, and say so."""
    if drafts.restore(store, st.session_state, viewer, form, [*texts, *choices], texts=texts):
        ui.say([("info", tr("contribute.draft_restored"))])


def draft_kept(store, viewer: Viewer, form: str, *, texts: Iterable[str], choices: Iterable[str],
               audio: bytes | None = None) -> None:
    """After the widgets: the page's script sends the form's `texts` to the store as they are
    typed; the server keeps the `choices` (and a recording) when they change."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    st.html(draft_script(f"/{base}/drafts" if base else "/drafts", form, viewer.campaign.id,
                         list(texts), forms.submission_key(st.session_state, form)),
            unsafe_allow_javascript=True)
    drafts.keep(store, st.session_state, viewer, form, choices, audio=audio)
