"""Sign in with the collector's invite code (or login and password) to see campaign pages."""

import streamlit as st

from jamii.collector import session
from jamii.dashboard import ui

store, viewer, tr = ui.guard("sign_in")

st.title(tr("dash.sign_in.title"))
st.write(tr("dash.sign_in.intro"))

with st.form("dash_sign_in_form", enter_to_submit=True):
    code = st.text_input(tr("sign_in.code"), placeholder="ABCD-EFGH-JKLM", key="dash_code",
                         max_chars=40, help=tr("sign_in.code_help"))
    sent = st.form_submit_button(tr("sign_in.submit"), type="primary")

with st.expander(tr("sign_in.password_title")):
    with st.form("dash_password_form"):
        login = st.text_input(tr("sign_in.login"), key="dash_login", max_chars=120)
        password = st.text_input(tr("sign_in.password"), type="password", key="dash_password",
                                 max_chars=200)
        sent_pw = st.form_submit_button(tr("sign_in.submit"))

if sent or sent_pw:
    if sent and not (code or "").strip():
        st.error(tr("sign_in.empty_code"))
    elif sent_pw and not ((login or "").strip() and password):
        st.error(tr("sign_in.empty_password"))
    else:
        person = (session.sign_in(store, code=code) if sent
                  else session.sign_in(store, login=login, password=password))
        if person is None:
            st.error(tr("sign_in.unknown"))
        else:
            chosen = st.query_params.get("lang") or st.session_state.get(session.LANG_KEY)
            st.session_state.clear()  # nothing from before sign-in carries over
            st.session_state[session.SESSION_KEY] = person.id
            if chosen:
                st.session_state[session.LANG_KEY] = chosen
            st.rerun()
