"""The store's `core/store/_reviews.py`: peer review, the acceptance rule and the pay they earn.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real,
migrated store. Nothing is mocked.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from jamii.core.store import Forbidden, Store, StoreError
from tests.support.store_world import RATES, World, ledger_entries, run_racing
from tests.support.store_world import paid_world, world  # noqa: F401 - fixtures


# -------------------------------------------------------------------------------------- reviews


def test_authors_never_review_their_own_items(world):
    item = world.submit().item
    with pytest.raises(Forbidden, match="own"):
        world.store.record_review(item.id, world.author.id, "approve")
    assert world.store.reviews_of(item.id) == []


def test_a_reviewer_reviews_an_item_once(world):
    item = world.submit().item
    r = world.reviewers[0]
    world.store.record_review(item.id, r.id, "approve")
    with pytest.raises(StoreError, match="already reviewed"):
        world.store.record_review(item.id, r.id, "reject", reasons=["unclear"])
    assert len(world.store.reviews_of(item.id)) == 1


def test_review_input_is_validated(world):
    item = world.submit().item
    r = world.reviewers[0].id
    with pytest.raises(StoreError, match="not a verdict"):
        world.store.record_review(item.id, r, "maybe")
    with pytest.raises(StoreError, match="reason"):
        world.store.record_review(item.id, r, "reject")
    with pytest.raises(StoreError, match="Unknown reason"):
        world.store.record_review(item.id, r, "reject", reasons=["ugly"])
    with pytest.raises(StoreError, match="edit"):
        world.store.record_review(item.id, r, "edit")
    assert world.store.reviews_of(item.id) == []


def _status_after(world, verdicts: list[str]) -> str:
    item = world.submit().item
    for reviewer, verdict in zip(world.reviewers, verdicts):
        world.store.record_review(item.id, reviewer.id, verdict,
                                  reasons=["inaccurate"] if verdict == "reject" else None)
    return world.store.item(item.id).status


@pytest.mark.parametrize("verdicts, status", [
    (["approve"], "submitted"),
    (["reject"], "submitted"),
    (["approve", "approve"], "accepted"),
    (["reject", "reject"], "rejected"),
    (["approve", "reject"], "submitted"),
    (["reject", "approve"], "submitted"),
    (["approve", "reject", "approve"], "accepted"),
    (["approve", "reject", "reject"], "rejected"),
])
def test_common_voice_rule(world, verdicts, status):
    assert _status_after(world, verdicts) == status


def test_three_tied_votes_reject_and_decided_items_take_no_more_reviews(store):
    w = World(store)
    w.reviewers.append(w.person(["reviewer"]))
    # 2 approvals against 2 rejections cannot happen under the default rule (2-1 decides),
    # so a tie at 3+ needs a campaign rule that waits for more votes
    store.update_campaign(w.campaign.id, acceptance_rule={"min_votes": 4, "tie_reject_at": 4},
                          actor_id=w.org.id)
    assert _status_after(w, ["approve", "reject", "approve", "reject"]) == "rejected"
    item = w.submit().item
    for r in w.reviewers[:2]:
        store.record_review(item.id, r.id, "approve")
    assert store.item(item.id).status == "submitted"  # min_votes=4: still open
    store.record_review(item.id, w.reviewers[2].id, "approve")
    store.record_review(item.id, w.reviewers[3].id, "reject", reasons=["unclear"])
    assert store.item(item.id).status == "accepted"
    late = w.person(["reviewer"])
    with pytest.raises(StoreError, match="already been decided"):
        store.record_review(item.id, late.id, "approve")


def test_edit_verdict_sends_item_back_to_its_author(world):
    store = world.store
    item = world.submit().item
    store.record_review(item.id, world.reviewers[0].id, "edit",
                        suggested_edit={"response": "Tumia samadi iliyooza, kilo mbili."})
    assert store.item(item.id).status == "needs_edit"
    with pytest.raises(Forbidden):
        store.accept_edit(item.id, world.author2.id, {"response": "x"})
    edited = store.accept_edit(item.id, world.author.id,
                               {"response": "Tumia samadi iliyooza, kilo mbili."})
    assert edited.version == 2 and edited.status == "submitted"
    # votes on the old version do not count for the new one
    store.record_review(item.id, world.reviewers[1].id, "approve")
    assert store.item(item.id).status == "submitted"
    store.record_review(item.id, world.reviewers[2].id, "approve")
    assert store.item(item.id).status == "accepted"


def test_review_queue(world):
    store = world.store
    mine = world.submit().item
    other = world.submit(author=world.author2).item
    queue = store.review_queue(world.campaign.id, world.author.id)
    assert [i.id for i in queue] == [other.id]  # never one's own items
    r = world.reviewers[0]
    assert [i.id for i in store.review_queue(world.campaign.id, r.id)] == [mine.id, other.id]
    store.record_review(mine.id, r.id, "approve")
    assert [i.id for i in store.review_queue(world.campaign.id, r.id)] == [other.id]


def test_simultaneous_reviews_still_decide_the_item(store, monkeypatch, request, tmp_path):
    """Two reviewers approve the same item at the same moment: it must end up accepted."""
    import jamii.core.store._reviews as reviews

    w = World(store, rates=RATES)
    item = w.submit().item
    other = Store(store.url, tmp_path / "audio", create=False)
    real_decide = reviews.decide
    race: list = []

    def racing_decide(*a):
        if not race:  # the first review has counted the votes: the second reviewer submits
            race.append(None)
            race[0] = run_racing(other.record_review, item.id, w.reviewers[1].id, "approve")
        return real_decide(*a)

    monkeypatch.setattr(reviews, "decide", racing_decide)
    try:
        store.record_review(item.id, w.reviewers[0].id, "approve")
        thread, out = race[0]
        thread.join(timeout=90)
    finally:
        other.close()
    assert "error" not in out, out.get("error")
    assert len(store.reviews_of(item.id)) == 2
    assert store.item(item.id).status == "accepted"
    assert len(ledger_entries(store, activity="item_accepted")) == 1


# -------------------------------------------------------------------------- compensation earned


def test_reviews_and_acceptance_earn_entries_at_the_card_in_force(paid_world):
    w, store = paid_world, paid_world.store
    card = store.rate_card(w.campaign.id)
    item = w.submit().item
    r1, r2 = w.reviewers[:2]
    store.record_review(item.id, r1.id, "approve")
    assert [(e.contributor_id, e.activity, e.amount, e.unit) for e in ledger_entries(store)] == [
        (r1.id, "review", Decimal("5"), "KES")]
    store.record_review(item.id, r2.id, "approve")
    entries = ledger_entries(store)
    assert sorted((e.contributor_id, e.activity, e.amount) for e in entries) == sorted([
        (r1.id, "review", Decimal("5")), (r2.id, "review", Decimal("5")),
        (w.author.id, "item_accepted", Decimal("50"))])
    assert all(e.rate_card_id == card.id and e.status == "owed" for e in entries)
    assert all(e.item_id == item.id and e.language == "sw" for e in entries)
    accepted = [e for e in entries if e.activity == "item_accepted"]
    assert accepted[0].source_key == f"item:{item.public_id}"  # global ids: the same in a field kit
    review_uids = {r.uid for r in store.reviews_of(item.id)}
    assert {e.source_key for e in entries if e.activity == "review"} == {f"review:{u}" for u in review_uids}


def test_a_rejected_item_earns_its_author_nothing(paid_world):
    w, store = paid_world, paid_world.store
    item = w.submit().item
    for r in w.reviewers[:2]:
        store.record_review(item.id, r.id, "reject", reasons=["inaccurate"])
    assert store.item(item.id).status == "rejected"
    assert ledger_entries(store, contributor_id=w.author.id) == []
    assert len(ledger_entries(store, activity="review")) == 2


def test_rate_card_change_applies_to_later_activity_only(paid_world):
    w, store = paid_world, paid_world.store
    v1 = store.rate_card(w.campaign.id)
    item = w.submit().item
    store.record_review(item.id, w.reviewers[0].id, "approve")
    v2 = store.set_rate_card(w.campaign.id, {"item_accepted": {"amount": "80", "unit": "KES"},
                                             "review": {"amount": "7.5", "unit": "KES"}},
                             actor_id=w.org.id)
    assert (v1.version, v2.version) == (1, 2)
    store.record_review(item.id, w.reviewers[1].id, "approve")
    by_person = {e.contributor_id: e for e in ledger_entries(store)}
    first, second = by_person[w.reviewers[0].id], by_person[w.reviewers[1].id]
    assert (first.amount, first.rate_card_id) == (Decimal("5"), v1.id)
    assert (second.amount, second.rate_card_id) == (Decimal("7.5"), v2.id)
    author = by_person[w.author.id]
    assert (author.amount, author.rate_card_id) == (Decimal("80"), v2.id)


def test_volunteers_get_zero_amount_entries(store):
    w = World(store, rates=RATES)
    volunteer = w.person(["reviewer"], compensation_method="volunteer")
    item = w.submit(author=w.person(["contributor"], compensation_method="volunteer")).item
    store.record_review(item.id, volunteer.id, "approve")
    store.record_review(item.id, w.reviewers[0].id, "approve")
    entries = {e.contributor_id: e for e in ledger_entries(store)}
    assert entries[volunteer.id].amount == 0 and "volunteer" in entries[volunteer.id].unit
    assert entries[item.author_id].amount == 0
    assert entries[w.reviewers[0].id].amount == Decimal("5")


def test_speech_acceptance_earns_recording_minutes(store):
    w = World(store, rates={**RATES, "recording_minute": {"amount": "10", "unit": "KES"}})
    digest = store.save_audio(b"a voice")
    item = w.submit(kind="speech", content={"transcript": "Habari", "audio_sha256": digest,
                                            "duration_s": 90, "sample_rate": 16000}).item
    for r in w.reviewers[:2]:
        store.record_review(item.id, r.id, "approve")
    minutes = ledger_entries(store, activity="recording_minute")
    assert [(e.quantity, e.amount) for e in minutes] == [(Decimal("1.5"), Decimal("15"))]


def test_no_rate_card_means_no_entries(world):
    item = world.submit().item
    for r in world.reviewers[:2]:
        world.store.record_review(item.id, r.id, "approve")
    assert world.store.item(item.id).status == "accepted"
    assert ledger_entries(world.store) == []


def test_review_decision_and_pay_commit_together(paid_world, monkeypatch):
    """If earning fails, neither the review nor the decision is stored."""
    w, store = paid_world, paid_world.store
    item = w.submit().item
    store.record_review(item.id, w.reviewers[0].id, "approve")

    def broken(*args, **kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr(type(store), "_decide", broken)
    with pytest.raises(RuntimeError):
        store.record_review(item.id, w.reviewers[1].id, "approve")
    assert len(store.reviews_of(item.id)) == 1
    assert len(ledger_entries(store)) == 1
    assert store.item(item.id).status == "submitted"
