"""The one storage API of jamii: every read and write of the private records goes through it.

    store = Store.open()                 # JAMII_DB / JAMII_DATA, else a SQLite file
    person, code = store.add_contributor(roles=["contributor"])
    store.submit_item(campaign_id=..., author_id=person.id, kind="prompt_response", ...)

The class is assembled from one module per concern (people and consent, items, reviews,
ledger) so each stays small; callers only ever see `Store`.
"""

from __future__ import annotations

from pathlib import Path

from jamii.core.settings import Settings, load_settings
from jamii.core.store._collector import CollectorQueries
from jamii.core.store._dashboard import DashboardQueries
from jamii.core.store._privacy import Flagged, PrivacyQueries
from jamii.core.store._release import ReleaseQueries, as_datetime
from jamii.core.store._base import (OPERATOR, Forbidden, NotFound, Operator, StoreError,
                                    make_engine, migrate)
from jamii.core.store._imports import ImportQueries
from jamii.core.store._items import DuplicateItem, Submitted
from jamii.core.store._ledger import LedgerStore
from jamii.core.store._people import new_invite_code
from jamii.core.store._reviews import REJECT_REASONS
from jamii.core.store._signin import SignInStore


class Store(
    SignInStore,
    DashboardQueries,
    PrivacyQueries,
    CollectorQueries,
    ReleaseQueries,
    ImportQueries,
    LedgerStore,
):
    @classmethod
    def open(cls, db_url: str | None = None, data_dir: str | Path | None = None) -> "Store":
        settings: Settings = load_settings(db_url, data_dir)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.db_url, settings.audio_dir)


__all__ = ["Store", "OPERATOR", "Operator", "Flagged", "StoreError", "NotFound", "Forbidden", "DuplicateItem", "Submitted",
           "REJECT_REASONS", "new_invite_code", "make_engine", "migrate", "as_datetime"]
