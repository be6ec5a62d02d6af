"""`jamii ratings`: queue model answers for community rating, set who rates, and rate on paper.

    jamii ratings queue --campaign kilimo --results results/tiny results/small --gold 5
    jamii ratings settings --campaign kilimo --raters consented --daily-cap 40
    jamii ratings export --campaign kilimo --out sheet.csv
    jamii ratings import sheet-filled.csv --campaign kilimo

A thin shell over `Store` (`core/store/_ratings.py`), `jamii.evaluate.read_rating_answers` and
`jamii.core.rating_sheet`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pathlib import Path

import click

from jamii.cli._common import acting, actor_option, store_options

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store

campaign_option = click.option("--campaign", "-c", required=True, help="Campaign short name.")
_SHOWN = 20


@click.group("ratings")
def ratings_group() -> None:
    """Community ratings of model answers: queue them, choose who rates, rate on paper."""


def _listed(lines: list[str], indent: str = "    ", most: int | None = None) -> None:
    for line in lines[:most]:
        click.echo(indent + line)
    if most is not None and len(lines) > most:
        click.echo(f"{indent}... and {len(lines) - most} more")


# --------------------------------------------------------------------------- queue


@ratings_group.command("queue")
@campaign_option
@click.option("--results", "results", multiple=True, required=True, metavar="DIR [DIR ...]",
              help="Results folder(s) of `jamii evaluate` on the same dataset version; repeat "
                   "the option or list the folders after it.")
@click.argument("more_results", nargs=-1, type=click.Path(), metavar="")
@click.option("--mode", type=click.Choice(["direct", "pairwise", "both"]), default="both",
              show_default=True, help="Single answers scored on the rubric, pairs compared, or both.")
@click.option("--per-item", type=click.IntRange(min=1), default=None,
              help="At most this many tasks of each mode per item, counting those queued before.")
@click.option("--gold", type=click.IntRange(min=0), default=0, metavar="N",
              help="Make sure the campaign has N gold tasks (an item's reference answer against "
                   "a decoy) to spot random clicking; adds the missing ones.")
@click.option("--keep-revealing", is_flag=True,
              help="Also queue answers that name their model or its maker (raters then know "
                   "which model wrote them).")
@actor_option
@store_options
def ratings_queue(store: Store, campaign, results, more_results, mode, per_item, gold,
                  keep_revealing, actor) -> None:
    """Turn the answers of `jamii evaluate` results folders into blind rating tasks.

    Queuing the same folders again adds nothing. Folders on different dataset versions, a
    folder without answers_for_rating.jsonl, or one unreadable line refuse the whole queue.
    """
    from jamii.evaluate import RatingAnswersError, read_rating_answers

    found = store.campaign(campaign)
    actor_id = acting(store, actor)
    try:
        rows, dataset = read_rating_answers([*results, *more_results])
    except RatingAnswersError as exc:
        raise click.ClickException(f"{exc} Nothing was queued.") from None
    report = store.queue_rating_tasks(found.id, rows, mode=mode, per_item=per_item,
                                      keep_revealing=keep_revealing, actor_id=actor_id)
    runs = sorted({r["run"] for r in rows})
    click.echo(f"{len(rows)} answers from {len(runs)} results folder(s) ({', '.join(runs)}) on "
               f"{dataset}, into {found.slug} (mode {mode}):")
    click.echo(f"  answers stored (new)   {report.answers_added:>6}")
    click.echo(f"  tasks added            {report.tasks_added:>6}")
    if report.revealing:
        click.echo(f"  left out, they name their model {report.revealing:>6}  "
                   "(--keep-revealing queues them)")
    click.echo(f"  skipped                {len(report.skipped):>6}")
    _listed([f"{item or '(no item id)'}: {why}" for item, why in report.skipped], most=_SHOWN)
    if gold:
        _add_gold(store, found.id, gold, actor_id)


def _add_gold(store: Store, campaign_id: int, wanted: int, actor_id) -> None:
    have = sum(p["tasks"] for p in store.rating_progress(campaign_id) if p["mode"] == "gold")
    if have >= wanted:
        click.echo(f"  gold tasks added       {0:>6}  (the campaign has {have})")
        return
    made = store.add_gold_tasks(campaign_id, wanted - have, actor_id=actor_id)
    short = "" if have + made >= wanted else (
        f"; only {made} more could be made: every accepted contextual item with a reference "
        "answer already has one")
    click.echo(f"  gold tasks added       {made:>6}  (the campaign has {have + made}{short})")


# --------------------------------------------------------------------------- settings


def _cap(_ctx, _param, value: str | None):
    if value is None:
        return None
    if value.strip().lower() in ("none", "no", "off"):
        return "none"
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"'{value}': give a whole number of ratings per day, or none.")
    if n < 1:
        raise click.BadParameter("give a whole number of 1 or more, or none.")
    return n


@ratings_group.command("settings")
@campaign_option
@click.option("--raters", type=click.Choice(["reviewers", "consented"]), default=None,
              help="Who may rate: reviewers (and organisers), or every contributor whose consent "
                   "includes rating.")
@click.option("--daily-cap", callback=_cap, default=None, metavar="N|none",
              help="Most ratings one person gives per day in the collector (none: no cap).")
@click.option("--per-task", type=click.IntRange(1, 50), default=None,
              help="Ratings wanted per task before it leaves the queue.")
@actor_option
@store_options
def ratings_settings(store: Store, campaign, raters, daily_cap, per_task, actor) -> None:
    """Show the campaign's rating settings, or change them."""
    found = store.campaign(campaign)
    current = store.rating_settings(found.id)
    if raters is not None or daily_cap is not None or per_task is not None:
        current = store.set_rating_settings(
            found.id, raters=raters or current["raters"],
            daily_cap=current["daily_cap"] if daily_cap is None else (
                None if daily_cap == "none" else daily_cap),
            ratings_per_task=per_task or current["ratings_per_task"],
            actor_id=acting(store, actor))
        click.echo(f"Changed the rating settings of {found.slug}:")
    else:
        click.echo(f"Rating settings of {found.slug}:")
    who = {"reviewers": "reviewers and organisers",
           "consented": "contributors whose consent includes rating"}
    click.echo(f"  who may rate       {who.get(current['raters'], current['raters'])}")
    click.echo(f"  daily cap          {current['daily_cap'] or 'none'}")
    click.echo(f"  ratings per task   {current['ratings_per_task']}")


# --------------------------------------------------------------------------- paper sheets


@ratings_group.command("export")
@campaign_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file to write (UTF-8 with a byte-order mark, for Excel).")
@store_options
def ratings_export(store: Store, campaign, out) -> None:
    """Write the open rating tasks as a sheet to print or fill in a spreadsheet.

    Tasks are blind: a task id, never a model's name. Cells that a spreadsheet would run as a
    formula are written with a leading apostrophe. Fill in the rater's pseudonym, a choice
    (pairs) or scores (single answers), the safety flag and a comment, then `jamii ratings
    import` the file.
    """
    from jamii.core.rating_sheet import write_sheet

    found = store.campaign(campaign)
    tasks = store.open_rating_tasks(found.id)
    if not tasks:
        click.echo(f"No task of {found.slug} wants ratings: queue answers with `jamii ratings "
                   "queue` first. Nothing was written.")
        return
    try:
        n = write_sheet(tasks, out)
    except OSError as exc:
        raise click.ClickException(f"Could not write {out}: {exc.strerror or exc}.") from None
    pairs = sum(1 for t in tasks if t.mode == "pair")
    click.echo(f"Wrote {n} tasks ({pairs} pairs, {n - pairs} single answers) to {out}.")


@ratings_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@campaign_option
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows even when some are invalid (those are listed).")
@click.option("--rater", default=None, metavar="PSEUDONYM",
              help="Pseudonym for rated rows that leave the rater column blank (one person's "
                   "paper sheet).")
@actor_option
@store_options
def ratings_import(store: Store, file, campaign, skip_invalid, rater, actor) -> None:
    """Import a filled rating sheet: each rating is recorded and paid by the rate card.

    Every row is checked first. Without --skip-invalid one bad row means nothing is imported;
    every bad row is listed. Rows nobody filled in are ignored, and importing the same file
    again adds nothing.
    """
    from jamii.core.rating_sheet import SheetError, check_known, read_sheet
    from jamii.core.store import NotFound

    found = store.campaign(campaign)
    actor_id = acting(store, actor)
    try:
        sheet = read_sheet(file, rater=rater)
    except SheetError as exc:
        raise click.ClickException(str(exc)) from None
    modes = {task: "direct" if b is None else "pair"
             for task, (_a, b) in store.rating_task_models(found.id).items()}
    raters = set()
    for pseudonym in {r["rater"] for r in sheet.rows}:
        try:
            store.contributor_by_pseudonym(pseudonym)
            raters.add(pseudonym)
        except NotFound:
            pass
    problems = sorted(sheet.problems + check_known(sheet, modes, raters), key=lambda p: p.row)
    bad = {p.row for p in problems}
    rated = len({r["row"] for r in sheet.rows} | bad)
    click.echo(f"{file.name} into {found.slug}: {rated} rated row(s), "
               f"{sheet.blank} left blank (ignored).")
    if problems and not skip_invalid:
        click.echo(f"Nothing was imported: fix the {len(bad)} row(s) below and import the file "
                   "again, or pass --skip-invalid to import the valid rows only.")
        _listed([p.describe() for p in problems], "  ")
        raise SystemExit(1)
    rows = [r for r in sheet.rows if r["row"] not in bad]
    report = store.record_sheet_ratings(found.id, rows, actor_id=actor_id, skip_invalid=skip_invalid)
    listed = [p.describe() for p in problems] + [f"row {n}: {why}" for n, why in report.problems]
    click.echo(f"  added              {report.added:>6}")
    click.echo(f"  already imported   {report.already:>6}")
    click.echo(f"  invalid, skipped   {len(bad) + len(report.problems):>6}")
    _listed(listed)
