"""Peer review: the next item for a reviewer, a verdict turned into a store call, outcomes.

The store enforces the rules (never one's own item, never twice, decided items are closed, the
campaign's acceptance rule); this module checks the form, keeps a double click from counting
as an error, and words the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jamii.collector.forms import field_label
from jamii.collector.i18n import Translator
from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core.records import Item, Review
from jamii.core.rules import AcceptanceRule
from jamii.core.store import REJECT_REASONS, Forbidden, Store, StoreError

VERDICTS = ("approve", "reject", "edit")


COUNT_CAP = 100
"""The page counts the queue up to this many and then says "99+"."""


def next_item(store: Store, campaign_id: int, reviewer_id: int, kind: str | None = None, *,
              languages: list[str] | None = None, skipped=()) -> Item | None:
    """The oldest open item for this reviewer, in their chosen languages, not one they skipped."""
    if kind is None and (languages or skipped):
        queue = store.review_queue_for(campaign_id, reviewer_id, languages=languages,
                                       exclude=skipped, limit=1)
    else:
        queue = store.review_queue(campaign_id, reviewer_id, limit=1, kind=kind)
    return queue[0] if queue else None


def default_languages(campaign_languages, spoken) -> list[str]:
    """The review filter's first choice: the campaign languages the reviewer speaks (from their
    profile), else all of the campaign's languages."""
    langs = list(campaign_languages or [])
    mine = [t for t in (spoken or []) if t in langs]
    return mine or langs


def chosen_languages(campaign_languages, chosen) -> list[str] | None:
    """The languages to filter on: the chosen ones that the campaign has; None means all."""
    langs = list(campaign_languages or [])
    picked = [t for t in (chosen or []) if t in langs]
    return picked if picked and len(picked) < len(langs) else None


def count_text(n: int, cap: int = COUNT_CAP) -> str:
    """"37", or "99+" once the capped count reaches the cap."""
    return f"{cap - 1}+" if cap and n >= cap else str(n)


def still_open(store: Store, item_id: int | None, reviewer_id: int, campaign_id: int, *,
               languages: list[str] | None = None, skipped=()) -> Item | None:
    """The item, if this reviewer may still review it (open, not theirs, not yet reviewed) and
    it is in the chosen languages and was not skipped."""
    if not item_id:
        return None
    try:
        item = store.item(int(item_id))
    except (StoreError, ValueError, TypeError):
        return None
    if item.campaign_id != campaign_id or item.status != "submitted" or item.author_id == reviewer_id:
        return None
    if (languages and item.language not in languages) or item.id in set(skipped or ()):
        return None
    if any(r.reviewer_id == reviewer_id for r in store.reviews_of(item.id)):
        return None
    return item


def editable_fields(kind: str) -> list[str]:
    """Text fields a reviewer may suggest a new wording for."""
    fields = list(item_rules.TEXT_FIELDS.get(kind, {}))
    if kind == "contextual":
        fields.append("reference_answers")
    return fields


def item_fields(item: Item) -> list[tuple[str, Any]]:
    """(field, value) pairs to show a reviewer, in reading order; lists stay lists."""
    c = item.content or {}
    order = {
        "prompt_response": ("prompt", "response"),
        "contextual": ("scenario", "persona", "question", "reference_answers", "red_flags"),
        "speech": ("prompt_text", "transcript"),
    }.get(item.kind, ())
    return [(name, c[name]) for name in order if c.get(name)]


@dataclass
class ReviewOutcome:
    status: str
    """recorded | already | blocked | closed | refused"""
    problems: list[checks.Problem] = field(default_factory=list)
    message: str = ""
    review: Review | None = None


def submit_review(store: Store, *, item_id: int, reviewer_id: int, verdict: str,
                  reason: str | None = None, edit_field: str | None = None,
                  edit_text: str | None = None, item_kind: str | None = None) -> ReviewOutcome:
    """Record one verdict. Missing reason or edit text blocks with a field problem."""
    if verdict not in VERDICTS:
        return ReviewOutcome("blocked", [checks.Problem("verdict", "empty", "Choose a verdict.", True)])
    reasons: list[str] = []
    suggested: dict[str, Any] | None = None
    if verdict == "reject":
        if reason not in REJECT_REASONS:
            return ReviewOutcome("blocked", [checks.Problem(
                "reason", "empty", "Choose a reason for rejecting.", True)])
        reasons = [reason]
    if verdict == "edit":
        found = checks.check_text("suggested_edit", edit_text, required=True)
        if found:
            return ReviewOutcome("blocked", found)
        name = edit_field or (editable_fields(item_kind or "")[:1] or ["text"])[0]
        text = checks.normalise_text(edit_text)
        suggested = {name: [text] if name == "reference_answers" else text}
    try:
        review = store.record_review(item_id, reviewer_id, verdict, reasons=reasons,
                                     suggested_edit=suggested)
    except Forbidden as exc:
        return ReviewOutcome("refused", message=str(exc))
    except StoreError as exc:
        mine = [r for r in store.reviews_of(item_id) if r.reviewer_id == reviewer_id]
        if mine:  # a double click: the first click's review is the one that counts
            return ReviewOutcome("already", review=mine[0])
        return ReviewOutcome("closed", message=str(exc))
    return ReviewOutcome("recorded", review=review)


def review_messages(tr: Translator, outcome: ReviewOutcome) -> list[tuple[str, str]]:
    from jamii.collector.forms import problem_text

    if outcome.status == "recorded":
        return [("success", tr("review.recorded"))]
    if outcome.status == "already":
        return [("info", tr("review.already"))]
    if outcome.status == "blocked":
        return [("error", problem_text(tr, p)) for p in outcome.problems]
    if outcome.status == "closed":
        return [("info", tr("review.closed"))]
    return [("error", tr("review.refused", reason=outcome.message))]


def rule_text(tr: Translator, acceptance_rule: dict | None) -> str:
    rule = AcceptanceRule.from_campaign(acceptance_rule)
    return tr("review.rule", min_votes=rule.min_votes, tie=rule.tie_reject_at)


def outcome_summary(tr: Translator, item: Item, reviews: list[Review]) -> list[str]:
    """What the author sees: votes, reasons and suggested edits (reviewers stay anonymous)."""
    lines = []
    approvals = sum(r.verdict == "approve" for r in reviews)
    rejections = sum(r.verdict == "reject" for r in reviews)
    lines.append(tr("mine.votes", approvals=approvals, rejections=rejections))
    for r in reviews:
        for reason in r.reasons or []:
            lines.append(tr("mine.reason", reason=tr(f"reason.{reason}", default=reason)))
        for name, value in (r.suggested_edit or {}).items():
            text = value[0] if isinstance(value, list) and value else value
            lines.append(tr("mine.suggested", field=field_label(tr, name), text=str(text)))
    return lines


def apply_suggested_edit(store: Store, item_id: int, author_id: int,
                         suggestion: Review) -> tuple[str, str]:
    """The author takes a reviewer's suggestion: a new version of the item goes back to review.

    Returns a (level, catalogue key) message for the page.
    """
    from jamii.core.items import ItemError

    try:
        store.accept_edit(item_id, author_id, dict(suggestion.suggested_edit or {}))
    except (ItemError, StoreError):
        return ("error", "mine.edit_failed")
    return ("success", "mine.edit_applied")
