"""Sign in with the collector's invite code (or login and password) to see campaign pages."""

import streamlit as st

from jamii.dashboard import ui

store, viewer, tr = ui.guard("sign_in")

st.title(tr("dash.sign_in.title"))
st.write(tr("dash.sign_in.intro"))

ui.sign_in_forms(store, tr, prefix="dash_", stretch=False)
