"""Widgets shared by the three contribution pages: language, dialect, domain, submit handling."""

from __future__ import annotations

from typing import Any, Iterable

import streamlit as st

from jamii.collector import forms, ui
from jamii.collector.i18n import Translator
from jamii.core.langtags import display_name

OTHER = "__other__"


def item_language(tr: Translator, viewer, key: str) -> str:
    """Which of the campaign's languages the item is in (outside the form: it steers dialects)."""
    langs = list(viewer.campaign.languages)
    spoken = [t for t in (viewer.person.languages_spoken or []) if t in langs]
    default = spoken[0] if spoken else (tr.language if tr.language in langs else langs[0])
    if len(langs) == 1:
        return langs[0]
    if st.session_state.get(key) not in langs:
        st.session_state[key] = default
    return st.segmented_control(tr("item.language"), langs, key=key,
                                format_func=lambda t: display_name(t, tr.language)) or default


def dialect_and_domain(tr: Translator, viewer, language: str, prefix: str) -> tuple[str | None, str | None]:
    """Dialect (campaign list or "other: ...") and domain, inside the form."""
    campaign = viewer.campaign
    dialects = list((campaign.dialects or {}).get(language) or [])
    dialect = None
    if dialects:
        options = ["", *dialects, OTHER]
        mine = viewer.person.dialect if viewer.person.dialect in dialects else ""
        choice = st.selectbox(tr("item.dialect"), options, index=options.index(mine),
                              key=f"{prefix}_dialect",
                              format_func=lambda d: tr("item.no_dialect") if d == "" else
                              (tr("item.other_dialect") if d == OTHER else d))
        other = st.text_input(tr("item.other_dialect_name"), key=f"{prefix}_dialect_other",
                              max_chars=100)
        dialect = forms.dialect_value(choice, other)
    domain = None
    if campaign.domains:
        domain = st.selectbox(tr("item.domain"), list(campaign.domains), key=f"{prefix}_domain",
                              format_func=lambda d: tr(f"domain.{d}", default=d))
    return dialect, domain


def confirm_box(tr: Translator, form: str) -> bool:
    """Shown inside the form once a warning was raised for this draft."""
    if not st.session_state.get(f"_warned:{form}"):
        return False
    ui.say(st.session_state.get(f"_warnings:{form}") or [])
    return st.checkbox(tr("contribute.confirm"), key=f"{form}_confirm")


def handle_outcome(tr: Translator, form: str, outcome: forms.Outcome, widget_keys: Iterable[str]) -> None:
    """Success: flash, clear the form on the next run. Otherwise say what to fix, keep the text."""
    messages = forms.outcome_messages(tr, outcome)
    st.session_state.pop(f"_warnings:{form}", None)
    if outcome.status == "confirm":  # redraw the form with the warnings and a confirm box
        st.session_state[f"_warnings:{form}"] = messages
        st.session_state.pop(f"{form}_confirm", None)
        st.rerun()
    if outcome.ok:
        ui.flash(messages)
        ui.request_reset(form)
        st.rerun()
    ui.say(messages)


def reset_if_requested(form: str, widget_keys: Iterable[str]) -> bool:
    """After a successful submit: empty the form before it is drawn again."""
    if not ui.reset_requested(form):
        return False
    ui.clear_widgets([*widget_keys, f"{form}_confirm"])
    st.session_state.pop(f"_warnings:{form}", None)
    return True


def kind_intro(tr: Translator, kind: str, viewer) -> None:
    st.title(tr(f"nav.{_page(kind)}"))
    st.caption(tr(f"{_page(kind)}.intro"))


def _page(kind: str) -> str:
    return {"prompt_response": "write", "contextual": "contextual", "speech": "speech"}[kind]


def values_of(keys: dict[str, str]) -> dict[str, Any]:
    return {name: st.session_state.get(key) for name, key in keys.items()}
