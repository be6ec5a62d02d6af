"""The one view of a release that every document reads: rows found, facts, licence, answers.

Tables here are already safe to publish: every figure about people goes through the one rule
of five (`jamii.core.disclosure`): people appear only as counts of five or more, compensation
only as totals by activity and language shared by five or more people, and where hiding one
small group would leave it to be worked out from a total, the next smallest is hidden too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from jamii.core.disclosure import FEWER, hidden_groups, small, suppress, suppress_count
from jamii.core.langtags import display_name, iso639
from jamii.core.records import DEMOGRAPHIC_FIELDS
from jamii.datasheets._collect import Collected, Facts
from jamii.datasheets._licenses import Licence

KIND_NAMES = {
    "prompt_response": "prompt and reference response",
    "contextual": "contextual question with scenario, persona, reference answers and rubric",
    "speech": "speech recording with transcript",
}
ACTIVITY_NAMES = {
    "item_accepted": "accepted item", "review": "peer review", "rating": "rating of a model answer",
    "recording_minute": "minute of accepted recording",
}


@dataclass
class Context:
    found: Collected
    facts: Facts
    licence: Licence
    answers: dict[str, str]
    version: str
    released: date

    # --- names ------------------------------------------------------------------------------
    @property
    def campaign(self):
        return self.facts.campaign

    @property
    def title(self) -> str:
        return self.answers.get("about.pretty_name") or self.campaign.name

    @property
    def name(self) -> str:
        return self.campaign.slug

    @property
    def curators(self) -> str:
        return self.answers.get("about.curators", "")

    @property
    def url(self) -> str:
        return self.answers.get("about.url") or f"https://huggingface.co/datasets/{self.campaign.slug}"

    # --- rows -------------------------------------------------------------------------------
    def by(self, *positions: int) -> dict[tuple, int]:
        out: Counter = Counter()
        for key, n in self.found.counts.items():
            out[tuple(key[p] for p in positions)] += n
        return dict(sorted(out.items(), key=lambda kv: tuple(str(x) for x in kv[0])))

    def languages(self) -> list[dict[str, Any]]:
        out = []
        for tag in self.found.languages():
            dialects = {d or "(not given)": n for (d,), n in self._dialects(tag).items()}
            # one language's speakers by dialect: mostly one dialect each, so they add up to
            # about the authors (a published count) and a lone hidden dialect needs its complement
            speakers = suppress({d: len(ids) for (lang, d), ids in self.found.dialect_authors.items()
                                 if lang == tag})
            out.append({"tag": tag, "iso": iso639(tag), "name": display_name(tag),
                        "count": sum(dialects.values()), "dialects": dialects,
                        "dialect_speakers": speakers})
        return out

    def _dialects(self, tag: str) -> dict[tuple, int]:
        out: Counter = Counter()
        for (kind, split, lang, dialect), n in self.found.counts.items():
            if lang == tag:
                out[(dialect,)] += n
        return dict(sorted(out.items(), key=lambda kv: str(kv[0])))

    def imports_text(self) -> str:
        """Each imported source file with its licence and the items released from it."""
        return "; ".join(
            f"`{name}` under {lic}: {n:,} item{'s' if n != 1 else ''}"
            for (name, lic), n in sorted(self.found.imports.items(), key=lambda kv: str(kv[0])))

    def removed(self) -> dict[str, int]:
        return {k: len(v) for k, v in sorted(self.found.removed.items()) if v}

    # --- people -----------------------------------------------------------------------------
    def demographics(self, who: str) -> dict[str, dict[str, str | int]]:
        profile = self.facts.authors if who == "authors" else self.facts.reviewers
        return {name: suppress(profile.get(name) or {})
                for name in DEMOGRAPHIC_FIELDS}

    def people(self, who: str) -> int | str:
        return suppress_count((self.facts.authors if who == "authors" else self.facts.reviewers)["people"])

    def withdrawn_people(self) -> int | str:
        """Contributors who have withdrawn so far."""
        return suppress_count(self.facts.withdrawn_people)

    # --- money ------------------------------------------------------------------------------
    def rates(self) -> list[dict[str, Any]]:
        out = []
        for card in self.facts.rate_cards:
            for activity, rate in sorted(card.rates.items()):
                out.append({"version": card.version, "activity": ACTIVITY_NAMES.get(activity, activity),
                            "amount": rate["amount"], "unit": rate["unit"],
                            "since": card.created_at.date().isoformat() if card.created_at else ""})
        return out

    def compensation(self) -> list[dict[str, Any]]:
        """Totals by activity, language and unit (all statuses but failed) under the rule of five.

        A cell's people are the distinct people with an entry in it in any status but failed,
        as the store counts them (`Store.compensation_totals`: "earners"), and likewise its
        people paid and not yet paid. Within an activity the cells add up to figures the release
        publishes elsewhere (accepted items, review votes, at the rate card's rate), so a lone
        hidden cell takes the next smallest with it. "Of which paid" is shown only when
        the people paid and the people not yet paid are each none or five or more: otherwise it,
        or the total minus it, would be what one to four people earned.
        """
        cells: dict[tuple, dict[str, Any]] = {}
        for row in self.facts.compensation:
            if row["status"] == "failed":
                continue
            key = (row["activity"], row["language"] or "", row["unit"])
            cell = cells.setdefault(key, {"amount": Decimal(0), "quantity": Decimal(0),
                                          "paid": Decimal(0), "people": row["earners"],
                                          "paid_people": row["paid_earners"],
                                          "unpaid_people": row["unpaid_earners"]})
            cell["amount"] += row["amount"]
            cell["quantity"] += row["quantity"]
            if row["status"] == "paid":
                cell["paid"] += row["amount"]
        hidden: set[tuple] = set()
        for activity in {k[0] for k in cells}:
            hidden |= {(activity, *k) for k in hidden_groups(
                {k[1:]: c["people"] for k, c in cells.items() if k[0] == activity})}
        out = []
        for key, cell in sorted(cells.items()):
            activity, language, unit = key
            shown = key not in hidden
            paid_shown = shown and not small(cell["paid_people"]) and not small(cell["unpaid_people"])
            out.append({
                "activity": ACTIVITY_NAMES.get(activity, activity), "language": language or "any",
                "unit": unit,
                "quantity": _num(cell["quantity"]) if shown else "suppressed",
                "amount": _num(cell["amount"]) if shown else "suppressed",
                "paid": _num(cell["paid"]) if paid_shown else "suppressed",
                "people": cell["people"] if shown else FEWER,
            })
        return out

    # --- review -----------------------------------------------------------------------------
    def agreement_text(self) -> str:
        a = self.facts.agreement
        if not a["votes"]:
            return "No peer reviews are recorded for this campaign."
        alpha = "not computable (too few items with two or more votes)" if a["alpha"] is None \
            else f"{a['alpha']:.3f}"
        return (
            f"{a['votes']:,} review votes on {a['items_reviewed']:,} item versions "
            f"(mean {a['mean_votes_per_item']:.2f} votes per item). Approvals "
            f"{_pct(a['approval_rate'])}, rejections {_pct(a['rejection_rate'])}, suggested edits "
            f"{_pct(a['edit_rate'])} of votes. Krippendorff's alpha (nominal, over the "
            f"{a['items_with_two_or_more_votes']:,} item versions with two or more votes): {alpha}."
        )


def _num(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
