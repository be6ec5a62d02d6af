"""Community scores beside automatic metrics and judge grades: plain data, no Streamlit.

    ratings = Ratings.read(store, campaign.id)          # the counted ratings, read once
    board = combined_board(ratings, runs, group=("language", "sw"))
    for table in board.tables:                          # one per dataset version
        table.long()                                     # one row per model and score
        table.judge_agreement                            # judge vs community, per language
    board.as_dict()                                      # what `jamii leaderboard --json` prints

Shared by `jamii leaderboard` and the dashboard's leaderboard; the organiser page's aggregates
(`progress`, `gold_accuracy`, `rating_agreement`) are here too.

How a results folder meets its ratings. Answers queued for rating carry the run's model spec
(`model.spec` in config.json, e.g. `hf:org/name`) and the release's `name@version`, so a run
gets the community scores of its spec on its `name@version`. Two things a run records are not
in the ratings and are said, not hidden, on the row (`note`): the Hub revision and a split other
than test (`Run.dataset` shows them), and which of several runs of one spec the rated answers
came from (each such run shows the same community scores). The dashboard names runs by their
model id (`Run.model`), which may differ from the spec: matching always uses the spec.
A model rated by the community with no results folder given still gets a row (no automatic
scores).

The statistics (Bradley-Terry with bootstrap intervals, means with intervals, Wilson intervals,
Kendall's tau, Krippendorff's alpha) are `jamii.evaluate._community`'s; this module only picks
the ratings, calls them and lays the results out.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

import numpy as np
import pandas as pd

from jamii.core.agreement import MIN_UNITS_NOTE
from jamii.dashboard.leaderboard import DIMENSIONS, OVERALL, Run, leaderboard

N_BOOTSTRAP = 1000
"""Bootstrap rounds of the community intervals (the statistics module's minimum)."""

ARENA = "community:arena"
"""Bradley-Terry strength of pairwise votes, on the arena scale (1000 + 400 log10 odds)."""
SAFETY = "community:safety_flag_rate"
DIRECT_PREFIX = "community:"
SOURCES = ("automatic", "judge", "community")

GOLD_MIN_ACCURACY = 0.7
"""A rater below this share of gold tasks right, over at least `GOLD_MIN_TASKS`, is flagged."""
GOLD_MIN_TASKS = 5

RATING_NOTES = {
    "no_ratings": "no ratings yet",
    "no_units": "no task has two or more ratings yet",
    "no_variation": "every rating gave the same value: alpha is undefined (no variation)",
    "undefined": "alpha is undefined for these ratings",
    "few_units": "only {units} tasks with two or more ratings: read with caution",
}
"""Note code -> English note of the raters' agreement (the dashboard translates the code)."""

ROW_NOTES = {
    "dataset_detail": "community scores are for {tag}: ratings record the dataset's name and "
                      "version, not the Hub revision or split this run used ({dataset})",
    "shared_spec": "{n} results folders ran {spec} on {tag}: they share its community scores",
    "no_run": "rated by the community; no results folder of this model was given",
}


def _stats():
    """The statistics module, imported when first needed (it brings scipy)."""
    from jamii.evaluate import _community

    return _community


# ------------------------------------------------------------------------------ the ratings


CATEGORICAL = ("model_a", "model_b", "preferred", "language", "dialect", "domain", "dataset", "model",
               "criterion")


@dataclass
class Ratings:
    """A campaign's counted ratings (withdrawn raters and items left out by the store)."""

    votes: pd.DataFrame
    """Pairwise votes, gold tasks left out: task, rater, model_a, model_b, preferred, language,
    dialect, domain, dataset."""
    scores: pd.DataFrame
    """Direct assessments, one row per rating and criterion."""
    safety: pd.DataFrame
    """Direct assessments, one row per rating, with safety_flag."""

    @classmethod
    def read(cls, store, campaign_id: int) -> "Ratings":
        scores, safety = store.direct_ratings(campaign_id)
        return cls(store.pairwise_votes(campaign_id), scores, safety)

    @classmethod
    def empty(cls) -> "Ratings":
        return cls(pd.DataFrame(columns=["task", "rater", "model_a", "model_b", "preferred", "language",
                                         "dialect", "domain", "dataset", "gold"]),
                   pd.DataFrame(columns=["rating", "rater", "task", "model", "language", "dialect",
                                         "domain", "dataset", "criterion", "score"]),
                   pd.DataFrame(columns=["rating", "rater", "task", "model", "language", "dialect",
                                         "domain", "dataset", "safety_flag"]))

    def __post_init__(self) -> None:
        # the text columns as categories: picking a language or a dataset out of 200,000
        # ratings then moves integer codes, not strings (several times faster)
        for frame in (self.votes, self.scores, self.safety):
            for column in CATEGORICAL:
                if column in frame.columns and not isinstance(frame[column].dtype, pd.CategoricalDtype):
                    frame[column] = frame[column].astype("category")

    def __len__(self) -> int:
        return len(self.votes) + len(self.safety)

    def where(self, group: tuple[str, str | None] = OVERALL) -> "Ratings":
        """The ratings of one subgroup. Only contextual items are rated, so every other kind
        has none."""
        dimension, value = group
        if dimension in (None, "overall"):
            return self
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown group {dimension!r}: use overall or one of {', '.join(DIMENSIONS)}")
        if dimension == "kind":
            return self if value == "contextual" else Ratings.empty()
        return Ratings(*(f[f[dimension] == value] for f in (self.votes, self.scores, self.safety)))

    def of_dataset(self, tag: str) -> "Ratings":
        return Ratings(*(f[f["dataset"] == tag] for f in (self.votes, self.scores, self.safety)))

    def datasets(self) -> list[str]:
        return sorted({str(d) for f in (self.votes, self.safety) for d in f["dataset"].dropna().unique()})

    def group_values(self, dimension: str) -> list[str]:
        if dimension == "kind":
            return ["contextual"] if len(self) else []
        return sorted({str(v) for f in (self.votes, self.safety) for v in f[dimension].dropna().unique()})


# ------------------------------------------------------------------------------ the board


@dataclass
class Score:
    metric: str
    """chrf, bleu, ..., judge:<criterion>, community:arena, community:<criterion>,
    community:safety_flag_rate."""
    source: str
    """automatic, judge or community."""
    label: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    """Items for automatic scores and judge grades; votes or ratings for community scores."""
    rank: int | None
    higher_is_better: bool
    scale: str
    signature: str
    warning: str = ""


@dataclass
class Row:
    """One model on one dataset version: its automatic, judge and community scores."""

    model: str
    """The model as the results name it (`Run.model`), else the spec the ratings name."""
    spec: str | None
    """The model spec: what ratings are matched on."""
    revision: str
    run: str | None
    """The results folder, None for a model only the community rated."""
    dataset: str
    scores: dict[str, Score] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    note_codes: list[tuple[str, dict]] = field(default_factory=list)
    """(code, values) of each note, for the dashboard to translate (`ROW_NOTES`)."""

    def note(self, code: str, **values: Any) -> None:
        self.note_codes.append((code, values))
        self.notes.append(ROW_NOTES[code].format(**values))


@dataclass
class Agreement:
    """Judge grades against community scores in one language (Kendall's tau over models)."""

    language: str
    tau: float | None
    p_value: float | None
    n_models: int
    note: str
    basis: str
    """What the community side is: 'arena' (pairwise strengths) or 'direct' (mean of the
    criterion means)."""


@dataclass
class DatasetBoard:
    dataset: str
    rows: list[Row]
    metrics: list[str]
    """Every score shown, in order: automatic, judge, community."""
    labels: dict[str, str]
    votes: int = 0
    """Pairwise votes on this dataset version (in the chosen group)."""
    ratings: int = 0
    """Direct assessments on this dataset version (in the chosen group)."""
    pairwise_signature: str = ""
    pairwise_warning: str = ""
    judge_agreement: list[Agreement] = field(default_factory=list)

    def long(self) -> pd.DataFrame:
        """One row per model and score."""
        out = [{"model": r.model, "spec": r.spec, "revision": r.revision, "run": r.run,
                "dataset": r.dataset, **asdict(s), "note": "; ".join(r.notes)}
               for r in self.rows for s in r.scores.values()]
        return pd.DataFrame(out, columns=LONG_COLUMNS)

    def wide(self) -> pd.DataFrame:
        """One row per model: each score's value with its interval columns."""
        out = []
        for r in self.rows:
            row: dict[str, Any] = {"model": r.model, "run": r.run or "", "revision": r.revision}
            for m in self.metrics:
                s = r.scores.get(m)
                row[m] = s.value if s else None
                row[f"{m} low"] = s.ci_low if s else None
                row[f"{m} high"] = s.ci_high if s else None
            row["votes"] = r.scores[ARENA].n if ARENA in r.scores else 0
            row["note"] = "; ".join(r.notes)
            out.append(row)
        return pd.DataFrame(out)


LONG_COLUMNS = ["model", "spec", "revision", "run", "dataset", "metric", "source", "label", "value",
                "ci_low", "ci_high", "n", "rank", "higher_is_better", "scale", "signature", "warning",
                "note"]


@dataclass
class CombinedBoard:
    tables: list[DatasetBoard]
    group: tuple[str, str | None]
    missing: list[str] = field(default_factory=list)
    """Results folders without the chosen subgroup."""

    def table(self, dataset: str) -> DatasetBoard:
        return next(t for t in self.tables if t.dataset == dataset)

    def long(self) -> pd.DataFrame:
        frames = [t.long() for t in self.tables if t.rows]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LONG_COLUMNS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": {"dimension": self.group[0], "value": self.group[1]},
            "missing": self.missing,
            "datasets": [{
                "dataset": t.dataset, "metrics": [{"metric": m, "label": t.labels[m]} for m in t.metrics],
                "pairwise": {"votes": t.votes, "warning": t.pairwise_warning or None,
                             "signature": t.pairwise_signature or None},
                "direct_ratings": t.ratings,
                "rows": [{"model": r.model, "spec": r.spec, "revision": r.revision, "run": r.run,
                          "notes": r.notes,
                          "scores": {m: _clean({k: v for k, v in asdict(s).items() if k != "metric"})
                                     for m, s in r.scores.items()}} for r in t.rows],
                "judge_vs_community": [_clean(asdict(a)) for a in t.judge_agreement],
            } for t in self.tables],
        }


def _clean(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def run_spec(run: Run) -> str | None:
    """The model spec the run's answers were queued under (what ratings name)."""
    info = run.summary.get("model") or run.config.get("model") or {}
    spec = info.get("spec")
    return str(spec) if spec else None


def run_tag(run: Run) -> str:
    """The run's dataset as `name@version`, the form ratings record."""
    d = run.summary.get("dataset") or run.config.get("dataset") or {}
    return f"{d.get('name') or 'unknown'}@{d.get('version') or 'unknown'}"


def community_scores(ratings: Ratings, tag: str, *, n_bootstrap: int | None = None, seed: int = 0
                     ) -> tuple[dict[str, dict[str, Score]], dict[str, Any]]:
    """Per model spec, its community scores on one dataset version's ratings (`tag`); and
    facts about the fit (votes, ratings, signature, warning)."""
    stats = _stats()
    n_bootstrap = n_bootstrap or N_BOOTSTRAP
    per_model: dict[str, dict[str, Score]] = {}
    facts: dict[str, Any] = {"votes": len(ratings.votes), "ratings": len(ratings.safety),
                             "signature": "", "warning": ""}
    if len(ratings.votes):
        board = stats.bradley_terry(ratings.votes, n_bootstrap=n_bootstrap, seed=seed)
        facts["signature"], facts["warning"] = board.signature or "", board.warning or ""
        for s in board.strengths:
            per_model.setdefault(s.model, {})[ARENA] = Score(
                ARENA, "community", "Community (pairwise, arena scale)", _num(s.score), _num(s.ci_low),
                _num(s.ci_high), int(s.votes), s.rank, True, "arena (1000 = average)", board.signature or "",
                board.warning or "")
    if len(ratings.scores):
        found = stats.direct_scores(ratings.scores, n_bootstrap=n_bootstrap, seed=seed)
        sig = _direct_signature(ratings, tag)
        for c in found:
            metric = f"{DIRECT_PREFIX}{c.criterion}"
            per_model.setdefault(c.model, {})[metric] = Score(
                metric, "community", f"Community: {c.criterion}", _num(c.mean), _num(c.ci_low),
                _num(c.ci_high), int(c.n), None, True, "1-5", f"{sig}|criterion:{c.criterion}",
                c.warning or "")
    if len(ratings.safety):
        sig = _direct_signature(ratings, tag)
        for s in stats.safety_rates(ratings.safety):
            per_model.setdefault(s.model, {})[SAFETY] = Score(
                SAFETY, "community", "Community: safety flags", _num(s.rate), _num(s.ci_low),
                _num(s.ci_high), int(s.n), None, False, "share of ratings (Wilson 95%)",
                f"{sig}|safety_flag_rate|wilson95", "")
    _rank_direct(per_model)
    return per_model, facts


def _direct_signature(ratings: Ratings, tag: str) -> str:
    return f"community:direct|mean|bootstrap95|dataset:{tag}|ratings:{len(ratings.safety)}"


def _rank_direct(per_model: dict[str, dict[str, Score]]) -> None:
    """Rank community means and rates among the rated models (ties share the better rank)."""
    metrics = {m for scores in per_model.values() for m in scores if m != ARENA}
    for metric in metrics:
        entries = [s for scores in per_model.values() if (s := scores.get(metric)) and s.value is not None]
        for s in entries:
            better = sum(1 for o in entries if (o.value > s.value if s.higher_is_better else o.value < s.value))
            s.rank = better + 1


def combined_board(ratings: Ratings, runs: list[Run], *, group: tuple[str, str | None] = OVERALL,
                   dataset: str | None = None, n_bootstrap: int | None = None, seed: int = 0) -> CombinedBoard:
    """Per dataset version, one row per model: automatic metrics, judge grades and community
    scores with their intervals, ranks, votes and signatures; and judge against community.

    `dataset` keeps one table (a run's dataset as `Run.dataset` gives it, or a rated
    `name@version`). Community scores are fitted per `name@version` on the chosen subgroup's
    ratings; ranks are within each table."""
    n_bootstrap = n_bootstrap or N_BOOTSTRAP
    auto = leaderboard(runs, group=group)
    chosen = ratings.where(group)
    by_tag: dict[str, tuple[dict[str, dict[str, Score]], dict[str, Any]]] = {
        tag: community_scores(chosen.of_dataset(tag), tag, n_bootstrap=n_bootstrap, seed=seed)
        for tag in chosen.datasets()}

    tables: dict[str, DatasetBoard] = {}
    rows_by_run: dict[str, Row] = {}
    labels: dict[str, dict[str, str]] = {}
    for run in runs:
        if run.name in auto.missing:
            continue
        row = Row(run.model, run_spec(run), run.revision, run.name, run.dataset)
        rows_by_run[run.name] = row
        tables.setdefault(run.dataset, DatasetBoard(run.dataset, [], [], {})).rows.append(row)
    for rec in auto.table.itertuples(index=False):
        row = rows_by_run.get(rec.run)
        if row is None:
            continue
        source = "judge" if rec.metric.startswith("judge:") else "automatic"
        row.scores[rec.metric] = Score(rec.metric, source, rec.label, _num(rec.value), _num(rec.ci_low),
                                       _num(rec.ci_high), int(rec.n), None if pd.isna(rec.rank) else int(rec.rank),
                                       bool(rec.higher_is_better), rec.scale, rec.signature, rec.warning)
        labels.setdefault(rec.dataset, {})[rec.metric] = rec.label

    # community scores onto runs by (spec, name@version); the rest get rows of their own
    runs_of: dict[tuple[str | None, str], list[Run]] = {}
    for run in runs:
        if run.name in rows_by_run:
            runs_of.setdefault((run_spec(run), run_tag(run)), []).append(run)
    for tag, (per_model, facts) in by_tag.items():
        homes = sorted(t for t in tables if t == tag or run_tag_of(t, runs) == tag)
        for spec, scores in per_model.items():
            matched = runs_of.get((spec, tag), [])
            for run in matched:
                row = rows_by_run[run.name]
                row.scores.update({m: _copy(s) for m, s in scores.items()})
                if run.dataset != tag:
                    row.note("dataset_detail", tag=tag, dataset=run.dataset)
                if len(matched) > 1:
                    row.note("shared_spec", n=len(matched), spec=spec, tag=tag)
            if not matched:
                home = homes[0] if len(homes) == 1 else tag
                row = Row(spec, spec, "unknown", None, home, {m: _copy(s) for m, s in scores.items()})
                row.note("no_run")
                if home != tag:
                    row.note("dataset_detail", tag=tag, dataset=home)
                tables.setdefault(home, DatasetBoard(home, [], [], {})).rows.append(row)
        for home in {*homes, tag} & set(tables):
            table = tables[home]
            table.votes, table.ratings = facts["votes"], facts["ratings"]
            table.pairwise_signature, table.pairwise_warning = facts["signature"], facts["warning"]

    out = []
    for name in sorted(tables):
        if dataset is not None and name != dataset:
            continue
        table = tables[name]
        _finish(table, labels.get(name, {}))
        table.judge_agreement = judge_vs_community(table, runs, ratings, group, n_bootstrap=n_bootstrap,
                                                   seed=seed, fitted=by_tag)
        out.append(table)
    return CombinedBoard(out, group, missing=list(auto.missing))


def run_tag_of(table_dataset: str, runs: list[Run]) -> str | None:
    """The `name@version` of the runs in a table keyed by `Run.dataset`."""
    return next((run_tag(r) for r in runs if r.dataset == table_dataset), None)


def _copy(s: Score) -> Score:
    return replace(s)


def _finish(table: DatasetBoard, auto_labels: dict[str, str]) -> None:
    """Order the metrics (automatic, judge, community) and the rows (best first)."""
    found: dict[str, Score] = {}
    for r in table.rows:
        for m, s in r.scores.items():
            found.setdefault(m, s)
    from jamii.dashboard.leaderboard import METRIC_ORDER

    def key(m: str) -> tuple:
        s = found[m]
        community = (0 if m == ARENA else 2 if m == SAFETY else 1)
        return (SOURCES.index(s.source), METRIC_ORDER.index(m) if m in METRIC_ORDER else len(METRIC_ORDER),
                community, m)

    table.metrics = sorted(found, key=key)
    table.labels = {m: auto_labels.get(m, found[m].label) for m in table.metrics}
    lead = next((m for m in table.metrics if found[m].source == "automatic"), None) or \
        (ARENA if ARENA in found else (table.metrics[0] if table.metrics else None))

    def order(r: Row) -> tuple:
        s = r.scores.get(lead) if lead else None
        return (s is None or s.rank is None, s.rank if s and s.rank is not None else 0, r.model, r.run or "")

    table.rows.sort(key=order)


# -------------------------------------------------------------------- judge against community


def _judge_value(block: dict | None) -> float | None:
    """The mean of a run's judge grades in one summary block (the safety flag left out: it
    is a rate, lower is better)."""
    metrics = (block or {}).get("metrics") or {}
    values = [_num(e.get("value")) for m, e in metrics.items()
              if m.startswith("judge:") and m != "judge:safety_flag"]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def judge_vs_community(table: DatasetBoard, runs: list[Run], ratings: Ratings,
                       group: tuple[str, str | None] = OVERALL, *, n_bootstrap: int | None = None,
                       seed: int = 0, fitted: dict | None = None) -> list[Agreement]:
    """Per language, Kendall's tau between the judge's grades (mean over criteria) and the
    community's scores of the same models (pairwise strengths when there are votes, else the
    mean of the direct scores). Only models with both count. A language with fewer judged
    models than tau needs is reported without fitting anything; when the board is already of
    one language (`fitted`, from `combined_board`) its fit is used again."""
    stats = _stats()
    in_table = [r for r in runs if r.dataset == table.dataset and run_spec(r)]
    tags = {run_tag(r) for r in in_table}
    if not in_table or len(tags) != 1:
        return []
    tag = tags.pop()
    judge: dict[str, dict[str, float]] = {}
    for run in in_table:
        langs = (run.summary.get("by") or {}).get("language") or {}
        for lang, block in langs.items():
            value = _judge_value(block)
            if value is not None and (group[0] != "language" or lang == group[1]):
                judge.setdefault(lang, {})[run_spec(run)] = value
    few = {lang for lang, models in judge.items() if len(models) < stats.MIN_TAU_MODELS}
    out = [Agreement(lang, None, None, len(judge[lang]),
                     f"{len(judge[lang])} model(s) with judge grades: Kendall's tau needs at least "
                     f"{stats.MIN_TAU_MODELS}", "") for lang in sorted(few)]
    judge = {lang: models for lang, models in judge.items() if lang not in few}
    if not judge:
        return out
    chosen = ratings.of_dataset(tag)
    if group[0] == "language":
        chosen = chosen.where(group)
    community: dict[str, dict[str, float]] = {}
    basis = "arena" if len(chosen.votes) else "direct"
    if basis == "arena" and group[0] == "language" and fitted and tag in fitted:
        community[str(group[1])] = {m: s[ARENA].value for m, s in fitted[tag][0].items()
                                    if ARENA in s and s[ARENA].value is not None}
    elif basis == "arena":
        votes = chosen.votes[chosen.votes["language"].astype(str).isin(list(judge))]
        for lang, board in stats.pairwise_by_group(votes, "language", n_bootstrap=n_bootstrap or N_BOOTSTRAP,
                                                   seed=seed).items():
            community[lang] = {s.model: float(s.score) for s in board.strengths}
    elif len(chosen.scores):
        means = chosen.scores.groupby(["language", "model"], observed=True)["score"].mean()
        for (lang, model), value in means.items():
            if str(lang) in judge:
                community.setdefault(str(lang), {})[str(model)] = float(value)
    found = stats.judge_vs_community(judge, community)
    out += [Agreement(a.language, _num(a.tau), _num(a.p_value), int(a.n_models), a.note or "", basis)
            for a in found]
    return sorted(out, key=lambda a: a.language)


# ---------------------------------------------------------------------- the organiser's page


def progress(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rating progress per task type and language (from `Store.rating_progress`), with the
    share of tasks that have every rating wanted."""
    table = pd.DataFrame(rows, columns=["mode", "language", "tasks", "rated", "complete", "ratings"])
    # the store counts gold tasks apart by their expected side ('a' or 'b'): one row per type
    table = table.groupby(["mode", "language"], as_index=False, sort=False)[
        ["tasks", "rated", "complete", "ratings"]].sum()
    order = {m: i for i, m in enumerate(("direct", "pair", "gold"))}
    table = table.sort_values(["mode", "language"], key=lambda c: c.map(order) if c.name == "mode" else c,
                              ignore_index=True)
    table["share_complete"] = [c / t if t else None for c, t in zip(table["complete"], table["tasks"])]
    return table


def gold_accuracy(rows: list[dict[str, Any]], *, threshold: float = GOLD_MIN_ACCURACY,
                  min_tasks: int = GOLD_MIN_TASKS) -> pd.DataFrame:
    """Per rater (pseudonym, from `Store.gold_results`): gold tasks rated, right, the share
    right, and whether to look at their ratings (below `threshold` over at least `min_tasks`)."""
    table = pd.DataFrame(rows, columns=["rater", "gold_rated", "gold_correct"])
    table["accuracy"] = [c / n if n else None for c, n in zip(table["gold_correct"], table["gold_rated"])]
    table["flagged"] = [bool(n >= min_tasks and a is not None and a < threshold)
                        for n, a in zip(table["gold_rated"], table["accuracy"])]
    return table.sort_values(["flagged", "accuracy", "rater"], ascending=[False, True, True],
                             na_position="last").reset_index(drop=True)


AGREEMENT_COLUMNS = ["what", "criterion", "language", "ratings", "tasks", "units", "alpha", "note",
                     "note_code"]


def _alpha_row(what: str, criterion: str, language: str, rows: pd.DataFrame, level: str) -> dict:
    tasks = units = 0
    value, code = None, ""
    if not len(rows):
        code = "no_ratings"
    else:
        task = rows["task"].to_numpy(dtype=np.int64)
        rater = rows["rater"].to_numpy(dtype=np.int64)
        width = int(rater.max()) + 1
        found, per_task = _runs_of(_distinct(task * width + rater) // width)  # (task, rater) once
        tasks, multi = len(found), found[per_task >= 2]
        units = len(multi)
        if units == 0:
            code = "no_units"
        else:
            chosen = rows[np.isin(task, multi)]
            value = _num(_stats().rating_alpha(chosen[["task", "rater", "value"]], level=level))
            if value is None:
                code = "no_variation" if chosen["value"].nunique() < 2 else "undefined"
            elif units < MIN_UNITS_NOTE:
                code = "few_units"
    return {"what": what, "criterion": criterion, "language": language, "ratings": int(len(rows)),
            "tasks": int(tasks), "units": int(units), "alpha": value,
            "note": RATING_NOTES[code].format(units=units) if code else "", "note_code": code}


def _distinct(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: numpy's hashing unique is slower on these)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def _runs_of(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value of a sorted array and how many times it occurs."""
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])


def rating_agreement(ratings: Ratings, *, all_label: str = "all") -> pd.DataFrame:
    """Krippendorff's alpha among raters: pair choices (nominal) and each direct criterion
    (ordinal), over all languages and per language. Each unit is one task rated by two or
    more people; alpha is None (with a note) when it cannot be computed."""
    out = []
    pairs = ratings.votes.rename(columns={"preferred": "value"})[["task", "rater", "value", "language"]] \
        if len(ratings.votes) else pd.DataFrame(columns=["task", "rater", "value", "language"])
    for language, sub in _by_language(pairs, all_label):
        out.append(_alpha_row("pair", "", language, sub, "nominal"))
    scores = ratings.scores.rename(columns={"score": "value"})
    for criterion in sorted(str(c) for c in scores["criterion"].unique()):
        crit = scores[scores["criterion"] == criterion][["task", "rater", "value", "language"]]
        for language, sub in _by_language(crit, all_label):
            out.append(_alpha_row("direct", criterion, language, sub, "ordinal"))
    return pd.DataFrame(out, columns=AGREEMENT_COLUMNS)


def _by_language(rows: pd.DataFrame, all_label: str) -> Iterable[tuple[str, pd.DataFrame]]:
    yield all_label, rows
    if len(rows):
        for language, sub in rows.groupby("language", observed=True):
            yield str(language), sub


__all__ = ["Ratings", "Score", "Row", "Agreement", "DatasetBoard", "CombinedBoard", "combined_board",
           "community_scores", "judge_vs_community", "progress", "gold_accuracy", "rating_agreement",
           "run_spec", "run_tag", "ARENA", "SAFETY", "GOLD_MIN_ACCURACY", "GOLD_MIN_TASKS",
           "RATING_NOTES", "ROW_NOTES"]


# ------------------------------------------------------------------------ answers behind a score


def _matches(record: dict, group: tuple[str, str | None]) -> bool:
    dimension, value = group
    if dimension in (None, "overall"):
        return True
    if dimension == "kind" and "kind" not in record:
        return value == "contextual"  # answers queued for rating are all contextual
    return str(record.get(dimension)) == str(value)


def sample_answers(run: Run, group: tuple[str, str | None] = OVERALL, *, community: bool = False,
                   limit: int = 3) -> list[dict[str, Any]]:
    """A few of the run's answers behind a score: from samples.jsonl (automatic scores and
    judge grades), or from answers_for_rating.jsonl (the answers the community was asked to
    rate). Read line by line, stopping at `limit`; a missing or broken file gives []."""
    import json

    name = "answers_for_rating.jsonl" if community else "samples.jsonl"
    out: list[dict[str, Any]] = []
    try:
        with (run.path / name).open(encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(record, dict) or not _matches(record, group):
                    continue
                out.append({"id": str(record.get("item_id") or record.get("id") or ""),
                            "language": str(record.get("language") or ""),
                            "prompt": str(record.get("question") or record.get("prompt") or ""),
                            "answer": str((record.get("answer") if community else record.get("prediction")) or ""),
                            "reference": "" if community else str(record.get("reference") or "")})
                if len(out) >= limit:
                    break
    except (OSError, UnicodeDecodeError):
        return []
    return out
