"""The compensation ledger: every read of it, payout approval and payment outcomes, with an
audit. (Entries are written where they are earned, by `_reviews.ReviewStore._earn`.)"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import case, distinct, func, insert, select, update

from jamii.core import checks
from jamii.core.records import (PAYMENT_STATUSES, CompensationEntry, Contributor, PaymentEvent,
                                utcnow)
from jamii.core.rating_sheet import neutralise
from jamii.core.store._base import Actor, StoreBase, StoreError, _actor, _refuse_bad_text

_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ]*")
"""An account that is a phone number: a spreadsheet reads it as a number, never a formula."""


_MOVES = {"approved": {"owed"}, "paid": {"approved"}, "failed": {"approved"}, "owed": {"failed"}}


def _chunks(ids: list[int], size: int = 5000):
    """SQLite takes at most 32,766 bound values in one statement."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


class LedgerStore(StoreBase):
    # --- a person's entries ---------------------------------------------------------------
    def earnings(self, contributor_id: int) -> list[CompensationEntry]:
        with self.read() as s:
            return list(s.scalars(select(CompensationEntry).where(
                CompensationEntry.contributor_id == contributor_id).order_by(CompensationEntry.id)))

    # --- the campaign's entries -----------------------------------------------------------
    def ledger(self, campaign_id: int, status: str | None = None) -> list[CompensationEntry]:
        q = select(CompensationEntry).where(CompensationEntry.campaign_id == campaign_id)
        if status:
            q = q.where(CompensationEntry.status == status)
        with self.read() as s:
            return list(s.scalars(q.order_by(CompensationEntry.id)))

    def _ledger_q(self, what, campaign_id: int, status: str | None):
        q = select(*what).where(CompensationEntry.campaign_id == campaign_id)
        if status:
            q = q.where(CompensationEntry.status == status)
        return q

    def ledger_rows(self, campaign_id: int, status: str | None = None, *,
                    limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Ledger lines with the earner's pseudonym, for the payouts page (one page of them
        with `limit` and `offset`, in entry order)."""
        q = (self._ledger_q((CompensationEntry, Contributor.pseudonym), campaign_id, status)
             .join(Contributor, Contributor.id == CompensationEntry.contributor_id)
             .order_by(CompensationEntry.id))
        if limit is not None:
            q = q.limit(limit).offset(max(0, offset))
        with self.read() as s:
            rows = s.execute(q).all()
        return [{"id": e.id, "pseudonym": who, "activity": e.activity, "amount": e.amount,
                 "unit": e.unit, "status": e.status, "reference": e.payout_reference or "",
                 "created_at": e.created_at} for e, who in rows]

    def ledger_count(self, campaign_id: int, status: str | None = None) -> int:
        with self.read() as s:
            return s.scalar(self._ledger_q((func.count(CompensationEntry.id),), campaign_id,
                                           status)) or 0

    def ledger_ids(self, campaign_id: int, status: str | None = None) -> list[int]:
        """Every entry id with this status (for "move them all"), ids only."""
        with self.read() as s:
            return list(s.scalars(self._ledger_q((CompensationEntry.id,), campaign_id, status)
                                  .order_by(CompensationEntry.id)))

    def ledger_totals(self, campaign_id: int, status: str | None = None) -> list[dict[str, Any]]:
        """Per person and unit: number of entries and their sum (what the organiser pays)."""
        q = (self._ledger_q((Contributor.pseudonym, CompensationEntry.unit,
                             func.count(CompensationEntry.id), func.sum(CompensationEntry.amount)),
                            campaign_id, status)
             .join(Contributor, Contributor.id == CompensationEntry.contributor_id)
             .group_by(Contributor.pseudonym, CompensationEntry.unit)
             .order_by(Contributor.pseudonym, CompensationEntry.unit))
        with self.read() as s:
            rows = s.execute(q).all()
        # SQLite sums in floating point: round away its noise (amounts carry a few decimals)
        return [{"pseudonym": who, "unit": unit, "entries": n,
                 "amount": Decimal(str(total or 0)).quantize(Decimal("0.000001")).normalize()}
                for who, unit, n, total in rows]

    # --- totals, never per person ---------------------------------------------------------
    def compensation_totals(self, campaign_id: int) -> list[dict[str, Any]]:
        """Ledger sums per activity, language, unit and status, never per person: the one
        compensation query of the dashboard and the release.

        Each row: "activity", "language", "unit", "status", "amount", "quantity", "entries"
        and "people" (distinct earners in this status). Each row also carries the head counts
        of its cell (activity, language, unit) that the rule of five reads: "earners" (distinct
        people with an entry in any status but failed), and of them "paid_earners" (with a paid
        entry) and "unpaid_earners" (with an owed or approved one). Corrections (negative
        entries) are included in the sums.
        """
        e = CompensationEntry
        cell = (e.activity, e.language, e.unit)
        q = (select(*cell, e.status, func.sum(e.amount), func.sum(e.quantity), func.count(),
                    func.count(distinct(e.contributor_id)))
             .where(e.campaign_id == campaign_id)
             .group_by(*cell, e.status).order_by(*cell, e.status))

        def people(where) -> Any:
            return func.count(distinct(case((where, e.contributor_id))))

        heads_q = (select(*cell, people(e.status != "failed"), people(e.status == "paid"),
                          people(e.status.in_(("owed", "approved"))))
                   .where(e.campaign_id == campaign_id).group_by(*cell))
        with self.read() as s:
            rows = s.execute(q).all()
            heads = {(a, lang, u): (int(n), int(p), int(o))
                     for a, lang, u, n, p, o in s.execute(heads_q).all()}
        return [{"activity": a, "language": lang, "unit": u, "status": st,
                 "amount": Decimal(str(amt or 0)), "quantity": Decimal(str(qty or 0)),
                 "entries": n, "people": p,
                 **dict(zip(("earners", "paid_earners", "unpaid_earners"), heads[(a, lang, u)]))}
                for a, lang, u, st, amt, qty, n, p in rows]

    # --- payouts --------------------------------------------------------------------------
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
        """One line per person and unit, with the payment account: for the organiser only.

        Names, choices and accounts are the contributors' own text and the file is opened in a
        spreadsheet, so a cell a spreadsheet would run as a formula gets a leading apostrophe
        (OWASP's CSV injection advice, as the rating sheets do); a phone number keeps its +."""
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
                account = (contact.payment_account or contact.phone or "") if contact else ""
                w.writerow([person.pseudonym, neutralise(contact.name if contact else ""),
                            person.compensation_method or "", neutralise(person.compensation_choice or ""),
                            account if _PHONE_LIKE.fullmatch(account) else neutralise(account),
                            unit, f"{amount:.2f}", " ".join(map(str, ids[(cid, unit)]))])
            self._audit(s, actor_id, "payout.export", "campaign", campaign_id, status=status,
                        people=len({c for c, _ in totals}))
        return buf.getvalue()
