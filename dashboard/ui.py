"""Streamlit helpers shared by the dashboard pages: store, viewer, access guard, cached reads.

`app.py` rebuilds the viewer from the store at the top of every run (with the collector's
`session.build_viewer`, so roles and withdrawal never come from session state) and hands it
to the page through a thread-local; each page starts with `guard(page_id)`, which checks
access again.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

import streamlit as st

from jamii.collector import session
from jamii.collector.i18n import direction_css
from jamii.dashboard import access
from jamii.dashboard.i18n import Translator

RESULTS_ENV = "JAMII_RESULTS"
_local = threading.local()


@st.cache_resource(show_spinner=False)
def get_store():
    """One store (one connection pool) per server process, from JAMII_DB / JAMII_DATA."""
    from jamii.core.store import Store

    return Store.open()


def results_dir() -> Path:
    """JAMII_RESULTS, else `results/` in the data folder."""
    from jamii.core.settings import load_settings

    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser() if env else load_settings().data_dir / "results"


def build_current() -> tuple[Any, session.Viewer]:
    store = get_store()
    viewer = session.build_viewer(store, st.session_state, st.query_params.get("lang"))
    viewer = dataclasses.replace(viewer, tr=Translator(viewer.tr.language))
    st.html(direction_css(viewer.tr))
    return store, viewer


def set_current(store, viewer: session.Viewer) -> None:
    _local.store = store
    _local.viewer = viewer


def clear_current() -> None:
    _local.__dict__.clear()


def guard(page_id: str) -> tuple[Any, session.Viewer, Translator]:
    """Every page starts here: refuse (and stop) unless the viewer may open it."""
    store = getattr(_local, "store", None)
    viewer = getattr(_local, "viewer", None)
    if store is None or viewer is None:
        store, viewer = build_current()
    reason = access.refusal(page_id, viewer)
    if reason:
        st.error(viewer.tr(reason), icon=":material/block:")
        st.stop()
    return store, viewer, viewer.tr


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


def campaign_query(store, campaign_id: int, name: str):
    """A read-only dashboard query of the store, cached for 30 seconds."""
    if name not in ("item_counts", "profile_counts", "review_votes", "compensation_totals"):
        raise ValueError(f"not a dashboard query: {name}")
    if store is not get_store():
        return getattr(store, name)(campaign_id)
    return _query(store.url, campaign_id, name)


def labels(tr: Translator, prefix: str, values) -> dict[str, str]:
    return {v: tr(f"{prefix}.{v}", default=str(v)) for v in values}
