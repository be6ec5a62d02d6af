"""The compensation ledger: entries, payout approval and payment outcomes, with an audit."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from typing import Iterable

from sqlalchemy import insert, select, update

from jamii.core.records import PAYMENT_STATUSES, CompensationEntry, Contributor, PaymentEvent, utcnow
from jamii.core import checks
from jamii.core.store._base import Actor, StoreError, _actor, _refuse_bad_text
from jamii.core.store._reviews import ReviewStore

_MOVES = {"approved": {"owed"}, "paid": {"approved"}, "failed": {"approved"}, "owed": {"failed"}}


def _chunks(ids: list[int], size: int = 5000):
    """SQLite takes at most 32,766 bound values in one statement."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


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

    def move_payments(self, entry_ids: Iterable[int], status: str, *, actor_id: Actor,
                      reference: str | None = None) -> int:
        """owed -> approved -> paid or failed (failed may go back to owed). All or nothing."""
        if status not in PAYMENT_STATUSES:
            raise StoreError(f"'{status}' is not a payment status: use {', '.join(PAYMENT_STATUSES)}.")
        _refuse_bad_text(checks.check_label("payout reference", reference, max_chars=200))
        reference = checks.normalise_text(reference) or None if isinstance(reference, str) else None
        if status in ("paid", "failed") and not reference:
            raise StoreError("Give the payout reference (transaction id or reason) for this batch.")
        ids = sorted(set(entry_ids))
        if not ids:
            raise StoreError("Select at least one entry.")
        allowed = sorted(_MOVES[status])
        with self.write() as s:  # one transaction however many entries: all or nothing
            actor = _actor(s, actor_id, "approve or record payments")
            for chunk in _chunks(ids):
                found = dict(s.execute(select(CompensationEntry.id, CompensationEntry.status)
                                       .where(CompensationEntry.id.in_(chunk)).with_for_update()).all())
                if len(found) != len(chunk):
                    raise StoreError("Some selected entries do not exist; reload the page.")
                wrong = [i for i in chunk if found[i] not in allowed]
                if wrong:
                    shown = ", ".join(map(str, wrong[:20])) + (" ..." if len(wrong) > 20 else "")
                    raise StoreError(f"Entries {shown} cannot move to {status} from their current status.")
                values = {"status": status, **({"payout_reference": reference} if reference else {})}
                s.execute(update(CompensationEntry).where(CompensationEntry.id.in_(chunk)).values(**values))
                s.execute(insert(PaymentEvent), [
                    {"entry_id": i, "status": status, "reference": reference,
                     "actor_id": actor.id if actor else None,
                     "created_at": utcnow()} for i in chunk])
            self._audit(s, actor_id, f"payout.{status}", "compensation_entry", None,
                        entries=ids, reference=reference)
        return len(ids)

    def payout_csv(self, campaign_id: int, status: str = "approved", *, actor_id: Actor) -> str:
        """One line per person and unit, with the payment account: for the organiser only."""
        totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        ids: dict[tuple[int, str], list[int]] = defaultdict(list)
        with self.write() as s:
            _actor(s, actor_id, "export payment accounts")
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
