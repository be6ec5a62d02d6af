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

__all__ = ["build_current", "guard", "results_dir", "runs", "campaign_query", "labels",
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


def labels(tr: Translator, prefix: str, values) -> dict[str, str]:
    return {v: tr(f"{prefix}.{v}", default=str(v)) for v in values}
