"""Peer review, the acceptance rule, and the pay that review and acceptance earn.

A review, the decision it may trigger and every compensation entry they earn commit in one
transaction, so the ledger never disagrees with the items.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, select

from jamii.core.records import VERDICTS, Campaign, CompensationEntry, Contributor, Item, Review, utcnow
from jamii.core.rules import AcceptanceRule, decide
from jamii.core.store._base import Forbidden, StoreBase, StoreError, _actor, _current_rate_card


REJECT_REASONS = ("wrong_language", "inaccurate", "harmful", "personal_data", "unclear",
                  "duplicate", "poor_audio", "other")


def _priced(rate: dict, method: str | None, choice: str | None,
            quantity: Decimal) -> tuple[Decimal, str]:
    """Amount and unit in the form the person chose to be paid in.

    Money paid as airtime or vouchers keeps its currency value and says how it is paid
    ("KES airtime"); an in-kind good is counted in that good when the rate card gives a
    conversion (e.g. 0.2 seed pack per accepted item), else in its money value; volunteers
    get a zero entry so their work is still on the record.
    """
    unit = rate["unit"]
    amount = Decimal(rate["amount"]) * quantity
    if method == "volunteer":
        amount, unit = Decimal(0), f"{unit} (volunteer)"
    elif method in ("airtime", "voucher"):
        unit = f"{unit} {method}"
    elif method == "in_kind":
        per_unit = (rate.get("in_kind") or {}).get(choice or "")
        if per_unit is not None:
            amount, unit = Decimal(str(per_unit)) * quantity, choice
        else:
            unit = f"{unit} in {choice or 'goods'}"
    return amount.quantize(Decimal("0.0001")), unit


class ReviewStore(StoreBase):
    # --- queues ---------------------------------------------------------------------------
    def review_queue(self, campaign_id: int, reviewer_id: int, *, limit: int = 10,
                     kind: str | None = None) -> list[Item]:
        """Open items by others that this reviewer has not reviewed, oldest first."""
        reviewed = exists().where(and_(Review.item_id == Item.id, Review.reviewer_id == reviewer_id))
        q = (select(Item).where(Item.campaign_id == campaign_id, Item.status == "submitted",
                                Item.author_id != reviewer_id, ~reviewed))
        if kind:
            q = q.where(Item.kind == kind)
        q = q.order_by(Item.id).limit(limit)
        with self.read() as s:
            return list(s.scalars(q))

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

    # --- reviews and decisions ------------------------------------------------------------
    def record_review(self, item_id: int, reviewer_id: int, verdict: str, *,
                      reasons: list[str] | None = None,
                      suggested_edit: dict[str, Any] | None = None) -> Review:
        if verdict not in VERDICTS:
            raise StoreError(f"'{verdict}' is not a verdict: use {', '.join(VERDICTS)}.")
        reasons = list(reasons or [])
        if verdict == "reject" and not reasons:
            raise StoreError("Choose a reason for rejecting, so the author can learn from it.")
        bad = [r for r in reasons if r not in REJECT_REASONS]
        if bad:
            raise StoreError(f"Unknown reason(s) {bad}: use {', '.join(REJECT_REASONS)}.")
        if verdict == "edit" and not suggested_edit:
            raise StoreError("Write the edit you suggest before sending it.")
        with self.write() as s:
            # lock the item: two reviews committing at once must both be counted
            item = s.get(Item, item_id, with_for_update=True)
            if item is None:
                raise StoreError(f"No item with id {item_id}.")
            if item.author_id == reviewer_id:
                raise Forbidden("Authors never review their own items.")
            _actor(s, reviewer_id, "review items (ask an organiser for the reviewer role)",
                   roles=("reviewer", "organiser"), operator=False)
            if item.status != "submitted":
                raise StoreError("This item has already been decided; take the next one.")
            if s.scalar(select(Review.id).where(Review.item_id == item_id,
                                                Review.reviewer_id == reviewer_id)):
                raise StoreError("You have already reviewed this item.")
            review = Review(item_id=item_id, item_version=item.version, reviewer_id=reviewer_id,
                            verdict=verdict, reasons=reasons, suggested_edit=suggested_edit)
            s.add(review)
            s.flush()
            campaign = s.get(Campaign, item.campaign_id)
            self._earn(s, campaign, reviewer_id, "review", f"review:{review.uid}", item)
            votes = dict(s.execute(select(Review.verdict, func.count()).where(
                Review.item_id == item_id, Review.item_version == item.version)
                .group_by(Review.verdict)).all())
            outcome = decide(votes.get("approve", 0), votes.get("reject", 0),
                             AcceptanceRule.from_campaign(campaign.acceptance_rule))
            if outcome:
                self._decide(s, campaign, item, outcome)
            elif verdict == "edit":
                item.status = "needs_edit"
        return review

    def _decide(self, session, campaign: Campaign, item: Item, outcome: str) -> None:
        item.status = outcome
        item.decided_at = utcnow()
        if outcome == "accepted":
            self._earn(session, campaign, item.author_id, "item_accepted", f"item:{item.public_id}", item)
            if item.kind == "speech" and item.content.get("duration_s"):
                minutes = Decimal(str(item.content["duration_s"])) / Decimal(60)
                self._earn(session, campaign, item.author_id, "recording_minute",
                           f"audio:{item.public_id}", item, quantity=minutes)

    @staticmethod
    def _earn(session, campaign: Campaign, contributor_id: int, activity: str, source_key: str,
              item: Item | None, quantity: Decimal = Decimal(1)) -> CompensationEntry | None:
        """Record what the rate card in force says this activity earns (nothing if unpaid)."""
        card = _current_rate_card(session, campaign.id)
        rate = (card.rates if card else {}).get(activity)
        if not rate:
            return None
        person = session.get(Contributor, contributor_id)
        amount, unit = _priced(rate, person.compensation_method, person.compensation_choice, quantity)
        entry = CompensationEntry(
            contributor_id=contributor_id, campaign_id=campaign.id, activity=activity,
            source_key=source_key, item_id=item.id if item else None,
            language=item.language if item else None, rate_card_id=card.id,
            quantity=quantity.quantize(Decimal("0.0001")), amount=amount, unit=unit)
        session.add(entry)
        return entry

    # --- reading --------------------------------------------------------------------------
    def reviews_of(self, item_id: int) -> list[Review]:
        with self.read() as s:
            return list(s.scalars(select(Review).where(Review.item_id == item_id).order_by(Review.id)))

    def reviews_by_item(self, item_ids: list[int]) -> dict[int, list[Review]]:
        out: dict[int, list[Review]] = {i: [] for i in item_ids}
        if not item_ids:
            return out
        with self.read() as s:
            for r in s.scalars(select(Review).where(Review.item_id.in_(item_ids)).order_by(Review.id)):
                out[r.item_id].append(r)
        return out

    def reviews_stamp(self, campaign_id: int) -> tuple[int, ...]:
        """What changes when a review is recorded or a person withdraws (the review agreement's
        inputs): reviews, the newest review's id, people withdrawn. Counted over all campaigns,
        which is cheaper than joining each review to its item, and only errs towards
        recomputing."""
        with self.read() as s:
            n, newest = s.execute(select(func.count(), func.max(Review.id))).one()
            withdrawn = s.scalar(select(func.count()).select_from(Contributor)
                                 .where(Contributor.withdrawn_at.is_not(None)))
        return int(n or 0), int(newest or 0), int(withdrawn or 0)

    def review_votes(self, campaign_id: int) -> list[dict[str, Any]]:
        """The verdict patterns of every reviewed item version, counted per language: what
        Krippendorff's alpha and the vote totals are computed from (`jamii.core.agreement`),
        for the dashboard and the datasheet alike.

        One row per language and pattern: {"language", "approve", "reject", "edit" (votes on
        one item version), "item_versions" (how many had exactly those votes)}. The database
        counts votes per item version, then item versions per pattern, so a million reviewed
        items return a few dozen rows; no reviewer or item is named.
        """
        per_version = (
            select(Item.language,
                   *(func.sum(case((Review.verdict == v, 1), else_=0)).label(v) for v in VERDICTS))
            .join(Item, Item.id == Review.item_id)
            .where(Item.campaign_id == campaign_id)
            .group_by(Review.item_id, Review.item_version, Item.language)
            .subquery())
        columns = [per_version.c.language, *(per_version.c[v] for v in VERDICTS)]
        with self.read() as s:
            rows = s.execute(select(*columns, func.count()).group_by(*columns)
                             .order_by(*columns)).all()
        return [{"language": lang, **{v: int(n or 0) for v, n in zip(VERDICTS, votes)},
                 "item_versions": int(units)} for lang, *votes, units in rows]

    def release_reviewer_ids(self, campaign_id: int) -> list[int]:
        with self.read() as s:
            return list(s.scalars(select(func.distinct(Review.reviewer_id))
                                  .join(Item, Item.id == Review.item_id)
                                  .where(Item.campaign_id == campaign_id)))
