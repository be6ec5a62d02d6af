"""What `jamii collect` serves: the collector's pages (`app.py`) as an `st.App`, with
`/healthz` and gzip (`jamii.web.serve`). `streamlit run` looks for `app = st.App(...)` here."""

from pathlib import Path

import streamlit as st

from jamii.web.serve import app_options

app = st.App(Path(__file__).with_name("app.py"), **app_options())
