"""Items: submission (idempotent, one transaction), revision, audio files, listing and counts."""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core.langtags import normalise_tag
from jamii.core.records import Campaign, Contributor, Item, KnownContent, Review
from jamii.core.store._base import (Actor, Forbidden, NotFound, StoreBase, StoreError,
                                    _active_consent, _actor, _get, _tag)


class DuplicateItem(StoreError):
    """The same content is already in the campaign."""


@dataclass(frozen=True)
class Submitted:
    item: Item
    created: bool
    """False when the idempotency key had been stored before (a double click, a reload)."""


def new_public_id() -> str:
    return "itm_" + secrets.token_hex(8)


_AUTHOR = object()
"""submit_item's default actor: the author themself."""


class ItemStore(StoreBase):
    # --- audio ----------------------------------------------------------------------------
    def save_audio(self, data: bytes, suffix: str = ".wav") -> str:
        """Content-addressed: the file's name is its sha256, written atomically, never twice."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.audio_path(digest, suffix)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return digest

    def audio_path(self, digest: str, suffix: str = ".wav") -> Path:
        return self.audio_dir / digest[:2] / f"{digest}{suffix}"

    # --- submission -----------------------------------------------------------------------
    def submit_item(self, *, campaign_id: int, author_id: int, kind: str, language: str,
                    content: dict[str, Any], client_key: str, dialect: str | None = None,
                    domain: str | None = None, provenance: dict[str, Any] | None = None,
                    accepted: bool = False, pii_cleared_by: int | None = None,
                    actor_id: Actor | object = _AUTHOR) -> Submitted:
        """Store one item in one transaction.

        Refuses (StoreError, nothing written) when the content has a blocking problem, the
        author has no active consent, the kind or language is not the campaign's, or the same
        content is already there. Warnings (PII, language) are the caller's to confirm first.
        The author acts unless `actor_id` says otherwise; storing an item as `accepted` or
        with `pii_cleared_by`, or for someone else, takes an organiser (or OPERATOR).
        """
        if not client_key or len(client_key) > 128:
            raise StoreError("Each submission needs a client key of 1 to 128 characters.")
        cleaned = item_rules.clean_content(kind, content)
        blocking = cleaned.blocking + item_rules.context_problems(dialect=dialect, domain=domain)
        if blocking:
            raise item_rules.ItemError(blocking)
        dialect = checks.normalise_text(dialect) if isinstance(dialect, str) else dialect
        domain = checks.normalise_text(domain) if isinstance(domain, str) else domain
        language = _tag(language, "language")
        digest = item_rules.content_sha256(kind, cleaned.content)
        try:
            with self.write() as s:
                acting = author_id if actor_id is _AUTHOR else actor_id
                if accepted or pii_cleared_by is not None or acting != author_id:
                    _actor(s, acting, "store items as accepted or cleared, or for someone else")
                if pii_cleared_by is not None:
                    _actor(s, pii_cleared_by, "clear personal data", operator=False)
                existing = s.scalar(select(Item).where(Item.client_key == client_key))
                if existing:
                    return Submitted(existing, False)
                campaign = _get(s, Campaign, campaign_id)
                author = _get(s, Contributor, author_id)
                self._check_fit(campaign, kind, language, dialect, domain)
                if author.withdrawn_at:
                    raise Forbidden("This account has withdrawn its consent; it cannot contribute.")
                consent = _active_consent(s, author_id, campaign_id)
                if consent is None and not (provenance or {}).get("source") == "import":
                    raise Forbidden("Accept the campaign's current consent text before contributing.")
                if kind == "speech" and consent is not None and consent.scopes.get("voice") is not True:
                    raise Forbidden("Your consent does not cover voice recordings: change your "
                                    "consent choices to record speech.")
                same = s.scalar(select(Item).where(Item.campaign_id == campaign_id,
                                                   Item.content_sha256 == digest))
                if same is not None and same.client_key == client_key:
                    return Submitted(same, False)  # our own double click committed meanwhile
                if same is None and s.get(KnownContent, (campaign_id, digest)) is not None:
                    same = True  # a field store: the central store had it when the kit was made
                if same is not None:
                    raise DuplicateItem("This exact item is already in the campaign: write a new one.")
                item = Item(public_id=new_public_id(), campaign_id=campaign_id, kind=kind,
                            language=language, dialect=dialect or None, domain=domain or None,
                            author_id=author_id, consent_id=consent.id if consent else None,
                            status="accepted" if accepted else "submitted",
                            content=cleaned.content, content_sha256=digest, client_key=client_key,
                            provenance=provenance or {"source": "collector"},
                            pii_cleared_by=pii_cleared_by)
                s.add(item)
                s.flush()
                return Submitted(item, True)
        except IntegrityError:
            # a concurrent writer stored the same key or the same content first
            with self.read() as s:
                existing = s.scalar(select(Item).where(Item.client_key == client_key))
                if existing:
                    return Submitted(existing, False)
            raise DuplicateItem("This exact item is already in the campaign: write a new one.") from None

    @staticmethod
    def _check_fit(campaign: Campaign, kind: str, language: str, dialect: str | None,
                   domain: str | None) -> None:
        if kind not in campaign.item_kinds:
            raise StoreError(f"This campaign does not collect {kind} items: it collects "
                             f"{', '.join(campaign.item_kinds)}.")
        if language not in campaign.languages:
            raise StoreError(f"This campaign collects {', '.join(campaign.languages)}, not {language}.")
        dialects = campaign.dialects.get(language) or []
        if dialect and dialects and dialect not in dialects and not dialect.startswith("other:"):
            raise StoreError(f"'{dialect}' is not one of this campaign's {language} dialects "
                             f"({', '.join(dialects)}); write 'other: <name>' for another.")
        if domain and campaign.domains and domain not in campaign.domains:
            raise StoreError(f"'{domain}' is not one of this campaign's domains "
                             f"({', '.join(campaign.domains)}).")

    def accept_edit(self, item_id: int, author_id: int, content: dict[str, Any]) -> Item:
        """The author takes a suggested edit (or revises): a new version goes back to review."""
        from jamii.core.records import ItemRevision

        with self.write() as s:
            item = _get(s, Item, item_id)
            _actor(s, author_id, "revise items", roles=(), self_id=author_id)
            if item.author_id != author_id:
                raise Forbidden("Only the author can revise an item.")
            if item.status not in ("needs_edit", "submitted"):
                raise StoreError("Only items still under review can be revised.")
            cleaned = item_rules.clean_content(item.kind, {**item.content, **content})
            if cleaned.blocking:
                raise item_rules.ItemError(cleaned.blocking)
            s.add(ItemRevision(item_id=item.id, version=item.version, content=item.content,
                               edited_by=author_id))
            item.version += 1
            item.content = cleaned.content
            item.content_sha256 = item_rules.content_sha256(item.kind, cleaned.content)
            item.status = "submitted"
            item.pii_cleared_by = None  # an organiser cleared the old text, not this one
        return item

    # --- reading --------------------------------------------------------------------------
    def item(self, item_id: int | str) -> Item:
        with self.read() as s:
            if isinstance(item_id, str):
                found = s.scalar(select(Item).where(Item.public_id == item_id))
            else:
                found = s.get(Item, item_id)
            if found is None:
                raise NotFound(f"No item {item_id}.")
            return found

    def items(self, campaign_id: int, *, status: str | None = None, author_id: int | None = None,
              kind: str | None = None, limit: int | None = None) -> list[Item]:
        q = select(Item).where(Item.campaign_id == campaign_id)
        if status:
            q = q.where(Item.status == status)
        if author_id:
            q = q.where(Item.author_id == author_id)
        if kind:
            q = q.where(Item.kind == kind)
        q = q.order_by(Item.id.desc())
        if limit:
            q = q.limit(limit)
        with self.read() as s:
            return list(s.scalars(q))

    def find_same_content(self, campaign_id: int, kind: str, content: dict[str, Any]) -> Item | None:
        """The item of this campaign whose normalised content equals `content`, if any."""
        cleaned = item_rules.clean_content(kind, content)
        digest = item_rules.content_sha256(kind, cleaned.content)
        with self.read() as s:
            return s.scalar(select(Item).where(Item.campaign_id == campaign_id,
                                               Item.content_sha256 == digest))

    def my_items(self, author_id: int, campaign_id: int | None = None,
                 limit: int = 200) -> list[tuple[Item, list[Review]]]:
        """The author's own items, newest first, each with the reviews it received."""
        q = select(Item).where(Item.author_id == author_id)
        if campaign_id is not None:
            q = q.where(Item.campaign_id == campaign_id)
        with self.read() as s:
            found = list(s.scalars(q.order_by(Item.id.desc()).limit(limit)))
        reviews = self.reviews_by_item([i.id for i in found])
        return [(i, reviews[i.id]) for i in found]

    def latest_rubric(self, campaign_id: int, language: str) -> list[dict[str, Any]]:
        """The rubric of the newest accepted (else any) contextual item in this language."""
        with self.read() as s:
            for status in ("accepted", None):
                q = select(Item.content).where(Item.campaign_id == campaign_id,
                                               Item.kind == "contextual", Item.language == language)
                if status:
                    q = q.where(Item.status == status)
                content = s.scalar(q.order_by(Item.id.desc()).limit(1))
                if content and content.get("rubric"):
                    return list(content["rubric"])
        return []

    # --- counts ---------------------------------------------------------------------------
    def status_counts(self, campaign_id: int) -> dict[str, Any]:
        """Counts by kind, status, language and dialect, and contributor counts."""
        with self.read() as s:
            _get(s, Campaign, campaign_id)
            rows = s.execute(
                select(Item.kind, Item.status, Item.language, Item.dialect, func.count())
                .where(Item.campaign_id == campaign_id)
                .group_by(Item.kind, Item.status, Item.language, Item.dialect)).all()
            authors = s.scalar(select(func.count(func.distinct(Item.author_id)))
                               .where(Item.campaign_id == campaign_id))
            people = s.execute(select(Contributor.roles, Contributor.withdrawn_at)).all()
        out: dict[str, Any] = {"items": 0, "by_kind": {}, "by_status": {}, "by_language": {},
                               "by_dialect": {}}
        for kind, status, language, dialect, n in rows:
            out["items"] += n
            for key, value in (("by_kind", kind), ("by_status", status),
                               ("by_language", language),
                               ("by_dialect", f"{language}/{dialect or '(none)'}")):
                out[key][value] = out[key].get(value, 0) + n
        out["contributors"] = {
            "with_items": authors or 0,
            "registered": len(people),
            "withdrawn": sum(1 for _, w in people if w),
            "reviewers": sum(1 for r, _ in people if "reviewer" in r),
            "organisers": sum(1 for r, _ in people if "organiser" in r),
        }
        return out

    def item_counts(self, campaign_id: int) -> list[dict[str, Any]]:
        """Items per kind, language, dialect, domain and status: one row per combination."""
        cols = (Item.kind, Item.language, Item.dialect, Item.domain, Item.status)
        q = (select(*cols, func.count()).where(Item.campaign_id == campaign_id)
             .group_by(*cols).order_by(*cols))
        with self.read() as s:
            rows = s.execute(q).all()
        return [{"kind": k, "language": lang, "dialect": d, "domain": dom, "status": st, "n": n}
                for k, lang, d, dom, st, n in rows]

    def release_status_counts(self, campaign_id: int) -> dict[str, int]:
        """Items by status, for the datasheet's account of what was not accepted."""
        with self.read() as s:
            rows = s.execute(select(Item.status, func.count()).where(Item.campaign_id == campaign_id)
                             .group_by(Item.status)).all()
        return {status: n for status, n in rows}

    def language_ok(self, tag: str) -> str:
        return normalise_tag(tag)
