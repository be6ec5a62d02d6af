"""The Streamlit side of the web layer, shared by both apps: the store, the per-run viewer,
`serve_page` and `guard`, the sign-in forms, the account controls, and messages shown as typed.

Each app's `app.py` rebuilds the viewer from the store at the top of every run (in its own
catalogues: each function that builds one takes the app's `Translator`) and hands it to the page
through a thread-local (each Streamlit session runs its script in its own thread), so nothing a
page relies on for access comes from session state. Each page starts with `guard(page_id, ...)`
against its app's access table.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, Iterable, Mapping

import streamlit as st

from jamii.core.store import Store
from jamii.core.store._signin import BadSignInInput, TooManyAttempts
from jamii.web import session
from jamii.web.i18n import Translator, autonym, direction_css
from jamii.web.session import Viewer

_local = threading.local()
FLASH_KEY = "_flash"


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    """One store (one connection pool) per server process, from JAMII_DB / JAMII_DATA."""
    return Store.open()


def build_current(translator: type[Translator]) -> tuple[Store, Viewer]:
    """Read the viewer from the store for this run (roles, consent, language), in the app's
    catalogues (`translator`), and set the page's writing direction."""
    store = get_store()
    session.resume(store, st.session_state, st.context.cookies.get(session.COOKIE))
    link_problem = _sign_in_from_link(store)
    chosen = st.query_params.get("lang")
    found = translator.catalogues.resolve_language(chosen) if chosen else None
    if found and (found != "en" or str(chosen).lower().split("-")[0] == "en"):
        st.session_state[session.LANG_KEY] = found  # asked for by a link: this session's choice
    viewer = session.build_viewer(store, st.session_state, chosen, translator=translator)
    if link_problem:
        key, values = link_problem
        st.error(viewer.tr(key, **values))
    if st.session_state.get(session.LANG_KEY):
        keep_language_in_address(viewer.tr.language)
    st.html(direction_css(viewer.tr))
    handoff = st.session_state.get(session.HANDOFF_KEY)
    if handoff and viewer.signed_in:
        # posted on every run until the store has it as the cookie: a run cut short (the
        # redirect home right after signing in) may drop the element before its script runs
        if store.web_session_adopted(st.session_state.get(session.WEB_SESSION_KEY)):
            st.session_state.pop(session.HANDOFF_KEY, None)
        else:
            _adopt(handoff)
    return store, viewer


def _sign_in_from_link(store: Store) -> tuple[str, dict[str, Any]] | None:
    """An invite link (`?code=ABCD-EFGH-JKLM`, from a printed QR code) signs its person in as
    the form would (throttled the same way), then the code leaves the address so it is not
    kept in the browser's history or shown over a shoulder. Returns (catalogue key, values) to
    show when it signs nobody in."""
    code = st.query_params.get("code")
    if code is None:
        return None
    del st.query_params["code"]
    if st.session_state.get(session.SESSION_KEY) is not None:
        return None  # already signed in: the link changes nobody
    client = session.client_address(st.context.ip_address, st.context.headers)
    try:
        person = session.sign_in(store, code=code, client=client)
    except TooManyAttempts as exc:
        return "sign_in_guard.too_many", {"minutes": exc.minutes}
    except BadSignInInput:
        return "sign_in_guard.bad_code", {}
    if person is None:
        return "sign_in.unknown", {}
    _start(store, person)
    return None


def _start(store: Store, person) -> None:
    """A fresh browser session as `person`: only the interface language carries over; the
    next run turns the hand-off into the session cookie."""
    chosen = st.query_params.get("lang") or st.session_state.get(session.LANG_KEY)
    web_session, handoff = store.start_web_session(person.id, actor_id=person.id)
    st.session_state.clear()
    st.session_state[session.SESSION_KEY] = person.id
    st.session_state[session.WEB_SESSION_KEY] = web_session
    st.session_state[session.HANDOFF_KEY] = handoff
    if chosen:
        st.session_state[session.LANG_KEY] = chosen


def _adopt(handoff: str) -> None:
    """Ask the browser to post the hand-off to /auth/adopt, whose answer sets the HttpOnly
    session cookie (a script cannot set one, and should not see it). The hand-off is ours:
    `secrets.token_urlsafe`, so only [A-Za-z0-9_-]; it is checked again before it is written."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9_-]{20,128}", handoff):
        return
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    url = f"/{base}/auth/adopt" if base else "/auth/adopt"
    st.html(f"<script>fetch({url!r}, {{method: 'POST', credentials: 'same-origin', "
            f"body: new URLSearchParams({{h: {handoff!r}}})}});</script>", unsafe_allow_javascript=True)


def keep_language_in_address(language: str) -> None:
    """Put a chosen interface language (from a link's `?lang=` or the language menu) in the
    address on every page. Moving between pages (a menu link, a redirect home) drops the
    query, and a reload, a new tab or a reconnect to another process starts a new session that
    only the address survives: without this a Swahili speaker who chose Swahili on an English
    phone lands on English pages. A language nobody chose (the person's own, or the default)
    stays out of the address, so the person's own follows them after signing in."""
    if st.query_params.get("lang") != language:
        st.query_params["lang"] = language


def set_current(store: Store, viewer: Viewer) -> None:
    _local.store = store
    _local.viewer = viewer


def clear_current() -> None:
    _local.__dict__.clear()


ROOT_PAGE = "home"
"""The hidden name of the page at the app's root: its URL is `/`, and it runs the viewer's home
page (sign-in when signed out, the first form when signed in)."""


def navigation(files: Mapping[str, Any], home: str, *, title: Callable[[str], str],
               icon: Callable[[str], str]) -> tuple[dict[str, st.Page], st.Page, str]:
    """Every page at its own address, whoever views it (`/sign-in`, `/write`), and the
    viewer's home page at the root too; returns the pages by id, the page to run and its id.

    Streamlit gives the default page the root as its only address. Were the home page itself
    the default, its address would move with the viewer: a printed `/sign-in` link, or a
    `/write?code=...` link that signs a person in (and so makes `write` their home), would end
    on "Page not found". So the root is a page of its own, the home page's file under a fixed
    hidden name, listed last so that links and tests find the page itself first."""
    pages = {pid: st.Page(str(path), title=title(pid), icon=icon(pid),
                          url_path=pid.replace("_", "-"))
             for pid, path in files.items()}
    root = st.Page(str(files[home]), title=title(home), icon=icon(home), url_path=ROOT_PAGE,
                   default=True)
    current = st.navigation([*pages.values(), root], position="hidden")
    by_path = {p.url_path: pid for pid, p in pages.items()}
    return pages, current, by_path.get(current.url_path, home)


def serve_page(store: Store, viewer: Viewer, page: st.Page, page_id: str,
               pages: Mapping[str, st.Page], *, refusal: Callable[[str, Viewer], str | None],
               home: str, refused_home: str, label: Callable[[str], str],
               icons: Mapping[str, str]) -> None:
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


def current(translator: type[Translator]) -> tuple[Store, Viewer]:
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


def guard(page_id: str, refusal: Callable[[str, Viewer], str | None],
          translator: type[Translator]) -> tuple[Store, Viewer, Translator]:
    """Every page starts here (through its app's `ui.guard`): refuse (and stop) unless the
    viewer may open it by the app's `refusal`."""
    store, viewer = current(translator)
    reason = refusal(page_id, viewer)
    if reason:
        refuse(viewer.tr, reason)
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


def sign_in_forms(store: Store, tr: Translator, *, prefix: str = "sign_in_",
                  stretch: bool = True) -> None:
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
        _start(store, person)
        st.rerun()


def account_controls(store: Store, viewer: Viewer, tr: Translator, *, languages: list[str],
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

    def sign_out(everywhere: bool = False) -> None:
        """End this browser's web session (or every one of the person's) in the store, so the
        cookie left in the browser signs nobody in again; keep only the interface language."""
        web_session = st.session_state.get(session.WEB_SESSION_KEY)
        if everywhere:
            store.end_all_web_sessions(viewer.id, actor_id=viewer.id)
        elif isinstance(web_session, int):
            store.end_web_session(web_session, actor_id=viewer.id)
        for key in list(st.session_state.keys()):
            if key != session.LANG_KEY:
                del st.session_state[key]

    st.selectbox(tr("app.language"), languages, index=languages.index(tr.language),
                 format_func=autonym, key=lang_key, on_change=set_language)
    campaigns = viewer.campaigns if viewer.signed_in else []  # read with the viewer
    if len(campaigns) > 1 and viewer.campaign is not None:
        ids = [c.id for c in campaigns]
        st.selectbox(tr("app.campaign"), ids, index=ids.index(viewer.campaign.id),
                     format_func=lambda cid: next(c.name for c in campaigns if c.id == cid),
                     key=campaign_key, on_change=set_campaign)
    if viewer.signed_in:
        st.caption(tr("app.signed_in_as", pseudonym=plain(viewer.person.pseudonym)))
        st.button(tr("app.sign_out"), key=f"{prefix}sign_out", on_click=sign_out,
                  icon=":material/logout:")
        st.button(tr("app.sign_out_everywhere"), key=f"{prefix}sign_out_everywhere", on_click=sign_out,
                  kwargs={"everywhere": True}, help=tr("app.sign_out_everywhere_help"), type="tertiary")
