"""The one storage API of jamii: every read and write of the private records goes through it.

    store = Store.open()                 # JAMII_DB / JAMII_DATA, else a SQLite file
    person, code = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    store.submit_item(campaign_id=..., author_id=person.id, kind="prompt_response", ...)

The class is assembled from one module per record, each small, whoever reads it (the collector,
the dashboard, the release): `_campaigns` (campaigns, rate cards), `_people` (contributors,
profiles, counts of people), `_consent` (consent texts, consents), `_items`, `_reviews`
(reviews, the acceptance rule, agreement's votes), `_ledger` (every ledger read, payouts),
`_ratings` (community ratings of model answers), `_release` (the release's rows, release
records), `_privacy` (personal-data flags),
`_imports` (bulk import), `_signin` and `_web_sessions` (a sign-in that survives a reload),
`_drafts` (half-written items kept for their person), `_app_settings` (organisers' settings),
`_kits` (field kits: what one carries out, a field store made from one), `_kit_merge` (a
field store's work bundled, and merged back), `_kit_news` (what changed centrally, applied in
the field), `_api_tokens` (what lets a field laptop push its bundle);
`_base` holds database sessions, the audit trail, the actor
check and the helpers they share. Callers only ever see `Store`.
"""

from __future__ import annotations

from pathlib import Path

from jamii.core.settings import Settings, load_settings
from jamii.core.store._base import (OPERATOR, Forbidden, NotFound, Operator, StoreError,
                                    make_engine, migrate)
from jamii.core.store._api_tokens import ApiTokenStore
from jamii.core.store._app_settings import AppSettingStore
from jamii.core.store._campaigns import CampaignStore
from jamii.core.store._consent import ConsentStore
from jamii.core.store._imports import ImportQueries
from jamii.core.store._drafts import DraftStore, DraftView
from jamii.core.store._kit_merge import KitMergeStore, MergeReport
from jamii.core.store._kit_news import KitNewsStore, NewsReport
from jamii.core.store._kits import KIT_FORMAT, KitStore
from jamii.core.store._items import DuplicateItem, ItemStore, Submitted
from jamii.core.store._ledger import LedgerStore
from jamii.core.store._people import new_invite_code
from jamii.core.store._privacy import Flagged, PrivacyQueries
from jamii.core.store._ratings import QueueReport, RatingStore, RatingTaskView, SheetReport
from jamii.core.store._release import ReleaseStore, as_datetime
from jamii.core.store._reviews import REJECT_REASONS, ReviewStore
from jamii.core.store._signin import SignInStore
from jamii.core.store._web_sessions import WebSessionStore


class Store(
    SignInStore,
    WebSessionStore,
    AppSettingStore,
    CampaignStore,
    ConsentStore,
    ItemStore,
    DraftStore,
    KitStore,
    KitMergeStore,
    KitNewsStore,
    ApiTokenStore,
    ReviewStore,
    RatingStore,
    LedgerStore,
    ReleaseStore,
    PrivacyQueries,
    ImportQueries,
):
    @classmethod
    def open(cls, db_url: str | None = None, data_dir: str | Path | None = None) -> "Store":
        settings: Settings = load_settings(db_url, data_dir)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.db_url, settings.audio_dir)


__all__ = ["Store", "OPERATOR", "Operator", "Flagged", "StoreError", "NotFound", "Forbidden", "DuplicateItem", "Submitted", "DraftView", "KIT_FORMAT", "MergeReport", "NewsReport",
           "REJECT_REASONS", "QueueReport", "RatingTaskView", "SheetReport", "new_invite_code", "make_engine", "migrate", "as_datetime"]
