from __future__ import annotations

from typing import TYPE_CHECKING

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import click

from jamii.cli._common import acting, actor_option, store_options

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


@click.group("payouts")
def payouts_group() -> None:
    """See the compensation ledger, approve owed entries, record payments, export a payout CSV."""


campaign_option = click.option("--campaign", "-c", required=True, help="Campaign short name.")


@payouts_group.command("list")
@campaign_option
@click.option("--status", type=click.Choice(["owed", "approved", "paid", "failed"]), default=None)
@store_options
def payouts_list(store: Store, campaign, status) -> None:
    """Totals per status and unit (and the entry ids, to approve or pay them)."""
    entries = store.ledger(store.campaign(campaign).id, status)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    ids: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in entries:
        totals[(e.status, e.unit)] += e.amount
        ids[(e.status, e.unit)].append(e.id)
    if not entries:
        click.echo("No entries.")
    for (st, unit), amount in sorted(totals.items()):
        click.echo(f"{st:<9} {amount:>12.2f} {unit:<20} entries: {_ranges(ids[(st, unit)])}")


def _ranges(ids: list[int]) -> str:
    return " ".join(map(str, ids)) if len(ids) <= 12 else f"{len(ids)} entries ({ids[0]}..{ids[-1]})"


@payouts_group.command("approve")
@campaign_option
@click.option("--entry", "entries", multiple=True, type=int, help="Entry id; repeat. Default: all owed.")
@actor_option
@store_options
def payouts_approve(store: Store, campaign, entries, actor) -> None:
    """Approve owed entries for payment."""
    actor_id = acting(store, actor)
    ids = list(entries) or [e.id for e in store.ledger(store.campaign(campaign).id, "owed")]
    n = store.move_payments(ids, "approved", actor_id=actor_id)
    click.echo(f"Approved {n} entries.")


@payouts_group.command("mark")
@campaign_option
@click.argument("status", type=click.Choice(["paid", "failed"]))
@click.option("--reference", required=True, help="Transaction id of the batch, or why it failed.")
@click.option("--entry", "entries", multiple=True, type=int, help="Entry id; repeat. Default: all approved.")
@actor_option
@store_options
def payouts_mark(store: Store, campaign, status, reference, entries, actor) -> None:
    """Record that approved entries were paid, or that paying them failed."""
    actor_id = acting(store, actor)
    ids = list(entries) or [e.id for e in store.ledger(store.campaign(campaign).id, "approved")]
    n = store.move_payments(ids, status, actor_id=actor_id, reference=reference)
    click.echo(f"Marked {n} entries {status} (reference {reference}).")


@payouts_group.command("export")
@campaign_option
@click.option("--status", type=click.Choice(["owed", "approved", "paid", "failed"]), default="approved",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file to write (holds payment accounts: keep it private).")
@actor_option
@store_options
def payouts_export(store: Store, campaign, status, out, actor) -> None:
    """Write the payout CSV: one line per person and unit, with the payment account."""
    actor_id = acting(store, actor)
    text = store.payout_csv(store.campaign(campaign).id, status, actor_id=actor_id)
    out.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {len(text.splitlines()) - 1} payout lines to {out}.")
