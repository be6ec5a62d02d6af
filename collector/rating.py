"""Community rating of model answers: the task a rater sees, their form turned into a store call,
outcomes in the rater's language. Plain logic, no Streamlit.

The store decides who may rate (`Store.may_rate`: the campaign's setting and the rating consent
scope), keeps raters blind to which model wrote an answer, refuses a second rating of one task
by one rater and pays each rating by the rate card; this module checks the form first (every
criterion scored, a choice made, a comment that passes the checks item text gets), so the rater
reads what to fix in their own language, and words the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from jamii.collector.forms import problem_text
from jamii.collector.i18n import Translator
from jamii.core import checks, ratings
from jamii.collector.review import count_text
from jamii.core.store import Forbidden, RatingTaskView, Store, StoreError

PAIR_CHOICES = ratings.PAIR_CHOICES
SCORES = tuple(ratings.SCORE_RANGE)

REFUSALS = {"withdrawn": "access.withdrawn", "reviewers_only": "rate.reviewers_only",
            "no_rating_consent": "rate.needs_consent"}
"""The store's reasons (`Store.may_rate`) -> catalogue keys."""

STORE_CASES = {"already": "rate.already", "closed": "rate.closed", "daily_cap": "rate.daily_cap"}
"""The store's refusal codes (`StoreError.code`) the page words itself, in the rater's language."""

COMMENT_CHARS = 2000
"""A comment is a few sentences for the organisers, not an essay."""


def with_skipped(skipped: Any, task_id: int) -> list[int]:
    """The session's skipped task ids with one more (each once, in skipping order)."""
    out = [i for i in (skipped or []) if isinstance(i, int)]
    return out if task_id in out else [*out, task_id]


def refusal_key(reason: str | None) -> str | None:
    """The catalogue key that explains why this person may not rate, or None."""
    if reason is None:
        return None
    return REFUSALS.get(reason, "rate.refused_other")


def in_menu(reason: str | None) -> bool:
    """Whether the menu links the rating page: for raters, and for contributors who could
    become raters by accepting the rating scope; not where only reviewers rate."""
    return reason in (None, "no_rating_consent")


@dataclass
class Held:
    """The task on a rater's screen, kept across runs: it stays theirs to rate even when other
    raters' work moves the queue meanwhile (the queue puts the least-rated tasks first)."""

    campaign_id: int
    rater_id: int
    task: RatingTaskView


def current_task(store: Store, held: Any, *, campaign_id: int, rater_id: int,
                 languages: list[str] | None = None, skipped=()) -> RatingTaskView | None:
    """The task to show: the one on screen if it is still this rater's to rate here (not
    skipped, in the chosen languages), else the next one from the store's queue (never one
    they rated, fewest ratings first), else None."""
    skipped = {int(i) for i in skipped or () if isinstance(i, int)}
    if (isinstance(held, Held) and held.campaign_id == campaign_id and held.rater_id == rater_id
            and held.task.task_id not in skipped
            and (not languages or held.task.language in languages)):
        return held.task
    queue = store.rating_queue_for(campaign_id, rater_id, languages=languages,
                                   exclude=sorted(skipped), limit=1)
    return queue[0] if queue else None


@dataclass
class Criterion:
    key: int
    """Its place in the rubric: widget keys use it, never the community's own words."""
    name: str
    description: str
    anchors: list[str]


def criteria(task: RatingTaskView) -> list[Criterion]:
    """The rubric criteria to score, in the item's order, each with its five anchors (an
    anchor the community left empty shows as its score alone)."""
    out = []
    for n, crit in enumerate(task.rubric or []):
        if not isinstance(crit, dict) or not crit.get("name"):
            continue
        anchors = [str(a or "") for a in (crit.get("anchors") or [])][:len(SCORES)]
        anchors += [""] * (len(SCORES) - len(anchors))
        out.append(Criterion(n, str(crit["name"]), str(crit.get("description") or ""), anchors))
    return out


def criterion_label(tr: Translator, name: str) -> str:
    """A criterion's name in the reader's language when the catalogue knows it (the standard
    rubric's usefulness, relevance, accuracy, safety), else as the community wrote it."""
    return tr(f"criterion.{name}", default=name)


def score_label(score: int, anchor: str) -> str:
    """'3 · Partly useful': the score and the community's anchor for it."""
    return f"{score} · {anchor}" if anchor.strip() else str(score)


def form_scores(task: RatingTaskView, values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """{criterion name: chosen score or None} from the widget values `{prefix}_c{key}`."""
    return {c.name: values.get(f"{prefix}_c{c.key}") for c in criteria(task)}


@dataclass
class RatingOutcome:
    status: str
    """recorded | blocked | refused | not_saved"""
    problems: list[tuple[str, Any]] = field(default_factory=list)
    """blocked: ("missing_scores", [names]) | ("no_choice", None) | ("comment", checks.Problem)"""
    message: str = ""
    """refused: the store's reason code; not_saved: the store's English message."""
    code: str | None = None
    """not_saved: the store's refusal code (`STORE_CASES`), when it gave one."""

    @property
    def after(self) -> str:
        """What the page does next: 'next' task, 'stay' on this one (something to fix), or
        'stop' (no more rating today)."""
        if self.status == "blocked":
            return "stay"
        if self.status == "not_saved":
            if self.code == "daily_cap":
                return "stop"
            if self.code not in STORE_CASES:
                return "stay"
        return "next"


def comment_problems(comment: Any) -> list[checks.Problem]:
    """The checks item text gets (visible text, no controls or markup), and no personal data:
    a rating comment cannot be confirmed with it (the store checks the same again)."""
    found = [p for p in checks.check_text("comment", comment, required=False) if p.blocking]
    if not found and isinstance(comment, str) and comment.strip():
        found = checks.pii_problems("comment", comment)
    return found


def submit_rating(store: Store, task: RatingTaskView, rater_id: int, *, campaign_id: int,
                  choice: Any = None,
                  scores: Mapping[str, Any] | None = None, safety_flag: Any = False,
                  comment: Any = "") -> RatingOutcome:
    """Check the form, then record one rating (with its ledger entry) through the store."""
    problems: list[tuple[str, Any]] = []
    if task.mode == "pair":
        if choice not in PAIR_CHOICES:
            problems.append(("no_choice", None))
    else:
        scores = dict(scores or {})
        missing = [name for name, v in scores.items() if v not in SCORES]
        if missing:
            problems.append(("missing_scores", missing))
    problems += [("comment", p) for p in comment_problems(comment)]
    if problems:
        return RatingOutcome("blocked", problems)
    kwargs: dict[str, Any] = {"choice": choice} if task.mode == "pair" else {
        "scores": {name: int(v) for name, v in (scores or {}).items()}}
    try:
        store.record_rating(task.task_id, rater_id, safety_flag=bool(safety_flag),
                            comment=checks.normalise_text(comment) if comment else "",
                            actor_id=rater_id, **kwargs)
    except Forbidden:
        # the rater's role, consent or the campaign's setting changed since the page was drawn
        return RatingOutcome("refused", message=store.may_rate(campaign_id, rater_id) or "")
    except StoreError as exc:
        return RatingOutcome("not_saved", message=str(exc), code=exc.code)
    return RatingOutcome("recorded")


def rating_messages(tr: Translator, outcome: RatingOutcome, *,
                    task: RatingTaskView | None = None) -> list[tuple[str, str]]:
    """(level, text) messages for the page, in the rater's language where the page knows the
    case, else the store's own (English) words."""
    if outcome.status == "recorded":
        return [("success", tr("rate.recorded"))]
    if outcome.status == "refused":
        return [("error", tr(refusal_key(outcome.message) or "rate.refused_other"))]
    if outcome.status == "not_saved":
        key = STORE_CASES.get(outcome.code or "")
        if key:
            return [("warning" if outcome.code == "daily_cap" else "info", tr(key))]
        return [("error", tr("rate.not_saved", reason=outcome.message))]
    out = []
    for code, detail in outcome.problems:
        if code == "no_choice":
            out.append(("error", tr("rate.need_choice")))
        elif code == "missing_scores":
            names = ", ".join(criterion_label(tr, n) for n in detail)
            out.append(("error", tr("rate.need_scores", criteria=names)))
        elif detail.code.startswith("pii_"):
            out.append(("error", tr("rate.comment_pii",
                                         found=", ".join(map(str, detail.params.get("found") or ())))))
        else:
            out.append(("error", problem_text(tr, detail)))
    return out
