"""`jamii release` and `jamii publish`: thin click commands over `jamii.datasheets`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pathlib import Path

import click

from jamii.cli._common import store_options

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store


@click.command("release")
@click.option("--campaign", "-c", required=True, help="Campaign slug.")
@click.option("--version", "version", help="Semantic version of the release, e.g. 1.0.0.")
@click.option("--license", "licence", default=None,
              help="cc-by-4.0 (default: the campaign's plan), cc-by-sa-4.0, cc0-1.0 or noodl-1.0.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create; it must not exist yet.")
@click.option("--answers", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML or Markdown file with the organiser's answers.")
@click.option("--template", is_flag=True,
              help="Write the answers file (to --answers, or print it), pre-filled from the records.")
@click.option("--exclude-flagged", is_flag=True,
              help="Leave out items the personal-data scan flags instead of refusing.")
@store_options
def release_command(store: Store, campaign, version, licence, out, answers, template, exclude_flagged):
    """Build a release folder, or refuse with every reason it cannot be built."""
    from jamii.datasheets import ReleaseRefused, build_release, template_for

    if template:
        text = template_for(store, campaign, markdown=bool(answers and answers.suffix == ".md"))
        if answers is None:
            click.echo(text)
            return
        if answers.exists():
            raise click.ClickException(f"{answers} exists already: choose another file name.")
        answers.write_text(text, "utf-8")
        click.echo(f"Wrote {answers}: answer every TODO, then run jamii release with --answers {answers}.")
        return
    missing = [name for name, value in (("--version", version), ("--out", out)) if not value]
    if missing:
        raise click.UsageError(f"Missing {' and '.join(missing)}.")
    from jamii.core.store import OPERATOR

    try:
        result = build_release(store, campaign, version, out, licence=licence, answers=answers,
                               exclude_flagged=exclude_flagged, actor_id=OPERATOR)
    except ReleaseRefused as refused:
        click.echo(f"Release refused ({len(refused.reasons)} reasons); nothing was written:", err=True)
        for reason in refused.reasons:
            click.echo(f"  - {reason}", err=True)
        raise SystemExit(1)
    except OSError as exc:  # the disk filled up, or --out changed while building
        raise click.ClickException(f"Could not write the release to {out}: {exc}. "
                                   "Nothing was written.") from None
    click.echo(f"Built {result.folder}: {result.items:,} items, bundle sha256 {result.bundle_sha256}")
    for (kind, split), n in sorted(result.files.items()):
        click.echo(f"  {kind}/{split}: {n:,}")
    for reason, n in result.removed.items():
        click.echo(f"  left out, {reason.replace('_', ' ')}: {n:,}")


@click.command("publish")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo-id", required=True, help="ORG/NAME of the dataset repo on the Hub.")
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option("--gated", is_flag=True, help="Ask users to accept the terms before access.")
@click.option("--dry-run", is_flag=True,
              help="Print exactly what would be uploaded and deleted (asking the Hub what the "
                   "repo's main holds, read-only), and stop.")
@store_options
def publish_command(store: Store, folder, repo_id, private, gated, dry_run):
    """Make the dataset repo's main equal a release folder in one commit and tag its version.

    Files of main that the folder does not hold (an earlier version's parquet shards, with
    withdrawn items) are deleted in the same commit; earlier tags keep their files. The
    token comes from `hf auth login` or the HF_TOKEN environment variable, never from the
    command line.
    """
    from jamii.core.store import OPERATOR
    from jamii.datasheets import publish_release
    from jamii.datasheets._publish import PublishFailed, network_error

    try:
        plan = publish_release(folder, repo_id, private=private, gated=gated, dry_run=dry_run,
                               store=store, actor_id=OPERATOR)
    except (ValueError, PublishFailed) as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        if network_error(exc):  # a call outside the steps publish_release words itself
            raise click.ClickException(f"cannot reach the Hugging Face Hub ({exc}): check "
                                       "the network connection.") from None
        raise
    if dry_run:
        click.echo("Dry run: nothing was uploaded. Would do:")
        click.echo(plan.describe())
        return
    click.echo(f"Published {plan.repo_id} {plan.tag}: {plan.commit_url or ''}")
    if plan.deletions:
        click.echo(f"Deleted from main, in the same commit: {len(plan.deletions)} files "
                   f"{plan.version} does not hold ({', '.join(plan.deletions[:5])}"
                   f"{', ...' if len(plan.deletions) > 5 else ''})")
    click.echo(f"Recorded on release {plan.version} of '{plan.campaign}': "
               f"{plan.repo_id} at {plan.commit}")
