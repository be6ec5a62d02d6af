"""Who is signed in, what they may open, and in which language: plain logic, no Streamlit.

Session state keeps only the signed-in person's id (`contributor_id`) and their web session's
id, plus harmless choices (interface language, selected campaign, form drafts). A reload starts
a new browser session: `resume` signs it in again from the HttpOnly session cookie. Roles, withdrawal and consent are read
from the store again on every run, so editing session state cannot grant anything: a
contributor who sets `roles` or any other key still gets a contributor's pages.

Each app keeps its own access table (page id -> what it needs, from the requirements below:
`collector/access.py`, `dashboard/access.py`) and asks `refusal` about it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, MutableMapping, NamedTuple
from weakref import WeakKeyDictionary

from jamii.core.records import Campaign, Consent, Contributor
from jamii.core.store import Store
from jamii.web.i18n import Translator

SESSION_KEY = "contributor_id"
CAMPAIGN_KEY = "campaign_id"
LANG_KEY = "ui_lang"
WEB_SESSION_KEY = "web_session_id"
"""The store's web session (`core/store/_web_sessions.py`) this browser signed in with."""
HANDOFF_KEY = "web_session_handoff"
"""A hand-off the next run passes to /auth/adopt, which answers with the session cookie."""
CHECKED_KEY = "web_session_checked"
"""The hash of a cookie already found to sign nobody in (asked once per browser session)."""

COOKIE = "jamii_session"
IDLE_DAYS_ENV = "JAMII_SESSION_IDLE_DAYS"
IDLE_DAYS_TTL_SECONDS = 60.0
"""How long one process trusts the organiser's idle period it read: see `idle_period`."""
SETTING, ENVIRONMENT, DEFAULT = "setting", "environment", "default"
"""Where an idle period comes from: an organiser's setting in the store, the deployment's
JAMII_SESSION_IDLE_DAYS, or jamii's own default."""


class IdlePeriod(NamedTuple):
    days: int
    source: str
    """SETTING, ENVIRONMENT or DEFAULT."""


_chosen: "WeakKeyDictionary[Store, tuple[float, int | None]]" = WeakKeyDictionary()
_chosen_lock = threading.Lock()


def idle_period(store: Store | None = None) -> IdlePeriod:
    """Days of inactivity after which a signed-in browser must sign in again, and where that
    comes from: the organiser's setting in `store` (People page), else JAMII_SESSION_IDLE_DAYS,
    else 30.

    It is asked when a browser session resumes from its cookie and when a cookie is set, never
    on an ordinary click; still, a page load from a whole classroom at once should not be one
    read each. So each process keeps the store's answer for `IDLE_DAYS_TTL_SECONDS`: a change
    reaches every other process within a minute (the organiser's own at once, see
    `set_idle_days`), which is nothing against a period counted in days."""
    if store is not None:
        chosen = _organisers_choice(store)
        if chosen is not None:
            return IdlePeriod(chosen, SETTING)
    return _from_environment()


def idle_days(store: Store | None = None) -> int:
    """`idle_period(store).days`: what a cookie's session is resumed with and kept for."""
    return idle_period(store).days


def set_idle_days(store: Store, days: int, *, actor_id: int) -> None:
    """Save the organiser's idle period (the store checks who and how many days, and audits
    it) and stop this process from using the one it remembered."""
    store.set_session_idle_days(days, actor_id=actor_id)
    with _chosen_lock:
        _chosen.pop(store, None)


def _organisers_choice(store: Store) -> int | None:
    import time

    now = time.monotonic()
    with _chosen_lock:
        kept = _chosen.get(store)
    if kept is not None and kept[0] > now:
        return kept[1]
    value = store.session_idle_days()
    with _chosen_lock:
        _chosen[store] = (now + IDLE_DAYS_TTL_SECONDS, value)
    return value


def _from_environment() -> IdlePeriod:
    """JAMII_SESSION_IDLE_DAYS when it is a whole number of days from 1 to 3650, else 30 (a bad
    value is named in the log with what to set)."""
    import os

    from jamii.core.store._web_sessions import DEFAULT_IDLE_DAYS

    raw = os.environ.get(IDLE_DAYS_ENV)
    if raw is None:
        return IdlePeriod(DEFAULT_IDLE_DAYS, DEFAULT)
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if 1 <= days <= 3650:
        return IdlePeriod(days, ENVIRONMENT)
    import logging

    logging.getLogger(__name__).warning(
        "%s=%r is not a whole number of days from 1 to 3650: using %d. Set it to, for example, 30.",
        IDLE_DAYS_ENV, raw, DEFAULT_IDLE_DAYS)
    return IdlePeriod(DEFAULT_IDLE_DAYS, DEFAULT)


def resume(store: Store, state: MutableMapping[str, Any], cookie_token: object) -> None:
    """Sign this browser session in from the session cookie, or out when its web session has
    ended (signed out here, everywhere, or expired): before `build_viewer` reads the person.

    A cookie is looked up once per browser session (its hash remembered when it signs nobody
    in); a web session already in use is checked on every run, which is one primary-key read,
    so "sign out everywhere" reaches a phone that is still open at its next click."""
    import hashlib

    if state.get(WEB_SESSION_KEY) is not None:
        if not store.web_session_active(state[WEB_SESSION_KEY]):
            for key in (SESSION_KEY, WEB_SESSION_KEY, HANDOFF_KEY):
                state.pop(key, None)
        return
    if state.get(SESSION_KEY) is not None or not isinstance(cookie_token, str) or not cookie_token:
        return
    digest = hashlib.sha256(cookie_token.encode("utf-8", "replace")).hexdigest()
    if state.get(CHECKED_KEY) == digest:
        return
    found = store.web_session_person(cookie_token, idle_days=idle_days(store))
    if found is None:
        state[CHECKED_KEY] = digest
        return
    person, session_id = found
    state[SESSION_KEY], state[WEB_SESSION_KEY] = person.id, session_id

# What a page can require, checked in this order; the first unmet one is the refusal shown.
SIGNED_IN, ACTIVE, ORGANISER, CAMPAIGN, REVIEWER, CONSENTED, KIND = (
    "signed_in", "active", "organiser", "campaign", "reviewer", "consented", "kind")
ORDER = (SIGNED_IN, ACTIVE, ORGANISER, CAMPAIGN, REVIEWER, CONSENTED, KIND)
PUBLIC: tuple[str, ...] = ()

AccessTable = Mapping[str, tuple[str, ...]]
"""page id -> what it needs (checked on the server before the page runs, and again by the page)."""


@dataclass
class Viewer:
    """The request's view of the world, rebuilt from the store on every run."""

    person: Contributor | None
    campaign: Campaign | None
    consent: Consent | None
    tr: Translator
    campaigns: list[Campaign] = field(default_factory=list)
    """Every campaign, as read with the rest (the campaign menu)."""
    rating_refusal: str | None = "withdrawn"
    """`Store.may_rate`'s answer for this viewer in `campaign`, read with the rest."""

    @property
    def signed_in(self) -> bool:
        return self.person is not None

    @property
    def id(self) -> int | None:
        return self.person.id if self.person else None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.person.roles) if self.person else frozenset()

    @property
    def withdrawn(self) -> bool:
        return bool(self.person and self.person.withdrawn_at)

    @property
    def consented(self) -> bool:
        return self.consent is not None and not self.withdrawn

    def scope(self, name: str) -> bool:
        return bool(self.consent and self.consent.scopes.get(name) is True)


def _unmet(need: str, page_id: str, viewer: Viewer, kinds: Mapping[str, str]) -> str | None:
    """The catalogue key of the reason `viewer` fails `need`, or None."""
    if need == SIGNED_IN:
        return None if viewer.signed_in else "access.sign_in_first"
    if need == ACTIVE:
        return "access.withdrawn" if viewer.withdrawn else None
    if need == ORGANISER:
        return None if "organiser" in viewer.roles else "access.organisers_only"
    if need == CAMPAIGN:
        return "access.no_campaign" if viewer.campaign is None else None
    if need == REVIEWER:
        return None if {"reviewer", "organiser"} & viewer.roles else "access.reviewers_only"
    if need == CONSENTED:
        return None if viewer.consented else "access.consent_first"
    if need == KIND:
        collected = (viewer.campaign.item_kinds or []) if viewer.campaign else []
        return None if kinds.get(page_id) in collected else "access.kind_not_collected"
    raise ValueError(f"unknown page requirement {need!r}")


def refusal(page_id: str, viewer: Viewer, pages: AccessTable,
            kinds: Mapping[str, str] | None = None) -> str | None:
    """None when the viewer may open the page, else the catalogue key of the reason.

    `pages` is the app's access table; `kinds` maps the pages that need `KIND` to the item kind
    they collect (the campaign must collect it)."""
    needs = pages.get(page_id)
    if needs is None:
        return "access.unknown_page"
    for need in ORDER:
        if need in needs:
            reason = _unmet(need, page_id, viewer, kinds or {})
            if reason:
                return reason
    return None


def build_viewer(store: Store, state: MutableMapping[str, Any], query_lang: str | None = None, *,
                 translator: type[Translator]) -> Viewer:
    """Read the signed-in person, their campaign and consent from the store, and the language
    (the first of the query's, the session's and the person's own that `translator` has)."""
    person_id = None
    raw_id = state.get(SESSION_KEY)
    if raw_id is not None:
        try:
            person_id = int(raw_id)
        except (TypeError, ValueError):
            state.pop(SESSION_KEY, None)  # a stale or forged id signs out, it never signs in
    # one read for the person, the campaigns, the consent and may_rate (one connection a run)
    found = store.viewer_records(person_id, state.get(CAMPAIGN_KEY))
    person, campaign, consent = found.person, found.campaign, found.consent
    if person_id is not None and person is None:
        state.pop(SESSION_KEY, None)
    language = translator.catalogues.resolve_language(query_lang, state.get(LANG_KEY),
                                                      person.ui_language if person else None)
    return Viewer(person=person, campaign=campaign, consent=consent, tr=translator(language),
                  campaigns=found.campaigns, rating_refusal=found.rating_refusal)


def sign_in(store: Store, *, code: str | None = None, login: str | None = None,
            password: str | None = None, client: str | None = None) -> Contributor | None:
    """The person an invite code or a login and password belong to, else None.

    `client` (see `client_address`) is the key the store throttles repeated failures by; the
    store raises `TooManyAttempts` while this client or login is blocked, and `BadSignInInput`
    for characters nobody types (a NUL), before anything reaches the database."""
    if code and code.strip():
        return store.sign_in_with_code(code.strip(), client=client)
    if login and login.strip() and password:
        return store.sign_in_with_password(login.strip(), password, client=client)
    return None


def client_address(ip_address: str | None, headers: Mapping[str, str] | None = None) -> str:
    """Who is knocking, as the sign-in throttle counts them: the connection's address, an IPv6
    one by its /64 (`jamii.core.store._signin.client_key`: one subscriber holds a whole /64).

    Streamlit reports no address (None) for a connection from this machine itself: either
    someone at its keyboard, or a reverse proxy on it (nginx in front of several collectors).
    Only then are the proxy's headers believed: X-Real-IP first (nginx's common setup sets
    only `X-Real-IP $remote_addr` and passes the browser's own X-Forwarded-For through), else
    the last X-Forwarded-For hop (the one the nearest proxy appended; the earlier ones are
    whatever the browser sent). A browser that connects directly cannot choose its key by
    sending such headers. Everything else at this machine shares the key "local"."""
    from jamii.core.store._signin import client_key

    if isinstance(ip_address, str) and ip_address:
        return client_key(ip_address)
    lowered = {k.lower(): v for k, v in (headers or {}).items()
               if isinstance(k, str) and isinstance(v, str)}
    real = lowered.get("x-real-ip", "").strip()
    if real:
        return client_key(real)
    hops = [h.strip() for h in lowered.get("x-forwarded-for", "").split(",") if h.strip()]
    return client_key(hops[-1]) if hops else "local"
