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

import streamlit as st

from jamii.core.store import Store
from jamii.dashboard import access
from jamii.dashboard.i18n import Translator
from jamii.web import ui as web
from jamii.web.session import Viewer
from jamii.web.ui import clear_current, get_store, plain, sign_in_forms

__all__ = ["build_current", "guard", "results_dir", "runs", "campaign_query", "labels", "ratings",
           "community_board",
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


def campaign_query(store: Store, campaign_id: int, name: str):
    """A read-only dashboard query of the store, cached for 30 seconds."""
    if name not in ("item_counts", "profile_counts", "review_votes", "compensation_totals"):
        raise ValueError(f"not a dashboard query: {name}")
    if store is not get_store():
        return getattr(store, name)(campaign_id)
    return _query(store.url, campaign_id, name)


def _ratings_stamp(store: Store, campaign_id: int) -> tuple[int, int, int]:
    """What changes when a rating is added or stops counting (`Store.ratings_stamp`)."""
    return store.ratings_stamp(campaign_id)


@st.cache_data(ttl=300, show_spinner=False, max_entries=8)
def _ratings(url: str, campaign_id: int, stamp: tuple):
    from jamii.dashboard.community import Ratings

    return Ratings.read(get_store(), campaign_id)


def ratings(store: Store, campaign_id: int | None):
    """The campaign's counted ratings (`community.Ratings`), read again only when their number
    changes (or every five minutes)."""
    from jamii.dashboard.community import Ratings

    if campaign_id is None:
        return Ratings.empty()
    if store is not get_store():
        return Ratings.read(store, campaign_id)
    return _ratings(store.url, campaign_id, _ratings_stamp(store, campaign_id))


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
    return _rated_values(store.url, campaign_id, _ratings_stamp(store, campaign_id))


@st.cache_data(ttl=300, show_spinner=False, max_entries=64)
def _board(url: str, campaign_id: int | None, stamp: tuple, folder: str, runs_stamp: tuple,
           group: tuple, dataset: str | None):
    from jamii.dashboard.community import Ratings, combined_board

    found = Ratings.empty() if campaign_id is None else _ratings(url, campaign_id, stamp)
    return combined_board(found, _runs(folder, runs_stamp)[0], group=group, dataset=dataset)


def community_board(store: Store, campaign_id: int | None, folder: Path, group: tuple,
                    dataset: str | None = None):
    """The combined leaderboard (`community.combined_board`) of the results under `folder` and
    the campaign's ratings, cached per (campaign, ratings stamp, results, choice)."""
    from jamii.dashboard.community import combined_board

    if store is not get_store():
        return combined_board(ratings(store, campaign_id), runs(folder)[0], group=group, dataset=dataset)
    stamp = _ratings_stamp(store, campaign_id) if campaign_id is not None else ()
    return _board(store.url, campaign_id, stamp, str(folder), _stamp(folder), tuple(group), dataset)


def labels(tr: Translator, prefix: str, values) -> dict[str, str]:
    return {v: tr(f"{prefix}.{v}", default=str(v)) for v in values}
