"""Summaries: overall and per language, dialect, domain and kind, with 95% bootstrap intervals.

Intervals resample items (with replacement) and recompute each metric from the summed per-sample
sufficient statistics, as sacrebleu's own bootstrap does, so a resample costs one sum and
one metric evaluation instead of a rescoring of every text. Subgroups under `SMALL_GROUP` items
carry a warning: their intervals are wide and their point values unstable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from jamii.evaluate._metrics import HIGHER_IS_BETTER, LABELS, SCALE, MetricStats

SMALL_GROUP = 30
SUMMARY_FORMAT = 1
"""Bump when the summary's content changes, so cached summaries are recomputed."""
DIMENSIONS = ("language", "dialect", "domain", "kind")
NONE_LABEL = "(none)"


@dataclass
class SampleStats:
    """What the summary needs of one finished sample."""

    meta: dict
    """language, dialect, domain, kind."""
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    """metric -> sufficient statistics of this sample."""
    judge_failed: bool | None = None
    """None: not judged; True: the judge's output could not be parsed."""


class _Mean:
    """A mean of per-sample values, as stats rows [value, 1]."""

    def __init__(self, name: str):
        self.metric = name

    def value(self, summed: np.ndarray) -> float:
        return float(summed[0] / summed[1]) if summed[1] else float("nan")

    def values(self, summed: np.ndarray) -> np.ndarray:
        return summed[:, 0] / np.maximum(summed[:, 1], 1)


def scorer_for(metric: str, params: dict | None = None):
    """The function object that turns summed statistics into a value for `metric`."""
    if metric.startswith("judge:"):
        return _Mean(metric)
    from jamii.evaluate._metrics import _check_params

    return MetricStats(metric, np.zeros((0, 1)), _check_params(metric, params or {}))


def resample_counts(n: int, rng: np.random.Generator, n_bootstrap: int) -> np.ndarray:
    """How often each of n items is drawn in each of `n_bootstrap` resamples, shape (B, n)."""
    draws = rng.integers(0, n, size=(n_bootstrap, n)) + (np.arange(n_bootstrap) * n)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n_bootstrap * n).reshape(n_bootstrap, n)
    return counts.astype(np.float64)  # float: the resample sums are one BLAS matrix product


def bootstrap(scorer, matrix: np.ndarray, counts: np.ndarray | None) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the metric over item resamples (`counts` rows)."""
    if counts is None or matrix.shape[0] < 2:
        v = scorer.value(matrix.sum(axis=0))
        return v, v
    values = np.asarray(scorer.values(counts @ matrix), dtype=float)
    values = values[~np.isnan(values)]
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def summary_key(samples: list[SampleStats], metrics: list[str], n_bootstrap: int, seed: int) -> str:
    """A hash of everything a summary depends on (to reuse it when nothing changed)."""
    h = hashlib.sha256(f"{SUMMARY_FORMAT}|{n_bootstrap}|{seed}|{metrics}".encode())
    for s in samples:
        h.update(json.dumps([s.meta, s.judge_failed, sorted(s.rows)], sort_keys=True).encode())
        for m in sorted(s.rows):
            h.update(np.asarray(s.rows[m], dtype=np.float64).tobytes())
    return h.hexdigest()


def _headline(metrics: dict, unspaced) -> str | None:
    if "chrf" in metrics:
        return "chrf"
    if "wer" in metrics:
        return "cer" if unspaced() else "wer"
    return next(iter(metrics), None)


def _group(samples: list[SampleStats], scorers: dict, rng, n_bootstrap: int, unspaced) -> dict:
    metrics: dict[str, dict] = {}
    # one set of resamples per group, shared by its metrics; a sample without a metric adds a
    # zero row, which leaves that metric's sums (and so its resampled values) untouched
    counts = resample_counts(len(samples), rng, n_bootstrap) if len(samples) > 1 and n_bootstrap > 1 else None
    blocks = []
    for metric, scorer in scorers.items():
        present = [s.rows.get(metric) for s in samples]
        width = next((len(r) for r in present if r is not None), None)
        if width is None:
            continue
        matrix = np.vstack([r if r is not None else np.zeros(width) for r in present])
        blocks.append((metric, scorer, matrix, sum(r is not None for r in present)))
    # every metric's resample sums at once: one (B, n) @ (n, sum of widths) product
    resampled = None
    if counts is not None and blocks:
        resampled = counts @ np.hstack([m for _, _, m, _ in blocks])
    col = 0
    for metric, scorer, matrix, n in blocks:
        width = matrix.shape[1]
        value = scorer.value(matrix.sum(axis=0))
        if resampled is None or n < 2:
            lo = hi = value
        else:
            values = np.asarray(scorer.values(resampled[:, col:col + width]), dtype=float)
            values = values[~np.isnan(values)]
            lo, hi = (float(x) for x in np.percentile(values, [2.5, 97.5]))
        col += width
        metrics[metric] = {"value": value, "ci95": [lo, hi], "n": n}
    judged = [s for s in samples if s.judge_failed is not None]
    out = {"n": len(samples), "metrics": metrics,
           "headline": _headline(metrics, lambda: bool(samples) and all(unspaced(s.meta["language"]) for s in samples))}
    if judged:
        out["judge_parse_failures"] = sum(1 for s in judged if s.judge_failed)
    if len(samples) < SMALL_GROUP:
        items = "item" if len(samples) == 1 else "items"
        out["warning"] = f"only {len(samples)} {items} (fewer than {SMALL_GROUP}): treat this value with caution"
    return out


def summarise(
    samples: list[SampleStats],
    scorers: dict,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    unspaced=lambda language: False,
) -> dict:
    """Overall and per-dimension results with bootstrap intervals and small-group warnings."""
    rng = np.random.default_rng(seed)
    computed: dict[tuple[int, ...], dict] = {}

    def group(members: list[int]) -> dict:
        # a subgroup holding the same items as one already computed (all items share one
        # dialect, say) gets the same numbers instead of a second bootstrap
        key = tuple(members)
        if key not in computed:
            computed[key] = _group([samples[i] for i in members], scorers, rng, n_bootstrap, unspaced)
        return dict(computed[key])

    result = {"overall": group(list(range(len(samples)))), "by": {}}
    warnings = []
    if "warning" in result["overall"]:
        warnings.append(f"overall: {result['overall']['warning']}")
    for dim in DIMENSIONS:
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(s.meta.get(dim) or NONE_LABEL, []).append(i)
        result["by"][dim] = {}
        for key in sorted(groups):
            g = group(groups[key])
            result["by"][dim][key] = g
            if "warning" in g:
                warnings.append(f"{dim}={key}: {g['warning']}")
    result["warnings"] = warnings
    result["bootstrap"] = {"resamples": n_bootstrap, "seed": seed, "interval": "percentile 95%",
                           "unit": "item"}
    result["metric_info"] = {
        m: {"label": LABELS.get(m, m),
            "scale": SCALE.get(m, "1-5" if m.startswith("judge:") and not m.endswith("safety_flag") else "0-1"),
            "higher_is_better": HIGHER_IS_BETTER.get(m, not m.endswith("safety_flag"))}
        for m in scorers
    }
    return result


def skipped_kind(kind: str, split: str, splits: list[str]) -> str:
    """The note naming a kind left out of a run because the release has no such split for it."""
    return f"{kind} skipped: the release has no {split!r} split for it (it has: {', '.join(splits)})"


def _fmt(metric: str, entry: dict | None) -> str:
    if not entry:
        return "-"
    v, (lo, hi) = entry["value"], entry["ci95"]
    if metric in ("chrf", "bleu"):
        return f"{v:.1f} [{lo:.1f}, {hi:.1f}]"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def format_table(summary: dict, metrics: list[str] | None = None) -> str:
    """A plain-text table of the summary for the terminal."""
    metrics = metrics or [m for m in ("chrf", "bleu", "exact_match", "wer", "cer") if m in summary["metric_info"]]
    metrics += [m for m in summary["metric_info"] if m.startswith("judge:") and m not in metrics]
    rows = [("overall", "", summary["overall"])]
    for dim, groups in summary["by"].items():
        rows += [(dim, key, g) for key, g in groups.items()]
    header = ["group", "value", "n"] + [LABELS.get(m, m) for m in metrics]
    table = [header]
    for dim, key, g in rows:
        cells = [dim, key, str(g["n"])] + [_fmt(m, g["metrics"].get(m)) for m in metrics]
        if "warning" in g:
            cells[2] += " !"
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any("warning" in g for *_, g in rows):
        lines.append(f"! fewer than {SMALL_GROUP} items: intervals are wide; read with caution")
    dataset = summary.get("dataset") or {}
    for kind, splits in (dataset.get("skipped") or {}).items():
        lines.append("! " + skipped_kind(kind, dataset.get("split"), splits))
    return "\n".join(lines)
