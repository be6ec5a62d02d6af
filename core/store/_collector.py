"""Queries the collector's pages need beyond the core store (owned by the collector).

Read-only helpers: the writes the collector makes all go through the core store's methods,
which check roles and consent and write the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, select

from jamii.core import items as item_rules
from jamii.core.records import (
    AuditEvent,
    Campaign,
    CompensationEntry,
    Consent,
    Contributor,
    ContributorContact,
    Item,
    PaymentEvent,
    RateCard,
    Rating,
    Review,
)
from jamii.core.store._base import NotFound, StoreBase


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, decimals as strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: _plain(getattr(obj, c)) for c in columns}


class CollectorQueries(StoreBase):
    # --- items ------------------------------------------------------------------------------
    def find_same_content(self, campaign_id: int, kind: str, content: dict[str, Any]) -> Item | None:
        """The item of this campaign whose normalised content equals `content`, if any."""
        cleaned = item_rules.clean_content(kind, content)
        digest = item_rules.content_sha256(kind, cleaned.content)
        with self.read() as s:
            return s.scalar(select(Item).where(Item.campaign_id == campaign_id,
                                               Item.content_sha256 == digest))

    def reviews_by_item(self, item_ids: list[int]) -> dict[int, list[Review]]:
        out: dict[int, list[Review]] = {i: [] for i in item_ids}
        if not item_ids:
            return out
        with self.read() as s:
            for r in s.scalars(select(Review).where(Review.item_id.in_(item_ids)).order_by(Review.id)):
                out[r.item_id].append(r)
        return out

    def my_items(self, author_id: int, campaign_id: int | None = None,
                 limit: int = 200) -> list[tuple[Item, list[Review]]]:
        """The author's own items, newest first, each with the reviews it received."""
        q = select(Item).where(Item.author_id == author_id)
        if campaign_id is not None:
            q = q.where(Item.campaign_id == campaign_id)
        with self.read() as s:
            found = list(s.scalars(q.order_by(Item.id.desc()).limit(limit)))
        reviews = self.reviews_by_item([i.id for i in found])
        return [(i, reviews[i.id]) for i in found]

    def latest_rubric(self, campaign_id: int, language: str) -> list[dict[str, Any]]:
        """The rubric of the newest accepted (else any) contextual item in this language."""
        with self.read() as s:
            for status in ("accepted", None):
                q = select(Item.content).where(Item.campaign_id == campaign_id,
                                               Item.kind == "contextual", Item.language == language)
                if status:
                    q = q.where(Item.status == status)
                content = s.scalar(q.order_by(Item.id.desc()).limit(1))
                if content and content.get("rubric"):
                    return list(content["rubric"])
        return []

    def _open_for(self, campaign_id: int, reviewer_id: int, languages=None, exclude=()):
        """Open items by others that this reviewer has not reviewed (optionally in these
        languages, leaving out the ids in `exclude`)."""
        reviewed = exists().where(and_(Review.item_id == Item.id, Review.reviewer_id == reviewer_id))
        q = select(Item).where(Item.campaign_id == campaign_id, Item.status == "submitted",
                               Item.author_id != reviewer_id, ~reviewed)
        if languages:
            q = q.where(Item.language.in_(list(languages)))
        exclude = [int(i) for i in exclude or ()]
        if exclude:
            q = q.where(Item.id.not_in(exclude))
        return q

    def review_queue_for(self, campaign_id: int, reviewer_id: int, *, languages=None,
                         exclude=(), limit: int = 1) -> list[Item]:
        """The review queue (oldest first) in the reviewer's chosen languages, without the
        items they skipped in this session."""
        q = self._open_for(campaign_id, reviewer_id, languages, exclude)
        with self.read() as s:
            return list(s.scalars(q.order_by(Item.id).limit(limit)))

    def open_review_count(self, campaign_id: int, reviewer_id: int, *, languages=None,
                          exclude=(), cap: int | None = 100) -> int:
        """How many items wait for this reviewer, counted up to `cap` (the page shows "99+"):
        counting a long queue exactly costs a scan of every open item on every run."""
        q = self._open_for(campaign_id, reviewer_id, languages, exclude).with_only_columns(Item.id)
        if cap:
            q = q.limit(cap)
        with self.read() as s:
            return s.scalar(select(func.count()).select_from(q.subquery())) or 0

    # --- consent and rates -------------------------------------------------------------------
    def consents_of(self, contributor_id: int) -> list[Consent]:
        with self.read() as s:
            return list(s.scalars(select(Consent).where(Consent.contributor_id == contributor_id)
                                  .order_by(Consent.id.desc())))

    def rate_cards(self, campaign_id: int) -> list[RateCard]:
        with self.read() as s:
            return list(s.scalars(select(RateCard).where(RateCard.campaign_id == campaign_id)
                                  .order_by(RateCard.version.desc())))

    def rate_cards_by_id(self, ids: set[int]) -> dict[int, RateCard]:
        if not ids:
            return {}
        with self.read() as s:
            return {c.id: c for c in s.scalars(select(RateCard).where(RateCard.id.in_(ids)))}

    # --- organiser views -----------------------------------------------------------------------
    def people_overview(self, campaign_id: int | None = None) -> list[dict[str, Any]]:
        """Everyone with roles, status and item counts (no contact details)."""
        counts_q = select(Item.author_id, func.count()).group_by(Item.author_id)
        if campaign_id is not None:
            counts_q = counts_q.where(Item.campaign_id == campaign_id)
        with self.read() as s:
            counts = dict(s.execute(counts_q).all())
            people = list(s.scalars(select(Contributor).order_by(Contributor.id)))
        return [{"id": p.id, "pseudonym": p.pseudonym, "roles": list(p.roles),
                 "withdrawn": p.withdrawn_at is not None, "items": counts.get(p.id, 0),
                 "compensation_method": p.compensation_method or ""} for p in people]

    def audit_events(self, limit: int = 200, action_prefix: str | None = None) -> list[dict[str, Any]]:
        q = select(AuditEvent, Contributor.pseudonym).join(
            Contributor, Contributor.id == AuditEvent.actor_id, isouter=True)
        if action_prefix:
            q = q.where(AuditEvent.action.startswith(action_prefix))
        with self.read() as s:
            rows = s.execute(q.order_by(AuditEvent.id.desc()).limit(limit)).all()
        return [{"id": e.id, "when": e.created_at, "actor": who or "", "action": e.action,
                 "record": f"{e.record_type}:{e.record_id or ''}", "details": _plain(e.details)}
                for e, who in rows]

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

    # --- a person's own data --------------------------------------------------------------------
    def own_data(self, contributor_id: int) -> dict[str, Any]:
        """Everything the store holds about one person, for them to download (JSON-ready)."""
        with self.read() as s:
            person = s.get(Contributor, contributor_id)
            if person is None:
                raise NotFound(f"No contributor with id {contributor_id}.")
            contact = s.get(ContributorContact, contributor_id)
            consents = list(s.scalars(select(Consent).where(Consent.contributor_id == contributor_id)))
            items = list(s.scalars(select(Item).where(Item.author_id == contributor_id)))
            reviews = list(s.scalars(select(Review).where(Review.reviewer_id == contributor_id)))
            ratings = list(s.scalars(select(Rating).where(Rating.rater_id == contributor_id)))
            entries = list(s.scalars(select(CompensationEntry).where(
                CompensationEntry.contributor_id == contributor_id)))
            events = list(s.scalars(select(PaymentEvent).where(
                PaymentEvent.entry_id.in_([e.id for e in entries] or [-1]))))
            slugs = dict(s.execute(select(Campaign.id, Campaign.slug)).all())
        return {
            "person": _row(person, ("pseudonym", "roles", "ui_language", "dialect", "region",
                                    "gender", "age_band", "languages_spoken",
                                    "compensation_method", "compensation_choice", "created_at",
                                    "withdrawn_at")),
            "contact": _row(contact, ("name", "email", "phone", "payment_account", "login_name"))
            if contact else {},
            "consents": [{**_row(c, ("version", "text_sha256", "scopes", "accepted_at",
                                     "withdrawn_at")), "campaign": slugs.get(c.campaign_id)}
                         for c in consents],
            "items": [{**_row(i, ("public_id", "kind", "language", "dialect", "domain", "status",
                                  "version", "content", "created_at", "decided_at")),
                       "campaign": slugs.get(i.campaign_id)} for i in items],
            "reviews_written": [_row(r, ("item_id", "item_version", "verdict", "reasons",
                                         "suggested_edit", "created_at")) for r in reviews],
            "ratings": [_row(r, ("answer_id", "other_answer_id", "preferred", "scores",
                                 "safety_flag", "comment", "created_at")) for r in ratings],
            "earnings": [{**_row(e, ("id", "activity", "quantity", "amount", "unit", "status",
                                     "payout_reference", "created_at")),
                          "campaign": slugs.get(e.campaign_id)} for e in entries],
            "payment_events": [_row(p, ("entry_id", "status", "reference", "created_at"))
                               for p in events],
        }
