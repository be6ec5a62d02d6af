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


@kit_group.command("bundle")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The bundle file to write (carry it to the central store).")
@store_options
def kit_bundle(store: Store, out: Path) -> None:
    """Seal everything this field store made into one file that only the central store opens.
    Each bundle carries all of the kit's work so far: a lost one loses nothing."""
    from jamii.core.kit.bundles import write_bundle
    from jamii.core.store import OPERATOR

    done = write_bundle(store, out, actor_id=OPERATOR)
    counts = ", ".join(f"{n} {table}" for table, n in done.rows.items() if n)
    click.echo(f"Bundle of kit {done.kit_id} written to {done.path}: {counts or 'nothing yet'}, "
               f"{done.recordings} recordings. Sealed to the central store's key: a lost copy "
               "leaks nothing.")


@kit_group.command("news")
@click.option("--kit", "kit_id", required=True, help="The kit's id (as `jamii kit create` printed it).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The news file to write (carry it to the field laptop).")
@actor_option
@store_options
def kit_news(store: Store, kit_id: str, out: Path, actor) -> None:
    """Write what changed centrally since a kit was made (withdrawals, roles, new consent
    texts, rate cards, campaign settings, new items' hashes) for `jamii kit update` on its
    laptop, when no push can bring it. Only that kit's laptop can check it; no personal data."""
    from jamii.core.kit.news import write_news

    news = write_news(store, kit_id, out, actor_id=acting(store, actor))
    click.echo(f"News for kit {kit_id} written to {out}: {len(news['withdrawals'])} withdrawals, "
               f"{len(news['people'])} role changes, {len(news['consent_texts'])} consent texts, "
               f"{len(news['rate_cards'])} rate cards, {len(news['known_content'])} item hashes. "
               f"On the field laptop: jamii kit update {out.name}")


@kit_group.command("update")
@click.argument("news_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@store_options
def kit_update(store: Store, news_file: Path) -> None:
    """Apply news from the central store (`jamii kit news`) to this field store: all of it or,
    if the file is not the central store's news for this kit, nothing."""
    from jamii.core.kit.news import apply_news_file
    from jamii.core.store import OPERATOR

    report = apply_news_file(store, news_file, actor_id=OPERATOR)
    if not report.changed:
        click.echo(f"News of {report.made_at} for kit {report.kit_id}: nothing new here.")
    else:
        click.echo(f"News of {report.made_at} for kit {report.kit_id} applied: "
                   f"{len(report.withdrawn)} people withdrawn, {len(report.roles_changed)} roles "
                   f"changed, {len(report.consent_texts_added)} consent texts and "
                   f"{len(report.rate_cards_added)} rate cards added, campaign settings changed: "
                   f"{', '.join(report.campaign_fields) or 'none'}, "
                   f"{report.known_content_added} central item hashes added.")
    for row in report.conflicts:
        click.echo("Not applied: " + ", ".join(f"{k}={v}" for k, v in row.items()))


@kit_group.command("merge")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@actor_option
@store_options
def kit_merge(store: Store, bundle: Path, as_json: bool, actor) -> None:
    """Merge a field bundle: each record once, however often it comes; conflicts, duplicates
    and items of people who withdrew are listed, not published."""
    import dataclasses
    import json

    from jamii.core.kit.bundles import merge_bundle
    from jamii.core.kit.sealed import SealedError

    try:
        report = merge_bundle(store, bundle, actor_id=acting(store, actor))
    except SealedError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2, ensure_ascii=False))
        return
    _echo_report(report)


def _echo_report(report) -> None:
    """A MergeReport as `jamii kit merge` and `jamii kit push` print it."""
    for table, n in report.added.items():
        click.echo(f"{table}: {n} added, {report.retries[table]} already here")
    for outcome, n in report.decided.items():
        click.echo(f"items {outcome} by the campaign's rule with the field's reviews: {n}")
    for title, rows in (("Conflicts (not applied)", report.conflicts),
                        ("Duplicates of items already in the campaign (refused)", report.duplicates),
                        ("Items of people who withdrew (kept, never published)", report.withdrawn_authors),
                        ("Items edited in the field (new version applied, back to review)",
                         report.edited),
                        ("People renamed (their pseudonym was taken)", report.renamed),
                        ("People whose roles were reduced (organisers are made centrally)",
                         report.roles_reduced)):
        if rows:
            click.echo(f"{title}: {len(rows)}")
            for row in rows:
                click.echo("  " + ", ".join(f"{k}={v}" for k, v in row.items()))


@kit_group.group("token")
def kit_token_group() -> None:
    """API tokens that let a field laptop push its bundle (`jamii kit push`) to this store's
    collector: one campaign each, shown once, kept only as a hash, revocable."""


@kit_token_group.command("create")
@click.option("--campaign", "-c", required=True, help="Campaign short name (slug).")
@click.option("--note", default="", help="A note kept with the token (e.g. which laptop).")
@actor_option
@store_options
def kit_token_create(store: Store, campaign: str, note: str, actor) -> None:
    """Issue a token for pushing bundles of the campaign's kits. Name yourself with --as: the
    merges it brings act as you, and it works only while you are an organiser."""
    found = store.campaign(campaign)
    token_id, token = store.issue_api_token(found.id, note, actor_id=acting(store, actor))
    click.echo(f"API token {token_id} for campaign '{found.slug}' (shown this once; give it to "
               "the field laptop, which pushes with `jamii kit push FILE --to URL --token-file "
               "FILE` or JAMII_PUSH_TOKEN):")
    click.echo(token)


@kit_token_group.command("revoke")
@click.argument("token_id", type=int)
@actor_option
@store_options
def kit_token_revoke(store: Store, token_id: int, actor) -> None:
    """Stop a token working from its next request."""
    if store.revoke_api_token(token_id, actor_id=acting(store, actor)):
        click.echo(f"API token {token_id} revoked.")
    else:
        click.echo(f"API token {token_id} was already revoked.")


@kit_token_group.command("list")
@click.option("--campaign", "-c", required=True, help="Campaign short name (slug).")
@actor_option
@store_options
def kit_token_list(store: Store, campaign: str, actor) -> None:
    """The campaign's tokens (never the tokens themselves: only their hashes are kept)."""
    found = store.campaign(campaign)
    tokens = store.api_tokens(found.id, actor_id=acting(store, actor))
    if not tokens:
        click.echo(f"No API tokens for campaign '{found.slug}'.")
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        issuer = store.contributor(t.created_by).pseudonym
        click.echo(f"{t.id}\t{state}\tissued {t.created_at:%Y-%m-%d %H:%M} by {issuer}"
                   + (f"\t{t.note}" if t.note else ""))


@kit_group.command("push")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--to", "url", required=True, metavar="URL",
              help="The central collector's address, e.g. https://jamii.example.org (with its "
                   "base path, if it has one).")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A file holding the API token (jamii kit token create); else JAMII_PUSH_TOKEN.")
@store_options
def kit_push(store: Store, bundle: Path, url: str, token_file: Path | None) -> None:
    """Send a bundle to the central collector over the network, in chunks that resume after a
    dropped connection; the central store merges it and answers with what changed there since
    the kit was made (withdrawals, consent texts, rate cards), which this store applies."""
    import os

    from jamii.core.kit.push import push_bundle

    token = (token_file.read_text(encoding="utf-8").strip() if token_file
             else os.environ.get("JAMII_PUSH_TOKEN", "").strip())
    if not token:
        raise click.UsageError("Give the API token an organiser issued (jamii kit token create) "
                               "with --token-file FILE or JAMII_PUSH_TOKEN; never on the "
                               "command line, where other users of this laptop can read it.")
    if url.lower().startswith("http://") and not url.lower().startswith(
            ("http://127.", "http://localhost", "http://[::1]")):
        click.echo("Warning: plain http, so the token and the (sealed) bundle travel unencrypted; "
                   "prefer https.", err=True)
    done = push_bundle(store, bundle, url, token, echo=lambda line: click.echo(line, err=True))
    click.echo(f"Pushed {bundle} ({done.bytes_sent} bytes sent"
               + (f", resumed {done.resumed} times" if done.resumed else "") + "); merged:")
    _echo_report(done.report)
    if done.news is not None:
        click.echo(f"Central news applied to this store: {_news_line(done.news)}")


def _news_line(news) -> str:
    parts = [f"{len(news.withdrawn)} people withdrawn" if news.withdrawn else "",
             f"{len(news.roles_changed)} roles changed" if news.roles_changed else "",
             f"{len(news.consent_texts_added)} consent texts" if news.consent_texts_added else "",
             f"{len(news.rate_cards_added)} rate cards" if news.rate_cards_added else "",
             f"campaign settings: {', '.join(news.campaign_fields)}" if news.campaign_fields else "",
             f"{news.known_content_added} central items by hash" if news.known_content_added else ""]
    return "; ".join(p for p in parts if p) or "nothing new"
