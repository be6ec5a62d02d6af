"""Queries the release builder needs: the publishable rows, read once, PII-free."""

from __future__ import annotations

from jamii.core.store._base import StoreBase


class ReleaseQueries(StoreBase):
    pass
