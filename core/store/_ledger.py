"""The compensation ledger: entries, payout approval and payment outcomes, with an audit."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from typing import Iterable

from sqlalchemy import select

from jamii.core.records import PAYMENT_STATUSES, CompensationEntry, Contributor, PaymentEvent
from jamii.core.store._base import StoreError
from jamii.core.store._reviews import ReviewStore

_MOVES = {"approved": {"owed"}, "paid": {"approved"}, "failed": {"approved"}, "owed": {"failed"}}


class LedgerStore(ReviewStore):
    def earnings(self, contributor_id: int) -> list[CompensationEntry]:
        with self.read() as s:
            return list(s.scalars(select(CompensationEntry).where(
                CompensationEntry.contributor_id == contributor_id).order_by(CompensationEntry.id)))

    def ledger(self, campaign_id: int, status: str | None = None) -> list[CompensationEntry]:
        q = select(CompensationEntry).where(CompensationEntry.campaign_id == campaign_id)
        if status:
            q = q.where(CompensationEntry.status == status)
        with self.read() as s:
            return list(s.scalars(q.order_by(CompensationEntry.id)))

    def move_payments(self, entry_ids: Iterable[int], status: str, *, actor_id: int,
                      reference: str | None = None) -> int:
        """owed -> approved -> paid or failed (failed may go back to owed). All or nothing."""
        if status not in PAYMENT_STATUSES:
            raise StoreError(f"'{status}' is not a payment status: use {', '.join(PAYMENT_STATUSES)}.")
        if status in ("paid", "failed") and not (reference or "").strip():
            raise StoreError("Give the payout reference (transaction id or reason) for this batch.")
        ids = sorted(set(entry_ids))
        if not ids:
            raise StoreError("Select at least one entry.")
        with self.write() as s:
            entries = list(s.scalars(select(CompensationEntry).where(
                CompensationEntry.id.in_(ids)).with_for_update()))
            if len(entries) != len(ids):
                raise StoreError("Some selected entries do not exist; reload the page.")
            wrong = [e.id for e in entries if e.status not in _MOVES[status]]
            if wrong:
                raise StoreError(f"Entries {wrong} cannot move to {status} from their current status.")
            for e in entries:
                e.status = status
                if reference:
                    e.payout_reference = reference
                s.add(PaymentEvent(entry_id=e.id, status=status, reference=reference, actor_id=actor_id))
            self._audit(s, actor_id, f"payout.{status}", "compensation_entry", None,
                        entries=ids, reference=reference)
        return len(ids)

    def payout_csv(self, campaign_id: int, status: str = "approved", *, actor_id: int) -> str:
        """One line per person and unit, with the payment account: for the organiser only."""
        totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        ids: dict[tuple[int, str], list[int]] = defaultdict(list)
        with self.write() as s:
            for e in s.scalars(select(CompensationEntry).where(
                    CompensationEntry.campaign_id == campaign_id, CompensationEntry.status == status)):
                totals[(e.contributor_id, e.unit)] += e.amount
                ids[(e.contributor_id, e.unit)].append(e.id)
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(["pseudonym", "name", "method", "choice", "account", "unit", "amount", "entries"])
            for (cid, unit), amount in sorted(totals.items()):
                person = s.get(Contributor, cid)
                contact = person.contact
                w.writerow([person.pseudonym, contact.name if contact else "",
                            person.compensation_method or "", person.compensation_choice or "",
                            (contact.payment_account or contact.phone or "") if contact else "",
                            unit, f"{amount:.2f}", " ".join(map(str, ids[(cid, unit)]))])
            self._audit(s, actor_id, "payout.export", "campaign", campaign_id, status=status,
                        people=len({c for c, _ in totals}))
        return buf.getvalue()
