"""Who is signed in, what they may open, and in which language: plain logic, no Streamlit.

Session state keeps only the signed-in person's id (`contributor_id`) plus harmless choices
(interface language, selected campaign, form drafts). Roles, withdrawal and consent are read
from the store again on every run, so editing session state cannot grant anything: a
contributor who sets `roles` or any other key still gets a contributor's pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, MutableMapping

from jamii.collector.i18n import Translator, resolve_language
from jamii.core.records import Campaign, Consent, Contributor
from jamii.core.store import NotFound

SESSION_KEY = "contributor_id"
CAMPAIGN_KEY = "campaign_id"
LANG_KEY = "ui_lang"

# What a page can require, checked in this order; the first unmet one is the refusal shown.
SIGNED_IN, ACTIVE, ORGANISER, CAMPAIGN, REVIEWER, CONSENTED, KIND = (
    "signed_in", "active", "organiser", "campaign", "reviewer", "consented", "kind")
ORDER = (SIGNED_IN, ACTIVE, ORGANISER, CAMPAIGN, REVIEWER, CONSENTED, KIND)

# page id -> what it needs (checked on the server before the page runs, and again by the page).
# A withdrawn person keeps the pages that let them see and take their data and consent.
PUBLIC: tuple[str, ...] = ()
CONTRIBUTE = (SIGNED_IN, ACTIVE, CAMPAIGN, CONSENTED, KIND)
PAGES: dict[str, tuple[str, ...]] = {
    "sign_in": PUBLIC,
    "consent": (SIGNED_IN,),
    "profile": (SIGNED_IN,),
    "mine": (SIGNED_IN,),
    "write": CONTRIBUTE,
    "contextual": CONTRIBUTE,
    "speech": CONTRIBUTE,
    "review": (SIGNED_IN, ACTIVE, CAMPAIGN, REVIEWER, CONSENTED),
    "org_campaigns": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_people": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_payouts": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_privacy": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_audit": (SIGNED_IN, ACTIVE, ORGANISER),
}
KIND_PAGES = {"write": "prompt_response", "contextual": "contextual", "speech": "speech"}


@dataclass
class Viewer:
    """The request's view of the world, rebuilt from the store on every run."""

    person: Contributor | None
    campaign: Campaign | None
    consent: Consent | None
    tr: Translator

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


def _unmet(need: str, page_id: str, viewer: Viewer) -> str | None:
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
        return None if KIND_PAGES.get(page_id) in collected else "access.kind_not_collected"
    raise ValueError(f"unknown page requirement {need!r}")


def refusal(page_id: str, viewer: Viewer, pages: dict[str, tuple[str, ...]] = PAGES) -> str | None:
    """None when the viewer may open the page, else the catalogue key of the reason.

    `pages` maps each page id to its requirements; the dashboard passes its own table."""
    needs = pages.get(page_id)
    if needs is None:
        return "access.unknown_page"
    for need in ORDER:
        if need in needs:
            reason = _unmet(need, page_id, viewer)
            if reason:
                return reason
    return None


def visible_pages(viewer: Viewer) -> list[str]:
    """The pages worth a link in the menu for this viewer, in menu order."""
    if not viewer.signed_in:
        return ["sign_in"]
    return [p for p in PAGES if p != "sign_in" and refusal(p, viewer) is None]


def home_page(viewer: Viewer) -> str:
    """Where a viewer lands: sign-in, then consent until given, then writing."""
    if not viewer.signed_in:
        return "sign_in"
    if viewer.withdrawn or viewer.campaign is None:
        return "mine"
    if not viewer.consented:
        return "consent"
    for page in ("write", "contextual", "speech", "review"):
        if refusal(page, viewer) is None:
            return page
    return "mine"


def build_viewer(store, state: MutableMapping[str, Any], query_lang: str | None = None) -> Viewer:
    """Read the signed-in person, their campaign and consent from the store, and the language."""
    person = None
    raw_id = state.get(SESSION_KEY)
    if raw_id is not None:
        try:
            person = store.contributor(int(raw_id))
        except (NotFound, TypeError, ValueError):
            state.pop(SESSION_KEY, None)  # a stale or forged id signs out, it never signs in
    campaigns = store.campaigns()
    campaign = None
    if campaigns:
        chosen = state.get(CAMPAIGN_KEY)
        campaign = next((c for c in campaigns if c.id == chosen), campaigns[0])
    consent = store.active_consent(person.id, campaign.id) if person and campaign else None
    language = resolve_language(query_lang, state.get(LANG_KEY),
                                person.ui_language if person else None)
    return Viewer(person=person, campaign=campaign, consent=consent, tr=Translator(language))


def sign_in(store, *, code: str | None = None, login: str | None = None,
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
    """Who is knocking, as the sign-in throttle counts them: the connection's address.

    Streamlit reports no address (None) for a connection from this machine itself: either
    someone at its keyboard, or a reverse proxy on it (nginx in front of several collectors).
    Only then are the proxy's headers believed: the last X-Forwarded-For hop (the address the
    proxy itself saw), else X-Real-IP. A browser that connects directly cannot choose its key
    by sending such headers. Everything else at this machine shares the key "local"."""
    if isinstance(ip_address, str) and ip_address:
        return ip_address
    lowered = {k.lower(): v for k, v in (headers or {}).items()
               if isinstance(k, str) and isinstance(v, str)}
    hops = [h.strip() for h in lowered.get("x-forwarded-for", "").split(",") if h.strip()]
    if hops:
        return hops[-1]
    return lowered.get("x-real-ip", "").strip() or "local"
