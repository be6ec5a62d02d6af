"""The release's other files: LICENSE, BENEFIT.md, CHANGELOG.md, withdrawn.csv, CITATION.cff,
consent/ and compensation.md."""

from __future__ import annotations

import csv
import heapq
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from jamii.core.disclosure import MIN_GROUP

if TYPE_CHECKING:
    from jamii.datasheets._context import Context

LIST_LIMIT = 1000
"""Added and changed ids are listed in full up to this many; withdrawn ids always are."""


def write_licence(ctx: "Context", root: Path) -> None:
    (root / "LICENSE").write_text(ctx.licence.text(), "utf-8")
    if ctx.licence.needs_benefit:
        (root / "BENEFIT.md").write_text(
            "# Benefit owed to the community (NOODL section 3.3)\n\n"
            "Recipients outside developing countries must give or transfer the following "
            "benefit or value to the community before using this dataset:\n\n"
            f"{ctx.answers['about.benefit_statement'].strip()}\n", "utf-8")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text) or "_"


def write_consent(ctx: "Context", root: Path) -> None:
    folder = root / "consent"
    folder.mkdir()
    lines = ["# Consent texts", "",
             "Every version of the consent text contributors read, verbatim, in each language.",
             "Contributors could withdraw at any time in the collector; their items then leave",
             "every later release.", "", "| version | language | scopes asked | sha256 | file |",
             "|---|---|---|---|---|"]
    for ct in ctx.facts.consent_texts:
        name = f"v{_safe_name(ct.version)}/{_safe_name(ct.language)}.md"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ct.text, "utf-8")
        lines.append(f"| {ct.version} | `{ct.language}` | {', '.join(ct.scopes)} | `{ct.sha256}` | [{name}]({name}) |")
    (folder / "README.md").write_text("\n".join(lines) + "\n", "utf-8")


def write_compensation(ctx: "Context", root: Path, env) -> None:
    text = env.get_template("compensation.md.j2").render(ctx=ctx, min_group=MIN_GROUP)
    (root / "compensation.md").write_text(text, "utf-8")


def changes(ctx: "Context") -> dict[str, set[str]]:
    """Added, changed, withdrawn and otherwise removed ids since the previous release.

    Sets: a first release of a million items adds a million ids, and only the first
    `LIST_LIMIT` of them are ever listed (sorted then, in `write_changelog`)."""
    previous = ctx.facts.previous[-1] if ctx.facts.previous else None
    before: dict[str, int] = dict(previous.item_versions) if previous else {}
    now = ctx.found.item_versions
    withdrawn_now = set(ctx.found.removed.get("withdrawn", []))
    gone = before.keys() - now.keys()
    return {
        "added": now.keys() - before.keys(),
        "changed": {k for k, v in now.items() if k in before and before[k] != v},
        "withdrawn": gone & withdrawn_now,
        "removed": gone - withdrawn_now,
    }


WITHDRAWN_FILE = "withdrawn.csv"
"""The cumulative, machine-readable list of items an earlier version published and this one
does not hold (DESIGN section 6)."""
WITHDRAWN_COLUMNS = {
    "id": "The item's stable id.",
    "reason": "withdrawn (the author withdrew consent), the release gate that now leaves the "
              "item out, or no_longer_accepted.",
    "last_version": "The last version that held the item.",
    "removed_in": "The first version without the item.",
}
WITHDRAWN_REASON = "withdrawn"
"""The reason of an item whose author withdrew consent (the others name a release gate)."""
NO_LONGER_ACCEPTED = "no_longer_accepted"


@dataclass(frozen=True)
class Gone:
    """One row of withdrawn.csv."""

    id: str
    reason: str
    """`withdrawn` (the author withdrew consent), the release gate that now leaves it out
    (e.g. `pii_excluded`), or `no_longer_accepted` (review or an organiser took it back)."""
    last_version: str
    """The last version that held the item: copies of it and of earlier versions hold it."""
    removed_in: str
    """The first version without it."""


def withdrawals(ctx: "Context") -> list[Gone]:
    """Every item that an earlier release of the campaign published and this one does not
    hold, by id: cumulative from the first version, read from the store's Release rows.

    An item once withdrawn for consent stays `withdrawn` (the Release rows carry those ids
    forward), whatever the store says of it now; an item that comes back is no longer listed.
    """
    last: dict[str, str] = {}
    withdrawn: set[str] = set()
    versions = []
    for r in ctx.facts.previous:
        versions.append(r.version)
        last.update(dict.fromkeys(r.item_versions, r.version))
        withdrawn.update(r.withdrawn_ids or ())
    versions.append(ctx.version)
    after = {v: versions[i + 1] for i, v in enumerate(versions[:-1])}
    reason_now = {i: reason for reason, ids in ctx.found.removed.items() for i in ids}
    withdrawn.update(ctx.found.removed.get(WITHDRAWN_REASON, ()))
    now = ctx.found.item_versions
    return [
        Gone(i, WITHDRAWN_REASON if i in withdrawn else reason_now.get(i, NO_LONGER_ACCEPTED),
             version, after[version])
        for i, version in sorted(last.items()) if i not in now
    ]


def withdrawn_ids(gone: list[Gone]) -> list[str]:
    """The ids whose authors withdrew consent, cumulative (for the Release record)."""
    return [g.id for g in gone if g.reason == WITHDRAWN_REASON]


def write_withdrawn(root: Path, gone: list[Gone]) -> None:
    """withdrawn.csv: a header and one row per item, sorted by id (a header only when none)."""
    with (root / WITHDRAWN_FILE).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(list(WITHDRAWN_COLUMNS))
        writer.writerows((g.id, g.reason, g.last_version, g.removed_in) for g in gone)


def write_changelog(ctx: "Context", root: Path, delta: dict[str, set[str]],
                    gone: list[Gone]) -> None:
    previous = ctx.facts.previous[-1] if ctx.facts.previous else None
    since = f"since {previous.version}" if previous else "first release"
    lines = ["# Changelog", "", f"## {ctx.version} ({ctx.released.isoformat()}, {since})", "",
             f"{ctx.found.total:,} items, licence {ctx.licence.name}.", ""]
    labels = {"added": "Added", "changed": "Changed (new item version)",
              "withdrawn": "Withdrawn (the author withdrew consent)",
              "removed": "Removed (no longer passes a release gate)"}
    for key, label in labels.items():
        ids = delta[key]
        lines.append(f"### {label}: {len(ids):,}")
        lines.append("")
        # every withdrawn id is listed, so that users of an earlier version can drop them
        shown = sorted(ids) if key == "withdrawn" else heapq.nsmallest(LIST_LIMIT, ids)
        lines += [f"- `{i}`" for i in shown]
        if len(ids) > len(shown):
            lines.append(f"- ... and {len(ids) - len(shown):,} more")
        lines.append("")
    new_now = {g.id for g in gone if g.removed_in == ctx.version}
    lines += [f"### Every item withdrawn or removed since the first version: {len(gone):,} "
              f"({len(new_now):,} new in {ctx.version})", "",
              f"Also in `{WITHDRAWN_FILE}` (columns: {', '.join(WITHDRAWN_COLUMNS)}). Earlier "
              "versions keep their files, under their tags: drop these ids from any copy of an "
              "earlier version.", ""]
    lines += [f"- `{g.id}`: {g.reason.replace('_', ' ')}; last in {g.last_version}"
              + (" (new in this version)" if g.id in new_now else f", removed in {g.removed_in}")
              for g in gone]
    if gone:
        lines.append("")
    reasons = ctx.removed()
    if reasons:
        lines += ["### Left out of this version, by reason", ""]
        lines += [f"- {k.replace('_', ' ')}: {n:,}" for k, n in reasons.items()]
        lines.append("")
    for r in reversed(ctx.facts.previous):
        lines += [f"## {r.version} ({r.created_at.date().isoformat() if r.created_at else ''})", "",
                  f"{len(r.item_versions):,} items, licence {r.licence}; "
                  f"{len(r.withdrawn_ids):,} withdrawn ids recorded.", ""]
    (root / "CHANGELOG.md").write_text("\n".join(lines), "utf-8")


def write_citation(ctx: "Context", root: Path) -> None:
    authors = ctx.answers.get("about.citation_authors") or ctx.curators
    doc = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it as below.",
        "type": "dataset",
        "title": ctx.title,
        "version": ctx.version,
        "date-released": ctx.released.isoformat(),
        "authors": [{"name": a.strip()} for a in authors.split(";") if a.strip()],
        "url": ctx.url,
        "license": ctx.licence.spdx or "other",
        "abstract": ctx.campaign.description or ctx.title,
        "keywords": ["low-resource languages", "benchmark", "community-collected"]
                    + [lang["tag"] for lang in ctx.languages()],
    }
    if not ctx.licence.spdx:
        doc.pop("license")
        doc["license-url"] = ctx.licence.url
    (root / "CITATION.cff").write_text(
        yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), "utf-8")
