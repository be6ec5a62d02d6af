"""Join: an invite code (or a login and password an organiser issued)."""

import streamlit as st

from jamii.collector import ui
from jamii.collector.i18n import available_languages
from jamii.web.i18n import autonym
from jamii.web.session import LANG_KEY

store, viewer, tr = ui.guard("sign_in")

st.title(tr("sign_in.title"))
st.write(tr("sign_in.intro"))

languages = available_languages()


def _pick_language() -> None:
    chosen = st.session_state.get("sign_in_lang")
    if chosen:
        st.session_state[LANG_KEY] = chosen
        st.query_params["lang"] = chosen


st.segmented_control(tr("app.language"), languages, default=tr.language, format_func=autonym,
                     key="sign_in_lang", on_change=_pick_language)

ui.sign_in_forms(store, tr)
