"""Deterministic splits: an item's split is a hash of its stable public id, nothing else.

So an item never moves between validation and test across versions, whatever else is added,
edited or withdrawn; a model tuned on validation never sees a test item of any release.
"""

from __future__ import annotations

import hashlib

from jamii.core.schema import SPLITS

VALIDATION_SHARE = 0.2
"""About one item in five goes to validation, the rest to test (a benchmark is for testing)."""
_SALT = b"jamii-split-v1:"


def split_of(public_id: str) -> str:
    """The split of an item, from the first 8 bytes of sha256("jamii-split-v1:" + id)."""
    digest = hashlib.sha256(_SALT + public_id.encode("utf-8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return SPLITS[0] if position < VALIDATION_SHARE else SPLITS[1]
