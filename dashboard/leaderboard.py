"""Leaderboards from `jamii evaluate` results folders: plain data, no Streamlit.

    runs, skipped = load_runs(results_dir)   # one Run per subfolder holding summary.json
    board = leaderboard(runs, group=("language", "sw"))
    board.table                               # one row per run and metric, ranked
    board.mixed_datasets                      # True: ranks are within each dataset version

Each results folder holds `config.json` (model, revision, dataset, metric signatures),
`summary.json` (overall and per language/dialect/domain/kind values with 95% bootstrap
intervals and small-group warnings) and `samples.jsonl`. Runs on different dataset versions
are never ranked together: the rank is computed within each dataset version, and the board
says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

DIMENSIONS = ("language", "dialect", "domain", "kind")
METRIC_ORDER = ("chrf", "bleu", "exact_match", "wer", "cer")
OVERALL = ("overall", None)
COLUMNS = ["rank", "model", "revision", "run", "dataset", "metric", "label", "value", "ci_low",
           "ci_high", "n", "higher_is_better", "scale", "warning", "signature"]


@dataclass
class Run:
    """One results folder."""

    name: str
    """The folder's name (shown when two runs share a model id)."""
    path: Path
    config: dict
    """config.json: model, dataset, generation parameters, signatures, library versions."""
    summary: dict
    """summary.json: overall, by dimension, warnings, metric_info."""

    @property
    def model(self) -> str:
        info = self.summary.get("model") or self.config.get("model") or {}
        return str(info.get("id") or info.get("spec") or self.name)

    @property
    def revision(self) -> str:
        info = self.summary.get("model") or self.config.get("model") or {}
        return str(info.get("revision") or "unknown")

    @property
    def dataset(self) -> str:
        """name@version[#hub revision]: what the scores are comparable within."""
        d = self.summary.get("dataset") or self.config.get("dataset") or {}
        tag = f"{d.get('name') or 'unknown'}@{d.get('version') or 'unknown'}"
        if d.get("hub_revision"):
            tag += f"#{str(d['hub_revision'])[:12]}"
        if d.get("split") and d.get("split") != "test":
            tag += f" ({d['split']})"
        return tag

    @property
    def warnings(self) -> list[str]:
        return list(self.summary.get("warnings") or [])

    def group(self, dimension: str | None = None, value: str | None = None) -> dict | None:
        """The summary block for overall (no dimension) or one subgroup, else None."""
        if dimension in (None, "overall"):
            return self.summary.get("overall")
        return ((self.summary.get("by") or {}).get(dimension) or {}).get(value)

    def metric_info(self, metric: str) -> dict:
        info = (self.summary.get("metric_info") or {}).get(metric) or {}
        return {"label": info.get("label") or (self.config.get("metric_labels") or {}).get(metric, metric),
                "scale": info.get("scale") or ("1-5" if metric.startswith("judge:") else ""),
                "higher_is_better": bool(info.get("higher_is_better",
                                                  not metric.endswith(("wer", "cer", "safety_flag"))))}

    def signature(self, metric: str) -> str:
        sigs = self.summary.get("signatures") or self.config.get("metrics") or {}
        if metric in sigs:
            return str(sigs[metric])
        if metric.startswith("judge:"):
            judge = (self.config.get("judge") or {}).get("spec") or "judge"
            return f"{metric}|judge:{judge}|dataset:{self.dataset}|model:{self.model}@{self.revision}"
        return ""


@dataclass
class Skipped:
    name: str
    reason: str


def load_runs(folder: str | Path) -> tuple[list[Run], list[Skipped]]:
    """Every subfolder of `folder` that holds a finished results folder, and why others don't.

    A missing folder gives no runs and no complaints (nothing has been evaluated yet).
    """
    root = Path(folder)
    runs: list[Run] = []
    skipped: list[Skipped] = []
    if not root.is_dir():
        return runs, skipped
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        run, reason = _load_one(sub)
        if run is not None:
            runs.append(run)
        elif reason:
            skipped.append(Skipped(sub.name, reason))
    return runs, skipped


def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, "missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name} cannot be read ({exc.__class__.__name__})"


def _load_one(folder: Path) -> tuple[Run | None, str | None]:
    config, err_c = _read_json(folder / "config.json")
    summary, err_s = _read_json(folder / "summary.json")
    if err_c == "missing" and err_s == "missing":
        return None, None  # not a results folder at all (a model cache, say): ignore quietly
    if err_s == "missing":
        status = (config or {}).get("status", "unknown") if isinstance(config, dict) else "unknown"
        return None, f"no summary.json yet (status: {status}); the run is unfinished or was interrupted"
    for err in (err_s, err_c if err_c != "missing" else None):
        if err:
            return None, err
    if not isinstance(summary, dict) or "overall" not in summary:
        return None, "summary.json has no 'overall' block; is this a jamii evaluate folder?"
    return Run(folder.name, folder, config if isinstance(config, dict) else {}, summary), None


def datasets(runs: list[Run]) -> list[str]:
    return sorted({r.dataset for r in runs})


def group_values(runs: list[Run], dimension: str) -> list[str]:
    """Every subgroup of `dimension` present in any run, sorted."""
    return sorted({k for r in runs for k in ((r.summary.get("by") or {}).get(dimension) or {})})


def metrics_of(runs: list[Run]) -> list[str]:
    """Metric names across runs: the standard ones in their usual order, then judge scores."""
    found = {m for r in runs for m in (r.summary.get("metric_info") or {})}
    found |= {m for r in runs for m in ((r.group() or {}).get("metrics") or {})}
    return [m for m in METRIC_ORDER if m in found] + sorted(found - set(METRIC_ORDER))


@dataclass
class Board:
    table: pd.DataFrame
    """One row per run and metric, columns `COLUMNS`, ranked within dataset version."""
    datasets: list[str]
    """Dataset versions the rows come from."""
    missing: list[str] = field(default_factory=list)
    """Runs without the chosen subgroup (e.g. a release without Shona)."""

    @property
    def mixed_datasets(self) -> bool:
        return len(self.datasets) > 1

    def metric(self, metric: str) -> pd.DataFrame:
        return self.table[self.table["metric"] == metric].reset_index(drop=True)


def leaderboard(runs: list[Run], *, group: tuple[str, str | None] = OVERALL,
                dataset: str | None = None, metrics: list[str] | None = None) -> Board:
    """Rank runs per metric for overall or one subgroup, within each dataset version."""
    dimension, value = group
    if dimension not in ("overall", *DIMENSIONS):
        raise ValueError(f"unknown group {dimension!r}: use overall or one of {', '.join(DIMENSIONS)}")
    chosen = [r for r in runs if dataset in (None, r.dataset)]
    rows: list[dict] = []
    missing: list[str] = []
    for run in chosen:
        block = run.group(dimension, value)
        if block is None:
            missing.append(run.name)
            continue
        for metric, entry in (block.get("metrics") or {}).items():
            if metrics is not None and metric not in metrics:
                continue
            info = run.metric_info(metric)
            lo, hi = (entry.get("ci95") or [None, None])[:2]
            rows.append({
                "model": run.model, "revision": run.revision, "run": run.name,
                "dataset": run.dataset, "metric": metric, "label": info["label"],
                "value": _num(entry.get("value")), "ci_low": _num(lo), "ci_high": _num(hi),
                "n": int(entry.get("n", block.get("n", 0)) or 0),
                "higher_is_better": info["higher_is_better"], "scale": info["scale"],
                "warning": block.get("warning") or "", "signature": run.signature(metric),
            })
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    table.insert(0, "rank", pd.Series(dtype="Int64"))
    if not table.empty:
        order = {m: i for i, m in enumerate(metrics_of(chosen))}
        for (_, metric), idx in table.groupby(["dataset", "metric"]).groups.items():
            sub = table.loc[idx]
            asc = not bool(sub["higher_is_better"].iloc[0])
            table.loc[idx, "rank"] = sub["value"].rank(ascending=asc, method="min").astype("Int64")
        table["_m"] = table["metric"].map(order).fillna(len(order))
        table = (table.sort_values(["dataset", "_m", "rank", "model", "run"], na_position="last")
                 .drop(columns="_m").reset_index(drop=True))
    return Board(table=table, datasets=sorted(set(table["dataset"])) if not table.empty else
                 sorted({r.dataset for r in chosen}), missing=missing)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f  # NaN (an empty group) shows as missing, never as a score


def run_warnings(run: Run, group: tuple[str, str | None] = OVERALL) -> list[str]:
    """Warnings of the run relevant to the shown group (its own, then the run's others)."""
    block = run.group(*group) or {}
    own = [block["warning"]] if block.get("warning") else []
    return own + [w for w in run.warnings if w not in own]
