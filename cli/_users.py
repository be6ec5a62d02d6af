from __future__ import annotations

from typing import TYPE_CHECKING

import json
import sys

import click

from jamii.cli._common import acting, actor_option, store_options
from jamii.core.records import ROLES

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


@click.group("users")
def users_group() -> None:
    """Create people and invite codes, change roles, withdraw consent."""


@users_group.command("add")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), default=["contributor"],
              show_default=True, help="Role; repeat for several.")
@click.option("--name", default=None, help="Real name (private; never exported).")
@click.option("--email", default=None, help="Email (private; never exported).")
@click.option("--phone", default=None, help="Phone (private; never exported).")
@click.option("--pseudonym", default=None, help="Public pseudonym (default: generated).")
@click.option("--login", "login_name", default=None, help="Login name for password sign-in.")
@click.option("--password-stdin", is_flag=True,
              help="Read a password from standard input (never pass it as an argument).")
@actor_option
@store_options
def users_add(store: Store, roles, name, email, phone, pseudonym, login_name, password_stdin, actor) -> None:
    """Add a person and print their invite code (shown once)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not login_name:
        raise click.UsageError("--password-stdin needs --login NAME.")
    if password is not None and len(password) < 10:
        raise click.UsageError("Choose a password of at least 10 characters.")
    person, code = store.add_contributor(roles=roles, name=name, email=email, phone=phone,
                                         pseudonym=pseudonym, login_name=login_name,
                                         password=password, actor_id=acting(store, actor))
    click.echo(f"Added {person.pseudonym} ({', '.join(person.roles)}). Invite code: {code}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@store_options
def users_list(store: Store, as_json: bool) -> None:
    """List people by pseudonym with their roles and status (no contact details)."""
    rows = [{"id": p.id, "pseudonym": p.pseudonym, "roles": p.roles,
             "withdrawn": p.withdrawn_at.isoformat() if p.withdrawn_at else None}
            for p in store.contributors()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        state = f"withdrawn {r['withdrawn'][:10]}" if r["withdrawn"] else "active"
        click.echo(f"{r['pseudonym']:<16} {','.join(r['roles']):<32} {state}")


@users_group.command("role")
@click.argument("pseudonym")
@click.option("--set", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="The full set of roles; repeat for several.")
@actor_option
@store_options
def users_role(store: Store, pseudonym, roles, actor) -> None:
    """Set a person's roles."""
    person = store.contributor_by_pseudonym(pseudonym)
    store.set_roles(person.id, roles, actor_id=acting(store, actor))
    click.echo(f"{pseudonym} now has roles: {', '.join(roles)}")


@users_group.command("withdraw")
@click.argument("pseudonym")
@click.option("--reason", default="", help="Why (recorded in the audit trail).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@actor_option
@store_options
def users_withdraw(store: Store, pseudonym, reason, yes, actor) -> None:
    """Withdraw a person's consent: their items leave every future release."""
    person = store.contributor_by_pseudonym(pseudonym)
    if not yes:
        click.confirm(f"Withdraw {pseudonym}? Their items will leave every future release.", abort=True)
    store.withdraw(person.id, actor_id=acting(store, actor), reason=reason)
    click.echo(f"{pseudonym} withdrawn: their items will not appear in any future release.")
