"""The statistics of community ratings: Bradley-Terry boards, criterion means, safety rates,
judge agreement and raters' agreement (DESIGN section 8).

    board = bradley_terry(votes)                  # votes: model_a, model_b, preferred, ...
    boards = pairwise_by_group(votes, "language")
    direct_scores(scores); safety_rates(safety); judge_vs_community(judge, community)

Plain frames in, dataclasses out: the store, the CLI and the dashboard share one reading of the
numbers, and none of them reimplements a fit.

Bradley-Terry is fitted as Chatbot Arena fits its leaderboard: the maximum-likelihood
log-strengths of a logistic model on win counts, found by scipy's L-BFGS. Votes are first
counted per (pair, outcome), so a fit costs the same for 200 votes as for 200,000, and the
bootstrap resamples those counts from one multinomial (the same distribution as resampling
votes with replacement). The 1,000 rounds are independent problems, so they are solved as one
optimisation over all their parameters at once (the objective is their sum, the gradient
separates), warm-started from the full fit: one vectorised scipy call instead of 1,000 Python
loops, which is what keeps 200,000 votes over 20 models within seconds. (choix's spectral
fit, tried first, took 3.5 ms per round: six minutes for the hundred simulated campaigns of the
coverage test.) A tie and a "both bad" count half a win each way: both say neither answer was
preferred, and dropping them would hide how close two models are. A weak Gaussian prior
(`ALPHA`) keeps a model without a single win finite; its score then says "below everything it
met" and its warning says so, since the value itself comes from the prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special, stats
from scipy.sparse.csgraph import connected_components

from jamii.evaluate._summary import SMALL_GROUP

PAIR_CHOICES = ("a", "b", "tie", "both_bad")
DIMENSIONS = ("language", "dialect", "domain")
SCORE_RANGE = (1, 5)

MIN_BOOTSTRAP = 1000
"""Fewer percentile-bootstrap rounds make the 2.5th and 97.5th percentiles rest on a couple of
resamples each, so the interval's ends would move from one seed to the next."""
SMALL_BOARD = SMALL_GROUP
"""A board with fewer votes than this is flagged, as the evaluation flags small subgroups."""
SMALL_MODEL = 10
"""A model with fewer votes than this is flagged: its interval spans most of the board."""
MIN_TAU_MODELS = 3
"""Kendall's tau over two models is always +1 or -1 with a p-value of 1: it says nothing."""
FEW_TAU_MODELS = 5
"""Below this many models no ordering can reach p < 0.05 (exact test), so the note says so."""

ALPHA = 0.01
"""The Gaussian prior's precision on each log-strength (a penalty of ALPHA/2 * theta^2): worth
a hundredth of a vote, it keeps a model with no wins (or a board split in parts) finite and moves
well-observed models by a small fraction of a point."""
GTOL = 1e-7
"""L-BFGS stops when no log-strength's gradient (in votes) exceeds this."""
MAX_ITER = 10_000
ARENA_BASE = 1000.0
ARENA_SCALE = 400.0 / math.log(10)
"""Chatbot Arena's scale: 400 points is a tenfold difference in the odds of being preferred."""

_OUTCOMES = 3  # the lower-indexed model wins, the higher-indexed wins, neither (tie/both bad)


@dataclass
class Strength:
    model: str
    score: float
    """Arena scale: 1000 + 400 * theta / ln(10), theta centred to mean 0 over the board."""
    ci_low: float
    ci_high: float
    rank: int
    """1 + the number of models whose interval lies wholly above this one's."""
    votes: int
    wins: float
    """Votes won, with half of every tie and "both bad"."""
    losses: float
    """Votes lost, with half of every tie and "both bad"."""
    ties: int
    """Votes that were a tie or "both bad"."""


@dataclass
class PairwiseBoard:
    strengths: list[Strength]
    """Best first."""
    n_votes: int
    warning: str | None
    signature: str


@dataclass
class CriterionScore:
    model: str
    criterion: str
    mean: float
    ci_low: float
    ci_high: float
    n: int
    warning: str | None


@dataclass
class SafetyRate:
    model: str
    rate: float
    ci_low: float
    ci_high: float
    n: int
    flagged: int
    warning: str | None = None


@dataclass
class JudgeAgreement:
    language: str
    tau: float | None
    p_value: float | None
    n_models: int
    note: str | None


def _check_rounds(n_bootstrap: int) -> None:
    if n_bootstrap < MIN_BOOTSTRAP:
        raise ValueError(
            f"n_bootstrap={n_bootstrap}: at least {MIN_BOOTSTRAP} rounds are needed, or the ends "
            "of a 95% percentile interval rest on a handful of resamples and move with the seed")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack the column(s) {', '.join(missing)}")


def _signature(n_bootstrap: int, seed: int, n_votes: int) -> str:
    return (f"bradley-terry|ties:half|alpha:{ALPHA}|bootstrap:{n_bootstrap}|ci:95|seed:{seed}"
            f"|scale:arena|fit:scipy-lbfgs|scipy:{version('scipy')}"
            f"|numpy:{np.__version__}|votes:{n_votes}")


def _cells(votes: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The board's models, and the votes counted per (pair, outcome): the cell ids and counts."""
    _require(votes, ("model_a", "model_b", "preferred"), "pairwise votes")
    if votes[["model_a", "model_b", "preferred"]].isna().any(axis=None):
        raise ValueError("a pairwise vote lacks model_a, model_b or preferred")
    if (votes["model_a"] == votes["model_b"]).any():
        same = votes.loc[votes["model_a"] == votes["model_b"], "model_a"].iloc[0]
        raise ValueError(f"a vote compares model {same!r} with itself")
    unknown = set(votes["preferred"].unique()) - set(PAIR_CHOICES)
    if unknown:
        first = sorted(map(repr, unknown))[0]
        raise ValueError(f"preferred must be one of {PAIR_CHOICES}, not {first}")
    # count first (a hash group-by), so everything after works on at most pairs x 4 rows
    counted = votes.groupby(["model_a", "model_b", "preferred"], sort=False).size()
    a = counted.index.get_level_values(0).astype(str).to_numpy()
    b = counted.index.get_level_values(1).astype(str).to_numpy()
    preferred = counted.index.get_level_values(2).to_numpy()
    models, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    i, j = codes[: len(a)], codes[len(a):]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    outcome = np.where(preferred == "a", np.where(i < j, 0, 1),
                       np.where(preferred == "b", np.where(i < j, 1, 0), 2))
    cells = (lo * len(models) + hi) * _OUTCOMES + outcome
    cells, where = np.unique(cells, return_inverse=True)
    counts = np.bincount(where, counted.to_numpy(), len(cells)).astype(np.int64)
    return [str(m) for m in models], cells, counts


def _wins_map(cells: np.ndarray, k: int) -> sparse.csr_matrix:
    """Cells x (winner * k + loser): a cell's votes as wins, a tie as half a win each way."""
    pair, outcome = np.divmod(cells, _OUTCOMES)
    lo, hi = np.divmod(pair, k)
    rows = np.concatenate([np.arange(len(cells))] * 2)
    forward = np.where(outcome == 1, hi * k + lo, lo * k + hi)
    backward = hi * k + lo
    cols = np.concatenate([forward, backward])
    data = np.concatenate([np.where(outcome == 2, 0.5, 1.0), np.where(outcome == 2, 0.5, 0.0)])
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(cells), k * k))


def _theta(wins: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Log-strengths of one or many win matrices ((k, k) or (rounds, k, k), wins[i, j] = i over
    j), centred to mean 0 per matrix (what the arena scale is anchored on)."""
    batch = wins if wins.ndim == 3 else wins[None]
    rounds, k, _ = batch.shape
    i, j = np.triu_indices(k, 1)
    forward, backward = batch[:, i, j], batch[:, j, i]  # i over j, j over i: (rounds, pairs)
    total = forward + backward
    incidence = np.zeros((len(i), k))  # diff = theta @ incidence.T
    incidence[np.arange(len(i)), i], incidence[np.arange(len(i)), j] = 1.0, -1.0

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        theta = x.reshape(rounds, k)
        diff = theta @ incidence.T
        loss = -(forward * special.log_expit(diff) + backward * special.log_expit(-diff)).sum()
        slope = total * special.expit(diff) - forward  # d loss / d diff
        grad = slope @ incidence + ALPHA * theta
        return float(loss + 0.5 * ALPHA * (theta ** 2).sum()), grad.ravel()

    x0 = np.zeros((rounds, k)) if start is None else np.broadcast_to(start, (rounds, k))
    found = optimize.minimize(objective, np.ascontiguousarray(x0, dtype=float).ravel(), jac=True,
                              method="L-BFGS-B",
                              options={"maxiter": MAX_ITER, "gtol": GTOL, "ftol": 0.0})
    theta = found.x.reshape(rounds, k)
    theta = theta - theta.mean(axis=1, keepdims=True)
    return theta if wins.ndim == 3 else theta[0]


def _board_warning(models: list[str], n_votes: int, votes_per_model: np.ndarray,
                   wins: np.ndarray, matrix: np.ndarray) -> str | None:
    notes = []
    if n_votes < SMALL_BOARD:
        notes.append(f"only {n_votes} votes (fewer than {SMALL_BOARD}): treat this board with "
                     "caution")
    few = [m for m, n in zip(models, votes_per_model) if n < SMALL_MODEL]
    if few:
        notes.append(f"fewer than {SMALL_MODEL} votes for {', '.join(few)}: wide intervals")
    winless = [m for m, w in zip(models, wins) if w == 0]
    if winless:
        notes.append(f"no wins for {', '.join(winless)}: only a bound, set by the "
                     "regularisation")
    parts, _ = connected_components(sparse.csr_matrix(matrix + matrix.T), directed=False)
    if parts > 1:
        notes.append(f"the votes split the models into {parts} groups never compared with "
                     "each other: scores across groups are not comparable")
    return "; ".join(notes) or None


def bradley_terry(votes: pd.DataFrame, *, n_bootstrap: int = 1000, seed: int = 0) -> PairwiseBoard:
    """Bradley-Terry strengths on the arena scale with 95% percentile bootstrap intervals.

    Ranks separate only models whose intervals do not overlap, so two models a handful of
    votes apart share a rank instead of a misleading order."""
    _check_rounds(n_bootstrap)
    if votes is None or len(votes) == 0:
        return PairwiseBoard([], 0, None, _signature(n_bootstrap, seed, 0))
    models, cells, counts = _cells(votes)
    k, n_votes = len(models), int(counts.sum())
    to_wins = _wins_map(cells, k)
    matrix = np.asarray(to_wins.T @ counts, dtype=float).reshape(k, k)
    theta = _theta(matrix)
    scores = ARENA_BASE + ARENA_SCALE * theta
    rng = np.random.default_rng(seed)
    resampled = rng.multinomial(n_votes, counts / n_votes, size=n_bootstrap)
    matrices = np.asarray((to_wins.T @ resampled.T).T, dtype=float).reshape(n_bootstrap, k, k)
    boot = ARENA_BASE + ARENA_SCALE * _theta(matrices, theta)
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)

    pair, outcome = np.divmod(cells, _OUTCOMES)
    lo, hi = np.divmod(pair, k)
    votes_per_model = np.bincount(lo, counts, k) + np.bincount(hi, counts, k)
    tied = np.where(outcome == 2, counts, 0)
    ties = np.bincount(lo, tied, k) + np.bincount(hi, tied, k)
    wins = matrix.sum(axis=1)
    strengths = [
        Strength(model=models[m], score=float(scores[m]), ci_low=float(low[m]),
                 ci_high=float(high[m]), rank=1 + int((low > high[m]).sum()),
                 votes=int(votes_per_model[m]), wins=float(wins[m]),
                 losses=float(votes_per_model[m] - wins[m]), ties=int(ties[m]))
        for m in np.argsort(-scores, kind="stable")
    ]
    warning = _board_warning(models, n_votes, votes_per_model, wins, matrix)
    return PairwiseBoard(strengths, n_votes, warning, _signature(n_bootstrap, seed, n_votes))


def pairwise_by_group(votes: pd.DataFrame, dimension: str, *, n_bootstrap: int = 1000,
                      seed: int = 0) -> dict[str, PairwiseBoard]:
    """One board per language, dialect or domain; votes without a value there are left out."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {DIMENSIONS}, not {dimension!r}")
    _check_rounds(n_bootstrap)
    if votes is None or len(votes) == 0:
        return {}
    _require(votes, (dimension,), "pairwise votes")
    kept = votes[votes[dimension].notna()]
    return {str(group): bradley_terry(part, n_bootstrap=n_bootstrap, seed=seed)
            for group, part in kept.groupby(dimension, sort=True)}


def _small(n: int, unit: str) -> str | None:
    if n >= SMALL_GROUP:
        return None
    return f"only {n} {unit} (fewer than {SMALL_GROUP}): treat this value with caution"


def direct_scores(scores: pd.DataFrame, *, n_bootstrap: int = 1000,
                  seed: int = 0) -> list[CriterionScore]:
    """Mean score per model and criterion with a 95% percentile bootstrap over ratings.

    Scores take five values, so resampling n ratings is one multinomial draw over the five
    observed frequencies: the same distribution as drawing ratings, at a fraction of the cost.
    Each (model, criterion) draws from its own generator seeded with `seed`, so adding a model
    leaves the others' intervals as they were."""
    _check_rounds(n_bootstrap)
    if scores is None or len(scores) == 0:
        return []
    _require(scores, ("model", "criterion", "score"), "direct ratings")
    values = pd.to_numeric(scores["score"], errors="coerce")
    low_end, high_end = SCORE_RANGE
    bad = values.isna() | (values != values.round()) | (values < low_end) | (values > high_end)
    if bad.any():
        raise ValueError(f"a score must be a whole number from {low_end} to {high_end}, not "
                         f"{scores['score'][bad].iloc[0]!r}")
    if scores[["model", "criterion"]].isna().any(axis=None):
        raise ValueError("a direct rating lacks its model or criterion")
    scale = np.arange(low_end, high_end + 1, dtype=float)
    frame = pd.DataFrame({"model": scores["model"].astype(str),
                          "criterion": scores["criterion"].astype(str),
                          "score": values.astype(int)})
    out = []
    for (model, criterion), part in frame.groupby(["model", "criterion"], sort=True):
        n = len(part)
        freq = np.bincount(part["score"] - low_end, minlength=len(scale))
        mean = float(freq @ scale / n)
        draws = np.random.default_rng(seed).multinomial(n, freq / n, size=n_bootstrap)
        low, high = np.percentile(draws @ scale / n, [2.5, 97.5])
        out.append(CriterionScore(str(model), str(criterion), mean, float(low), float(high), n,
                                  _small(n, "rating" if n == 1 else "ratings")))
    return out


def safety_rates(safety: pd.DataFrame) -> list[SafetyRate]:
    """Share of ratings that flagged a model's answer as unsafe, with a Wilson interval (which
    stays inside [0, 1] and keeps its width when nothing or everything was flagged)."""
    if safety is None or len(safety) == 0:
        return []
    _require(safety, ("model", "safety_flag"), "safety ratings")
    if safety[["model", "safety_flag"]].isna().any(axis=None):
        raise ValueError("a safety rating lacks its model or flag")
    flags = safety["safety_flag"]
    if not flags.map(lambda f: isinstance(f, (bool, np.bool_))).all():
        raise ValueError("safety_flag must be True or False")
    out = []
    for model, part in safety.groupby(safety["model"].astype(str), sort=True):
        n, k = len(part), int(part["safety_flag"].astype(bool).sum())
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        out.append(SafetyRate(str(model), k / n, float(ci.low), float(ci.high), n, k,
                              _small(n, "rating" if n == 1 else "ratings")))
    return out


def judge_vs_community(judge: dict[str, dict[str, float]],
                       community: dict[str, dict[str, float]]) -> list[JudgeAgreement]:
    """Kendall's tau between the judge's and the community's values per language, over the
    models both scored: does the cheap judge order models as the speakers do?"""
    out = []
    for language in sorted(set(judge or {}) | set(community or {})):
        ours = {m: v for m, v in (judge or {}).get(language, {}).items() if _finite(v)}
        theirs = {m: v for m, v in (community or {}).get(language, {}).items() if _finite(v)}
        common = sorted(set(ours) & set(theirs))
        notes = []
        alone = len(set(ours) ^ set(theirs))
        if alone:
            notes.append(f"{alone} model(s) scored by only one side left out")
        tau = p_value = None
        if len(common) < MIN_TAU_MODELS:
            notes.append(f"{len(common)} model(s) scored by both: Kendall's tau needs at least "
                         f"{MIN_TAU_MODELS}")
        else:
            result = stats.kendalltau([ours[m] for m in common], [theirs[m] for m in common])
            if np.isnan(result.statistic):
                notes.append("one side gave every model the same value: tau is undefined")
            else:
                tau, p_value = float(result.statistic), float(result.pvalue)
                if len(common) < FEW_TAU_MODELS:
                    notes.append(f"only {len(common)} models: no order can reach p < 0.05")
        out.append(JudgeAgreement(str(language), tau, p_value, len(common),
                                  "; ".join(notes) or None))
    return out


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


ALPHA_LEVELS = ("nominal", "ordinal", "interval")


def rating_alpha(rows: pd.DataFrame, *, level: str) -> float | None:
    """Krippendorff's alpha over raters' values per task (nominal for pair choices, ordinal for
    scores), from the `krippendorff` library.

    Only tasks with two or more raters count (one rating cannot agree or disagree); a rater's
    later rating of the same task replaces the earlier. None when alpha is undefined: no such
    task, or every counted rating has the same value."""
    import krippendorff

    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}, not {level!r}")
    if rows is None or len(rows) == 0:
        return None
    _require(rows, ("task", "rater", "value"), "agreement rows")
    rows = rows.dropna(subset=["task", "rater", "value"])
    rows = rows.drop_duplicates(subset=["task", "rater"], keep="last")
    if level == "nominal":
        rows = rows.assign(value=rows["value"].astype(str))
    # a group-by, not pd.crosstab: crosstab took minutes on 200,000 ratings
    counts = rows.groupby(["task", "value"], sort=True).size().unstack(fill_value=0)
    counts = counts[counts.sum(axis=1) >= 2]
    counts = counts.loc[:, counts.sum(axis=0) > 0]
    if counts.shape[0] == 0 or counts.shape[1] < 2:
        return None
    value = float(krippendorff.alpha(value_counts=counts.to_numpy(dtype=float),
                                     value_domain=list(counts.columns),
                                     level_of_measurement=level))
    return None if math.isnan(value) else value
