"""Small Streamlit helpers shared by the pages: the per-run viewer, the access guard, messages.

`app.py` rebuilds the viewer from the store at the top of every run and hands it to the page
through a thread-local (each Streamlit session runs its script in its own thread), so nothing
a page relies on for access comes from session state.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any, Iterable

import streamlit as st

from jamii.collector import session
from jamii.collector.i18n import Translator, autonym, direction_css
from jamii.core.store._signin import BadSignInInput, TooManyAttempts

_local = threading.local()
FLASH_KEY = "_flash"


@st.cache_resource(show_spinner=False)
def get_store():
    """One store (one connection pool) per server process, from JAMII_DB / JAMII_DATA."""
    from jamii.core.store import Store

    return Store.open()


RUBRIC_TTL_S = 300


@st.cache_data(ttl=RUBRIC_TTL_S, max_entries=512, show_spinner=False)
def _latest_rubric(db_url: str, campaign_id: int, language: str, _store) -> list[dict]:
    return _store.latest_rubric(campaign_id, language)


def latest_rubric(store, campaign_id: int, language: str) -> list[dict]:
    """The community's latest rubric for a campaign and language, as a starting point for a
    new contextual item. Cached for a few minutes per store, campaign and language: finding it
    reads the items table, and a starting point a few minutes old is just as good."""
    return _latest_rubric(str(store.url), campaign_id, language, store)


def build_current(translator: type[Translator] | None = None) -> tuple[Any, session.Viewer]:
    """Read the viewer from the store for this run (roles, consent, language).

    The dashboard passes its own `translator` (its catalogues layered over these), and shares
    everything else: the store, sign-in, and the per-run viewer.
    """
    store = get_store()
    viewer = session.build_viewer(store, st.session_state, st.query_params.get("lang"))
    if translator is not None:
        viewer = dataclasses.replace(viewer, tr=translator(viewer.tr.language))
    st.html(direction_css(viewer.tr))
    return store, viewer


def set_current(store, viewer: session.Viewer) -> None:
    _local.store = store
    _local.viewer = viewer


def clear_current() -> None:
    _local.__dict__.clear()


def serve_page(store, viewer: session.Viewer, page, page_id: str, pages: dict, *, refusal,
               home: str, refused_home: str, label, icons: dict) -> None:
    """Run the page the navigation chose, or say why not and link somewhere useful.

    Shared by the collector's and the dashboard's entrypoints: a signed-in person who asks for
    the sign-in page goes `home`; a refused one sees the reason and a link to sign in (when
    signed out) or to `refused_home`; `label(page_id)` names a link."""
    if page_id == "sign_in" and viewer.signed_in:
        st.switch_page(pages[home])
    reason = refusal(page_id, viewer)
    if reason:
        st.error(viewer.tr(reason), icon=":material/block:")
        target = "sign_in" if not viewer.signed_in else refused_home
        st.page_link(pages[target], label=label(target), icon=icons[target])
        st.stop()
    set_current(store, viewer)
    try:
        page.run()
    finally:
        clear_current()


def current(translator: type[Translator] | None = None) -> tuple[Any, session.Viewer]:
    """The viewer the entrypoint built for this run.

    Should a page file ever run without app.py (Streamlit's legacy `pages/` mode, which the
    `views/` folder name avoids), the viewer is built here the same way, from the store, so
    access is checked all the same.
    """
    store = getattr(_local, "store", None)
    viewer = getattr(_local, "viewer", None)
    if store is None or viewer is None:
        store, viewer = build_current(translator)
    return store, viewer


def guard(page_id: str) -> tuple[Any, session.Viewer, Translator]:
    """Every page starts here: refuse (and stop) unless the viewer may open it."""
    store, viewer = current()
    reason = session.refusal(page_id, viewer)
    if reason:
        refuse(viewer.tr, reason)
    show_flash()
    return store, viewer, viewer.tr


def refuse(tr: Translator, reason_key: str) -> None:
    st.error(tr(reason_key), icon=":material/block:")
    st.stop()


def show_text(text: Any, label: str | None = None) -> None:
    """Show user-written text exactly as typed: never interpreted as Markdown or HTML."""
    if label:
        st.caption(plain(label))
    st.text(str(text) if text is not None else "")


# Backslash-escaped, a Markdown character reads as itself. Escaped here: those that make
# links, images, HTML, emphasis, code, tables, LaTeX (`$`), Streamlit's `:emoji:`,
# `:material/icon:` and `:color[...]` (every colon: a shortcode's closing colon counts too),
# and block markers at a line's start (`#`, `-`, `+`, `=`, `1.`). Escapes do not stop what
# Streamlit finds in the unescaped words: GitHub's bare links (`http://...`, `www.`,
# `name@host`), `:material_icon:`, `:streamlit:` and typographic arrows (`->`). An invisible
# word joiner breaks those patterns (after a colon, inside arrows, before `@`, after `http`).
# Other punctuation stays as it is, so a message reads the same in its source.
_INLINE_RE = re.compile(r"[\\`*_\[\]<>$|~&:]")
_LINE_START_RE = re.compile(r"(?m)^([ \t]*)([#+=-]|\d{1,9}[.)])")
_WORD_JOINER = "\u2060"
_LINKISH_RE = re.compile(
    r"(?i)(https?|ftp|www)(?=[:.])|(?=@)|(?<=[-<>~])(?=[-<>=])|(?<=:)(?=\S)")


def plain(text: Any) -> str:
    """`text` for a place where Streamlit reads Markdown (a label, caption, alert, tab, metric,
    progress text, radio or pills option): shown exactly as written, never as a link, image
    or formatting. Every text a person wrote (contributors, organisers, researchers) goes
    through here before such a place; body text is simpler still with `show_text`."""
    text = "" if text is None else str(text)
    text = _LINKISH_RE.sub(lambda m: (m.group(1) or "") + _WORD_JOINER, text)
    text = _INLINE_RE.sub(lambda m: "\\" + m.group(), text)
    return _LINE_START_RE.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)


def say(messages: Iterable[tuple[str, str]]) -> None:
    """Show (level, text) messages as plain text: they may quote what someone typed."""
    for level, text in messages:
        getattr(st, level)(plain(text))


def flash(messages: Iterable[tuple[str, str]]) -> None:
    """Keep messages for the next run (after st.rerun), shown once by `show_flash`."""
    st.session_state.setdefault(FLASH_KEY, []).extend(list(messages))


def show_flash() -> None:
    say(st.session_state.pop(FLASH_KEY, []))


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


def options_with_labels(tr: Translator, prefix: str, values: Iterable[str]) -> dict[str, str]:
    return {v: tr(f"{prefix}.{v}", default=v) for v in values}


def sign_in_forms(store, tr: Translator, *, prefix: str = "sign_in_", stretch: bool = True) -> None:
    """The invite-code form and the password form, shared by the collector and the dashboard.

    On success the session starts clean (nothing from before sign-in carries over) apart
    from the chosen interface language, and the app reruns as the signed-in person.
    """
    with st.form(f"{prefix}form", enter_to_submit=True):
        code = st.text_input(tr("sign_in.code"), placeholder="ABCD-EFGH-JKLM", key=f"{prefix}code",
                             max_chars=40, help=tr("sign_in.code_help"))
        sent = st.form_submit_button(tr("sign_in.submit"), type="primary",
                                     width="stretch" if stretch else "content")
    with st.expander(tr("sign_in.password_title")):
        with st.form(f"{prefix}password_form"):
            login = st.text_input(tr("sign_in.login"), key=f"{prefix}login", max_chars=120)
            password = st.text_input(tr("sign_in.password"), type="password",
                                     key=f"{prefix}password", max_chars=200)
            sent_pw = st.form_submit_button(tr("sign_in.submit"))
    if not (sent or sent_pw):
        return
    if sent and not (code or "").strip():
        st.error(tr("sign_in.empty_code"))
    elif sent_pw and not ((login or "").strip() and password):
        st.error(tr("sign_in.empty_password"))
    else:
        client = session.client_address(st.context.ip_address, st.context.headers)
        try:
            person = (session.sign_in(store, code=code, client=client) if sent
                      else session.sign_in(store, login=login, password=password, client=client))
        except TooManyAttempts as exc:
            st.error(tr("sign_in_guard.too_many", minutes=exc.minutes))
            return
        except BadSignInInput as exc:
            st.error(tr(f"sign_in_guard.bad_{exc.field}"))
            return
        if person is None:
            st.error(tr("sign_in.unknown"))
            return
        chosen = st.query_params.get("lang") or st.session_state.get(session.LANG_KEY)
        st.session_state.clear()
        st.session_state[session.SESSION_KEY] = person.id
        if chosen:
            st.session_state[session.LANG_KEY] = chosen
        st.rerun()


def account_controls(store, viewer: session.Viewer, tr: Translator, *, languages: list[str],
                     prefix: str = "", remember_language: bool = True) -> None:
    """Language, campaign and sign-out at the foot of an app's sidebar (collector, dashboard).

    Signing out keeps only the interface language; with `remember_language` a signed-in
    person's choice is also saved to their profile, so it follows them to another phone.
    """
    lang_key, campaign_key = f"{prefix}lang_select", f"{prefix}campaign_select"

    def set_language() -> None:
        chosen = st.session_state.get(lang_key)
        if not chosen:
            return
        st.session_state[session.LANG_KEY] = chosen
        st.query_params["lang"] = chosen
        if remember_language and viewer.signed_in:
            store.update_profile(viewer.id, actor_id=viewer.id, ui_language=chosen)

    def set_campaign() -> None:
        st.session_state[session.CAMPAIGN_KEY] = st.session_state.get(campaign_key)

    def sign_out() -> None:
        for key in list(st.session_state.keys()):
            if key != session.LANG_KEY:
                del st.session_state[key]

    st.selectbox(tr("app.language"), languages, index=languages.index(tr.language),
                 format_func=autonym, key=lang_key, on_change=set_language)
    campaigns = store.campaigns() if viewer.signed_in else []
    if len(campaigns) > 1 and viewer.campaign is not None:
        ids = [c.id for c in campaigns]
        st.selectbox(tr("app.campaign"), ids, index=ids.index(viewer.campaign.id),
                     format_func=lambda cid: next(c.name for c in campaigns if c.id == cid),
                     key=campaign_key, on_change=set_campaign)
    if viewer.signed_in:
        st.caption(tr("app.signed_in_as", pseudonym=plain(viewer.person.pseudonym)))
        st.button(tr("app.sign_out"), key=f"{prefix}sign_out", on_click=sign_out,
                  icon=":material/logout:")
