"""Who may open which dashboard page: the dashboard's access table, plain logic, no Streamlit.

The leaderboard is public: it shows model scores on released data and nothing about people.
Every other page shows campaign data, behind the collector's invite-code sign-in: signed-in
contributors see coverage; reviewers and organisers see the rest, except the community-ratings
page, which names raters by pseudonym (gold-task accuracy) and is for organisers only. Roles and
withdrawal are read from the store on every run (`jamii.web.session.build_viewer`), so editing
session state grants nothing.
"""

from __future__ import annotations

from jamii.web import session
from jamii.web.session import ACTIVE, CAMPAIGN, ORGANISER, PUBLIC, REVIEWER, SIGNED_IN, Viewer

CAMPAIGN_DATA = (SIGNED_IN, ACTIVE, CAMPAIGN)
PAGES: dict[str, tuple[str, ...]] = {
    "leaderboard": PUBLIC,
    "coverage": CAMPAIGN_DATA,
    "representation": CAMPAIGN_DATA + (REVIEWER,),
    "agreement": CAMPAIGN_DATA + (REVIEWER,),
    "compensation": CAMPAIGN_DATA + (REVIEWER,),
    "ratings": CAMPAIGN_DATA + (ORGANISER,),
    "sign_in": PUBLIC,
}


def refusal(page_id: str, viewer: Viewer) -> str | None:
    """None when the viewer may open the page, else the catalogue key of the reason (the web
    layer's rules over this app's page table)."""
    return session.refusal(page_id, viewer, PAGES)


def visible_pages(viewer: Viewer) -> list[str]:
    """Pages worth a menu link for this viewer, in menu order (sign-in only when signed out)."""
    pages = [p for p in PAGES if p != "sign_in" and refusal(p, viewer) is None]
    return pages + ([] if viewer.signed_in else ["sign_in"])
