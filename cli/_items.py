from __future__ import annotations

from typing import TYPE_CHECKING

import click

from jamii.cli._common import store_options

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


@click.group("items")
def items_group() -> None:
    """Look after items: find text that may hold personal data and clear it for release."""


@items_group.command("flagged")
@click.option("--campaign", "-c", required=True, help="Campaign short name.")
@click.option("--all", "include_cleared", is_flag=True, help="Also list items already cleared.")
@store_options
def items_flagged(store: Store, campaign, include_cleared) -> None:
    """List accepted items whose text may hold emails, phone numbers or id numbers."""
    found = store.flagged_items(store.campaign(campaign).id, include_cleared=include_cleared)
    if not found:
        click.echo("No accepted item holds text that looks like personal data.")
        return
    for f in found:
        where = ", ".join(f"{field}: {hit.kind} '{hit.text}'" for field, hit in f.hits)
        cleared = "  (cleared)" if f.item.pii_cleared_by else ""
        click.echo(f"{f.item.id:>8}  {f.item.public_id}  {where}{cleared}")
    click.echo(f"{len(found)} item(s). Clear those that are not personal data with "
               "'jamii items clear ID ... --note WHY --as ORGANISER', or release with --exclude-flagged.")


@items_group.command("clear")
@click.argument("item_ids", nargs=-1, type=int, required=True)
@click.option("--note", required=True, help="Why this text may be published (recorded in the audit trail).")
@click.option("--as", "actor", required=True, help="Pseudonym of the organiser deciding this.")
@store_options
def items_clear(store: Store, item_ids, note, actor) -> None:
    """Record that an organiser checked these items' flagged text and it may be published."""
    person = store.contributor_by_pseudonym(actor)
    n = store.clear_pii(list(item_ids), actor_id=person.id, note=note)
    click.echo(f"Cleared {n} item(s) for release.")
