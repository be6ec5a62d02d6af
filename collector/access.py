"""Who may open which collector page: the collector's access table, plain logic, no Streamlit.

The requirements, the viewer and the check itself are the web layer's (`jamii.web.session`);
roles, withdrawal and consent are read from the store on every run, so editing session state
grants nothing.
"""

from __future__ import annotations

from typing import Any, MutableMapping

from jamii.collector.i18n import Translator
from jamii.core.store import Store
from jamii.web import session
from jamii.web.session import (ACTIVE, CAMPAIGN, CONSENTED, KIND, ORGANISER, PUBLIC, REVIEWER,
                               SIGNED_IN, Viewer)

# page id -> what it needs (checked on the server before the page runs, and again by the page).
# A withdrawn person keeps the pages that let them see and take their data and consent.
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
    # who rates is a campaign setting (reviewers, or contributors with the rating consent
    # scope): the page asks the store (`Store.may_rate`) and explains a refusal
    "rate": (SIGNED_IN, ACTIVE, CAMPAIGN, CONSENTED),
    "org_campaigns": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_people": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_payouts": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_privacy": (SIGNED_IN, ACTIVE, ORGANISER),
    "org_audit": (SIGNED_IN, ACTIVE, ORGANISER),
}
KIND_PAGES = {"write": "prompt_response", "contextual": "contextual", "speech": "speech"}


def build_viewer(store: Store, state: MutableMapping[str, Any],
                 query_lang: str | None = None) -> Viewer:
    """The viewer of this run, in the collector's catalogues."""
    return session.build_viewer(store, state, query_lang, translator=Translator)


def refusal(page_id: str, viewer: Viewer) -> str | None:
    """None when the viewer may open the page, else the catalogue key of the reason."""
    return session.refusal(page_id, viewer, PAGES, KIND_PAGES)


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
