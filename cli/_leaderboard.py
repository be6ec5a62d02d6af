"""`jamii leaderboard`: automatic metrics, judge grades and community scores, side by side.

One table per dataset version (scores on different versions are never ranked together), one
row per model, every value with its 95% interval; then, per language, how the judge's ranking
agrees with the community's (Kendall's tau). `--json` prints the same as one object, with every
signature. The statistics are `jamii.evaluate`'s, the layout `jamii.dashboard.community`'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jamii.cli._common import store_options

if TYPE_CHECKING:  # imported where used, not for --help
    from jamii.core.store import Store
    from jamii.dashboard.community import CombinedBoard, DatasetBoard, Score


def _fmt(metric: str, s: "Score | None") -> str:
    if s is None or s.value is None:
        return "-"
    digits = 0 if metric == "community:arena" else 1 if metric in ("chrf", "bleu") else \
        2 if metric.startswith(("judge:", "community:")) and metric != "community:safety_flag_rate" else 3
    if s.ci_low is None or s.ci_high is None:
        return f"{s.value:.{digits}f}"
    return f"{s.value:.{digits}f} [{s.ci_low:.{digits}f}, {s.ci_high:.{digits}f}]"


def format_table(table: "DatasetBoard") -> str:
    """One dataset version as a plain-text table (rank by the first automatic metric, else by
    community strength)."""
    from jamii.dashboard.community import ARENA

    header = ["model", "run"] + [table.labels[m] for m in table.metrics]
    if ARENA in table.metrics:
        header.insert(header.index(table.labels[ARENA]) + 1, "votes")
    rows = [header]
    small = False
    for r in table.rows:
        cells = [r.model, r.run or "-"]
        for m in table.metrics:
            s = r.scores.get(m)
            cell = _fmt(m, s)
            if s is not None and s.warning:
                cell += " !"
                small = True
            cells.append(cell)
            if m == ARENA:
                cells.append(str(s.n) if s else "0")
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if small:
        lines.append("! small group or few votes: read with caution (see --json for each warning)")
    return "\n".join(lines)


def format_board(board: "CombinedBoard") -> str:
    out: list[str] = []
    for t in board.tables:
        out.append(f"== {t.dataset}  ({t.votes} pairwise votes, {t.ratings} direct ratings)")
        out.append(format_table(t))
        for r in t.rows:
            for note in r.notes:
                out.append(f"  note: {r.model}{f' ({r.run})' if r.run else ''}: {note}")
        if t.pairwise_warning:
            out.append(f"  pairwise: {t.pairwise_warning}")
        if t.pairwise_signature:
            out.append(f"  pairwise signature: {t.pairwise_signature}")
        if t.judge_agreement:
            out.append("  judge vs community (Kendall's tau over models, per language):")
            for a in t.judge_agreement:
                tau = "-" if a.tau is None else f"{a.tau:+.2f}"
                p = "" if a.p_value is None else f", p = {a.p_value:.2f}"
                note = f"  ({a.note})" if a.note else ""
                basis = f", community {a.basis}" if a.basis else ""
                out.append(f"    {a.language}: tau {tau}{p}, {a.n_models} models{basis}{note}")
        out.append("")
    if board.missing:
        out.append("no results for this group from: " + ", ".join(board.missing))
    return "\n".join(out).rstrip()


def load_results(folders: list[str]):
    """Runs from each folder: a results folder itself, or a folder of them. Two runs with the
    same folder name are told apart by their parent's name."""
    from jamii.dashboard.leaderboard import Skipped, _load_one, load_runs

    runs, skipped = [], []
    for folder in folders:
        path = Path(folder)
        if not path.is_dir():
            skipped.append(Skipped(str(folder), "not a folder"))
            continue
        if (path / "summary.json").exists() or (path / "config.json").exists():
            run, reason = _load_one(path)
            found, skip = ([run] if run else []), ([Skipped(path.name, reason)] if reason else [])
        else:
            found, skip = load_runs(path)
        names = {r.name for r in runs}
        for run in found:
            if run.name in names:
                run.name = f"{path.resolve().name}/{run.name}"
        runs += found
        skipped += skip
    return runs, skipped


def _group(text: str) -> tuple[str, str | None]:
    """--group: overall, or DIMENSION=VALUE (checked before the store is opened)."""
    from jamii.dashboard.leaderboard import DIMENSIONS

    if text == "overall":
        return ("overall", None)
    dim, sep, value = text.partition("=")
    if not sep or dim not in DIMENSIONS or not value:
        raise click.BadParameter(f"give overall or DIMENSION=VALUE with one of {', '.join(DIMENSIONS)}",
                                 param_hint="--group")
    return (dim, value)


@click.command("leaderboard")
@click.option("--campaign", "-c", required=True, help="Campaign short name (slug) whose ratings to use.")
@click.option("--results", "results", multiple=True, required=True, metavar="DIR",
              help="A `jamii evaluate` results folder, or a folder of them; more may follow.")
@click.argument("more", nargs=-1, metavar="[DIR]...", type=click.Path())
@click.option("--group", default="overall", metavar="DIMENSION=VALUE", callback=lambda c, p, v: _group(v),
              help="Scores of one subgroup, e.g. language=sw, dialect=..., domain=health, kind=contextual.")
@click.option("--dataset", default=None, help="Only this dataset version (as the table headers name it).")
@click.option("--bootstrap", "n_bootstrap", default=None, type=click.IntRange(1000, 100_000),
              help="Bootstrap resamples for the community intervals (default 1000).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@store_options
def leaderboard_command(store: "Store", campaign: str, results: tuple[str, ...], more: tuple[str, ...],
                        group: tuple[str, str | None], dataset: str | None, n_bootstrap: int | None, seed: int, as_json: bool) -> None:
    """One table per dataset version: automatic metrics (chrF++ and the rest), judge grades and
    community scores (pairwise Bradley-Terry strengths with votes, direct-assessment means,
    safety-flag rate), each with its 95% interval; and judge against community per language."""
    from jamii.dashboard.community import Ratings, combined_board

    found = store.campaign(campaign)
    runs, skipped = load_results([*results, *more])
    board = combined_board(Ratings.read(store, found.id), runs, group=group, dataset=dataset,
                           n_bootstrap=n_bootstrap, seed=seed)
    if as_json:
        click.echo(json.dumps({"campaign": found.slug, **board.as_dict(),
                               "skipped": [{"folder": s.name, "reason": s.reason} for s in skipped]},
                              indent=2, ensure_ascii=False))
        return
    for s in skipped:
        click.echo(f"skipped {s.name}: {s.reason}", err=True)
    if not board.tables:
        click.echo("No scores yet: no finished results folder and no community ratings for this choice.")
        return
    click.echo(format_board(board))
