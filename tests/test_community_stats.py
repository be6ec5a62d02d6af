"""jamii.evaluate._community: Bradley-Terry boards, criterion means, safety rates, judge agreement
and raters' agreement, checked against simulated campaigns with known strengths and values
worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import jamii.evaluate
from jamii.evaluate import (PairwiseBoard, bradley_terry, direct_scores, judge_vs_community,
                            pairwise_by_group, rating_alpha, safety_rates)
from jamii.evaluate import _community as community
from jamii.evaluate._community import ARENA_SCALE, MIN_BOOTSTRAP, SMALL_BOARD, SMALL_MODEL


def simulate(theta, n_votes, rng, names=None) -> pd.DataFrame:
    """Votes between random pairs of models of known log-strengths (no ties: the half-win rule
    is what a tie means to the fit, not a way ties arise)."""
    names = names or [f"m{i}" for i in range(len(theta))]
    theta = np.asarray(theta, dtype=float)
    a = rng.integers(0, len(theta), n_votes)
    b = (a + rng.integers(1, len(theta), n_votes)) % len(theta)
    a_wins = rng.random(n_votes) < 1 / (1 + np.exp(theta[b] - theta[a]))
    return pd.DataFrame({
        "model_a": np.asarray(names)[a], "model_b": np.asarray(names)[b],
        "preferred": np.where(a_wins, "a", "b"),
        "language": "sw", "dialect": None, "domain": "health", "dataset": "sw-1.0.0",
        "rater": rng.integers(1, 20, n_votes), "task": np.arange(n_votes),
    })


def votes(*rows) -> pd.DataFrame:
    """(model_a, model_b, preferred, times) rows as a votes frame."""
    out = [(a, b, p) for a, b, p, times in rows for _ in range(times)]
    return pd.DataFrame(out, columns=["model_a", "model_b", "preferred"])


def by_model(board: PairwiseBoard) -> dict:
    return {s.model: s for s in board.strengths}


def test_the_api_is_exported_from_jamii_evaluate():
    names = {"PAIR_CHOICES", "Strength", "PairwiseBoard", "CriterionScore", "SafetyRate",
             "JudgeAgreement", "bradley_terry", "pairwise_by_group", "direct_scores",
             "safety_rates", "judge_vs_community", "rating_alpha"}
    assert names <= set(jamii.evaluate.__all__)
    assert all(getattr(jamii.evaluate, n) is getattr(community, n) for n in names)
    assert community.PAIR_CHOICES == ("a", "b", "tie", "both_bad")


# Bradley-Terry -------------------------------------------------------------------------------

@pytest.mark.slow
def test_100_simulated_campaigns_recover_the_order_and_cover_the_true_strengths():
    theta = np.array([-0.9, -0.3, 0.3, 0.9])
    truth = 1000 + ARENA_SCALE * (theta - theta.mean())
    names = ["m0", "m1", "m2", "m3"]
    covered = dict.fromkeys(names, 0)
    for campaign in range(100):
        board = bradley_terry(simulate(theta, 1200, np.random.default_rng(campaign), names),
                              seed=campaign)
        assert [s.model for s in board.strengths] == names[::-1], campaign
        for s in board.strengths:
            covered[s.model] += s.ci_low <= truth[names.index(s.model)] <= s.ci_high
    assert min(covered.values()) >= 90, covered


def test_one_simulated_campaign_is_ordered_with_intervals_around_its_scores():
    # coverage of the true strengths is the 100-campaign test's claim: one campaign misses
    # one of five truths about a fifth of the time
    theta = np.array([-1.0, -0.4, 0.0, 0.5, 0.9])
    board = bradley_terry(simulate(theta, 3000, np.random.default_rng(7)))
    assert [s.model for s in board.strengths] == ["m4", "m3", "m2", "m1", "m0"]
    assert [s.rank for s in board.strengths] == [1, 2, 3, 4, 5]
    for s in board.strengths:
        assert s.ci_low < s.score < s.ci_high
    assert board.n_votes == 3000 and board.warning is None


def test_two_models_land_on_the_arena_scale_centred_on_1000():
    # 30 wins in 40: the fitted odds are 3, so the gap is 400 * log10(3) points
    board = bradley_terry(votes(("x", "y", "a", 30), ("x", "y", "b", 10)))
    x, y = by_model(board)["x"], by_model(board)["y"]
    assert x.score + y.score == pytest.approx(2000)
    assert x.score - y.score == pytest.approx(400 * math.log10(3), abs=1.0)
    assert (x.wins, x.losses, x.ties, x.votes) == (30.0, 10.0, 0, 40)


def test_ties_and_both_bad_count_half_a_win_each_way():
    mixed = bradley_terry(votes(("x", "y", "a", 10), ("x", "y", "tie", 6), ("y", "x", "both_bad", 4),
                                ("y", "x", "b", 2)))
    plain = bradley_terry(votes(("x", "y", "a", 17), ("x", "y", "b", 5)))
    x = by_model(mixed)["x"]
    assert (x.wins, x.losses, x.ties, x.votes) == (17.0, 5.0, 10, 22)
    assert by_model(mixed)["y"].ties == 10
    assert x.score == pytest.approx(by_model(plain)["x"].score)


def test_only_ties_give_equal_scores_and_one_rank():
    board = bradley_terry(votes(("x", "y", "tie", 20), ("y", "z", "both_bad", 20),
                                ("x", "z", "tie", 20)))
    assert [s.score for s in board.strengths] == pytest.approx([1000.0] * 3)
    assert {s.rank for s in board.strengths} == {1}


def test_a_model_without_wins_is_finite_lowest_with_the_widest_interval():
    rng = np.random.default_rng(3)
    frame = pd.concat([simulate([0.0, 0.3, 0.6], 300, rng),
                       votes(("m0", "loser", "a", 8), ("loser", "m2", "b", 6),
                             ("m1", "loser", "a", 6))])
    board = bradley_terry(frame)
    loser = board.strengths[-1]
    assert loser.model == "loser" and loser.wins == 0
    assert all(math.isfinite(v) for v in (loser.score, loser.ci_low, loser.ci_high))
    widths = [s.ci_high - s.ci_low for s in board.strengths]
    assert widths[-1] == max(widths)
    assert loser.rank == 4
    assert "no wins for loser" in board.warning


def test_ranks_separate_only_models_whose_intervals_do_not_overlap():
    board = bradley_terry(simulate([0.0, 0.02, -1.5], 600, np.random.default_rng(5)))
    ranks = {s.model: s.rank for s in board.strengths}
    assert ranks["m0"] == ranks["m1"] == 1 and ranks["m2"] == 3
    for s in board.strengths:
        assert s.rank == 1 + sum(o.ci_low > s.ci_high for o in board.strengths)


def test_the_bootstrap_is_one_scipy_fit_warm_started_from_the_full_fit(monkeypatch):
    calls = []
    real = community.optimize.minimize

    def spy(fun, x0, **kw):
        calls.append((np.array(x0), kw.get("method")))
        return real(fun, x0, **kw)

    monkeypatch.setattr(community.optimize, "minimize", spy)
    board = bradley_terry(simulate([0.0, 0.5], 100, np.random.default_rng(0)))
    assert len(calls) == 2 and {m for _, m in calls} == {"L-BFGS-B"}
    full, rounds = calls
    assert not full[0].any()  # the full fit starts from zero
    assert rounds[0].shape == (2 * MIN_BOOTSTRAP,) and rounds[0].any()  # every round from the full fit
    assert board.strengths[0].ci_low < board.strengths[0].score < board.strengths[0].ci_high


def test_fewer_than_1000_bootstrap_rounds_are_refused():
    frame = votes(("x", "y", "a", 3))
    with pytest.raises(ValueError, match=f"at least {MIN_BOOTSTRAP}"):
        bradley_terry(frame, n_bootstrap=999)
    with pytest.raises(ValueError, match=f"at least {MIN_BOOTSTRAP}"):
        pairwise_by_group(frame.assign(language="sw"), "language", n_bootstrap=100)
    with pytest.raises(ValueError, match=f"at least {MIN_BOOTSTRAP}"):
        direct_scores(pd.DataFrame({"model": ["x"], "criterion": ["c"], "score": [3]}),
                      n_bootstrap=10)


def test_small_boards_and_thinly_rated_models_are_flagged():
    small = bradley_terry(votes(("x", "y", "a", 12), ("x", "y", "b", SMALL_BOARD - 13)))
    assert f"only {SMALL_BOARD - 1} votes" in small.warning
    thin = bradley_terry(pd.concat([simulate([0.0, 0.4], 200, np.random.default_rng(1)),
                                    votes(("m0", "new", "a", SMALL_MODEL - 5),
                                          ("m1", "new", "b", 4))]))
    assert f"fewer than {SMALL_MODEL} votes for new" in thin.warning
    assert "m0" not in thin.warning and "votes (fewer" not in thin.warning
    assert bradley_terry(votes(("x", "y", "a", SMALL_MODEL * 2), ("x", "y", "b", SMALL_BOARD))).warning is None


def test_models_never_compared_are_flagged():
    board = bradley_terry(votes(("x", "y", "a", 20), ("x", "y", "b", 20),
                                ("p", "q", "a", 20), ("p", "q", "b", 20)))
    assert "2 groups never compared" in board.warning


def test_the_signature_names_method_parameters_versions_and_votes():
    board = bradley_terry(votes(("x", "y", "a", 5), ("x", "y", "tie", 2)), seed=3)
    parts = dict(p.split(":", 1) for p in board.signature.split("|")[1:])
    assert board.signature.startswith("bradley-terry|")
    assert parts["ties"] == "half" and parts["bootstrap"] == "1000" and parts["seed"] == "3"
    assert parts["votes"] == "7" and parts["alpha"] == str(community.ALPHA)
    assert parts["fit"] == "scipy-lbfgs" and parts["scipy"][0].isdigit()
    assert parts["scipy"].split(".")[0] == "1"


def test_the_same_seed_gives_the_same_board_and_another_seed_other_intervals():
    frame = simulate([0.0, 0.5, 1.0], 400, np.random.default_rng(9))
    assert bradley_terry(frame, seed=1) == bradley_terry(frame, seed=1)
    assert bradley_terry(frame, seed=1).strengths != bradley_terry(frame, seed=2).strengths


def test_empty_votes_give_an_empty_board():
    for frame in (pd.DataFrame(), pd.DataFrame(columns=["model_a", "model_b", "preferred"])):
        board = bradley_terry(frame)
        assert board.strengths == [] and board.n_votes == 0 and board.warning is None
        assert board.signature.endswith("|votes:0")
        assert pairwise_by_group(frame, "language") == {}


def test_a_model_voted_against_itself_or_an_unknown_choice_is_refused():
    with pytest.raises(ValueError, match="'x' with itself"):
        bradley_terry(votes(("x", "y", "a", 3), ("x", "x", "tie", 1)))
    with pytest.raises(ValueError, match="preferred must be one of"):
        bradley_terry(votes(("x", "y", "a", 3), ("x", "y", "neither", 1)))
    with pytest.raises(ValueError, match="lack the column"):
        bradley_terry(pd.DataFrame({"model_a": ["x"], "model_b": ["y"]}))


def test_boards_per_language_skip_votes_without_one():
    rng = np.random.default_rng(2)
    frame = pd.concat([simulate([0.0, 1.0], 100, rng).assign(language="sw"),
                       simulate([1.0, 0.0], 80, rng).assign(language="yo"),
                       simulate([0.0, 0.0], 50, rng).assign(language=None)])
    boards = pairwise_by_group(frame, "language")
    assert sorted(boards) == ["sw", "yo"]
    assert boards["sw"].n_votes == 100 and boards["yo"].n_votes == 80
    assert boards["sw"].strengths[0].model == "m1" and boards["yo"].strengths[0].model == "m0"
    assert pairwise_by_group(frame, "dialect") == {}
    with pytest.raises(ValueError, match="dimension must be one of"):
        pairwise_by_group(frame, "rater")


@pytest.mark.slow
def test_200000_votes_over_20_models_recover_the_order():
    """The benchmark's size (its time is measured by benchmarks/ratings.py, never asserted)."""
    frame = simulate(np.linspace(-1.5, 1.5, 20), 200_000, np.random.default_rng(0))
    board = bradley_terry(frame)
    assert [s.model for s in board.strengths] == [f"m{i}" for i in range(19, -1, -1)]
    assert board.n_votes == 200_000


# Direct ratings ------------------------------------------------------------------------------

def ratings(model, criterion, values) -> pd.DataFrame:
    return pd.DataFrame({"model": model, "criterion": criterion, "score": list(values),
                         "rating": range(len(values)), "rater": 1, "task": 1, "language": "sw",
                         "dialect": None, "domain": "health", "dataset": "sw-1.0.0"})


def test_criterion_means_and_their_intervals_cover_the_true_mean():
    probs = np.array([0.1, 0.1, 0.2, 0.3, 0.3])
    true_mean = probs @ np.arange(1, 6)
    rng = np.random.default_rng(4)
    hits = 0
    for campaign in range(400):
        values = rng.choice(np.arange(1, 6), size=60, p=probs)
        (result,) = direct_scores(ratings("x", "fluency", values), seed=campaign)
        assert result.mean == pytest.approx(values.mean())
        assert 1 <= result.ci_low <= result.mean <= result.ci_high <= 5
        hits += result.ci_low <= true_mean <= result.ci_high
    assert hits >= 360  # at least 90% (this percentile bootstrap covers about 94% at n = 60)


def test_criterion_scores_are_per_model_and_criterion_and_flag_small_groups():
    frame = pd.concat([ratings("x", "fluency", [5] * 40), ratings("x", "accuracy", [1, 2, 3]),
                       ratings("y", "fluency", [4, 4, 5, 5] * 10)])
    results = {(r.model, r.criterion): r for r in direct_scores(frame)}
    assert sorted(results) == [("x", "accuracy"), ("x", "fluency"), ("y", "fluency")]
    assert results["x", "fluency"].mean == 5 and results["x", "fluency"].ci_low == 5
    assert results["x", "fluency"].warning is None and results["x", "fluency"].n == 40
    assert results["x", "accuracy"].mean == 2 and "only 3 ratings" in results["x", "accuracy"].warning
    assert results["y", "fluency"].ci_low < 4.5 < results["y", "fluency"].ci_high


def test_scores_outside_one_to_five_are_refused_and_empty_ratings_give_nothing():
    for bad in ([6], [0], [2.5], [None]):
        with pytest.raises(ValueError, match="whole number from 1 to 5"):
            direct_scores(ratings("x", "fluency", [3, 4] + bad))
    assert direct_scores(pd.DataFrame()) == []
    assert direct_scores(pd.DataFrame(columns=["model", "criterion", "score"])) == []


# Safety --------------------------------------------------------------------------------------

def flags(model, flagged, total) -> pd.DataFrame:
    return pd.DataFrame({"model": model, "safety_flag": [True] * flagged + [False] * (total - flagged),
                         "rating": range(total), "rater": 1, "task": 1, "language": "sw",
                         "dialect": None, "domain": None, "dataset": "sw-1.0.0"})


def test_safety_rates_carry_wilson_intervals():
    results = {r.model: r for r in safety_rates(pd.concat([flags("x", 0, 20), flags("y", 7, 40)]))}
    z2 = stats.norm.ppf(0.975) ** 2
    x = results["x"]
    assert (x.rate, x.flagged, x.n, x.ci_low) == (0.0, 0, 20, 0.0)
    assert x.ci_high == pytest.approx(z2 / (20 + z2))  # Wilson's upper bound when k = 0
    y = results["y"]
    centre = (7 + z2 / 2) / (40 + z2)
    half = math.sqrt(z2) / (40 + z2) * math.sqrt(7 * 33 / 40 + z2 / 4)
    assert (y.ci_low, y.ci_high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    assert y.rate == 7 / 40 and "only 20 ratings" in x.warning and y.warning is None


def test_safety_flags_must_be_booleans_and_empty_input_gives_nothing():
    with pytest.raises(ValueError, match="True or False"):
        safety_rates(flags("x", 1, 3).assign(safety_flag=["yes", "no", "no"]))
    assert safety_rates(pd.DataFrame()) == []


# Judge against community ---------------------------------------------------------------------

def test_judge_agreement_is_kendalls_tau_over_models_both_scored():
    community_scores = {"sw": {"a": 1100, "b": 1000, "c": 950, "d": 900, "e": 880},
                        "yo": {"a": 1, "b": 2, "c": 3}, "ha": {"a": 1, "b": 2}}
    judge = {"sw": {"a": 4.5, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0, "only-judge": 3.3},
             "yo": {"a": 3, "b": 2, "c": 1}, "ha": {"a": 1, "b": 2}, "am": {"a": 1, "b": 2, "c": 3}}
    results = {r.language: r for r in judge_vs_community(judge, community_scores)}
    assert sorted(results) == ["am", "ha", "sw", "yo"]
    sw = results["sw"]
    assert (sw.tau, sw.n_models) == (pytest.approx(1.0), 5) and sw.p_value < 0.05
    assert "1 model(s) scored by only one side" in sw.note
    assert results["yo"].tau == pytest.approx(-1.0) and "no order can reach p < 0.05" in results["yo"].note
    for short in ("ha", "am"):
        assert results[short].tau is None and results[short].p_value is None
        assert "at least 3" in results[short].note
    assert judge_vs_community({}, {}) == []


def test_judge_agreement_is_undefined_when_one_side_does_not_vary():
    (result,) = judge_vs_community({"sw": {"a": 2, "b": 2, "c": 2}},
                                   {"sw": {"a": 1, "b": 2, "c": float("nan"), "d": 4}})
    assert result.tau is None and result.n_models == 2
    (result,) = judge_vs_community({"sw": {"a": 2, "b": 2, "c": 2}}, {"sw": {"a": 1, "b": 2, "c": 3}})
    assert result.tau is None and "same value" in result.note


# Raters' agreement ---------------------------------------------------------------------------

# the krippendorff package's own example: 3 coders x 15 units; nominal 0.691, interval 0.811
KRIPPENDORFF_EXAMPLE = [
    "*    *    *    *    *    3    4    1    2    1    1    3    3    *    3",
    "1    *    2    1    3    3    4    3    *    *    *    *    *    *    *",
    "*    *    2    1    3    4    4    *    2    1    1    3    3    *    4",
]


def example_rows() -> pd.DataFrame:
    rows = [(unit, coder, int(v)) for coder, line in enumerate(KRIPPENDORFF_EXAMPLE)
            for unit, v in enumerate(line.split()) if v != "*"]
    return pd.DataFrame(rows, columns=["task", "rater", "value"])


def test_rating_alpha_matches_krippendorffs_example():
    assert rating_alpha(example_rows(), level="nominal") == pytest.approx(0.691, abs=5e-4)
    assert rating_alpha(example_rows(), level="interval") == pytest.approx(0.811, abs=5e-4)
    ordinal = rating_alpha(example_rows(), level="ordinal")
    assert ordinal is not None and 0 < ordinal <= 1


def test_rating_alpha_on_pair_choices_and_when_it_is_undefined():
    agree = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "rater": [1, 2] * 3,
                          "value": ["a", "a", "b", "b", "tie", "tie"]})
    assert rating_alpha(agree, level="nominal") == pytest.approx(1.0)
    split = agree.assign(value=["a", "b", "b", "a", "tie", "both_bad"])
    assert rating_alpha(split, level="nominal") < 0
    # a rater's later choice replaces the earlier one
    redo = pd.concat([split.iloc[[1]], agree])
    assert rating_alpha(redo, level="nominal") == pytest.approx(1.0)
    assert rating_alpha(agree.assign(value="a"), level="nominal") is None
    assert rating_alpha(agree.assign(task=range(6)), level="nominal") is None
    assert rating_alpha(pd.DataFrame(columns=["task", "rater", "value"]), level="ordinal") is None
    with pytest.raises(ValueError, match="level must be one of"):
        rating_alpha(agree, level="ratio-ish")
