"""Releases: the publishable rows a release reads, once and PII-free, and the records of the
releases built and published.

Nothing here reads `contributor_contacts`: a release is built only from pseudonyms, consent
records and self-described profiles, so names, contacts and payment accounts cannot leak into
one by a forgotten column. The other facts a release gives (counts of people, agreement,
compensation totals) come from the store module of their record, the same queries the
dashboard reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Text, func, select, type_coerce
from sqlalchemy.orm import aliased

from jamii.core.records import Consent, Contributor, Item, Release, Review
from jamii.core.store._base import Actor, NotFound, StoreBase, StoreError, _actor


_SEP = "\x1f"
"""Separator of aggregated pseudonyms: a control character no pseudonym can contain."""


class CandidateRow(NamedTuple):
    """One accepted item with what the gates need to judge it; no personal data.

    A named tuple, not a dataclass: a release reads a million of them, and a tuple is built
    several times faster."""

    item_id: int
    public_id: str
    kind: str
    language: str
    dialect: str | None
    domain: str | None
    version: int
    content: dict[str, Any]
    created_at: datetime | str | None
    """As the driver returns it: compare within one store, convert with `as_datetime`."""
    pii_cleared: bool
    author_id: int
    author: str
    author_withdrawn: bool
    consent_version: str | None
    consent_withdrawn: bool
    open_publication: bool
    voice: bool
    reviewers: tuple[str, ...]
    source: str | None
    """Where the item came from: "collector", "import"... (its provenance's source)."""
    source_file: str | None = None
    """For an imported item: the file it came from (its provenance's file name)."""
    source_license: str | None = None
    """For an imported item: the licence its source was published under, if one was given."""
    plain: bool = False
    """The stored content holds ASCII text only, so every string in it is NFC already."""


def as_datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp as the driver returns it (SQLite: text in SQLAlchemy's one sortable format)
    as a datetime."""
    return datetime.fromisoformat(value) if type(value) is str else value


class ReleaseStore(StoreBase):
    # --- the rows -------------------------------------------------------------------------
    def release_partitions(self, campaign_id: int) -> list[tuple[str, str, int]]:
        """(kind, language, accepted items) of the campaign, ordered by kind and language."""
        with self.read() as s:
            rows = s.execute(
                select(Item.kind, Item.language, func.count())
                .where(Item.campaign_id == campaign_id, Item.status == "accepted")
                .group_by(Item.kind, Item.language).order_by(Item.kind, Item.language)).all()
        return [(k, lang, int(n)) for k, lang, n in rows]

    def release_candidates(self, campaign_id: int, *, kind: str | None = None,
                           language: str | None = None, batch_size: int = 5000
                           ) -> Iterator[list[CandidateRow]]:
        """Every accepted item of the campaign (or of one kind and language), in batches.

        Ordered by kind, language and id. Read one kind and language at a time for large
        campaigns: the database then never sorts the item texts, it only walks ids in order.
        One query joins the author's pseudonym and withdrawal, the consent the item was given
        under (its version, scopes and withdrawal) and the pseudonyms of the peers who reviewed
        the released version (an indexed lookup per item on reviews' (item_id, reviewer_id)).
        Items whose consent or author the gates refuse are still returned, so that the release
        can say how many left and why.
        """
        author = aliased(Contributor)
        reviewer = aliased(Contributor)
        reviewers = (
            select(func.aggregate_strings(reviewer.pseudonym, _SEP))
            .select_from(Review).join(reviewer, reviewer.id == Review.reviewer_id)
            .where(Review.item_id == Item.id, Review.item_version == Item.version)
            .scalar_subquery()
        )
        query = (
            select(
                Item.id, Item.public_id, Item.kind, Item.language, Item.dialect, Item.domain,
                Item.version,
                # the stored JSON text, parsed below with the C json module: SQLAlchemy's JSON
                # result processing costs several times more per row
                type_coerce(Item.content, Text), Item.created_at, Item.pii_cleared_by.is_not(None),
                Item.author_id, author.pseudonym, author.withdrawn_at.is_not(None),
                Consent.version, Consent.withdrawn_at.is_not(None),
                Consent.scopes["open_publication"].as_boolean(),
                Consent.scopes["voice"].as_boolean(),
                reviewers,
                Item.provenance["source"].as_string(),
                Item.provenance["file"].as_string(),
                Item.provenance["license"].as_string(),
            )
            .join(author, author.id == Item.author_id)
            .outerjoin(Consent, Consent.id == Item.consent_id)
            .where(Item.campaign_id == campaign_id, Item.status == "accepted")
        )
        if kind is not None:
            query = query.where(Item.kind == kind)
        if language is not None:
            query = query.where(Item.language == language)
        if kind is not None and language is not None:
            query = query.order_by(Item.id)
        else:
            query = query.order_by(Item.kind, Item.language, Item.id)
        # Run as driver SQL and read plain tuples: SQLAlchemy's per-row result processing
        # (datetimes, booleans, JSON) costs more than the query. The binds are ints and the
        # campaign's own kind and language tags, rendered by SQLAlchemy's literal processors.
        sql = str(query.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        loads = orjson.loads
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True).exec_driver_sql(sql)
            while part := result.fetchmany(batch_size):
                yield [
                    CandidateRow(
                        r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                        loads(r[7]) if type(r[7]) is str else r[7],
                        r[8], bool(r[9]), r[10], r[11], bool(r[12]), r[13],
                        bool(r[14]) if r[13] is not None else False, bool(r[15]), bool(r[16]),
                        tuple(sorted(r[17].split(_SEP))) if r[17] else (), r[18], r[19], r[20],
                        type(r[7]) is str and r[7].isascii() and "\\u" not in r[7],
                    )
                    for r in part
                ]

    def release_contents(self, public_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Items' content by public id, in one query: the texts an earlier batch's near
        duplicates are confirmed on."""
        with self.read() as s:
            rows = s.execute(select(Item.public_id, Item.content).where(Item.public_id.in_(public_ids)))
            return {public_id: content for public_id, content in rows}

    def release_audio(self, digest: str) -> bytes:
        """The bytes of a content-addressed recording."""
        path = Path(self.audio_dir) / digest[:2] / f"{digest}.wav"
        if not path.exists():
            raise StoreError(f"The recording {digest} is missing from {self.audio_dir}.")
        return path.read_bytes()

    # --- release records ------------------------------------------------------------------
    def releases(self, campaign_id: int) -> list[Release]:
        with self.read() as s:
            return list(s.scalars(select(Release).where(Release.campaign_id == campaign_id)
                                  .order_by(Release.created_at, Release.id)))

    def record_release(self, campaign_id: int, version: str, licence: str, *,
                       item_versions: dict[str, int], withdrawn_ids: list[str],
                       bundle_sha256: str, actor_id: Actor) -> Release:
        with self.write() as s:
            actor = _actor(s, actor_id, "record releases")
            if s.scalar(select(Release.id).where(Release.campaign_id == campaign_id,
                                                 Release.version == version)):
                raise StoreError(f"Release {version} exists already: choose a new version number.")
            release = Release(campaign_id=campaign_id, version=version, licence=licence,
                              item_versions=item_versions, withdrawn_ids=withdrawn_ids,
                              bundle_sha256=bundle_sha256,
                              created_by=actor.id if actor else None)
            s.add(release)
            s.flush()
            self._audit(s, actor_id, "release.build", "release", release.id, version=version,
                        items=len(item_versions), withdrawn=len(withdrawn_ids),
                        bundle_sha256=bundle_sha256)
        return release

    def release_exists(self, campaign_id: int, version: str) -> bool:
        with self.read() as s:
            return s.scalar(select(Release.id).where(Release.campaign_id == campaign_id,
                                                     Release.version == version)) is not None

    def record_publication(self, campaign_id: int, version: str, hub_repo: str,
                           hub_commit: str | None, *, actor_id: Actor) -> None:
        with self.write() as s:
            _actor(s, actor_id, "record publications")
            release = s.scalar(select(Release).where(Release.campaign_id == campaign_id,
                                                     Release.version == version))
            if release is None:
                raise NotFound(f"No release {version} of this campaign.")
            release.hub_repo = hub_repo
            release.hub_commit = hub_commit
            self._audit(s, actor_id, "release.publish", "release", release.id,
                        hub_repo=hub_repo, hub_commit=hub_commit)
