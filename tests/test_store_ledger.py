"""The store's `core/store/_ledger.py`: ledger moves, payouts and compensation totals.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real,
migrated store. Nothing is mocked.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from jamii.core.records import AuditEvent, Contributor, ContributorContact, PaymentEvent
from jamii.core.store import StoreError
from tests.support.store_world import RATES, World, count, ledger_entries
from tests.support.store_world import paid_world  # noqa: F401 - fixtures


# --------------------------------------------------------------------------------------- ledger


def _owed_entries(w, n_items=2):
    for _ in range(n_items):
        item = w.submit().item
        for r in w.reviewers[:2]:
            w.store.record_review(item.id, r.id, "approve")
    return [e.id for e in ledger_entries(w.store)]


def test_ledger_moves_owed_approved_paid(paid_world):
    w, store = paid_world, paid_world.store
    ids = _owed_entries(w)
    assert len(ids) == 6
    assert store.move_payments(ids, "approved", actor_id=w.org.id) == 6
    assert {e.status for e in store.ledger(w.campaign.id)} == {"approved"}
    with pytest.raises(StoreError, match="reference"):
        store.move_payments(ids, "paid", actor_id=w.org.id)
    store.move_payments(ids, "paid", actor_id=w.org.id, reference="MPESA-QX12")
    entries = store.ledger(w.campaign.id)
    assert {(e.status, e.payout_reference) for e in entries} == {("paid", "MPESA-QX12")}
    assert store.ledger(w.campaign.id, status="owed") == []
    with store.read() as s:
        moves = list(s.scalars(select(PaymentEvent.status).where(PaymentEvent.entry_id == ids[0])
                               .order_by(PaymentEvent.id)))
        audits = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("payout.%")).order_by(AuditEvent.id)))
    assert moves == ["approved", "paid"]
    assert audits == ["payout.approved", "payout.paid"]


def test_compensation_totals_count_each_cells_people_once_across_statuses(paid_world):
    """Per status, and per cell (activity, language, unit): everyone with an entry in any status
    but failed, and of them those paid and those not yet paid, each person counted once."""
    w, store = paid_world, paid_world.store
    r0, r1, r2 = w.reviewers
    for pair in ((r0, r1), (r1, r2), (r2, r0)):
        item = w.submit().item
        for r in pair:
            store.record_review(item.id, r.id, "approve")
    reviews = {r.id: [e.id for e in ledger_entries(store, activity="review", contributor_id=r.id)]
               for r in w.reviewers}
    store.move_payments(reviews[r0.id] + reviews[r1.id] + reviews[r2.id][:1], "approved",
                        actor_id=w.org.id)
    store.move_payments(reviews[r0.id], "paid", actor_id=w.org.id, reference="MPESA-1")
    store.move_payments(reviews[r2.id][:1], "failed", actor_id=w.org.id, reference="no account")
    rows = [r for r in store.compensation_totals(w.campaign.id) if r["activity"] == "review"]
    # r0 paid twice, r1 approved twice, r2 owed once and failed once
    assert {r["status"]: (r["entries"], r["people"], r["amount"]) for r in rows} == {
        "paid": (2, 1, Decimal("10")), "approved": (2, 1, Decimal("10")),
        "owed": (1, 1, Decimal("5")), "failed": (1, 1, Decimal("5"))}
    assert {(r["earners"], r["paid_earners"], r["unpaid_earners"]) for r in rows} == {(3, 1, 2)}
    (accepted,) = [r for r in store.compensation_totals(w.campaign.id)
                   if r["activity"] == "item_accepted"]
    assert (accepted["entries"], accepted["earners"], accepted["unpaid_earners"]) == (3, 1, 1)


def test_failed_payments_can_be_owed_again(paid_world):
    w, store = paid_world, paid_world.store
    ids = _owed_entries(w, 1)
    store.move_payments(ids, "approved", actor_id=w.org.id)
    store.move_payments(ids, "failed", actor_id=w.org.id, reference="number not registered")
    store.move_payments(ids, "owed", actor_id=w.org.id)
    assert {e.status for e in store.ledger(w.campaign.id)} == {"owed"}


def test_invalid_ledger_moves_are_refused_all_or_nothing(paid_world):
    w, store = paid_world, paid_world.store
    ids = _owed_entries(w)
    store.move_payments(ids[:2], "approved", actor_id=w.org.id)
    events = count(store, PaymentEvent)
    with pytest.raises(StoreError, match="cannot move"):
        store.move_payments(ids, "paid", actor_id=w.org.id, reference="REF")  # 4 still owed
    with pytest.raises(StoreError, match="cannot move"):
        store.move_payments(ids, "approved", actor_id=w.org.id)  # 2 already approved
    with pytest.raises(StoreError, match="do not exist"):
        store.move_payments(ids[2:] + [99999], "approved", actor_id=w.org.id)
    with pytest.raises(StoreError, match="not a payment status"):
        store.move_payments(ids, "cancelled", actor_id=w.org.id)
    with pytest.raises(StoreError, match="at least one"):
        store.move_payments([], "approved", actor_id=w.org.id)
    statuses = {e.id: e.status for e in store.ledger(w.campaign.id)}
    assert statuses == {i: ("approved" if i in ids[:2] else "owed") for i in ids}
    assert count(store, PaymentEvent) == events


def test_payout_csv_cells_never_run_as_spreadsheet_formulas(store):
    """A contributor's own name or choice like =HYPERLINK(...) would run when the organiser
    opens the payout file in a spreadsheet; it arrives as text, and a phone number keeps its +."""
    w = World(store, rates=RATES)
    payee = w.person(["contributor"], compensation_method="mobile_money")
    with store.write() as s:
        contact = s.get(ContributorContact, payee.id)
        contact.name = '=HYPERLINK("http://evil.example","pay")'
        contact.payment_account = "@SUM(1+1)"
        s.get(Contributor, payee.id).compensation_choice = "+cmd|' /C calc'!A0"
    other = w.person(["contributor"], compensation_method="mobile_money")
    with store.write() as s:
        s.get(ContributorContact, other.id).payment_account = "+254 700 000002"
    for author in (payee, other):
        item = w.submit(author=author).item
        for r in w.reviewers[:2]:
            store.record_review(item.id, r.id, "approve")
    store.move_payments([e.id for e in store.ledger(w.campaign.id)], "approved", actor_id=w.org.id)
    rows = {r["pseudonym"]: r for r in csv.DictReader(io.StringIO(
        store.payout_csv(w.campaign.id, actor_id=w.org.id)))}
    mine = rows[payee.pseudonym]
    assert mine["name"] == "'" + '=HYPERLINK("http://evil.example","pay")'
    assert mine["account"] == "'@SUM(1+1)" and mine["choice"] == "'+cmd|' /C calc'!A0"
    assert rows[other.pseudonym]["account"] == "+254 700 000002"


def test_payout_csv_aggregates_per_person_and_is_audited(store):
    w = World(store, rates=RATES)
    payee = w.person(["contributor"], compensation_method="mobile_money")
    with store.write() as s:
        s.get(ContributorContact, payee.id).payment_account = "+254700000001"
    for _ in range(3):
        item = w.submit(author=payee).item
        for r in w.reviewers[:2]:
            store.record_review(item.id, r.id, "approve")
    ids = [e.id for e in store.ledger(w.campaign.id)]
    store.move_payments(ids, "approved", actor_id=w.org.id)
    out = store.payout_csv(w.campaign.id, actor_id=w.org.id)
    rows = list(csv.DictReader(io.StringIO(out)))
    by_person = {r["pseudonym"]: r for r in rows}
    assert len(rows) == 3  # the author and two reviewers, one line each
    mine = by_person[payee.pseudonym]
    assert (mine["amount"], mine["unit"], mine["account"], mine["method"]) == (
        "150.00", "KES", "+254700000001", "mobile_money")
    assert len(mine["entries"].split()) == 3
    assert by_person[w.reviewers[0].pseudonym]["amount"] == "15.00"
    with store.read() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "payout.export")).one()
    assert audit.actor_id == w.org.id and audit.details == {"status": "approved", "people": 3}
