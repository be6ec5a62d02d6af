from __future__ import annotations

from typing import TYPE_CHECKING

import json

import click

from jamii.cli._common import store_options

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


@click.command("status")
@click.option("--campaign", "-c", required=True, help="Campaign short name (slug).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@store_options
def status_command(store: Store, campaign: str, as_json: bool) -> None:
    """Item counts by kind, status, language and dialect, and contributor counts."""
    found = store.campaign(campaign)
    counts = store.status_counts(found.id)
    if as_json:
        click.echo(json.dumps({"campaign": found.slug, **counts}, indent=2, ensure_ascii=False))
        return
    click.echo(f"{found.name} ({found.slug}): {counts['items']} items")
    for key, title in (("by_kind", "kind"), ("by_status", "status"), ("by_language", "language"),
                       ("by_dialect", "language/dialect")):
        click.echo(f"\n  by {title}:")
        for name, n in sorted(counts[key].items()):
            click.echo(f"    {name:<30} {n:>8}")
    click.echo("\n  contributors:")
    for name, n in counts["contributors"].items():
        click.echo(f"    {name:<30} {n:>8}")
