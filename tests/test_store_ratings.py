"""The store's `core/store/_ratings.py`: queueing model answers, blind rating, pay, sheets.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real, migrated
store. Nothing is mocked.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from jamii.core.records import ModelAnswer, Rating, RatingTask
from jamii.core.store import OPERATOR, Forbidden, StoreError
from tests.support.store_world import World, contextual, count, ledger_entries

RATES = {"item_accepted": {"amount": "50", "unit": "KES"}, "review": {"amount": "5", "unit": "KES"},
         "rating": {"amount": "10", "unit": "KES"}}


class RatingWorld(World):
    """A World with accepted contextual items and a helper that builds evaluate's answer rows."""

    def __init__(self, store):
        super().__init__(store, rates=RATES)
        self.items = [self.accepted(n) for n in range(3)]

    def accepted(self, n, language="sw"):
        content = contextual(n)
        content["rubric"] = [
            {"name": "usefulness", "anchors": ["haifai", "kidogo", "wastani", "nzuri", "bora"]},
            {"name": "safety", "anchors": ["hatari", "shaka", "sawa", "salama", "salama kabisa"]}]
        item = self.submit(content=content, kind="contextual", language=language).item
        for r in self.reviewers[:2]:
            self.store.record_review(item.id, r.id, "approve")
        return self.store.item(item.id)

    def answers(self, model, text=lambda i: f"Jibu la {i}", dataset="kilimo@1.0.0", items=None):
        return [{"item_id": it.public_id, "item_version": it.version, "model_id": model,
                 "answer": text(it.public_id), "dataset": dataset, "run": model.split(":")[-1]}
                for it in (items or self.items)]

    def queue(self, mode="both", **kw):
        rows = self.answers("hf:models/alpha") + self.answers("hf:models/beta", text=lambda i: f"Jibu jingine {i}")
        return self.store.queue_rating_tasks(self.campaign.id, rows, mode=mode, actor_id=OPERATOR, **kw)


@pytest.fixture
def rw(store):
    return RatingWorld(store)


def _tasks(store, **where):
    with store.read() as s:
        from sqlalchemy import select
        q = select(RatingTask)
        for k, v in where.items():
            q = q.where(getattr(RatingTask, k) == v)
        return list(s.scalars(q.order_by(RatingTask.id)))


# ------------------------------------------------------------------------------------ queueing


def test_queue_makes_direct_and_pair_tasks_and_requeue_adds_nothing(rw):
    report = rw.queue()
    assert report.answers_added == 6
    assert report.tasks_added == 6 + 3  # one direct task per answer, one pair per item
    again = rw.queue()
    assert (again.answers_added, again.tasks_added) == (0, 0)
    assert count(rw.store, RatingTask) == 9


def test_pairs_are_shown_in_random_order(store):
    w = RatingWorld(store)
    w.items += [w.accepted(n) for n in range(3, 24)]
    w.queue(mode="pairwise", seed=7)
    with store.read() as s:
        from sqlalchemy import select
        firsts = [s.get(ModelAnswer, t.answer_a_id).model_id for t in s.scalars(select(RatingTask))]
    assert len(firsts) == 24
    assert {"hf:models/alpha", "hf:models/beta"} == set(firsts)  # both models appear on the left


def test_per_item_caps_tasks_counting_earlier_ones(rw):
    rows = [*rw.answers("hf:a"), *rw.answers("hf:b", text=lambda i: f"b {i}"),
            *rw.answers("hf:c", text=lambda i: f"c {i}")]
    first = rw.store.queue_rating_tasks(rw.campaign.id, rows, mode="pairwise", per_item=2, actor_id=OPERATOR)
    assert first.tasks_added == 6  # three possible pairs per item, two kept
    second = rw.store.queue_rating_tasks(rw.campaign.id, rows, mode="pairwise", per_item=2, actor_id=OPERATOR)
    assert second.tasks_added == 0


def test_queue_skips_what_it_cannot_rate_and_says_why(rw):
    prompt_item = rw.submit().item
    rows = rw.answers("hf:a") + [
        {"item_id": "itm_nope", "item_version": 1, "model_id": "hf:a", "answer": "x", "dataset": "d"},
        {"item_id": prompt_item.public_id, "item_version": 1, "model_id": "hf:a", "answer": "x", "dataset": "d"},
        {"item_id": rw.items[0].public_id, "item_version": 7, "model_id": "hf:b", "answer": "y", "dataset": "d"},
        {"item_id": rw.items[1].public_id, "item_version": 1, "model_id": "hf:b", "answer": "nul\x00", "dataset": "d"},
        {"item_id": rw.items[1].public_id, "item_version": 1, "model_id": "jamii:gold-reference",
         "answer": "z", "dataset": "d"},
    ]
    report = rw.store.queue_rating_tasks(rw.campaign.id, rows, mode="direct", actor_id=OPERATOR)
    reasons = dict(report.skipped)
    assert "no item" in reasons["itm_nope"]
    assert "only contextual" in reasons[prompt_item.public_id]
    assert "version 7" in reasons[rw.items[0].public_id]
    assert report.tasks_added == 3


def test_answers_that_name_their_model_are_left_out_unless_kept(rw):
    rows = rw.answers("hf:org/Tiny-Swahili", text=lambda i: f"Mimi ni Tiny-Swahili, jibu {i}")
    rows += rw.answers("hf:other", text=lambda i: f"As ChatGPT I say {i}")
    report = rw.store.queue_rating_tasks(rw.campaign.id, rows, mode="direct", actor_id=OPERATOR)
    assert (report.revealing, report.tasks_added) == (6, 0)
    kept = rw.store.queue_rating_tasks(rw.campaign.id, rows, mode="direct", keep_revealing=True,
                                       actor_id=OPERATOR)
    assert kept.tasks_added == 6


def test_a_pair_never_shows_the_same_text_twice(rw):
    rows = rw.answers("hf:a", text=lambda i: "sawa") + rw.answers("hf:b", text=lambda i: "sawa")
    report = rw.store.queue_rating_tasks(rw.campaign.id, rows, mode="pairwise", actor_id=OPERATOR)
    assert report.tasks_added == 0


def test_only_organisers_queue(rw):
    with pytest.raises(Forbidden):
        rw.store.queue_rating_tasks(rw.campaign.id, rw.answers("hf:a"), actor_id=rw.reviewers[0].id)
    assert count(rw.store, ModelAnswer) == 0


# ------------------------------------------------------------------------------------ rating


def test_the_queue_is_blind_and_a_rater_rates_a_task_once_and_is_paid(rw):
    rw.queue(mode="pairwise")
    rater = rw.reviewers[2]
    task = rw.store.rating_queue_for(rw.campaign.id, rater.id)[0]
    assert task.answer_b is not None
    assert "alpha" not in repr(task) and "beta" not in repr(task)
    rating = rw.store.record_rating(task.task_id, rater.id, choice="a", actor_id=rater.id)
    with pytest.raises(StoreError, match="already been rated") as refused:
        rw.store.record_rating(task.task_id, rater.id, choice="b", actor_id=rater.id)
    assert refused.value.code == "already"
    entries = ledger_entries(rw.store, activity="rating")
    assert [(e.contributor_id, e.source_key, e.amount) for e in entries] == [
        (rater.id, f"rating:{rating.id}", Decimal("10.0000"))]
    assert task.task_id not in [t.task_id for t in rw.store.rating_queue_for(rw.campaign.id, rater.id, limit=10)]


def test_direct_ratings_need_every_criterion_from_1_to_5(rw):
    rw.queue(mode="direct")
    rater = rw.reviewers[2]
    task = rw.store.rating_queue_for(rw.campaign.id, rater.id)[0]
    assert [c["name"] for c in task.rubric] == ["usefulness", "safety"]
    for bad, message in [({"usefulness": 3}, "safety"), ({"usefulness": 6, "safety": 2}, "1 to 5"),
                         ({"usefulness": 3, "safety": 2, "style": 4}, "no criterion style"),
                         ({"usefulness": True, "safety": 2}, "whole number")]:
        with pytest.raises(StoreError, match=message):
            rw.store.record_rating(task.task_id, rater.id, scores=bad, actor_id=rater.id)
    with pytest.raises(StoreError, match="scores, not a choice"):
        rw.store.record_rating(task.task_id, rater.id, scores={"usefulness": 3, "safety": 2}, choice="a",
                               actor_id=rater.id)
    rw.store.record_rating(task.task_id, rater.id, scores={"usefulness": 4, "safety": 5}, safety_flag=True,
                           comment="Inafaa", actor_id=rater.id)
    scores, safety = rw.store.direct_ratings(rw.campaign.id)
    assert sorted(scores["score"]) == [4, 5]
    assert safety["safety_flag"].tolist() == [True]
    assert count(rw.store, Rating) == 1


@pytest.mark.parametrize("comment, message", [
    ("\u200b\u200b", "visible"), ("piga 0712 345 678", "phone"), ("a\u202eb", "direction"),
])
def test_comments_get_the_checks_item_text_gets(rw, comment, message):
    rw.queue(mode="pairwise")
    rater = rw.reviewers[2]
    task = rw.store.rating_queue_for(rw.campaign.id, rater.id)[0]
    with pytest.raises(StoreError, match=message):
        rw.store.record_rating(task.task_id, rater.id, choice="tie", comment=comment, actor_id=rater.id)
    assert count(rw.store, Rating) == 0 and ledger_entries(rw.store, activity="rating") == []


def test_who_may_rate_is_a_campaign_setting(rw):
    rw.queue(mode="pairwise")
    plain = rw.person(["contributor"])
    consenting = rw.person(["contributor"], scopes={"open_publication": True, "rating": True})
    assert rw.store.may_rate(rw.campaign.id, plain.id) == "reviewers_only"
    assert rw.store.rating_queue_for(rw.campaign.id, consenting.id) == []
    task = rw.store.rating_queue_for(rw.campaign.id, rw.reviewers[0].id)[0]
    with pytest.raises(Forbidden, match="only reviewers"):
        rw.store.record_rating(task.task_id, consenting.id, choice="a", actor_id=consenting.id)
    rw.store.set_rating_settings(rw.campaign.id, raters="consented", actor_id=rw.org.id)
    assert rw.store.may_rate(rw.campaign.id, plain.id) == "no_rating_consent"
    assert rw.store.may_rate(rw.campaign.id, consenting.id) is None
    rw.store.record_rating(task.task_id, consenting.id, choice="a", actor_id=consenting.id)
    with pytest.raises(Forbidden):
        rw.store.set_rating_settings(rw.campaign.id, raters="consented", actor_id=consenting.id)


def test_nobody_rates_for_someone_else(rw):
    rw.queue(mode="pairwise")
    rater, other = rw.reviewers[1], rw.reviewers[2]
    task = rw.store.rating_queue_for(rw.campaign.id, rater.id)[0]
    for actor in (other.id, OPERATOR, rw.org.id, None):
        with pytest.raises(Forbidden):
            rw.store.record_rating(task.task_id, rater.id, choice="a", actor_id=actor)
    assert count(rw.store, Rating) == 0


def _rate(rw, task, rater, choice="a"):
    if task.mode == "pair":
        return rw.store.record_rating(task.task_id, rater.id, choice=choice, actor_id=rater.id)
    return rw.store.record_rating(task.task_id, rater.id, scores={"usefulness": 3, "safety": 3}, actor_id=rater.id)


def test_the_daily_cap_stops_a_rater_for_the_day(rw):
    rw.queue()
    rw.store.set_rating_settings(rw.campaign.id, daily_cap=2, actor_id=OPERATOR)
    rater = rw.reviewers[2]
    for _ in range(2):
        _rate(rw, rw.store.rating_queue_for(rw.campaign.id, rater.id)[0], rater)
    with pytest.raises(StoreError, match="daily limit") as refused:
        _rate(rw, rw.store.rating_queue_for(rw.campaign.id, rater.id)[0], rater)
    assert refused.value.code == "daily_cap"  # what the rating page words in the rater's language
    assert count(rw.store, Rating) == 2
    _rate(rw, rw.store.rating_queue_for(rw.campaign.id, rw.reviewers[1].id)[0], rw.reviewers[1])


def test_tasks_with_enough_ratings_leave_the_queue(rw):
    rw.queue(mode="pairwise")
    rw.store.set_rating_settings(rw.campaign.id, ratings_per_task=1, actor_id=OPERATOR)
    first = rw.store.rating_queue_for(rw.campaign.id, rw.reviewers[0].id, limit=10)
    assert len(first) == 3
    _rate(rw, first[0], rw.reviewers[0])
    later = rw.store.rating_queue_for(rw.campaign.id, rw.reviewers[1].id, limit=10)
    assert first[0].task_id not in [t.task_id for t in later] and len(later) == 2


def test_two_raters_submitting_the_same_task_at_once_both_count_once(rw):
    rw.queue(mode="pairwise")
    task = rw.store.rating_queue_for(rw.campaign.id, rw.reviewers[0].id)[0]
    raters = [rw.reviewers[0], rw.reviewers[1], rw.reviewers[0], rw.reviewers[1]]
    barrier = threading.Barrier(len(raters))
    outcomes = []

    def rate(person):
        barrier.wait()
        try:
            rw.store.record_rating(task.task_id, person.id, choice="b", actor_id=person.id)
            outcomes.append("ok")
        except StoreError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=rate, args=(p,)) for p in raters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes.count("ok") == 2
    assert count(rw.store, Rating) == 2
    assert len(ledger_entries(rw.store, activity="rating")) == 2


def test_withdrawn_raters_and_authors_drop_out_of_the_numbers(rw):
    rw.queue(mode="pairwise")
    for r in rw.reviewers[:2]:
        for task in rw.store.rating_queue_for(rw.campaign.id, r.id, limit=10):
            _rate(rw, task, r)
    assert len(rw.store.pairwise_votes(rw.campaign.id)) == 6
    rw.store.withdraw(rw.reviewers[0].id, actor_id=rw.reviewers[0].id)
    assert len(rw.store.pairwise_votes(rw.campaign.id)) == 3
    rw.store.withdraw(rw.author.id, actor_id=rw.author.id)
    assert len(rw.store.pairwise_votes(rw.campaign.id)) == 0
    assert rw.store.rating_queue_for(rw.campaign.id, rw.reviewers[2].id) == []


def test_the_dashboards_stamp_and_filter_choices_follow_ratings_and_withdrawal(rw):
    """The dashboard recomputes when the stamp changes, so every rating and every withdrawal
    must change it; the filter choices name only what was rated, and nothing of an author who
    withdrew."""
    other = rw.accepted(9, language="sn")
    with rw.store.write() as s:
        s.get(type(other), other.id).dialect = "Zezuru"
    rw.items.append(rw.store.item(other.id))
    rw.queue(mode="pairwise")
    empty = rw.store.ratings_stamp(rw.campaign.id)
    assert empty[:2] == (0, 0)
    assert rw.store.rated_values(rw.campaign.id) == {"language": [], "dialect": [], "domain": [],
                                                     "dataset": []}
    rater = rw.reviewers[0]
    tasks = rw.store.rating_queue_for(rw.campaign.id, rater.id, limit=10)
    _rate(rw, tasks[0], rater)
    one = rw.store.ratings_stamp(rw.campaign.id)
    assert one[0] == 1 and one != empty
    for task in tasks[1:]:
        _rate(rw, task, rater)
    assert rw.store.rated_values(rw.campaign.id) == {
        "language": ["sn", "sw"], "dialect": ["Zezuru"], "domain": [], "dataset": ["kilimo@1.0.0"]}
    before = rw.store.ratings_stamp(rw.campaign.id)
    rw.store.withdraw(rw.author.id, actor_id=rw.author.id)
    assert rw.store.ratings_stamp(rw.campaign.id) != before
    assert rw.store.rated_values(rw.campaign.id)["dialect"] == []


# ------------------------------------------------------------------------------------ gold
# ------------------------------------------------------------------------------------ gold


def test_gold_tasks_measure_raters_never_models(rw):
    rw.queue(mode="pairwise")
    made = rw.store.add_gold_tasks(rw.campaign.id, 2, actor_id=OPERATOR, seed=1)
    assert made == 2
    gold = [t for t in _tasks(rw.store) if t.gold]
    careful, careless = rw.reviewers[0], rw.reviewers[1]
    for task in gold:
        rw.store.record_rating(task.id, careful.id, choice=task.gold, actor_id=careful.id)
        rw.store.record_rating(task.id, careless.id, choice="tie", actor_id=careless.id)
    results = {r["rater"]: r for r in rw.store.gold_results(rw.campaign.id)}
    assert results[careful.pseudonym] == {"rater": careful.pseudonym, "gold_rated": 2, "gold_correct": 2}
    assert results[careless.pseudonym]["gold_correct"] == 0
    assert rw.store.pairwise_votes(rw.campaign.id).empty
    assert len(rw.store.pairwise_votes(rw.campaign.id, gold=True)) == 4
    progress = {(p["mode"], p["language"]): p for p in rw.store.rating_progress(rw.campaign.id)}
    assert progress[("gold", "sw")]["ratings"] == 4 and progress[("pair", "sw")]["ratings"] == 0


# ------------------------------------------------------------------------------------ sheets


def _sheet_rows(rw, rater):
    tasks = rw.store.open_rating_tasks(rw.campaign.id)
    return [{"row": n + 2, "task": t.public_id, "rater": rater.pseudonym,
             "choice": "a" if t.mode == "pair" else None,
             "scores": {} if t.mode == "pair" else {"usefulness": 4, "safety": 4},
             "safety_flag": False, "comment": ""} for n, t in enumerate(tasks)]


def test_a_sheet_imports_once_and_a_bad_row_refuses_it_whole(rw):
    rw.queue()
    rater = rw.reviewers[2]
    rows = _sheet_rows(rw, rater)
    bad = rows + [{"row": 99, "task": "rt-nothere", "rater": rater.pseudonym, "choice": "a"},
                  {"row": 100, "task": rows[0]["task"], "rater": "nobody", "choice": "a"}]
    with pytest.raises(StoreError) as err:
        rw.store.record_sheet_ratings(rw.campaign.id, bad, actor_id=OPERATOR)
    assert "row 99" in str(err.value) and "row 100" in str(err.value)
    assert count(rw.store, Rating) == 0
    skipped = rw.store.record_sheet_ratings(rw.campaign.id, bad, actor_id=OPERATOR, skip_invalid=True)
    assert (skipped.added, len(skipped.problems)) == (len(rows), 2)
    again = rw.store.record_sheet_ratings(rw.campaign.id, rows, actor_id=OPERATOR)
    assert (again.added, again.already) == (0, len(rows))
    assert len(ledger_entries(rw.store, activity="rating")) == len(rows)
    with pytest.raises(Forbidden):
        rw.store.record_sheet_ratings(rw.campaign.id, rows, actor_id=rater.id)


def test_rating_settings_and_queueing_write_audit_events(rw):
    # the audit calls once passed their details positionally (a TypeError on every call)
    rw.store.set_rating_settings(rw.campaign.id, raters="consented", daily_cap=4, actor_id=rw.org.id)
    rw.queue(mode="direct")
    events = {e["action"]: e for e in rw.store.audit_events()}
    assert events["ratings.settings"]["details"] == {"raters": "consented", "daily_cap": 4,
                                                     "ratings_per_task": 3}
    assert events["ratings.settings"]["record"] == f"campaign:{rw.campaign.id}"
    assert events["ratings.queue"]["details"]["tasks"] == 6
