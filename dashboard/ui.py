"""The dashboard pages' Streamlit helpers: the web layer's (`jamii.web.ui`) bound to the
dashboard's access table and catalogues, plus its cached reads.

`app.py` rebuilds the viewer from the store at the top of every run (with the web layer's
`session.build_viewer`, so roles and withdrawal never come from session state) and hands it
to the page through a thread-local; each page starts with `guard(page_id)`, which checks
access again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import streamlit as st

from jamii.core.store import Store
from jamii.dashboard import access
from jamii.dashboard.i18n import Translator
from jamii.web import ui as web
from jamii.web.session import Viewer
from jamii.web.ui import clear_current, get_store, plain, sign_in_forms

__all__ = ["build_current", "guard", "results_dir", "runs", "campaign_query", "labels", "ratings",
           "community_board", "community_snapshot", "community_kept", "rated_values", "rating_numbers", "snapshots",
           # the web layer's, for the pages
           "clear_current", "plain", "sign_in_forms"]

RESULTS_ENV = "JAMII_RESULTS"


def build_current() -> tuple[Store, Viewer]:
    """Read the viewer from the store for this run, in the dashboard's catalogues."""
    return web.build_current(Translator)


def results_dir() -> Path:
    """JAMII_RESULTS, else `results/` in the data folder."""
    from jamii.core.settings import load_settings

    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser() if env else load_settings().data_dir / "results"


def guard(page_id: str) -> tuple[Store, Viewer, Translator]:
    """Every page starts here: refuse (and stop) unless the viewer may open it."""
    return web.guard(page_id, access.refusal, Translator)


def _stamp(folder: Path) -> tuple:
    """What changes when a results folder is added or finishes (so new runs show at once)."""
    if not folder.is_dir():
        return ()
    out = []
    for sub in sorted(folder.iterdir()):
        for name in ("summary.json", "config.json"):
            p = sub / name
            if p.is_file():
                out.append((sub.name, name, p.stat().st_mtime_ns))
    return tuple(out)


@st.cache_data(ttl=60, show_spinner=False)
def _runs(folder: str, stamp: tuple):
    from jamii.dashboard.leaderboard import load_runs

    return load_runs(folder)


def runs(folder: Path):
    """Results folders under `folder` (re-read when one is added or finishes, else each minute)."""
    return _runs(str(folder), _stamp(folder))


@st.cache_data(ttl=30, show_spinner=False)
def _query(url: str, campaign_id: int, name: str):
    return getattr(get_store(), name)(campaign_id)


@st.cache_resource(show_spinner=False)
def _snapshots(folder: str):
    from jamii.dashboard.snapshots import Snapshots

    return Snapshots(Path(folder))


def snapshots():
    """The process's `Snapshots`, kept in `cache/dashboard` of the data folder."""
    from jamii.core.settings import load_settings

    return _snapshots(str(load_settings().data_dir / "cache" / "dashboard"))


WITHDRAWN = 2
"""Where `Store.ratings_stamp` and `Store.reviews_stamp` count withdrawn people."""


def _withdrawal_since(stamp: tuple) -> Callable[[tuple], bool]:
    """Wait for a fresh value when someone withdrew since the older one was computed: their
    ratings and reviews must stop counting now, not after a background refresh."""
    return lambda old: not isinstance(old, tuple) or old[WITHDRAWN] != stamp[WITHDRAWN]


def campaign_query(store: Store, campaign_id: int, name: str):
    """A read-only dashboard query of the store: cached for 30 seconds, except the review
    votes (two million verdicts take seconds to count), kept per change of the reviews."""
    if name not in ("item_counts", "profile_counts", "review_votes", "compensation_totals"):
        raise ValueError(f"not a dashboard query: {name}")
    if store is not get_store():
        return getattr(store, name)(campaign_id)
    if name == "review_votes":
        stamp = store.reviews_stamp(campaign_id)
        return snapshots().get("review_votes", (store.url, campaign_id), stamp,
                               lambda: store.review_votes(campaign_id),
                               wait=_withdrawal_since(stamp)).value
    return _query(store.url, campaign_id, name)


def ratings(store: Store, campaign_id: int | None):
    """The campaign's counted ratings (`community.Ratings`), read from the store."""
    from jamii.dashboard.community import Ratings

    if campaign_id is None:
        return Ratings.empty()
    return Ratings.read(store, campaign_id)


@st.cache_data(ttl=300, show_spinner=False, max_entries=8)
def _rated_values(url: str, campaign_id: int, stamp: tuple):
    return get_store().rated_values(campaign_id)


def rated_values(store: Store, campaign_id: int | None) -> dict[str, list[str]]:
    """The rated dataset versions and groups (`Store.rated_values`), read again when the
    ratings change."""
    if campaign_id is None:
        return {"dataset": [], "language": [], "dialect": [], "domain": []}
    if store is not get_store():
        return store.rated_values(campaign_id)
    return _rated_values(store.url, campaign_id, store.ratings_stamp(campaign_id))


def _board_key(store: Store, campaign_id: int | None, folder: Path, group: tuple, dataset: str | None):
    return (store.url, campaign_id, str(folder), tuple(group), dataset)


def community_snapshot(store: Store, campaign_id: int | None, folder: Path, group: tuple,
                       dataset: str | None = None):
    """The combined leaderboard (`community.combined_board`) of the results under `folder` and
    the campaign's ratings, as a `Snapshot`: computed once per change of the ratings or the
    results, then read by every view (and by the next dashboard process, from disk)."""
    from jamii.dashboard.community import combined_board
    from jamii.dashboard.snapshots import Snapshot

    found = runs(folder)[0]  # read here: `compute` may run in a background thread

    def compute():
        return combined_board(ratings(store, campaign_id), found, group=group, dataset=dataset)

    if store is not get_store():
        return Snapshot(compute(), None, 0.0, 0.0, True)
    rated = store.ratings_stamp(campaign_id) if campaign_id is not None else ()
    stamp = (rated, _stamp(folder))
    return snapshots().get("board", _board_key(store, campaign_id, folder, group, dataset), stamp, compute,
                           wait=lambda old: bool(rated) and _withdrawal_since(rated)(old[0]))


def community_kept(store: Store, campaign_id: int | None, folder: Path, group: tuple,
                   dataset: str | None = None) -> bool:
    """Whether `community_snapshot` answers at once (a board was computed before, here or by
    an earlier dashboard process)."""
    if store is not get_store():
        return False
    return snapshots().known("board", _board_key(store, campaign_id, folder, group, dataset))


def community_board(store: Store, campaign_id: int | None, folder: Path, group: tuple,
                    dataset: str | None = None):
    """`community_snapshot`'s board."""
    return community_snapshot(store, campaign_id, folder, group, dataset).value


def rating_numbers(store: Store, campaign_id: int, all_label: str):
    """The organiser's ratings page: (progress, agreement), as one `Snapshot` kept per change
    of the ratings (Krippendorff's alpha over 200,000 ratings takes seconds)."""
    from jamii.dashboard import community
    from jamii.dashboard.snapshots import Snapshot

    def compute():
        return (community.progress(store.rating_progress(campaign_id)),
                community.rating_agreement(ratings(store, campaign_id), all_label=all_label))

    if store is not get_store():
        return Snapshot(compute(), None, 0.0, 0.0, True)
    stamp = store.ratings_stamp(campaign_id)
    return snapshots().get("rating_numbers", (store.url, campaign_id, all_label), stamp, compute,
                           wait=_withdrawal_since(stamp))


def labels(tr: Translator, prefix: str, values) -> dict[str, str]:
    return {v: tr(f"{prefix}.{v}", default=str(v)) for v in values}
