"""Who may open which dashboard page: plain logic, no Streamlit.

The leaderboard is public: it shows model scores on released data and nothing about people.
Every other page shows campaign data, behind the collector's invite-code sign-in: signed-in
contributors see coverage; reviewers and organisers see everything. Roles and withdrawal are
read from the store on every run (`jamii.collector.session.build_viewer`), so editing session
state grants nothing.
"""

from __future__ import annotations

from jamii.collector.session import Viewer

PUBLIC, SIGNED_IN, REVIEWER = "public", "signed_in", "reviewer"
PAGES: dict[str, str] = {
    "leaderboard": PUBLIC,
    "coverage": SIGNED_IN,
    "representation": REVIEWER,
    "agreement": REVIEWER,
    "compensation": REVIEWER,
    "sign_in": PUBLIC,
}
CAMPAIGN_PAGES = ("coverage", "representation", "agreement", "compensation")


def refusal(page_id: str, viewer: Viewer) -> str | None:
    """None when the viewer may open the page, else the catalogue key of the reason."""
    need = PAGES.get(page_id)
    if need is None:
        return "access.unknown_page"
    if need == PUBLIC:
        return None
    if not viewer.signed_in:
        return "access.sign_in_first"
    if viewer.withdrawn:
        return "access.withdrawn"
    if page_id in CAMPAIGN_PAGES and viewer.campaign is None:
        return "access.no_campaign"
    if need == REVIEWER and not ({"reviewer", "organiser"} & viewer.roles):
        return "access.reviewers_only"
    return None


def visible_pages(viewer: Viewer) -> list[str]:
    """Pages worth a menu link for this viewer, in menu order (sign-in only when signed out)."""
    pages = [p for p in PAGES if p != "sign_in" and refusal(p, viewer) is None]
    return pages + ([] if viewer.signed_in else ["sign_in"])
