"""The collector pages' Streamlit helpers: the web layer's (`jamii.web.ui`) bound to the
collector's access table and catalogues, plus what only the collector's forms need.

`app.py` builds the viewer for each run; each page starts with `guard(page_id)`.
"""

from __future__ import annotations

from typing import Iterable

import streamlit as st

from jamii.collector import access
from jamii.collector.i18n import Translator
from jamii.core.store import Store
from jamii.web import ui as web
from jamii.web.session import Viewer
from jamii.web.ui import (clear_current, flash, plain, refuse, say, show_flash, show_text,
                          sign_in_forms)

__all__ = ["build_current", "guard", "latest_rubric", "clear_widgets",
           # the web layer's, for the pages
           "clear_current", "flash", "plain", "refuse", "say", "show_flash", "show_text",
           "sign_in_forms"]


def build_current() -> tuple[Store, Viewer]:
    """Read the viewer from the store for this run, in the collector's catalogues."""
    return web.build_current(Translator)


def guard(page_id: str) -> tuple[Store, Viewer, Translator]:
    """Every page starts here: refuse (and stop) unless the viewer may open it; then show the
    messages the last run kept (`flash`)."""
    store, viewer, tr = web.guard(page_id, access.refusal, Translator)
    show_flash()
    return store, viewer, tr


RUBRIC_TTL_S = 300


@st.cache_data(ttl=RUBRIC_TTL_S, max_entries=512, show_spinner=False)
def _latest_rubric(db_url: str, campaign_id: int, language: str, _store: Store) -> list[dict]:
    return _store.latest_rubric(campaign_id, language)


def latest_rubric(store: Store, campaign_id: int, language: str) -> list[dict]:
    """The community's latest rubric for a campaign and language, as a starting point for a
    new contextual item. Cached for a few minutes per store, campaign and language: finding it
    reads the items table, and a starting point a few minutes old is just as good."""
    return _latest_rubric(str(store.url), campaign_id, language, store)


def clear_widgets(keys: Iterable[str]) -> None:
    """Empty a form's widgets: call before they are drawn in this run.

    Texts are set to "" and ticks to False through session state, which the browser applies
    (a widget whose key is merely dropped keeps showing what was typed); other values are
    dropped so the widget falls back to its default.
    """
    for key in keys:
        value = st.session_state.get(key)
        if isinstance(value, bool):
            st.session_state[key] = False
        elif isinstance(value, str) and not key.endswith(("_task_type", "_domain", "_dialect")):
            st.session_state[key] = ""
        else:
            st.session_state.pop(key, None)
