"""Read the campaign through the store once: write the parquet parts, and gather every figure
the documents need. Nothing here decides whether the release may go out; it only records what
the gates found."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jamii.core.agreement import summary as agreement_summary
from jamii.core.disclosure import publishable_label
from jamii.core.records import Campaign
from jamii.core.rules import AcceptanceRule
from jamii.core.schema import ITEM_KINDS, KIND_COLUMNS
from jamii.core.items import outgoing_texts
from jamii.core.store import Store, as_datetime
from jamii.datasheets import _gates, _licenses
from jamii.datasheets._parquet import PartWriter, file_name, schema_with_features
from jamii.datasheets._splits import split_of

@dataclass
class Collected:
    """What one pass over the candidate items found and wrote."""

    counts: Counter = field(default_factory=Counter)
    """(kind, split, language, dialect) -> items released."""
    domains: Counter = field(default_factory=Counter)
    task_types: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    item_versions: dict[str, int] = field(default_factory=dict)
    author_ids: set[int] = field(default_factory=set)
    reviewers: set[str] = field(default_factory=set)
    dialect_authors: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    first: datetime | None = None
    last: datetime | None = None
    removed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    """Reason -> public ids left out: withdrawn, no_publication_consent, no_voice_consent,
    imported_without_a_republication_licence, imported_under_an_incompatible_licence,
    pii_excluded, duplicate_exact, duplicate_near."""
    imports: Counter = field(default_factory=Counter)
    """(source file, licence) -> imported items released."""
    pii_blocking: list[tuple[str, _gates.PiiFinding]] = field(default_factory=list)
    pii_cleared: int = 0
    bad_languages: dict[str, str] = field(default_factory=dict)
    audio_seconds: float = 0.0
    sample_rates: Counter = field(default_factory=Counter)
    files: dict[tuple[str, str], int] = field(default_factory=dict)
    """(kind, split) -> rows in its parquet files."""
    parts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(kind, split) -> its parquet files (paths relative to the folder), in order."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def kinds(self) -> list[str]:
        return [k for k in ITEM_KINDS if any(c[0] == k for c in self.counts)]

    def languages(self) -> list[str]:
        return sorted({c[2] for c in self.counts})


def _regions(campaign: Campaign) -> list[str]:
    out = []
    for tag in campaign.languages or []:
        parts = tag.split("-")
        out += [p for p in parts[1:] if len(p) == 2 and p.isalpha()]
    return out


def _columns(store: Store, kind: str, split: str, rows: list[tuple[Any, dict[str, Any]]]
             ) -> dict[str, list[Any]]:
    """The parquet columns of released rows ((CandidateRow, content) pairs) of one kind and
    split, built a column at a time: a dict per row costs more than the parquet writing."""
    meta = [r for r, _ in rows]
    contents = [c for _, c in rows]
    n = len(rows)
    cols: dict[str, list[Any]] = {
        "id": [r.public_id for r in meta], "version": [r.version for r in meta],
        "kind": [kind] * n, "language": [r.language for r in meta],
        "dialect": [r.dialect for r in meta], "domain": [r.domain for r in meta],
        "split": [split] * n, "author": [r.author for r in meta],
        "reviewers": [list(r.reviewers) for r in meta],
        "consent_version": [r.consent_version for r in meta],
    }
    for name, _, _ in KIND_COLUMNS[kind]:
        cols[name] = [c.get(name) for c in contents]
    if kind == "contextual":
        # every write path stores these through `clean_content`: lists, and rubric criteria
        # with exactly the struct's fields, so they go to arrow as they are
        for name in ("rubric", "reference_answers", "red_flags"):
            cols[name] = [c.get(name) or [] for c in contents]
    if kind == "speech":
        cols["audio"] = [{"bytes": store.release_audio(c["audio_sha256"]), "path": f"{r.public_id}.wav"}
                         for r, c in rows]
    return cols


FLUSH_ROWS = 20_000
"""Rows of one kind and split held before they are written as one parquet row group."""

PARALLEL_MIN_ITEMS = 50_000
"""Accepted items from which partitions are collected in worker processes: below it, starting
them costs more than it saves."""


def _workers() -> int:
    """Worker processes: JAMII_RELEASE_WORKERS if set, else up to two, one per core."""
    if os.environ.get("JAMII_RELEASE_WORKERS"):
        return max(1, int(os.environ["JAMII_RELEASE_WORKERS"]))
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1)))


def collect(store: Store, campaign: Campaign, root: Path, *, exclude_flagged: bool,
            batch_size: int = 5000, licence_id: str | None = None,
            workers: int | None = None) -> Collected:
    """Stream the accepted items, judge each one, and write those that pass into `root`.

    One partition (a kind and a language) at a time, so the duplicate index holds one partition
    only, and rows go to parquet in row groups of FLUSH_ROWS: memory stays flat whatever the
    size of the campaign. Each partition writes its own part of each split; partitions are
    independent, so a large campaign collects them in worker processes (spawned, each with its
    own store connection), largest first. Parts are then numbered in partition order and the
    findings merged in that order, so the folder is the same bytes however many workers ran
    and whichever finished first.
    """
    found = Collected()
    regions = _regions(campaign)
    partitions = [(i, kind, language, n) for i, (kind, language, n)
                  in enumerate(store.release_partitions(campaign.id))]
    for _, _, language, _ in partitions:
        problem = _gates.language_problem(language)
        if problem:
            found.bad_languages[language] = problem
    # the parquet schemas carry `datasets` features: made here once, so that the workers
    # never import `datasets`
    schemas = {kind: schema_with_features(kind) for kind in {k for _, k, _, _ in partitions}}
    jobs = [(i, kind, language, campaign.id, regions, exclude_flagged, licence_id, batch_size,
             schemas[kind]) for i, kind, language, _ in partitions]
    n_workers = _workers() if workers is None else workers
    total = sum(n for *_, n in partitions)
    results: dict[int, Collected] = {}
    if n_workers > 1 and len(jobs) > 1 and total >= PARALLEL_MIN_ITEMS:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        by_size = sorted(jobs, key=lambda j: -partitions[j[0]][3])
        ctx = multiprocessing.get_context("spawn")
        # an executor, not a Pool: a worker that dies fails the build instead of being
        # replaced forever
        with ProcessPoolExecutor(min(n_workers, len(jobs)), mp_context=ctx) as pool:
            for i, part in pool.map(
                    _partition_job, [(store.url, str(store.audio_dir), str(root), j) for j in by_size]):
                results[i] = part
    else:
        for job in jobs:
            results[job[0]] = _partition(store, root, *job)
    parts: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for i in sorted(results):
        part = results.pop(i)  # dropped once merged: a million ids are not held twice
        _merge(found, part)
        for key, (tmp_name, rows) in sorted(part.files.items()):
            parts[key].append((tmp_name, rows))
        del part
    # number each kind and split's parts in partition order; a split with no rows has no file
    # (`load_dataset` refuses a split without data)
    for (kind, split), named in sorted(parts.items()):
        final = [file_name(kind, split, k, len(named)) for k in range(len(named))]
        for (tmp_name, _), name in zip(named, final):
            os.replace(root / tmp_name, root / name)
        found.parts[(kind, split)] = final
        found.files[(kind, split)] = sum(rows for _, rows in named)
    found.files = {k: found.files[k] for k in sorted(found.files)}
    return found


def _partition_job(args) -> tuple[int, "Collected"]:
    """One partition in a worker process, on its own store connection."""
    url, audio_dir, root, job = args
    store = Store(url, audio_dir, create=False)
    try:
        return job[0], _partition(store, Path(root), *job)
    finally:
        store.close()


def _partition(store: Store, root: Path, index: int, kind: str, language: str, campaign_id: int,
               regions: list[str], exclude_flagged: bool, licence_id: str | None,
               batch_size: int, schema) -> "Collected":
    """Judge, deduplicate and write one kind and language; `files` maps (kind, split) to the
    (temporary part name, rows) written, for `collect` to number."""
    found = Collected()
    writers: dict[str, PartWriter] = {}
    pending: dict[str, list] = {}  # split -> (CandidateRow, content) pairs for the next row group
    # a near twin the MinHash estimate finds in an earlier batch is confirmed on its text
    dedup = _gates.Deduper(texts_of=lambda keys: {
        key: _gates.dedup_text(kind, _gates.nfc(content)) for key, content in store.release_contents(keys).items()})
    try:
        for batch in store.release_candidates(campaign_id, kind=kind, language=language,
                                              batch_size=batch_size):
            passing = _judge(found, batch, regions, exclude_flagged, licence_id)
            verdicts = dedup.check((kind, language), [r.public_id for r, _ in passing],
                                   [_gates.dedup_text(kind, c) for _, c in passing])
            kept: dict[str, list] = defaultdict(list)
            for pair, verdict in zip(passing, verdicts):
                if verdict is not None:
                    found.removed[f"duplicate_{verdict[0]}"].append(pair[0].public_id)
                else:
                    kept[split_of(pair[0].public_id)].append(pair)
            for split, rows in kept.items():
                _tally(found, kind, split, rows)
                waiting = pending.setdefault(split, [])
                waiting += rows
                if len(waiting) >= FLUSH_ROWS:
                    _part_writer(writers, root, kind, split, index, schema).write(
                        _columns(store, kind, split, waiting))
                    waiting.clear()
        for split, rows in pending.items():
            if rows:
                _part_writer(writers, root, kind, split, index, schema).write(_columns(store, kind, split, rows))
    finally:
        for w in writers.values():
            w.close()
    found.files = {(kind, split): (w.path.relative_to(root).as_posix(), w.rows)
                   for split, w in writers.items() if w.rows}
    for w in writers.values():
        if not w.rows:
            w.path.unlink()
    return found


def _part_writer(writers: dict, root: Path, kind: str, split: str, index: int, schema) -> PartWriter:
    if split not in writers:
        writers[split] = PartWriter(root, kind, split, f"data/{kind}/.{split}-part{index:05d}.parquet",
                                    schema)
    return writers[split]


def _merge(into: "Collected", part: "Collected") -> None:
    """Add one partition's findings to the release's (called in partition order)."""
    for name in ("counts", "domains", "task_types", "sources", "imports", "sample_rates"):
        getattr(into, name).update(getattr(part, name))
    into.item_versions.update(part.item_versions)
    into.author_ids |= part.author_ids
    into.reviewers |= part.reviewers
    for key, people in part.dialect_authors.items():
        into.dialect_authors[key] |= people
    for key in ("first", "last"):
        theirs, ours = getattr(part, key), getattr(into, key)
        if theirs is not None:
            pick = min if key == "first" else max
            setattr(into, key, theirs if ours is None else pick(ours, theirs))
    for reason, ids in part.removed.items():
        into.removed[reason].extend(ids)
    into.pii_blocking += part.pii_blocking
    into.pii_cleared += part.pii_cleared
    into.audio_seconds += part.audio_seconds


def _judge(found: Collected, batch, regions: list[str], exclude_flagged: bool,
           licence_id: str | None) -> list[tuple[Any, dict[str, Any]]]:
    """The rows of a batch that pass the consent, licence and personal-data gates."""
    passing = []
    removed = found.removed
    for row in batch:
        if row.author_withdrawn or row.consent_withdrawn:
            removed["withdrawn"].append(row.public_id)
            continue
        if row.source == "import" and row.consent_version is None:
            # no contributor consent stands behind an imported row: only the licence of its
            # source lets it be republished
            if not row.source_license:
                removed["imported_without_a_republication_licence"].append(row.public_id)
                continue
            if licence_id is not None and not _licenses.compatible(row.source_license, licence_id):
                removed["imported_under_an_incompatible_licence"].append(row.public_id)
                continue
        elif not row.open_publication:
            removed["no_publication_consent"].append(row.public_id)
            continue
        elif row.kind == "speech" and not row.voice:
            removed["no_voice_consent"].append(row.public_id)
            continue
        content = row.content if row.plain else _gates.nfc(row.content)
        hits = _gates.scan_pii(outgoing_texts(row.kind, content, dialect=row.dialect,
                                              domain=row.domain), regions)
        if hits:
            if row.pii_cleared:
                found.pii_cleared += 1
            elif exclude_flagged:
                removed["pii_excluded"].append(row.public_id)
                continue
            else:
                found.pii_blocking += [(row.public_id, h) for h in hits]
                continue
        passing.append((row, content))
    return passing


def _tally(found: Collected, kind: str, split: str, rows: list[tuple[Any, dict[str, Any]]]) -> None:
    """Count released rows of one kind and split into the figures the documents give."""
    meta = [r for r, _ in rows]
    found.counts.update((kind, split, r.language, r.dialect) for r in meta)
    found.domains.update(r.domain for r in meta)
    found.sources.update(r.source or "collector" for r in meta)
    # a file name is whatever the organiser's file was called ("interview_amina_0712....csv"):
    # published only when it holds no personal data
    found.imports.update((publishable_label(r.source_file or "(file not recorded)"),
                          publishable_label(r.source_license) if r.source_license else None)
                         for r in meta if r.source == "import")
    if kind == "prompt_response":
        found.task_types.update(c.get("task_type") or "instruction" for _, c in rows)
    if kind == "speech":
        found.audio_seconds += sum(float(c.get("duration_s") or 0) for _, c in rows)
        found.sample_rates.update(c.get("sample_rate") for _, c in rows)
    found.item_versions.update((r.public_id, r.version) for r in meta)
    found.author_ids.update(r.author_id for r in meta)
    for r in meta:
        found.reviewers.update(r.reviewers)
        if r.dialect:
            found.dialect_authors[(r.language, r.dialect)].add(r.author_id)
    times = [r.created_at for r in meta if r.created_at is not None]
    if times:  # as the driver gives them (SQLite: text in one sortable format)
        lo, hi = as_datetime(min(times)), as_datetime(max(times))
        found.first = lo if found.first is None else min(found.first, lo)
        found.last = hi if found.last is None else max(found.last, hi)


# --------------------------------------------------------------------------- facts


@dataclass
class Facts:
    """Everything the documents say about the campaign beyond the rows themselves."""

    campaign: Campaign
    status_counts: dict[str, int]
    rule: AcceptanceRule
    agreement: dict[str, Any]
    authors: dict[str, Any]
    reviewers: dict[str, Any]
    compensation: list[dict[str, Any]]
    rate_cards: list[Any]
    consent_texts: list[Any]
    previous: list[Any]
    withdrawn_people: int


def agreement(store: Store, campaign_id: int) -> dict[str, Any]:
    """Krippendorff's alpha (nominal) over the verdicts of each reviewed item version, and
    the vote totals and rates: the dashboard's own figures (`jamii.core.agreement`)."""
    return agreement_summary(store.review_votes(campaign_id))


def campaign_facts(store: Store, campaign: Campaign) -> Facts:
    """Every fact that does not depend on which items pass the gates (authors are filled in by
    `gather_facts`): `build_release` gathers these while the workers collect the items."""
    reviewer_ids = store.release_reviewer_ids(campaign.id)
    return Facts(
        campaign=campaign,
        status_counts=store.release_status_counts(campaign.id),
        rule=AcceptanceRule.from_campaign(campaign.acceptance_rule),
        agreement=agreement(store, campaign.id),
        authors={},
        reviewers=store.release_profile_counts(reviewer_ids),
        compensation=store.compensation_totals(campaign.id),
        rate_cards=store.release_rate_cards(campaign.id),
        consent_texts=store.release_consent_texts(campaign.id),
        previous=store.releases(campaign.id),
        withdrawn_people=store.release_withdrawn_people(campaign.id),
    )


def gather_facts(store: Store, campaign: Campaign, found: Collected,
                 early: Facts | None = None) -> Facts:
    """The campaign's facts (`early`, if already gathered) with the released items' authors."""
    facts = early or campaign_facts(store, campaign)
    return dataclasses.replace(facts, authors=store.release_profile_counts(found.author_ids))
