"""Queries the collector's pages need beyond the core store (owned by the collector)."""

from __future__ import annotations

from jamii.core.store._base import StoreBase


class CollectorQueries(StoreBase):
    pass
