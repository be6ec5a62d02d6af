"""`jamii import`: a thin shell over `jamii.core.importer.import_file`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json

import click

from jamii.cli._common import acting, actor_option, store_options
from jamii.core.importer import SourceError, import_file
from jamii.core.items import ItemError

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store

_SHOWN_WARNINGS = 20


def _parse_map(_ctx, _param, values: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for value in values:
        field, sep, column = value.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise click.BadParameter(f"'{value}': write FIELD=COLUMN, e.g. prompt=translation.en.")
        mapping[field.strip()] = column.strip()
    return mapping


@click.command("import")
@click.argument("file", type=click.Path(path_type=str))
@click.option("--campaign", "-c", required=True, help="Campaign short name (slug).")
@click.option("--kind", "-k", required=True,
              help="Item kind of every row: prompt_response, contextual or speech.")
@click.option("--map", "mapping", multiple=True, callback=_parse_map, metavar="FIELD=COLUMN",
              help="Read FIELD from COLUMN; dotted paths reach nested fields "
                   "(prompt=translation.en). Repeat for several. Unmapped fields read the "
                   "same-named column.")
@click.option("--language", default=None, help="BCP-47 tag of rows without a language column.")
@click.option("--dialect", default=None, help="Dialect of rows without a dialect column.")
@click.option("--domain", default=None, help="Domain of rows without a domain column.")
@click.option("--task-type", default=None,
              help="Task type of prompt_response rows without a task_type column.")
@click.option("--rubric", "rubric_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="JSON file with the rubric (list of {name, anchors}) for contextual rows "
                   "without one.")
@click.option("--split", default=None, help="Import only this split of a datasets folder.")
@click.option("--accepted", is_flag=True,
              help="Record the rows as already validated (no review, no compensation entries).")
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows even when some are invalid (those are listed).")
@click.option("--author", default=None,
              help="Pseudonym of an existing contributor to credit (default: an import-... "
                   "one per file).")
@click.option("--source-license", default=None, metavar="LICENSE",
              help="Licence the source may be republished under (e.g. cc-by-sa-4.0). Without it "
                   "the imported rows are used for evaluation but never released.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@actor_option
@store_options
def import_command(store: Store, file, campaign, kind, mapping, language, dialect, domain, task_type,
                   rubric_file, split, accepted, skip_invalid, author, source_license, dry_run,
                   as_json, actor) -> None:
    """Import items from FILE: CSV, TSV, JSONL, JSON, parquet or a datasets folder.

    Every row is checked first. Without --skip-invalid, one invalid row means nothing is
    imported; every invalid row is listed with its field and reason. Importing the same file
    again adds nothing.
    """
    rubric = None
    if rubric_file:
        try:
            with open(rubric_file, encoding="utf-8") as fh:
                rubric = json.load(fh)
        except (OSError, ValueError) as exc:  # JSON and UTF-8 errors, numbers over 4,300 digits
            raise click.ClickException(f"--rubric {rubric_file} is not a readable JSON file: {exc}")
        except RecursionError:
            raise click.ClickException(f"--rubric {rubric_file} nests JSON too deeply: write a "
                                       "list of criteria, each with a name and anchors.") from None
        if not isinstance(rubric, list):
            raise click.ClickException(f"--rubric {rubric_file} must hold a JSON list of criteria.")
    try:
        report = import_file(store, file, campaign=campaign, kind=kind, mapping=mapping,
                             language=language, dialect=dialect, domain=domain,
                             task_type=task_type, rubric=rubric, accepted=accepted,
                             skip_invalid=skip_invalid, author=author, split=split,
                             dry_run=dry_run, source_license=source_license,
                             actor_id=acting(store, actor))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    except ItemError as exc:  # the store's own re-check refused a row the importer passed
        raise click.ClickException(
            f"The store refused a row, nothing more was imported: {exc}") from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print(report)
    if report.refused:
        raise SystemExit(1)


def _print(report) -> None:
    click.echo(f"{report.source} (sha256 {report.source_sha256[:12]}...) into "
               f"{report.campaign} as {report.kind}:")
    click.echo(f"  rows read        {report.rows_read:>8}")
    if report.refused:
        click.echo(f"  invalid rows     {report.invalid_rows:>8}")
        click.echo("Nothing was imported: fix the rows below and run the import again, or pass "
                   "--skip-invalid to import the valid rows only.")
    else:
        verb = "valid (dry run)" if report.dry_run else "imported"
        count = report.rows_read - report.invalid_rows if report.dry_run else report.imported
        as_accepted = "  (as accepted)" if report.accepted and not report.dry_run else ""
        click.echo(f"  {verb:<16} {count:>8}{as_accepted}")
        click.echo(f"  already present  {report.already_present:>8}")
        click.echo(f"  invalid, skipped {report.invalid_rows:>8}")
        if report.author:
            click.echo(f"  credited to      {report.author}")
    for problem in report.invalid:
        click.echo(problem.describe())
    if report.warnings and not report.refused:
        rows = len({w.row for w in report.warnings})
        click.echo(f"{rows} imported row(s) may contain personal data; the release will hold them "
                   "until an organiser clears them:")
        for warning in report.warnings[:_SHOWN_WARNINGS]:
            click.echo(f"  warning: {warning.describe()}")
        if len(report.warnings) > _SHOWN_WARNINGS:
            click.echo(f"  ... and {len(report.warnings) - _SHOWN_WARNINGS} more (see --json).")
    for note in report.notes:
        click.echo(f"Note: {note}")
