"""The web layer both apps stand on: store and viewer per run, sessions, access checks, sign-in,
account controls, plain-text display helpers and translation catalogues. It has no page of its
own and imports neither app.

- `i18n`: the catalogue loader and `Translator`; each app binds it to its own `locales/`
  folder, read on top of `web/locales` (the strings both apps show).
- `session`: who is signed in (`Viewer`, `build_viewer`, `resume` from the session cookie),
  sign-in, and the access check of a page against an app's access table (which the app
  keeps). Plain logic, no Streamlit.
- `serve`: how both apps are served (`st.App`): `/healthz`, `/auth/adopt` (the session cookie),
  gzip, `--host`/`--port`/`--base-path`.
- `ui`: the Streamlit side: one store per process, the per-run viewer, `serve_page`, `guard`,
  the sign-in forms and account controls, and the helpers that show people's text as typed.

Streamlit is imported only by `collector/`, `dashboard/` and this package (`ui`, for the forms
and controls both apps share); `i18n` and `session` do not import it.
"""
