"""The store's `core/store/_consent.py`: consent texts and consents, and withdrawal.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real,
migrated store. Nothing is mocked.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from jamii.core.records import Consent
from jamii.core.store import OPERATOR, Forbidden, StoreError
from tests.support.store_world import pr
from tests.support.store_world import world  # noqa: F401 - fixtures


# -------------------------------------------------------------------------------------- consent


def test_consent_text_versions_are_immutable(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    first = store.add_consent_text(c.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    assert first.sha256 == hashlib.sha256("Nakubali.".encode()).hexdigest()
    assert store.add_consent_text(c.id, "1", "sw", "Nakubali.",
                                  actor_id=OPERATOR).id == first.id  # same: no-op
    with pytest.raises(StoreError, match="cannot change"):
        store.add_consent_text(c.id, "1", "swh", "Nakubali kabisa.", actor_id=OPERATOR)
    assert [t.text for t in store.consent_texts(c.id)] == ["Nakubali."]
    with pytest.raises(StoreError, match="empty"):
        store.add_consent_text(c.id, "2", "sw", "   ", actor_id=OPERATOR)
    with pytest.raises(StoreError, match="Unknown consent scope"):
        store.add_consent_text(c.id, "2", "sw", "Text", scopes=["selling"], actor_id=OPERATOR)


def test_consent_text_falls_back_to_english(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    store.add_consent_text(c.id, "1", "en", "I agree.", actor_id=OPERATOR)
    store.add_consent_text(c.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    assert store.consent_text(c.id, "sw-KE").text == "Nakubali."
    assert store.consent_text(c.id, "fr").text == "I agree."


def test_a_new_consent_version_requires_accepting_again(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    v1 = store.add_consent_text(c.id, "1", "en", "Version one.", actor_id=OPERATOR)
    p, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    consent = store.accept_consent(p.id, v1.id, {"open_publication": True})
    assert store.active_consent(p.id, c.id).id == consent.id
    v2 = store.add_consent_text(c.id, "2", "en", "Version two.", actor_id=OPERATOR)
    assert store.campaign(c.id).current_consent_version == "2"
    assert store.active_consent(p.id, c.id) is None
    with pytest.raises(Forbidden, match="consent"):
        store.submit_item(campaign_id=c.id, author_id=p.id, kind="prompt_response",
                          language="sw", content=pr(), client_key="k1")
    again = store.accept_consent(p.id, v2.id, {"open_publication": True})
    assert store.active_consent(p.id, c.id).id == again.id
    assert again.version == "2" and again.text_sha256 == v2.sha256


def test_consent_scopes_are_explicit_choices(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    ct = store.add_consent_text(c.id, "1", "en", "Text.", actor_id=OPERATOR)
    assert sorted(ct.scopes) == ["model_evaluation", "open_publication", "rating", "voice"]
    p, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    consent = store.accept_consent(p.id, ct.id, {"open_publication": True, "voice": 0})
    # every scope of the text is recorded as a yes or a no, nothing left implicit
    assert consent.scopes == {"open_publication": True, "model_evaluation": False, "voice": False,
                              "rating": False}
    with store.read() as s:
        assert s.get(Consent, consent.id).scopes == consent.scopes


def test_withdrawal_marks_consents_withdrawn_and_blocks_contributing(world):
    store = world.store
    world.submit()
    store.withdraw(world.author.id, actor_id=world.org.id, reason="asked by SMS")
    with store.read() as s:
        consents = list(s.scalars(select(Consent).where(Consent.contributor_id == world.author.id)))
    assert consents and all(c.withdrawn_at is not None for c in consents)
    assert store.active_consent(world.author.id, world.campaign.id) is None
    assert store.contributor(world.author.id).withdrawn_at is not None
    with pytest.raises(Forbidden):
        world.submit()
    with pytest.raises(Forbidden, match="withdrawn"):
        store.accept_consent(world.author.id, world.consent_text.id, {"open_publication": True})
