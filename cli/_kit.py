"""`jamii kit`: field kits for collecting where there is no internet (DESIGN section 9)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from jamii.cli._common import acting, actor_option, store_options

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


@click.group("kit")
def kit_group() -> None:
    """Field kits: take a campaign to a laptop with no internet, bring its work back."""


@kit_group.command("create")
@click.option("--campaign", "-c", required=True, help="Campaign short name (slug).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The kit file to write (carry it to the field laptop).")
@click.option("--note", default="", help="A note kept with the kit (e.g. where it goes).")
@actor_option
@store_options
def kit_create(store: Store, campaign: str, out: Path, note: str, actor) -> None:
    """Write a kit: the campaign, consent texts, rate cards and its people (sign-in secrets only
    as hashes, no contact details), and central items only as content hashes."""
    from jamii.core.kit.kits import central_key_path, create_kit

    found = store.campaign(campaign)
    done = create_kit(store, found.id, out, actor_id=acting(store, actor), note=note)
    click.echo(f"Kit {done.kit_id} written to {done.path}: campaign '{done.campaign}', "
               f"{done.people} people, {done.consents} consents, {done.known_items} items by hash.")
    click.echo(f"On the field laptop: jamii init --from-kit {done.path.name}, then make run. "
               f"Bundles from it open only with {central_key_path(store)}: back it up with the "
               "store, and never copy it to a field laptop.")
