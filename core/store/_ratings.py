"""Community ratings of model answers: queueing tasks, rating them, and what they add up to.

    store.queue_rating_tasks(campaign_id, answers, mode="both", actor_id=OPERATOR)
    task = store.rating_queue_for(campaign_id, rater_id)[0]        # blind: no model names
    store.record_rating(task.task_id, rater_id, choice="a", actor_id=rater_id)
    store.pairwise_votes(campaign_id)                              # for Bradley-Terry

Answers come from `jamii evaluate` results (`answers_for_rating.jsonl`); a task shows one
answer or two answers to one contextual item, in a random left/right order, and never the
model's name. A rating, its ledger entry by the rate card and the checks that allow it commit
in one transaction; a rater rates a task once, which the database itself enforces, so two
tabs submitting together give one rating and one entry. Readers leave out ratings by people
who have withdrawn and tasks on items whose authors have withdrawn.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from itertools import combinations
from typing import Any

import pandas as pd
from sqlalchemy import Text, and_, case, exists, func, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from jamii.core import checks, ratings
from jamii.core.records import (Campaign, Contributor, Item, ModelAnswer, Rating, RatingTask,
                                utcnow)
from jamii.core.store._base import (Forbidden, NotFound, StoreBase, StoreError, _active_consent,
                                    _actor, _get, _sha256)
from jamii.core.store._reviews import ReviewStore

MAX_ANSWER_CHARS = 20_000
"""Longer answers are left out of tasks: nobody reads them on a phone, and a runaway
generation is not what a community is asked to judge."""


@dataclass
class QueueReport:
    answers_added: int = 0
    tasks_added: int = 0
    revealing: int = 0
    """Answers left out because they name a model or its maker."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(item id as given, why) for answers that made no task."""


@dataclass
class RatingTaskView:
    """What a rater sees: the item and the answer(s), never who wrote them."""

    task_id: int
    public_id: str
    mode: str
    language: str
    dialect: str | None
    domain: str | None
    scenario: str
    persona: str
    question: str
    rubric: list[dict[str, Any]]
    answer_a: str
    answer_b: str | None
    ratings: int = 0


@dataclass
class SheetReport:
    added: int = 0
    already: int = 0
    """Rows identical to a rating already stored (a file imported twice adds nothing)."""
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(row number, what to fix) for rows left out with --skip-invalid."""


def _start_of_day() -> datetime:
    now = utcnow()
    return datetime.combine(now.date(), time.min, tzinfo=timezone.utc)


def _comment_problems(comment: Any) -> list[str]:
    """The checks item text gets: visible text, no controls, and no personal data (a
    comment is read by organisers and kept with the rating)."""
    problems = [p.message for p in checks.check_text("comment", comment, required=False) if p.blocking]
    if not problems and isinstance(comment, str) and comment.strip():
        problems += [p.message.replace("confirm only if it is not about a real person.",
                                       "a rating comment cannot be confirmed with it.")
                     for p in checks.pii_problems("comment", comment)]
    return problems


def _plain_rows(session, query) -> list[tuple]:
    """Rows as plain tuples, fetched at once from the driver's cursor: row by row through the
    ORM cost 2.5 s per 150,000 votes, 0.4 s this way (benchmarks/ratings.py)."""
    result = session.connection().execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _json(value) -> dict:
    """A JSON column read below SQLAlchemy: text on SQLite, already a dict on PostgreSQL."""
    if value is None:
        return {}
    return value if isinstance(value, dict) else json.loads(value)


_READ = object()
"""`_rating_refusal`'s default: read the consent."""


class RatingStore(StoreBase):
    # --- settings -------------------------------------------------------------------------
    def rating_settings(self, campaign_id: int) -> dict[str, Any]:
        with self.read() as s:
            return ratings.settings_of(_get(s, Campaign, campaign_id).rating_settings)

    def set_rating_settings(self, campaign_id: int, *, raters: str = "reviewers",
                            daily_cap: int | None = None, ratings_per_task: int = 3,
                            actor_id) -> dict[str, Any]:
        problems = ratings.settings_problems(raters, daily_cap, ratings_per_task)
        if problems:
            raise StoreError(" ".join(problems))
        with self.write() as s:
            _actor(s, actor_id, "change who may rate model answers")
            campaign = _get(s, Campaign, campaign_id)
            campaign.rating_settings = {"raters": raters, "daily_cap": daily_cap,
                                        "ratings_per_task": ratings_per_task}
            self._audit(s, actor_id, "ratings.settings", "campaign", campaign_id,
                        **dict(campaign.rating_settings))
            return dict(campaign.rating_settings)

    # --- who may rate ---------------------------------------------------------------------
    @staticmethod
    def _rating_refusal(session, campaign: Campaign, person: Contributor | None,
                        consent: Any = _READ) -> str | None:
        """Why this person may not rate in this campaign (a code the pages translate), or None.
        `consent`: their active consent to it when the caller has just read it."""
        if person is None or person.withdrawn_at is not None:
            return "withdrawn"
        policy = ratings.settings_of(campaign.rating_settings)["raters"]
        roles = set(person.roles or ())
        if roles & {"reviewer", "organiser"}:
            return None
        if policy == "reviewers":
            return "reviewers_only"
        if consent is _READ:
            consent = _active_consent(session, person.id, campaign.id)
        if consent is None or not (consent.scopes or {}).get(ratings.RATING_SCOPE):
            return "no_rating_consent"
        return None

    def may_rate(self, campaign_id: int, person_id: int) -> str | None:
        """None when the person may rate here; else 'withdrawn', 'reviewers_only' (the
        campaign lets only reviewers rate) or 'no_rating_consent' (their consent does not
        include rating)."""
        with self.read() as s:
            return self._rating_refusal(s, _get(s, Campaign, campaign_id), s.get(Contributor, person_id))

    # --- queueing -------------------------------------------------------------------------
    def queue_rating_tasks(self, campaign_id: int, answers: list[dict[str, Any]], *,
                           mode: str = "both", per_item: int | None = None,
                           keep_revealing: bool = False, seed: int | None = None,
                           actor_id) -> QueueReport:
        """Store the answers and make the tasks they allow; what was queued before is kept.

        `answers` are rows of `answers_for_rating.jsonl`: item_id (the release's public id),
        item_version, model_id, answer, dataset, run. Pairs join answers of two different
        models to the same item version on the same dataset, and never two identical texts.
        `per_item` caps the tasks of each mode per item, counting those made earlier, so
        queuing the same folders again adds nothing.
        """
        if mode not in ratings.QUEUE_MODES:
            raise StoreError(f"Mode must be one of {', '.join(ratings.QUEUE_MODES)}, not {mode!r}.")
        if per_item is not None and (isinstance(per_item, bool) or not isinstance(per_item, int)
                                     or per_item < 1):
            raise StoreError("--per-item must be a whole number of 1 or more.")
        rng = random.Random(seed if seed is not None else secrets.randbits(64))
        report = QueueReport()
        with self.write() as s:
            _actor(s, actor_id, "queue model answers for rating")
            _get(s, Campaign, campaign_id)
            by_item: dict[tuple[int, int, str | None], list[ModelAnswer]] = {}
            for row in answers:
                answer = self._store_answer(s, campaign_id, row, report, keep_revealing)
                if answer is not None:
                    by_item.setdefault((answer.item_id, answer.item_version, answer.dataset),
                                       []).append(answer)
            for (item_id, _version, _dataset), found in by_item.items():
                existing = {m: s.scalar(select(func.count()).where(
                    RatingTask.campaign_id == campaign_id, RatingTask.item_id == item_id,
                    RatingTask.mode == m, RatingTask.gold.is_(None))) or 0 for m in ratings.MODES}
                for m in ratings.QUEUE_MODES[mode]:
                    room = None if per_item is None else max(0, per_item - existing[m])
                    report.tasks_added += self._make_tasks(s, campaign_id, item_id, m, found, room, rng)
            self._audit(s, actor_id, "ratings.queue", "campaign", campaign_id,
                        **{"answers": report.answers_added, "tasks": report.tasks_added,
                         "revealing": report.revealing, "skipped": len(report.skipped), "mode": mode})
        return report

    @staticmethod
    def _store_answer(s, campaign_id: int, row: dict[str, Any], report: QueueReport,
                      keep_revealing: bool) -> ModelAnswer | None:
        public_id = str(row.get("item_id") or "")
        answer, model_id = row.get("answer"), row.get("model_id")
        if not isinstance(answer, str) or not isinstance(model_id, str) or not model_id.strip():
            report.skipped.append((public_id, "the row has no answer text or no model id"))
            return None
        if "\x00" in answer or len(answer) > MAX_ANSWER_CHARS:
            report.skipped.append((public_id, "the answer holds a NUL character or is longer than "
                                              f"{MAX_ANSWER_CHARS} characters"))
            return None
        if ratings.is_jamii_answer(model_id):
            report.skipped.append((public_id, "model ids starting with 'jamii:' are jamii's own gold answers"))
            return None
        item = s.scalar(select(Item).where(Item.public_id == public_id, Item.campaign_id == campaign_id))
        if item is None:
            report.skipped.append((public_id, "no item with this id in this campaign"))
            return None
        if item.kind != "contextual":
            report.skipped.append((public_id, f"a {item.kind} item: only contextual items are rated"))
            return None
        version = row.get("item_version")
        if version != item.version:
            report.skipped.append((public_id, f"the answer is to version {version} of the item, which "
                                              f"is now at version {item.version}: evaluate the new release"))
            return None
        dataset = str(row["dataset"])[:200] if row.get("dataset") else None
        digest = _sha256(answer)
        model_id = model_id[:300]
        found = s.scalar(select(ModelAnswer).where(
            ModelAnswer.item_id == item.id, ModelAnswer.item_version == version,
            ModelAnswer.model_id == model_id, ModelAnswer.answer_sha256 == digest))
        if found is None:
            found = ModelAnswer(item_id=item.id, item_version=version, model_id=model_id, answer=answer,
                                answer_sha256=digest, run_id=(str(row.get("run") or "")[:120] or None),
                                dataset=dataset, reveals_model=ratings.reveals_model(answer, model_id))
            s.add(found)
            s.flush()
            report.answers_added += 1
        if found.reveals_model and not keep_revealing:
            report.revealing += 1
            return None
        return found

    @staticmethod
    def _make_tasks(s, campaign_id: int, item_id: int, mode: str, answers: list[ModelAnswer],
                    room: int | None, rng: random.Random) -> int:
        if mode == "direct":
            candidates = [(a, None) for a in answers]
        else:
            candidates = [(a, b) for a, b in combinations(answers, 2)
                          if a.model_id != b.model_id and a.answer_sha256 != b.answer_sha256]
        rng.shuffle(candidates)
        made = 0
        for a, b in candidates:
            if room is not None and made >= room:
                break
            key = ratings.task_key(mode, a.id, b.id if b else None)
            if s.scalar(select(RatingTask.id).where(RatingTask.campaign_id == campaign_id,
                                                    RatingTask.task_key == key)):
                continue
            if b is not None and rng.random() < 0.5:
                a, b = b, a
            s.add(RatingTask(public_id="rt-" + secrets.token_hex(5), campaign_id=campaign_id,
                             mode=mode, item_id=item_id, answer_a_id=a.id,
                             answer_b_id=b.id if b else None, task_key=key))
            made += 1
        s.flush()
        return made

    def add_gold_tasks(self, campaign_id: int, count: int, *, actor_id, seed: int | None = None) -> int:
        """Gold pairs: an accepted item's own reference answer against an off-language one
        (another language's reference answer) or an empty one. A careful rater always picks
        the reference; someone clicking at random does so half the time."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise StoreError("The number of gold tasks must be a whole number of 1 or more.")
        rng = random.Random(seed if seed is not None else secrets.randbits(64))
        with self.write() as s:
            _actor(s, actor_id, "add gold rating tasks")
            used = select(RatingTask.item_id).where(RatingTask.campaign_id == campaign_id,
                                                    RatingTask.gold.is_not(None))
            items = [i for i in s.scalars(
                select(Item).join(Contributor, Contributor.id == Item.author_id)
                .where(Item.campaign_id == campaign_id, Item.kind == "contextual",
                       Item.status == "accepted", Contributor.withdrawn_at.is_(None),
                       Item.id.not_in(used)).order_by(Item.id))
                if (i.content.get("reference_answers") or [""])[0].strip()]
            if not items:
                raise StoreError("No accepted contextual item with a reference answer is left to make "
                                 "a gold task from.")
            rng.shuffle(items)
            made = 0
            for item in items[:count]:
                reference = item.content["reference_answers"][0]
                others = [o for o in items if o.language != item.language]
                decoy = others[rng.randrange(len(others))].content["reference_answers"][0] if others else ""
                pair = []
                for model, text in ((ratings.GOLD_MODEL, reference), (ratings.DECOY_MODEL, decoy)):
                    answer = ModelAnswer(item_id=item.id, item_version=item.version, model_id=model,
                                         answer=text, answer_sha256=_sha256(text))
                    s.add(answer)
                    pair.append(answer)
                s.flush()
                gold = "a"
                if rng.random() < 0.5:
                    pair.reverse()
                    gold = "b"
                s.add(RatingTask(public_id="rt-" + secrets.token_hex(5), campaign_id=campaign_id,
                                 mode="pair", item_id=item.id, answer_a_id=pair[0].id,
                                 answer_b_id=pair[1].id, gold=gold,
                                 task_key=ratings.task_key("pair", pair[0].id, pair[1].id)))
                made += 1
            self._audit(s, actor_id, "ratings.gold", "campaign", campaign_id, tasks=made)
        return made

    def mark_gold(self, task_id: int, expected: str | None, *, actor_id) -> None:
        """Mark a pair task as gold with the choice a careful rater makes ('a' or 'b'), or
        unmark it (None)."""
        if expected not in ("a", "b", None):
            raise StoreError("A gold task's expected choice is 'a' or 'b'.")
        with self.write() as s:
            _actor(s, actor_id, "mark gold rating tasks")
            task = _get(s, RatingTask, task_id)
            if task.mode != "pair":
                raise StoreError("Only a pair of answers can be a gold task.")
            task.gold = expected
            self._audit(s, actor_id, "ratings.mark_gold", "rating_task", task.id, gold=expected)

    # --- rating ---------------------------------------------------------------------------
    def _open_tasks(self, campaign_id: int, rater_id: int | None, languages=None, exclude=()):
        """Tasks still wanting ratings (fewer than the campaign asks for), on items whose
        authors have not withdrawn, that this rater has not rated, fewest ratings first."""
        with self.read() as s:
            wanted = ratings.settings_of(_get(s, Campaign, campaign_id).rating_settings)["ratings_per_task"]
        counted = (select(Rating.task_id, func.count().label("n"))
                   .join(Contributor, Contributor.id == Rating.rater_id)
                   .where(Contributor.withdrawn_at.is_(None))
                   .group_by(Rating.task_id).subquery())
        n = func.coalesce(counted.c.n, 0)
        author = aliased(Contributor)
        q = (select(RatingTask, Item, n)
             .join(Item, Item.id == RatingTask.item_id)
             .join(author, author.id == Item.author_id)
             .outerjoin(counted, counted.c.task_id == RatingTask.id)
             .where(RatingTask.campaign_id == campaign_id, author.withdrawn_at.is_(None), n < wanted))
        if rater_id is not None:
            q = q.where(~exists().where(and_(Rating.task_id == RatingTask.id, Rating.rater_id == rater_id)))
        if languages:
            q = q.where(Item.language.in_(list(languages)))
        exclude = [int(i) for i in exclude or ()]
        if exclude:
            q = q.where(RatingTask.id.not_in(exclude))
        return q.order_by(n, RatingTask.id)

    def rating_queue_for(self, campaign_id: int, rater_id: int, *, languages=None, exclude=(),
                         limit: int = 1) -> list[RatingTaskView]:
        """The next tasks for this rater (none when they may not rate here)."""
        if self.may_rate(campaign_id, rater_id) is not None:
            return []
        return self._views(self._open_tasks(campaign_id, rater_id, languages, exclude).limit(limit))

    def open_rating_count(self, campaign_id: int, rater_id: int, *, languages=None, exclude=(),
                          cap: int | None = 100) -> int:
        q = self._open_tasks(campaign_id, rater_id, languages, exclude).with_only_columns(RatingTask.id)
        if cap:
            q = q.limit(cap)
        with self.read() as s:
            return s.scalar(select(func.count()).select_from(q.subquery())) or 0

    def open_rating_tasks(self, campaign_id: int) -> list[RatingTaskView]:
        """Every task still wanting ratings, for a printed or spreadsheet sheet."""
        return self._views(self._open_tasks(campaign_id, None))

    def _views(self, q) -> list[RatingTaskView]:
        with self.read() as s:
            rows = s.execute(q).all()
            ids = {i for task, _, _ in rows for i in (task.answer_a_id, task.answer_b_id) if i}
            texts = dict(s.execute(select(ModelAnswer.id, ModelAnswer.answer)
                                   .where(ModelAnswer.id.in_(ids))).all()) if ids else {}
        return [RatingTaskView(
            task_id=task.id, public_id=task.public_id, mode=task.mode, language=item.language,
            dialect=item.dialect, domain=item.domain, scenario=item.content.get("scenario") or "",
            persona=item.content.get("persona") or "", question=item.content.get("question") or "",
            rubric=list(item.content.get("rubric") or []), answer_a=texts.get(task.answer_a_id, ""),
            answer_b=texts.get(task.answer_b_id) if task.answer_b_id else None, ratings=int(n))
            for task, item, n in rows]

    def record_rating(self, task_id: int, rater_id: int, *, choice: str | None = None,
                      scores: dict[str, int] | None = None, safety_flag: bool = False,
                      comment: str = "", actor_id) -> Rating:
        """A rater's own rating from the collector, with its ledger entry."""
        with self.write() as s:
            _actor(s, actor_id, "rate model answers", roles=(), self_id=rater_id)
            rating, problems, code = self._add_rating(
                s, _get(s, RatingTask, task_id), rater_id,
                {"choice": choice, "scores": scores, "safety_flag": safety_flag, "comment": comment},
                source="collector")
            if problems:
                raise StoreError(" ".join(problems), code=code)
        return rating

    def _add_rating(self, s, task: RatingTask, rater_id: int, given: dict[str, Any], *,
                    source: str) -> tuple[Rating | None, list[str], str | None]:
        """Check and add one rating inside the caller's transaction: (rating, [], None) or
        (None, what to fix, the case's code: closed, already, daily_cap or None). An identical
        rating already stored gives (that rating, [], None)."""
        campaign = s.get(Campaign, task.campaign_id)
        person = s.get(Contributor, rater_id)
        refusal = self._rating_refusal(s, campaign, person)
        if refusal is not None:
            messages = {"withdrawn": "This person has withdrawn or does not exist and cannot rate.",
                        "reviewers_only": "In this campaign only reviewers and organisers rate model answers.",
                        "no_rating_consent": "Rating needs the consent to rate model answers; accept the "
                                             "current consent text with rating first."}
            raise Forbidden(messages[refusal])
        item = s.get(Item, task.item_id)
        author = s.get(Contributor, item.author_id)
        if author is None or author.withdrawn_at is not None:
            return None, ["This task is no longer open: its item was withdrawn."], "closed"
        problems: list[str] = []
        choice, scores = given.get("choice"), given.get("scores")
        if task.mode == "pair":
            problems += ratings.choice_problems(choice)
            if scores:
                problems.append("A pair of answers is rated with a choice, not scores.")
            scores = {}
        else:
            problems += ratings.score_problems(scores, ratings.criteria_of(item.content.get("rubric")))
            if choice is not None:
                problems.append("A single answer is rated with scores, not a choice.")
        safety = given.get("safety_flag", False)
        if not isinstance(safety, bool):
            problems.append("The safety flag is yes or no.")
        comment = given.get("comment") or ""
        problems += _comment_problems(comment)
        if problems:
            return None, problems, None
        comment = checks.normalise_text(comment) if comment else ""
        before = s.scalar(select(Rating).where(Rating.task_id == task.id, Rating.rater_id == rater_id))
        if before is not None:
            same = (before.preferred == choice and (before.scores or {}) == (scores or {})
                    and before.safety_flag == safety and before.comment == comment)
            if same and source != "collector":
                return before, [], None
            return None, ["This task has already been rated by this rater" +
                          ("" if same else " with a different answer") + "; take the next one."], "already"
        cap = ratings.settings_of(campaign.rating_settings)["daily_cap"]
        if cap and source == "collector":
            today = s.scalar(select(func.count()).where(Rating.rater_id == rater_id,
                                                        Rating.created_at >= _start_of_day())) or 0
            if today >= cap:
                return None, [f"You have given {today} ratings today, this campaign's daily limit; "
                              "thank you, come back tomorrow."], "daily_cap"
        rating = Rating(task_id=task.id, rater_id=rater_id, answer_id=task.answer_a_id,
                        other_answer_id=task.answer_b_id, preferred=choice if task.mode == "pair" else None,
                        scores=scores or {}, safety_flag=safety, comment=comment, source=source)
        try:
            with s.begin_nested():
                s.add(rating)
                s.flush()
        except IntegrityError:
            return None, ["This task has already been rated by this rater; take the next one."], "already"
        ReviewStore._earn(s, campaign, rater_id, "rating", f"rating:{rating.id}", item)
        return rating, [], None

    def record_sheet_ratings(self, campaign_id: int, rows: list[dict[str, Any]], *, actor_id,
                             skip_invalid: bool = False) -> SheetReport:
        """Ratings filled in on a printed or spreadsheet sheet, entered by an organiser.

        Each row: {"row": n, "task": blind task id, "rater": pseudonym, "choice", "scores",
        "safety_flag", "comment"}. Every row is checked; unless `skip_invalid`, one bad row
        refuses the whole sheet (nothing written) with every bad row listed. A row identical to
        a stored rating adds nothing, so importing a file twice is harmless.
        """
        report = SheetReport()
        with self.write() as s:
            _actor(s, actor_id, "enter ratings from a sheet")
            _get(s, Campaign, campaign_id)
            for row in rows:
                n = row.get("row", 0)
                task = s.scalar(select(RatingTask).where(RatingTask.public_id == str(row.get("task") or ""),
                                                         RatingTask.campaign_id == campaign_id))
                if task is None:
                    report.problems.append((n, f"no task {row.get('task')!r} in this campaign"))
                    continue
                person = s.scalar(select(Contributor).where(Contributor.pseudonym == str(row.get("rater") or "")))
                if person is None:
                    report.problems.append((n, f"no rater with pseudonym {row.get('rater')!r}"))
                    continue
                try:
                    before = s.scalar(select(Rating.id).where(Rating.task_id == task.id,
                                                              Rating.rater_id == person.id))
                    rating, problems, _ = self._add_rating(s, task, person.id, row, source="sheet")
                except Forbidden as exc:
                    rating, problems = None, [str(exc)]
                if problems:
                    report.problems.append((n, " ".join(problems)))
                elif before is not None and rating is not None and rating.id == before:
                    report.already += 1
                else:
                    report.added += 1
            if report.problems and not skip_invalid:
                listed = "; ".join(f"row {n}: {why}" for n, why in report.problems)
                raise StoreError(f"The sheet was not imported ({len(report.problems)} rows to fix, "
                                 f"nothing was saved): {listed}")
            self._audit(s, actor_id, "ratings.import", "campaign", campaign_id,
                        **{"added": report.added, "already": report.already,
                         "skipped": len(report.problems)})
        return report

    # --- what ratings add up to ---------------------------------------------------------------
    def _counted(self, campaign_id: int):
        """Ratings that count: by people who have not withdrawn, on items whose authors have
        not withdrawn."""
        rater = aliased(Contributor)
        author = aliased(Contributor)
        return (lambda *cols: select(*cols)
                .join(RatingTask, RatingTask.id == Rating.task_id)
                .join(Item, Item.id == RatingTask.item_id)
                .join(rater, rater.id == Rating.rater_id)
                .join(author, author.id == Item.author_id)
                .where(RatingTask.campaign_id == campaign_id, rater.withdrawn_at.is_(None),
                       author.withdrawn_at.is_(None))), rater

    def pairwise_votes(self, campaign_id: int, *, gold: bool = False) -> pd.DataFrame:
        """One row per pairwise rating: task, rater, model_a, model_b, preferred, language,
        dialect, domain, dataset (and gold, the expected choice). Gold tasks only when `gold`
        (they measure raters, never models)."""
        counted, _ = self._counted(campaign_id)
        a, b = aliased(ModelAnswer), aliased(ModelAnswer)
        q = (counted(Rating.task_id, Rating.rater_id, a.model_id, b.model_id, Rating.preferred,
                     Item.language, Item.dialect, Item.domain, a.dataset, RatingTask.gold)
             .join(a, a.id == RatingTask.answer_a_id).join(b, b.id == RatingTask.answer_b_id)
             .where(RatingTask.mode == "pair",
                    RatingTask.gold.is_not(None) if gold else RatingTask.gold.is_(None)))
        with self.read() as s:
            rows = _plain_rows(s, q)
        return pd.DataFrame(rows, columns=["task", "rater", "model_a", "model_b", "preferred", "language",
                                           "dialect", "domain", "dataset", "gold"])

    def direct_ratings(self, campaign_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Direct assessments: (scores: one row per rating and criterion, safety: one row per
        rating), each with model, rating, rater, task, language, dialect, domain, dataset."""
        counted, _ = self._counted(campaign_id)
        # the scores as the database's text: the driver-level rows skip SQLAlchemy's JSON
        # processing (PostgreSQL's driver still hands back a dict)
        q = (counted(Rating.id, Rating.rater_id, Rating.task_id, ModelAnswer.model_id,
                     type_coerce(Rating.scores, Text),
                     Rating.safety_flag, Item.language, Item.dialect, Item.domain, ModelAnswer.dataset)
             .join(ModelAnswer, ModelAnswer.id == RatingTask.answer_a_id)
             .where(RatingTask.mode == "direct"))
        with self.read() as s:
            rows = _plain_rows(s, q)
        common = ["rating", "rater", "task", "model", "language", "dialect", "domain", "dataset"]
        safety = pd.DataFrame([(r[0], r[1], r[2], r[3], r[6], r[7], r[8], r[9], bool(r[5])) for r in rows],
                              columns=[*common, "safety_flag"])
        scores = pd.DataFrame([(r[0], r[1], r[2], r[3], r[6], r[7], r[8], r[9], str(c), int(v))
                               for r in rows for c, v in _json(r[4]).items()],
                              columns=[*common, "criterion", "score"])
        return scores, safety

    def ratings_stamp(self, campaign_id: int) -> tuple[int, ...]:
        """What changes when a rating is added or stops counting, or a task is queued or made
        gold: the campaign's ratings and the newest one's id, how many people have withdrawn,
        the campaign's tasks and gold tasks. Indexed counts only, so a dashboard can ask on
        every view whether what it computed is still current."""
        with self.read() as s:
            n, newest = s.execute(select(func.count(), func.max(Rating.id))
                                  .join(RatingTask, RatingTask.id == Rating.task_id)
                                  .where(RatingTask.campaign_id == campaign_id)).one()
            withdrawn = s.scalar(select(func.count()).select_from(Contributor)
                                 .where(Contributor.withdrawn_at.is_not(None)))
            tasks, gold = s.execute(select(func.count(), func.count(RatingTask.gold))
                                    .where(RatingTask.campaign_id == campaign_id)).one()
        return int(n or 0), int(newest or 0), int(withdrawn or 0), int(tasks or 0), int(gold or 0)

    def rated_values(self, campaign_id: int) -> dict[str, list[str]]:
        """The dataset versions, languages, dialects and domains of the campaign's rated tasks
        (items of withdrawn authors left out): the leaderboard's filter choices, without
        reading every rating."""
        author = aliased(Contributor)
        q = (select(Item.language, Item.dialect, Item.domain, ModelAnswer.dataset).distinct()
             .select_from(RatingTask).join(Item, Item.id == RatingTask.item_id).join(author, author.id == Item.author_id)
             .join(ModelAnswer, ModelAnswer.id == RatingTask.answer_a_id)
             .where(RatingTask.campaign_id == campaign_id, author.withdrawn_at.is_(None),
                    exists().where(Rating.task_id == RatingTask.id)))
        with self.read() as s:
            combos = s.execute(q).all()
        names = ("language", "dialect", "domain", "dataset")
        return {name: sorted({c[i] for c in combos if c[i]}) for i, name in enumerate(names)}

    def rating_progress(self, campaign_id: int) -> list[dict[str, Any]]:
        """Per task type and language: tasks, tasks with a rating, tasks with every rating
        wanted, and ratings (gold tasks counted apart)."""
        wanted = self.rating_settings(campaign_id)["ratings_per_task"]
        counted, _ = self._counted(campaign_id)
        per_task = counted(Rating.task_id, func.count().label("n")).group_by(Rating.task_id).subquery()
        n = func.coalesce(per_task.c.n, 0)
        # gold tasks are one group whichever side holds the reference
        kind = case((RatingTask.gold.is_not(None), "gold"), else_=RatingTask.mode).label("kind")
        q = (select(kind, Item.language, func.count(),
                    func.sum(case((n > 0, 1), else_=0)), func.sum(case((n >= wanted, 1), else_=0)),
                    func.sum(n))
             .join(Item, Item.id == RatingTask.item_id)
             .outerjoin(per_task, per_task.c.task_id == RatingTask.id)
             .where(RatingTask.campaign_id == campaign_id)
             .group_by(kind, Item.language)
             .order_by(kind, Item.language))
        with self.read() as s:
            rows = s.execute(q).all()
        return [{"mode": mode, "language": lang, "tasks": int(t), "rated": int(r or 0),
                 "complete": int(c or 0), "ratings": int(k or 0)} for mode, lang, t, r, c, k in rows]

    def gold_results(self, campaign_id: int) -> list[dict[str, Any]]:
        """Per rater (pseudonym): gold tasks rated and how many got the careful choice. For
        organisers only: it is about individual raters."""
        counted, rater = self._counted(campaign_id)
        correct = case((Rating.preferred == RatingTask.gold, 1), else_=0)
        q = (counted(rater.pseudonym, func.count(), func.sum(correct))
             .where(RatingTask.gold.is_not(None)).group_by(rater.pseudonym).order_by(rater.pseudonym))
        with self.read() as s:
            rows = s.execute(q).all()
        return [{"rater": p, "gold_rated": int(n), "gold_correct": int(c or 0)} for p, n, c in rows]

    def rating_task_models(self, campaign_id: int) -> dict[str, tuple[str, str | None]]:
        """Blind task id -> (model of A, model of B): for organisers checking a sheet, never
        for raters."""
        a, b = aliased(ModelAnswer), aliased(ModelAnswer)
        q = (select(RatingTask.public_id, a.model_id, b.model_id)
             .join(a, a.id == RatingTask.answer_a_id).outerjoin(b, b.id == RatingTask.answer_b_id)
             .where(RatingTask.campaign_id == campaign_id))
        with self.read() as s:
            return {p: (ma, mb) for p, ma, mb in s.execute(q).all()}


__all__ = ["RatingStore", "QueueReport", "RatingTaskView", "SheetReport", "NotFound"]
