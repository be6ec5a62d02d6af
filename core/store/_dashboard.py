"""Read-only aggregate queries for the dashboard (owned by the dashboard).

Every method returns counts and sums grouped by campaign-level dimensions (language, dialect,
domain, kind, status, activity, unit): no contributor id, pseudonym or contact ever leaves
these queries, so a dashboard page cannot show anything per person even by mistake.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, func, select

from jamii.core.records import (DEMOGRAPHIC_FIELDS, VERDICTS, CompensationEntry, Contributor, Item,
                                Review)
from jamii.core.store._base import StoreBase, StoreError


class DashboardQueries(StoreBase):
    def item_counts(self, campaign_id: int) -> list[dict[str, Any]]:
        """Items per kind, language, dialect, domain and status: one row per combination."""
        cols = (Item.kind, Item.language, Item.dialect, Item.domain, Item.status)
        q = (select(*cols, func.count()).where(Item.campaign_id == campaign_id)
             .group_by(*cols).order_by(*cols))
        with self.read() as s:
            rows = s.execute(q).all()
        return [{"kind": k, "language": lang, "dialect": d, "domain": dom, "status": st, "n": n}
                for k, lang, d, dom, st, n in rows]

    def profile_counts(self, campaign_id: int,
                       dimensions: tuple[str, ...] = DEMOGRAPHIC_FIELDS) -> dict[str, Any]:
        """People with at least one item in the campaign, counted per self-described value.

        Withdrawn people are left out. Returns {"people": total, "by": {dimension: [{"value":
        str | None, "people": n, "items": n}, ...]}}; None is "not said". The caller applies
        the rule of five before showing anything.
        """
        bad = [d for d in dimensions if d not in DEMOGRAPHIC_FIELDS]
        if bad:
            raise StoreError(f"Unknown profile field(s) {bad}: use {', '.join(DEMOGRAPHIC_FIELDS)}.")
        authors = (select(Item.author_id, func.count().label("n_items"))
                   .where(Item.campaign_id == campaign_id).group_by(Item.author_id).subquery())
        base = (select(Contributor, authors.c.n_items)
                .join(authors, authors.c.author_id == Contributor.id)
                .where(Contributor.withdrawn_at.is_(None)))
        out: dict[str, Any] = {"by": {}}
        with self.read() as s:
            out["people"] = s.scalar(select(func.count()).select_from(base.subquery())) or 0
            for dim in dimensions:
                col = getattr(Contributor, dim)
                q = (select(col, func.count(), func.sum(authors.c.n_items))
                     .join(authors, authors.c.author_id == Contributor.id)
                     .where(Contributor.withdrawn_at.is_(None)).group_by(col))
                out["by"][dim] = [{"value": (v or None), "people": n, "items": int(i or 0)}
                                  for v, n, i in s.execute(q).all()]
        return out

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
