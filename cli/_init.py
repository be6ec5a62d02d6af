from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from jamii.cli._common import store_options

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


@click.command("init")
@click.option("--no-seeds", is_flag=True, help="Create or migrate the store without the example campaign.")
@click.option("--from-kit", "kit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Make a new, empty store a field store of this kit (from `jamii kit create`).")
@store_options
def init_command(store: Store, no_seeds: bool, kit: Path | None) -> None:
    """Create or migrate the store, and load the example campaign from seeds/ (or a field kit)."""
    click.echo(f"Store ready: {_safe_url(store.url)} ({len(store.tables())} tables)")
    if kit is not None:
        from jamii.core.kit.kits import init_from_kit
        from jamii.core.store import OPERATOR

        done = init_from_kit(store, kit, actor_id=OPERATOR)
        click.echo(f"Field store of kit {done.kit_id}: campaign '{done.campaign}', {done.people} "
                   f"people, {done.consents} consents, {done.known_items} central items known by "
                   "hash. Start the collector with `jamii collect`; no internet is needed.")
        return
    if store.field_kit() is not None:  # `make run` on a field laptop: no demo people there
        click.echo(f"Field store of kit {store.field_kit()}: the example campaign is not added.")
        return
    if no_seeds:
        _warn_demo_people(store)
        return
    from jamii.core.seeding import load_seeds

    report = load_seeds(store)
    if report.already_loaded:
        click.echo(f"Seeds already loaded (campaign '{report.campaign}'); nothing added.")
    else:
        click.echo(f"Loaded seeds: campaign '{report.campaign}', {report.people} people, "
                   f"{report.items} items, {report.reviews} reviews.")
    for line in report.sign_in_lines:
        click.echo(f"  {line}")
    _warn_demo_people(store)


def _warn_demo_people(store: Store) -> None:
    """Say so while anyone still signs in with an invite code printed in jamii's README."""
    demo = store.demo_people_active()
    if demo:
        click.echo(f"Warning: {len(demo)} demo people with public invite codes are active "
                   f"({', '.join(demo)}): anyone can sign in as them, the demo organiser included. "
                   "Before real use, add your own organiser (jamii users add --role organiser) "
                   "and withdraw each of them (jamii users withdraw PSEUDONYM).")


def _safe_url(url: str) -> str:
    """Never print a database password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
