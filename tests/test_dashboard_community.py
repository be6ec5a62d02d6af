"""`dashboard/community.py`: community scores beside automatic ones, and the organiser's
aggregates, on a real SQLite store with rated tasks (`support/rating_fixtures.py`)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from support.rating_fixtures import quick_bootstrap  # noqa: F401 - autouse fixture
from support.rating_fixtures import DATASET, QUALITY, rated_copy, write_run

from jamii.dashboard import community
from jamii.dashboard.community import ARENA, SAFETY, Ratings, combined_board
from jamii.dashboard.leaderboard import load_runs

ALPHA, BETA, GAMMA = QUALITY



@pytest.fixture(scope="module")
def rated(tmp_path_factory):
    root = tmp_path_factory.mktemp("community")
    _, world = rated_copy(root / "store")
    store = world.store
    results = root / "results"
    # alpha: named by a model id that is not its spec; beta: from the Hub at a revision;
    # alpha again on another dataset version (nobody rated that one); delta: never rated
    write_run(results / "alpha", ALPHA, model_id="Alpha 7B", chrf=45.0, judge={"sw": 4.5, "sn": 4.0})
    write_run(results / "beta", BETA, hub_revision="0123456789abcdef", chrf=41.0, judge={"sw": 3.0, "sn": 3.5})
    write_run(results / "alpha-v2", ALPHA, version="2.0.0", chrf=50.0)
    write_run(results / "delta", "hf:models/delta", chrf=30.0)
    runs, skipped = load_runs(results)
    assert not skipped and len(runs) == 4
    yield world, Ratings.read(store, world.campaign.id), runs
    store.close()


def _row(table, run=None, model=None):
    return next(r for r in table.rows if (run is not None and r.run == run) or
                (run is None and r.model == model))


def test_community_scores_sit_beside_automatic_ones_matched_by_spec_and_dataset(rated):
    _, ratings, runs = rated
    board = combined_board(ratings, runs)
    names = [t.dataset for t in board.tables]
    assert names == ["kilimo@1.0.0", "kilimo@1.0.0#0123456789ab", "kilimo@2.0.0"]
    v1 = board.table("kilimo@1.0.0")
    alpha = _row(v1, run="alpha")
    # named by its id, matched by its spec
    assert alpha.model == "Alpha 7B" and alpha.spec == ALPHA
    assert alpha.scores["chrf"].source == "automatic" and alpha.scores["chrf"].value == 45.0
    assert alpha.scores["judge:usefulness"].source == "judge"
    arena = alpha.scores[ARENA]
    assert arena.source == "community" and arena.rank == 1 and arena.n > 0
    assert arena.ci_low <= arena.value <= arena.ci_high and arena.signature
    assert alpha.scores["community:usefulness"].rank == 1
    assert alpha.scores["community:accuracy"].n > 0
    assert alpha.scores[SAFETY].value == 0.0
    # gamma was rated but has no results folder: a row of its own, said so
    gamma = _row(v1, model=GAMMA)
    assert gamma.run is None and [c for c, _ in gamma.note_codes] == ["no_run"]
    assert gamma.scores[ARENA].rank == 3 and gamma.scores[SAFETY].value > 0
    assert "chrf" not in gamma.scores
    assert v1.votes == len(ratings.votes) and v1.ratings == len(ratings.safety)
    # delta ran on the rated version but nobody rated it: automatic scores only
    assert not any(s.source == "community" for s in _row(v1, run="delta").scores.values())
    # beta ran on a Hub revision: ratings record name@version only, and the row says so
    beta = _row(board.table("kilimo@1.0.0#0123456789ab"), run="beta")
    assert beta.scores[ARENA].rank in (1, 2)  # ranks part only models whose intervals do not overlap
    assert gamma.scores[ARENA].value < beta.scores[ARENA].value < arena.value
    assert not any(r.spec == BETA and r.run is None for r in v1.rows)  # matched, not repeated
    assert [c for c, _ in beta.note_codes] == ["dataset_detail"]
    assert "kilimo@1.0.0" in beta.notes[0]
    # nobody rated version 2.0.0: no community scores there
    v2 = board.table("kilimo@2.0.0")
    assert v2.votes == 0 and not any(s.source == "community" for r in v2.rows for s in r.scores.values())
    # rows are best first by the automatic metric, metrics ordered automatic, judge, community
    assert [r.run for r in v1.rows][:2] == ["alpha", "delta"]
    assert v1.metrics[:2] == ["chrf", "judge:usefulness"] and v1.metrics[2] == ARENA
    long = v1.long()
    assert set(long["source"]) == {"automatic", "judge", "community"}
    wide = v1.wide()
    assert wide.set_index("model").loc["Alpha 7B", "votes"] == arena.n


def test_the_same_spec_in_two_folders_shares_its_scores_and_says_so(rated, tmp_path):
    _, ratings, runs = rated
    extra = load_runs(write_run(tmp_path / "r" / "alpha-again", ALPHA, chrf=44.0).parent)[0]
    board = combined_board(ratings, runs + extra)
    v1 = board.table("kilimo@1.0.0")
    a, b = _row(v1, run="alpha"), _row(v1, run="alpha-again")
    assert a.scores[ARENA].value == b.scores[ARENA].value
    assert "shared_spec" in [c for c, _ in a.note_codes]


def test_group_filters_pick_the_ratings_of_the_subgroup(rated):
    _, ratings, runs = rated
    sw = combined_board(ratings, runs, group=("language", "sw"))
    v1 = sw.table("kilimo@1.0.0")
    assert v1.votes == int((ratings.votes["language"] == "sw").sum()) < len(ratings.votes)
    assert _row(v1, run="alpha").scores["chrf"].n == 20  # the run's own sw block
    other_kind = combined_board(ratings, runs, group=("kind", "prompt_response"))
    assert not any(s.source == "community" for t in other_kind.tables for r in t.rows for s in r.scores.values())
    assert other_kind.missing  # no run has a prompt_response block
    contextual = combined_board(ratings, runs, group=("kind", "contextual"))
    assert contextual.table("kilimo@1.0.0").votes == len(ratings.votes)
    assert ratings.group_values("language") == ["sn", "sw"]
    with pytest.raises(ValueError):
        ratings.where(("colour", "red"))


def test_as_dict_is_json_and_keeps_signatures(rated):
    import json

    _, ratings, runs = rated
    out = json.loads(json.dumps(combined_board(ratings, runs).as_dict()))
    v1 = out["datasets"][0]
    assert v1["dataset"] == "kilimo@1.0.0" and v1["pairwise"]["votes"] > 0
    alpha = next(r for r in v1["rows"] if r["run"] == "alpha")
    assert alpha["scores"]["chrf"]["signature"].startswith("chrF2++")
    assert alpha["scores"][ARENA]["signature"] == v1["pairwise"]["signature"]


def test_judge_vs_community_tau_sign_on_constructed_data(tmp_path):
    """Judge grades that order the models as the community does give tau > 0; reversed, < 0."""
    rng = np.random.default_rng(0)
    strength = {"hf:m1": 2.0, "hf:m2": 1.0, "hf:m3": 0.0, "hf:m4": -1.0}
    rows = []
    for i in range(2000):
        a, b = rng.choice(list(strength), size=2, replace=False)
        p = 1 / (1 + np.exp(strength[b] - strength[a]))
        rows.append({"task": i, "rater": i % 7, "model_a": a, "model_b": b,
                     "preferred": "a" if rng.random() < p else "b", "language": "sw", "dialect": None,
                     "domain": "health", "dataset": DATASET, "gold": None})
    ratings = Ratings.empty()
    ratings.votes = pd.DataFrame(rows)
    for sign, folder in ((1, "same"), (-1, "reversed")):
        root = tmp_path / folder
        for spec, s in strength.items():
            write_run(root / spec.split(":")[1], spec, judge={"sw": 3 + sign * s}, languages=("sw",))
        runs, _ = load_runs(root)
        table = combined_board(ratings, runs).table("kilimo@1.0.0")
        (found,) = table.judge_agreement
        assert found.language == "sw" and found.n_models == 4 and found.basis == "arena"
        assert found.tau == pytest.approx(sign * 1.0)


def test_judge_vs_community_on_the_store(rated):
    _, ratings, runs = rated
    table = combined_board(ratings, runs).table("kilimo@1.0.0")
    # only alpha judged on this exact dataset table (beta's run is on a Hub revision): too few
    assert all(a.n_models < 3 for a in table.judge_agreement)


def test_organiser_aggregates_on_the_store(rated):
    world, ratings, _ = rated
    store, cid = world.store, world.campaign.id
    progress = community.progress(store.rating_progress(cid))
    assert set(progress["mode"]) == {"direct", "pair", "gold"}
    assert set(progress["language"]) == {"sw", "sn"}
    assert (progress["share_complete"].between(0, 1)).all()
    gold = community.gold_accuracy(store.gold_results(cid))
    careless = gold.set_index("rater").loc[world.careless.pseudonym]
    assert careless["accuracy"] == 0.0 and bool(careless["flagged"])
    others = gold[gold["rater"] != world.careless.pseudonym]
    assert (others["accuracy"] == 1.0).all() and not others["flagged"].any()
    assert gold.iloc[0]["rater"] == world.careless.pseudonym  # flagged first
    table = community.rating_agreement(ratings)
    assert set(table["what"]) == {"pair", "direct"}
    assert set(table[table["what"] == "direct"]["criterion"]) == {"usefulness", "accuracy"}
    overall = table[(table["what"] == "pair") & (table["language"] == "all")].iloc[0]
    assert overall["units"] > 0 and overall["alpha"] is not None and -1 <= overall["alpha"] <= 1
    assert overall["note_code"] == ("few_units" if overall["units"] < 10 else "")


def test_gold_threshold_needs_enough_tasks_and_agreement_notes():
    gold = community.gold_accuracy([{"rater": "r-a", "gold_rated": 4, "gold_correct": 0},
                                    {"rater": "r-b", "gold_rated": 5, "gold_correct": 3},
                                    {"rater": "r-c", "gold_rated": 10, "gold_correct": 7}])
    flags = dict(zip(gold["rater"], gold["flagged"]))
    assert flags == {"r-a": False, "r-b": True, "r-c": False}  # 60% over 5 flagged; 70% is not below
    empty = community.rating_agreement(Ratings.empty())
    assert list(empty["note_code"]) == ["no_ratings"]
    one_each = Ratings.empty()
    one_each.votes = pd.DataFrame([{"task": t, "rater": 1, "preferred": "a", "language": "sw"} for t in range(3)])
    assert community.rating_agreement(one_each)["note_code"].iloc[0] == "no_units"
    same = Ratings.empty()
    same.votes = pd.DataFrame([{"task": t, "rater": r, "preferred": "a", "language": "sw"}
                               for t in range(3) for r in (1, 2)])
    row = community.rating_agreement(same).iloc[0]
    assert row["alpha"] is None and row["note_code"] == "no_variation"


def test_sample_answers_follow_the_group(rated):
    _, _, runs = rated
    alpha = next(r for r in runs if r.name == "alpha")
    sw = community.sample_answers(alpha, ("language", "sw"))
    assert len(sw) == 3 and {a["language"] for a in sw} == {"sw"} and sw[0]["reference"]
    rated_answers = community.sample_answers(alpha, community=True, limit=2)
    assert len(rated_answers) == 2 and rated_answers[0]["answer"].startswith("Jibu la")
    assert community.sample_answers(alpha, ("kind", "speech")) == []


def _synthetic(n_ratings: int, n_models: int, seed: int = 0) -> Ratings:
    rng = np.random.default_rng(seed)
    models = [f"hf:m{i}" for i in range(n_models)]
    n_pairs = n_ratings // 2
    a = rng.integers(0, n_models, n_pairs)
    b = (a + rng.integers(1, n_models, n_pairs)) % n_models
    p = 1 / (1 + np.exp((b - a) / 5))
    votes = pd.DataFrame({"task": np.arange(n_pairs) // 3, "rater": rng.integers(0, 300, n_pairs),
                          "model_a": np.array(models)[a], "model_b": np.array(models)[b],
                          "preferred": np.where(rng.random(n_pairs) < p, "a", "b"),
                          "language": rng.choice(["sw", "sn"], n_pairs), "dialect": None,
                          "domain": "health", "dataset": DATASET, "gold": None})
    n_direct = n_ratings - n_pairs
    m = rng.integers(0, n_models, n_direct)
    safety = pd.DataFrame({"rating": np.arange(n_direct), "rater": rng.integers(0, 300, n_direct),
                           "task": np.arange(n_direct) // 3, "model": np.array(models)[m],
                           "language": rng.choice(["sw", "sn"], n_direct), "dialect": None,
                           "domain": "health", "dataset": DATASET,
                           "safety_flag": rng.random(n_direct) < 0.05})
    scores = safety.drop(columns="safety_flag").assign(criterion="usefulness",
                                                       score=rng.integers(1, 6, n_direct))
    return Ratings(votes, scores, safety)


def _prefitted(models: list[str]):
    """The statistics module's answers for these models, made up at once: the timing below is
    of this module's own work (picking, grouping, laying out), not of the bootstrap fits,
    which are the statistics module's to make fast."""
    from types import SimpleNamespace

    from jamii.evaluate import _community as real

    strengths = [real.Strength(m, 1100 - 10 * i, 1090 - 10 * i, 1110 - 10 * i, i + 1, 10_000, 5000, 5000, 100)
                 for i, m in enumerate(models)]
    board = real.PairwiseBoard(strengths, 100_000, None, "bradley-terry|test")
    return SimpleNamespace(
        bradley_terry=lambda votes, **_: board,
        pairwise_by_group=lambda votes, dim, **_: {str(v): board for v in votes[dim].unique()},
        direct_scores=lambda scores, **_: [real.CriterionScore(m, "usefulness", 3.0, 2.9, 3.1, 5000, None)
                                           for m in models],
        safety_rates=lambda safety: [real.SafetyRate(m, 0.05, 0.04, 0.06, 5000, 250) for m in models],
        judge_vs_community=real.judge_vs_community, MIN_TAU_MODELS=real.MIN_TAU_MODELS,
        rating_alpha=lambda rows, level: 0.5)


def test_aggregates_are_fast_for_200000_ratings_over_20_models(tmp_path, monkeypatch):
    """Every page's aggregates from 200,000 ratings over 20 models in under a second (this
    module's share: the fits are timed by the statistics module's own tests)."""
    ratings = _synthetic(200_000, 20)
    fitted = _prefitted([f"hf:m{i}" for i in range(20)])
    monkeypatch.setattr(community, "_stats", lambda: fitted)
    for i in range(3):
        write_run(tmp_path / f"m{i}", f"hf:m{i}", chrf=40.0 + i, judge={"sw": 3.0 + i / 10, "sn": 3.0})
    runs, _ = load_runs(tmp_path)
    timings = {}
    for name, work in (("agreement", lambda: community.rating_agreement(ratings)),
                       ("board", lambda: combined_board(ratings, runs)),
                       ("board sw", lambda: combined_board(ratings, runs, group=("language", "sw")))):
        best = float("inf")
        for _ in range(3):  # the best of three: a busy machine's pauses are not the code's
            started = time.perf_counter()
            found = work()
            best = min(best, time.perf_counter() - started)
        timings[name] = best
        if name == "agreement":
            assert len(found) == 6
        else:
            assert len(found.table("kilimo@1.0.0").rows) == 20
    print(timings)
    assert max(timings.values()) < 1.0, timings
