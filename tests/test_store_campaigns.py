"""The store's `core/store/_campaigns.py`: campaigns and their rate cards.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real,
migrated store. Nothing is mocked.
"""

from __future__ import annotations

import pytest

from jamii.core.store import OPERATOR, StoreError
from tests.support.store_world import paid_world  # noqa: F401 - fixtures


# ------------------------------------------------------------------------------------ campaigns


def test_campaign_languages_are_normalised(store):
    c = store.create_campaign("c1", "C1", languages=["swh", "SN", "zul"],
                              dialects={"swh": ["Kiunguja"]}, actor_id=OPERATOR)
    assert c.languages == ["sw", "sn", "zu"]
    assert c.dialects == {"sw": ["Kiunguja"]}
    assert store.campaign("c1").languages == ["sw", "sn", "zu"]
    assert store.campaign(c.id).slug == "c1"


def test_campaign_with_invalid_language_is_refused_helpfully(store):
    with pytest.raises(StoreError) as err:
        store.create_campaign("c1", "C1", languages=["Kiswahili-xx-123"], actor_id=OPERATOR)
    assert "BCP-47" in str(err.value) and "'sw'" in str(err.value)
    with pytest.raises(StoreError, match="at least one language"):
        store.create_campaign("c2", "C2", languages=[], actor_id=OPERATOR)
    assert store.campaigns() == []


def test_campaign_with_unknown_kind_is_refused(store):
    with pytest.raises(StoreError, match="Unknown item kind"):
        store.create_campaign("c1", "C1", languages=["sw"], item_kinds=["essay"], actor_id=OPERATOR)
    assert store.campaigns() == []


def test_campaign_duplicate_slug_is_refused(store):
    store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    with pytest.raises(StoreError, match="exists already"):
        store.create_campaign("c1", "Other", languages=["sn"], actor_id=OPERATOR)
    assert [c.name for c in store.campaigns()] == ["C1"]


def test_unknown_campaign_names_the_existing_ones(store):
    from jamii.core.store import NotFound

    store.create_campaign("kilimo", "Kilimo", languages=["sw"], actor_id=OPERATOR)
    with pytest.raises(NotFound, match="kilimo"):
        store.campaign("afya")


# ----------------------------------------------------------------------------------- rate cards


def test_rate_card_is_validated(paid_world):
    w, store = paid_world, paid_world.store
    for rates, message in [
        ({"lunch": {"amount": 1, "unit": "KES"}}, "not a paid activity"),
        ({"review": {"amount": "abc", "unit": "KES"}}, "numeric"),
        ({"review": {"amount": "-1", "unit": "KES"}}, "negative"),
        ({"review": {"amount": "1", "unit": " "}}, "unit"),
    ]:
        with pytest.raises(StoreError, match=message):
            store.set_rate_card(w.campaign.id, rates, actor_id=w.org.id)
    assert store.rate_card(w.campaign.id).version == 1
