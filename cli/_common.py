"""Options and error handling shared by every subcommand."""

from __future__ import annotations

from typing import TYPE_CHECKING

import functools

import click

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


db_option = click.option(
    "--db", "db_url", envvar="JAMII_DB", default=None,
    help="SQLAlchemy URL of the store (default: JAMII_DB, else a SQLite file in JAMII_DATA).")
data_option = click.option(
    "--data-dir", envvar="JAMII_DATA", default=None, type=click.Path(file_okay=False),
    help="Folder for the SQLite store and audio files (default: JAMII_DATA or ~/.local/share/jamii).")


def store_options(fn):
    """Add --db and --data-dir, open the store, and turn store refusals into clean errors."""

    @db_option
    @data_option
    @functools.wraps(fn)
    def wrapper(*args, db_url=None, data_dir=None, **kwargs):
        from jamii.core.store import Store, StoreError  # imported when a command runs, not for --help

        try:
            store = Store.open(db_url, data_dir)
        except Exception as exc:  # noqa: BLE001 - any failure to open is a user-facing message
            raise click.ClickException(f"Could not open the store ({exc}). Check --db / JAMII_DB.")
        try:
            return fn(*args, store=store, **kwargs)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            store.close()

    return wrapper


actor_option = click.option(
    "--as", "actor", default=None, metavar="PSEUDONYM",
    help="Act as this organiser (the store checks the role; the audit trail names them) instead "
         "of as the local operator.")


def acting(store: Store, pseudonym: str | None):
    """The actor a command passes to the store: the organiser named by --as, else OPERATOR
    (whoever runs the command line can read the database, so it acts with organiser rights)."""
    from jamii.core import checks
    from jamii.core.store import OPERATOR

    if not pseudonym:
        return OPERATOR
    problems = [p for p in checks.check_label("--as", pseudonym) if p.blocking]
    if problems:  # never sent to the database: a NUL there is a crash on PostgreSQL
        raise click.BadParameter(problems[0].message, param_hint="--as")
    return store.contributor_by_pseudonym(pseudonym).id
