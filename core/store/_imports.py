"""Bulk writes for `jamii import`: many rows per transaction, idempotent by client key.

The importer validates every row before it calls in here; the store still re-cleans each
item and checks that it fits the campaign, so nothing that `submit_item` would refuse can
enter by this door. Imported items carry no consent record (the organiser answers for the
source's licence), which is why only rows whose provenance says `"source": "import"` are taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jamii.core import items as item_rules
from jamii.core.records import Campaign, Contributor, Item, utcnow
from jamii.core.store._base import (Actor, Forbidden, StoreBase, StoreError, _actor, _get,
                                    _refuse_bad_text, _tag)
from jamii.core.store._items import ItemStore, new_public_id
from jamii.core.store._people import pseudonym_problems


@dataclass
class BulkOutcome:
    """What happened to each row handed to `submit_items_bulk`, by its index in the input."""

    created: list[int] = field(default_factory=list)
    """Rows stored now."""
    present: list[int] = field(default_factory=list)
    """Rows whose client key, or whose exact content, the campaign already holds."""


class ImportQueries(StoreBase):
    def import_author(self, pseudonym: str, *, source: str | None = None,
                      actor_id: Actor) -> Contributor:
        """The contributor that imported rows are credited to, created once per pseudonym.

        It has no invite code and no password, so nobody can sign in as it.
        """
        _refuse_bad_text(pseudonym_problems(pseudonym, required=True))
        for _attempt in range(2):
            try:
                with self.write() as s:
                    _actor(s, actor_id, "import items")
                    found = s.scalar(select(Contributor).where(Contributor.pseudonym == pseudonym))
                    if found is not None:
                        return found
                    person = Contributor(pseudonym=pseudonym, roles=["contributor"])
                    s.add(person)
                    s.flush()
                    self._audit(s, actor_id, "contributor.add", "contributor", person.id,
                                roles=["contributor"], import_source=source)
                    return person
            except IntegrityError:  # a concurrent import created it first
                continue
        raise StoreError(f"Could not create the import contributor '{pseudonym}'.")

    def submit_items_bulk(self, *, campaign_id: int, author_id: int,
                          items: Sequence[dict[str, Any]], accepted: bool = False,
                          actor_id: Actor, batch_size: int = 500) -> BulkOutcome:
        """Store imported items, one transaction per batch of `batch_size`.

        Each item is a dict with `kind`, `language`, `content`, `client_key`, `provenance`
        (whose `source` must be "import") and optionally `dialect` and `domain`. A row whose
        client key or exact content is already in the campaign is counted as present, not
        stored twice. A row that `submit_item` would refuse raises (ItemError or StoreError)
        and its batch writes nothing; batches before it stay written, and since keys make a
        re-run idempotent, running the import again after fixing the row completes it.
        `accepted` stores the rows as already validated, without compensation entries:
        imported work was not paid through jamii.
        """
        with self.read() as s:  # refused before any row is judged; checked again per batch
            _actor(s, actor_id, "import items")
        prepared = [self._prepare_import_row(i, row) for i, row in enumerate(items)]
        outcome = BulkOutcome()
        for start in range(0, len(prepared), max(1, batch_size)):
            batch = prepared[start:start + batch_size]
            for attempt in range(3):
                try:
                    created, present = self._write_import_batch(
                        campaign_id, author_id, batch, accepted, actor_id)
                    break
                except IntegrityError:  # a concurrent writer stored a key or content first
                    if attempt == 2:
                        raise StoreError("Another writer kept changing the same items during the "
                                         "import: run it again.") from None
            outcome.created += created
            outcome.present += present
        return outcome

    @staticmethod
    def _prepare_import_row(index: int, row: dict[str, Any]) -> dict[str, Any]:
        provenance = row.get("provenance") or {}
        if provenance.get("source") != "import":
            raise Forbidden("Bulk submission is for imports only: each row's provenance must say "
                            "'source': 'import'. Contributors' items go through submit_item.")
        key = row.get("client_key") or ""
        if not key or len(key) > 128:
            raise StoreError(f"Row {index + 1}: each item needs a client key of 1 to 128 "
                             "characters.")
        kind = row["kind"]
        cleaned = item_rules.clean_content(kind, row.get("content") or {})
        if cleaned.blocking:
            raise item_rules.ItemError(cleaned.blocking)
        return {
            "index": index, "kind": kind, "language": _tag(row.get("language"), "language"),
            "dialect": row.get("dialect") or None, "domain": row.get("domain") or None,
            "content": cleaned.content, "digest": item_rules.content_sha256(kind, cleaned.content),
            "client_key": key, "provenance": dict(provenance),
        }

    def _write_import_batch(self, campaign_id: int, author_id: int, batch: list[dict[str, Any]],
                            accepted: bool, actor_id: Actor) -> tuple[list[int], list[int]]:
        created: list[int] = []
        present: list[int] = []
        with self.write() as s:
            _actor(s, actor_id, "import items")
            campaign = _get(s, Campaign, campaign_id)
            author = _get(s, Contributor, author_id)
            if author.withdrawn_at:
                raise Forbidden(f"'{author.pseudonym}' has withdrawn; imported items cannot be "
                                "credited to them.")
            for row in batch:
                ItemStore._check_fit(campaign, row["kind"], row["language"], row["dialect"],
                                     row["domain"])
            keys = {r["client_key"] for r in batch}
            digests = {r["digest"] for r in batch}
            have_keys = set(s.scalars(select(Item.client_key).where(Item.client_key.in_(keys))))
            have_digests = set(s.scalars(select(Item.content_sha256).where(
                Item.campaign_id == campaign_id, Item.content_sha256.in_(digests))))
            now = utcnow()
            for row in batch:
                if row["client_key"] in have_keys or row["digest"] in have_digests:
                    present.append(row["index"])
                    continue
                have_keys.add(row["client_key"])
                have_digests.add(row["digest"])
                s.add(Item(public_id=new_public_id(), campaign_id=campaign_id, kind=row["kind"],
                           language=row["language"], dialect=row["dialect"], domain=row["domain"],
                           author_id=author_id, consent_id=None,
                           status="accepted" if accepted else "submitted",
                           decided_at=now if accepted else None,
                           content=row["content"], content_sha256=row["digest"],
                           client_key=row["client_key"], provenance=row["provenance"]))
                created.append(row["index"])
            if created:
                s.flush()
                first = batch[0]["provenance"]
                self._audit(s, actor_id, "items.import", "campaign", campaign_id,
                            count=len(created), accepted=accepted, file=first.get("file"),
                            sha256=first.get("sha256"))
        return created, present
