"""Field kits, the store's side of bringing work back: the rows a field store bundles, and
their merge into the central store.

    for table, rows in field.kit_records(actor_id=OPERATOR): ...          # jamii kit bundle
    report = central.merge_kit_rows(kit_id, "items", rows, actor_id=OPERATOR)  # jamii kit merge

Merging follows ODK/KoboToolbox's proven rules. Every record carries the global id it got where
it was made (`uid`, an item's `public_id`). A record whose id the central store already has is
a retry when its content is the same (nothing happens) and a conflict when it differs (listed,
not applied). A batch is one transaction, and every row is idempotent by its id, so a merge cut
short at any point and run again ends exactly as one clean run, and the same bundle twice adds
nothing. A field item whose text is already in the campaign (a central item, or another kit's)
is refused as a duplicate, as at submission. An item of a person who withdrew centrally is kept
for the record but listed: the release gates never publish a withdrawn person's items. Ledger
entries keep their source keys (`item:<public_id>`, `review:<uid>`), unique with their
activity, so nothing is paid twice. A person added in the field keeps their pseudonym unless
the central store gave it to someone else meanwhile; then they get a new one, never merged with
that other person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator

from sqlalchemy import func, select

from jamii.core.records import (Campaign, CompensationEntry, Consent, Contributor,
                                ConsentText, ContributorContact, Item, ItemRevision, Kit, RateCard,
                                Review, new_uid, utcnow)
from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core.records import COMPENSATION_METHODS, VERDICTS
from jamii.core.rules import AcceptanceRule, decide
from jamii.core.store._base import Actor, StoreBase, StoreError, _actor
from jamii.core.store._kit_news import sent_in_news
from jamii.core.store._kits import _when
from jamii.core.store._people import pseudonym_problems
from jamii.core.store._reviews import REJECT_REASONS, _priced

CHUNK = 1000
"""Rows a bundle reads from the field store at a time."""
TABLES = ("people", "consents", "items", "reviews", "ledger", "withdrawals")
"""In merge order: each table's rows name only records of the tables before it."""
PERSON_FIELDS = ("uid", "pseudonym", "roles", "invite_code_sha256", "ui_language",
                 "languages_spoken", "dialect", "region", "gender", "age_band",
                 "compensation_method", "compensation_choice")
CONTACT_FIELDS = ("name", "email", "phone", "payment_account", "login_name", "password_hash")
FIELD_ROLES = ("contributor", "reviewer")
"""The roles a person added in the field keeps centrally (an organiser is made centrally)."""
ITEM_FIELDS = ("public_id", "campaign_id", "kind", "language", "dialect", "domain", "status",
               "version", "content", "content_sha256", "client_key", "provenance")


@dataclass
class MergeReport:
    """What one merge did, per table; lists say which records and why."""

    added: dict[str, int] = field(default_factory=lambda: {t: 0 for t in TABLES})
    retries: dict[str, int] = field(default_factory=lambda: {t: 0 for t in TABLES})
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    withdrawn_authors: list[dict[str, Any]] = field(default_factory=list)
    renamed: list[dict[str, Any]] = field(default_factory=list)
    edited: list[dict[str, Any]] = field(default_factory=list)
    """Items the field edited after an earlier bundle brought them: the new version applied on
    top of the one it edited, and back to review."""
    roles_reduced: list[dict[str, Any]] = field(default_factory=list)
    """People a kit made organisers (or gave unknown roles): a kit adds contributors and
    reviewers only, organisers are made centrally."""
    decided: dict[str, int] = field(default_factory=dict)

    def conflict(self, table: str, why: str, **ids: Any) -> None:
        self.conflicts.append({"table": table, **ids, "why": why})

    def absorb(self, other: "MergeReport") -> None:
        for table in TABLES:
            self.added[table] += other.added[table]
            self.retries[table] += other.retries[table]
        self.conflicts += other.conflicts
        self.duplicates += other.duplicates
        self.withdrawn_authors += other.withdrawn_authors
        self.renamed += other.renamed
        self.edited += other.edited
        self.roles_reduced += other.roles_reduced
        for outcome, n in other.decided.items():
            self.decided[outcome] = self.decided.get(outcome, 0) + n


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _aware(when):
    """SQLite gives times back without their zone; every time jamii writes is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=utcnow().tzinfo)


class KitMergeStore(StoreBase):
    # --- field: what a bundle carries -------------------------------------------------------
    def kit_records(self, *, actor_id: Actor) -> Iterator[tuple[str, Iterable[dict[str, Any]]]]:
        """Everything this field store made, as (table, rows) in merge order, by global ids
        only; a table's rows are read as they are taken, so take each before the next table. A bundle carries all of it every time: a bundle lost on the way loses nothing,
        and the central store takes each record once however many bundles carry it."""
        kit = self.field_kit()
        if kit is None:
            raise StoreError("This store was not made from a kit (jamii init --from-kit): "
                             "there is nothing to bundle.")
        with self.read() as s:
            _actor(s, actor_id, "bundle a kit's work")
            uid = dict(s.execute(select(Contributor.id, Contributor.uid)).all())
            people = list(s.scalars(select(Contributor).where(Contributor.kit_id == kit)
                                    .order_by(Contributor.id)))
            contacts = {c.contributor_id: c for c in s.scalars(select(ContributorContact).where(
                ContributorContact.contributor_id.in_([p.id for p in people] or [-1])))}
            yield "people", [{**{f: _iso(getattr(p, f)) for f in PERSON_FIELDS},
                              "created_at": _iso(p.created_at),
                              "contact": {f: getattr(contacts[p.id], f) for f in CONTACT_FIELDS}
                              if p.id in contacts else None} for p in people]
            consent_uid = dict(s.execute(select(Consent.id, Consent.uid)).all())
            yield "consents", [
                {"uid": c.uid, "person": uid[c.contributor_id], "campaign_id": c.campaign_id,
                 "consent_text_id": c.consent_text_id, "version": c.version,
                 "text_sha256": c.text_sha256, "scopes": c.scopes,
                 "accepted_at": _iso(c.accepted_at), "withdrawn_at": _iso(c.withdrawn_at)}
                for c in s.scalars(select(Consent).where(Consent.kit_id == kit).order_by(Consent.id))]
            # items, reviews and ledger entries go out as generators, read in chunks: a long
            # campaign's kit never holds them all (write_bundle spools each to a file)
            kinds = dict(s.execute(select(Item.id, Item.kind).where(Item.kit_id == kit)).all())
            public = dict(s.execute(select(Item.id, Item.public_id).where(Item.kit_id == kit)).all())
            earlier = self._earlier_versions(s, kinds)
            seen = {(i, v): h for i, v, h in s.execute(
                select(Item.id, Item.version, Item.content_sha256).where(Item.kit_id == kit))}
            seen.update({(item_id, v["version"]): v["content_sha256"]
                         for item_id, versions in earlier.items() for v in versions})

            def chunked(query):
                return s.scalars(query.execution_options(yield_per=CHUNK))

            yield "items", ({**{f: getattr(i, f) for f in ITEM_FIELDS}, "author": uid[i.author_id],
                             "consent": consent_uid.get(i.consent_id), "created_at": _iso(i.created_at),
                             "revisions": earlier.get(i.id, [])}
                            for i in chunked(select(Item).where(Item.kit_id == kit).order_by(Item.id)))
            yield "reviews", (
                {"uid": r.uid, "item": public[r.item_id], "item_version": r.item_version,
                 "item_sha256": seen.get((r.item_id, r.item_version)),
                 "reviewer": uid[r.reviewer_id], "verdict": r.verdict, "reasons": r.reasons,
                 "suggested_edit": r.suggested_edit, "created_at": _iso(r.created_at)}
                for r in chunked(select(Review).where(Review.kit_id == kit).order_by(Review.id))
                if r.item_id in public)
            method = {p.id: (p.compensation_method, p.compensation_choice)
                      for p in s.scalars(select(Contributor))}
            yield "ledger", (
                {"uid": e.uid, "person": uid[e.contributor_id], "campaign_id": e.campaign_id,
                 "activity": e.activity, "source_key": e.source_key,
                 "item": public.get(e.item_id), "language": e.language,
                 "rate_card_id": e.rate_card_id, "quantity": str(e.quantity),
                 "method": method.get(e.contributor_id, (None, None))[0],
                 "choice": method.get(e.contributor_id, (None, None))[1],
                 "amount": str(e.amount), "unit": e.unit, "created_at": _iso(e.created_at)}
                for e in chunked(select(CompensationEntry).where(CompensationEntry.kit_id == kit)
                                 .order_by(CompensationEntry.id)))
            yield "withdrawals", [
                {"person": p.uid, "withdrawn_at": _iso(p.withdrawn_at)}
                for p in s.scalars(select(Contributor).where(Contributor.withdrawn_at.is_not(None))
                                   .order_by(Contributor.id))]

    @staticmethod
    def _earlier_versions(s, kinds: dict[int, str]) -> dict[int, list[dict[str, Any]]]:
        """item id -> the versions an edit replaced, oldest first, each by its revision's uid
        and content hash: how an edit names its parent (the merge applies an edit only on top
        of the version the field edited). `kinds`: item id -> kind, of the kit's items."""
        found: dict[int, list[dict[str, Any]]] = {}
        ids = list(kinds)
        for start in range(0, len(ids), 900):
            for rev in s.scalars(select(ItemRevision).where(
                    ItemRevision.item_id.in_(ids[start:start + 900])).order_by(ItemRevision.version)):
                found.setdefault(rev.item_id, []).append({
                    "uid": rev.uid, "version": rev.version,
                    "content_sha256": item_rules.content_sha256(kinds[rev.item_id], rev.content)})
        return found

    # --- central: one batch of one table ----------------------------------------------------
    def merge_kit_rows(self, kit_id: str, table: str, rows: list[dict[str, Any]], *,
                       actor_id: Actor) -> MergeReport:
        """Apply one batch of a bundle's table in one transaction (see the module's rules)."""
        if table not in TABLES:
            raise StoreError(f"A bundle has no table '{table}'.")
        report = MergeReport()
        with self.write() as s:
            _actor(s, actor_id, "merge a field kit's work")
            kit = s.get(Kit, kit_id)
            if kit is None or not kit.made_here:
                raise StoreError(f"Kit {kit_id} was not made by this store: merge its bundles into "
                                 "the central store that wrote the kit.")
            try:
                getattr(self, f"_merge_{table}")(s, kit, rows, report)
            except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
                # a row no `jamii kit bundle` writes: this batch is rolled back whole
                raise StoreError(f"A row of the bundle's {table} is malformed ({type(exc).__name__}: "
                                 f"{str(exc)[:200]}); nothing of this batch was merged. Write the "
                                 "bundle again with `jamii kit bundle` on the field laptop.") from None
            self._audit(s, actor_id, "kit.merge", "kit", kit_id, table=table, rows=len(rows),
                        added=report.added[table], retries=report.retries[table],
                        conflicts=len(report.conflicts), duplicates=len(report.duplicates))
        return report

    @staticmethod
    def _ids(s, model, column, keys: Iterable[str]) -> dict[str, Any]:
        keys = list({k for k in keys if k})
        found = {}
        for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
            chunk = keys[start:start + 900]
            found.update({getattr(r, column): r for r in s.scalars(
                select(model).where(getattr(model, column).in_(chunk)))})
        return found

    @staticmethod
    def _same_content(s, campaign_id: int, digests: Iterable[str]) -> dict[str, str]:
        """content hash -> public id of the campaign's items holding that text (the lookup
        uses the campaign's unique index, and reads two columns, not whole items)."""
        digests = list(set(digests))
        found: dict[str, str] = {}
        for start in range(0, len(digests), 900):
            found.update({d: pid for pid, d in s.execute(
                select(Item.public_id, Item.content_sha256).where(
                    Item.campaign_id == campaign_id,
                    Item.content_sha256.in_(digests[start:start + 900])))})
        return found

    def _merge_people(self, s, kit: Kit, rows, report: MergeReport) -> None:
        have = self._ids(s, Contributor, "uid", (r["uid"] for r in rows))
        for row in rows:
            if row["uid"] in have:
                report.retries["people"] += 1
                continue
            values = {f: row.get(f) for f in PERSON_FIELDS}
            roles = [r for r in (values["roles"] or []) if r in FIELD_ROLES] or ["contributor"]
            if roles != list(values["roles"] or []):
                report.roles_reduced.append({"uid": row["uid"], "pseudonym": values["pseudonym"],
                                             "roles": roles})
            values["roles"] = roles
            if any(p.blocking for p in pseudonym_problems(values["pseudonym"])):
                values["pseudonym"] = None
            for label in ("dialect", "region", "gender", "age_band", "compensation_choice"):
                if any(p.blocking for p in checks.check_label(label, values[label])):
                    values[label] = None
            wanted = values["pseudonym"] or ""
            if not wanted or s.scalar(select(Contributor.id).where(Contributor.pseudonym == wanted)):
                values["pseudonym"] = self._new_pseudonym(s)
                report.renamed.append({"uid": row["uid"], "field_pseudonym": wanted,
                                       "pseudonym": values["pseudonym"]})
            if values["invite_code_sha256"] and s.scalar(select(Contributor.id).where(
                    Contributor.invite_code_sha256 == values["invite_code_sha256"])):
                values["invite_code_sha256"] = None  # the code stays with the central person
            person = Contributor(**values, kit_id=kit.id, created_at=_when(row.get("created_at")) or utcnow())
            s.add(person)
            s.flush()
            contact = row.get("contact") or None
            if contact:
                login = contact.get("login_name")
                if login and s.scalar(select(ContributorContact.contributor_id).where(
                        ContributorContact.login_name == login)):
                    contact = {**contact, "login_name": None, "password_hash": None}
                s.add(ContributorContact(contributor_id=person.id,
                                         **{f: contact.get(f) for f in CONTACT_FIELDS}))
            report.added["people"] += 1

    def _merge_consents(self, s, kit: Kit, rows, report: MergeReport) -> None:
        have = self._ids(s, Consent, "uid", (r["uid"] for r in rows))
        people = self._ids(s, Contributor, "uid", (r["person"] for r in rows))
        for row in rows:
            if row["uid"] in have:
                old = have[row["uid"]]
                if row.get("withdrawn_at") and old.withdrawn_at is None:
                    old.withdrawn_at = _when(row["withdrawn_at"])
                report.retries["consents"] += 1
                continue
            text = s.get(ConsentText, row.get("consent_text_id"))
            if (text is None or text.sha256 != row.get("text_sha256")) and isinstance(
                    row.get("text_sha256"), str) and isinstance(row.get("version"), str):
                # a text news brought the field may have another id there: same sha, same version
                text = s.scalar(select(ConsentText).where(
                    ConsentText.campaign_id == kit.campaign_id,
                    ConsentText.sha256 == row["text_sha256"],
                    ConsentText.version == row["version"]).order_by(ConsentText.id).limit(1))
            campaign = s.get(Campaign, kit.campaign_id)
            scopes = row.get("scopes")
            if (text is None or text.campaign_id != kit.campaign_id
                    or text.sha256 != row.get("text_sha256") or text.version != row.get("version")
                    or (_aware(text.created_at) > _aware(kit.created_at)
                        and text.id not in sent_in_news(s, kit)["consent_texts"])
                    or not isinstance(scopes, dict)
                    or not set(scopes) <= set(text.scopes or ()) | set(campaign.consent_scopes or ())
                    or not all(isinstance(v, bool) for v in scopes.values())):
                report.conflict("consents", "not a consent to one of the texts the kit carried "
                                "or news sent it (a text made in the field is for an organiser "
                                "to add centrally)",
                                uid=row["uid"])
                continue
            person = people.get(row["person"])
            if person is None:
                report.conflict("consents", "names a person the bundle does not carry",
                                uid=row["uid"])
                continue
            s.add(Consent(uid=row["uid"], kit_id=kit.id, contributor_id=person.id,
                          campaign_id=kit.campaign_id, consent_text_id=text.id,
                          version=row["version"], text_sha256=row["text_sha256"],
                          scopes=row["scopes"], accepted_at=_when(row["accepted_at"]),
                          withdrawn_at=_when(row.get("withdrawn_at"))))
            report.added["consents"] += 1

    def _merge_items(self, s, kit: Kit, rows, report: MergeReport) -> None:
        have = self._ids(s, Item, "public_id", (r["public_id"] for r in rows))
        campaign = s.get(Campaign, kit.campaign_id)
        people = self._ids(s, Contributor, "uid", (r["author"] for r in rows))
        consents = self._ids(s, Consent, "uid", (r.get("consent") for r in rows))
        # judged first: the content hash is recomputed, never the bundle's word for it
        refusals = {r["public_id"]: self._item_refusal(campaign, r) for r in rows}
        hashes = self._same_content(s, kit.campaign_id, (r["content_sha256"] for r in rows
                                                          if not refusals[r["public_id"]]))
        for row in rows:
            old = have.get(row["public_id"])
            refusal = refusals[row["public_id"]]
            if old is not None:
                if not refusal and (old.content_sha256 == row["content_sha256"]
                                    and old.version == row["version"]
                                    or self._superseded(s, old, row)):
                    report.retries["items"] += 1  # or an older bundle's version, since edited
                    continue
                why = refusal or self._edit_refusal(kit, old, row, people.get(row["author"]))
                same = hashes.get(row["content_sha256"])
                if why:
                    report.conflict("items", why, public_id=row["public_id"])
                elif same is not None and same != old.public_id:
                    report.duplicates.append({"public_id": row["public_id"], "same_as": same})
                else:
                    self._apply_edit(s, kit, old, row)
                    hashes[row["content_sha256"]] = old.public_id
                    report.edited.append({"public_id": old.public_id, "version": old.version})
                continue
            if refusal:
                report.conflict("items", refusal, public_id=row["public_id"])
                continue
            same = hashes.get(row["content_sha256"])
            if same is not None:
                report.duplicates.append({"public_id": row["public_id"], "same_as": same})
                continue
            author = people.get(row["author"])
            if author is None:
                report.conflict("items", "names an author the bundle does not carry",
                                public_id=row["public_id"])
                continue
            consent = consents.get(row.get("consent"))
            item = Item(**{f: row[f] for f in ITEM_FIELDS if f not in ("status",)},
                        status="submitted", author_id=author.id, kit_id=kit.id,
                        consent_id=consent.id if consent else None,
                        created_at=_when(row.get("created_at")) or utcnow())
            if item.campaign_id != kit.campaign_id:
                report.conflict("items", "belongs to another campaign than the kit's",
                                public_id=row["public_id"])
                continue
            s.add(item)
            hashes[row["content_sha256"]] = item.public_id
            if author.withdrawn_at is not None:
                report.withdrawn_authors.append({"public_id": row["public_id"],
                                                 "author": author.pseudonym})
            report.added["items"] += 1
        s.flush()

    @staticmethod
    def _edit_refusal(kit: Kit, old: Item, row: dict[str, Any],
                      author: Contributor | None) -> str | None:
        """Why a field version of an item the central store holds is not applied as an edit, or
        None. An edit applies only on top of the very version it edited (its parent, named by
        version and content hash among the row's `revisions`); anything else is a conflict."""
        if (old.kit_id != kit.id or author is None or author.id != old.author_id
                or row.get("campaign_id") != old.campaign_id or row.get("kind") != old.kind):
            return "the central store holds a different item under this id"
        parent = next((r for r in row.get("revisions") or [] if r.get("version") == old.version), None)
        if not isinstance(row.get("version"), int) or row["version"] <= old.version:
            return (f"the central store holds version {old.version} of this item, changed since "
                    f"the field's version {row.get('version')}")
        if parent is None or parent.get("content_sha256") != old.content_sha256:
            return (f"an edit of another version than the central store's version {old.version} "
                    "(a stale parent): the item was changed centrally meanwhile")
        if old.status not in ("submitted", "needs_edit"):
            return (f"the central store decided this item ({old.status}) while the field edited "
                    "it: write the edit as a new item")
        return None

    @staticmethod
    def _superseded(s, old: Item, row: dict[str, Any]) -> bool:
        """The row is a version the central store already replaced by a later edit from the
        same kit: an earlier bundle arriving after a later one."""
        if not isinstance(row.get("version"), int) or row["version"] >= old.version \
                or old.kit_id is None:
            return False
        earlier = s.scalar(select(ItemRevision.content).where(
            ItemRevision.item_id == old.id, ItemRevision.version == row["version"]))
        return earlier is not None and \
            item_rules.content_sha256(old.kind, earlier) == row["content_sha256"]

    @staticmethod
    def _apply_edit(s, kit: Kit, old: Item, row: dict[str, Any]) -> None:
        """The field's edit, as `accept_edit` makes one: the replaced version kept as a revision
        (under the uid the field gave it), the new one back to review."""
        parent = next(r for r in row["revisions"] if r["version"] == old.version)
        uid = parent.get("uid")
        if not isinstance(uid, str) or s.scalar(select(ItemRevision.id).where(ItemRevision.uid == uid)):
            uid = new_uid()  # a revision id already taken is a hand-edited laptop's: never reused
        s.add(ItemRevision(uid=uid, kit_id=kit.id, item_id=old.id,
                           version=old.version, content=old.content, edited_by=old.author_id))
        old.version, old.content = row["version"], row["content"]
        old.content_sha256, old.status = row["content_sha256"], "submitted"
        old.pii_cleared_by = None  # an organiser cleared the old text, not this one

    def _item_refusal(self, campaign: Campaign, row: dict[str, Any]) -> str | None:
        """Why an item is not taken as the field sent it, or None. A laptop's store can be
        edited by hand, so its items are judged as a submission is: content, kind, language,
        side labels; the content hash is recomputed, never taken from the bundle."""
        try:
            cleaned = item_rules.clean_content(row["kind"], row["content"])
        except (item_rules.ItemError, KeyError, TypeError, ValueError) as exc:
            return f"not an item a form could make ({exc})"
        blocking = cleaned.blocking + item_rules.context_problems(dialect=row.get("dialect"),
                                                                   domain=row.get("domain"))
        if blocking:
            return "refused as at submission: " + "; ".join(p.message for p in blocking)
        try:
            self._check_fit(campaign, row["kind"], row["language"], row.get("dialect"), row.get("domain"))
        except StoreError as exc:
            return str(exc)
        row["content"] = cleaned.content
        row["content_sha256"] = item_rules.content_sha256(row["kind"], cleaned.content)
        return None

    @staticmethod
    def _version_hashes(s, item_ids: Iterable[int]) -> dict[tuple[int, int], str]:
        """(item id, version) -> content hash, of every version the central store holds of
        these items: the current one (one indexed read per batch) and any an edit replaced."""
        ids = sorted(item_ids)
        found: dict[tuple[int, int], str] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            found.update({(i, v): h for i, v, h in s.execute(
                select(Item.id, Item.version, Item.content_sha256).where(Item.id.in_(chunk)))})
            for item_id, version, content, kind in s.execute(
                    select(ItemRevision.item_id, ItemRevision.version, ItemRevision.content, Item.kind)
                    .join(Item, Item.id == ItemRevision.item_id).where(ItemRevision.item_id.in_(chunk))):
                found[(item_id, version)] = item_rules.content_sha256(kind, content)
        return found

    def _merge_reviews(self, s, kit: Kit, rows, report: MergeReport) -> None:
        """One query per question for the whole batch (already here? which item, reviewer?
        already reviewed centrally?), then one locked read and one grouped count of votes for
        the items it touched: a review's rules are the same as row by row."""
        have = self._ids(s, Review, "uid", (r["uid"] for r in rows))
        items = self._item_keys(s, (r["item"] for r in rows))
        people = self._ids(s, Contributor, "uid", (r["reviewer"] for r in rows))
        reviewed = self._reviewed_pairs(s, {items[r["item"]][0] for r in rows if r["item"] in items})
        versions = self._version_hashes(s, {items[r["item"]][0] for r in rows if r["item"] in items})
        touched, new = set(), []
        with s.no_autoflush:
            for row in rows:
                if row["uid"] in have:
                    report.retries["reviews"] += 1
                    continue
                item, reviewer = items.get(row["item"]), people.get(row["reviewer"])
                if item is None or reviewer is None:
                    report.conflict("reviews", "names an item or reviewer the central store does "
                                    "not hold", uid=row["uid"])
                    continue
                item_id, author_id = item
                if (row.get("verdict") not in VERDICTS or author_id == reviewer.id
                        or not set(row.get("reasons") or []) <= set(REJECT_REASONS)
                        or not {"reviewer", "organiser"} & set(reviewer.roles or ())):
                    report.conflict("reviews", "not a review the collector could have recorded "
                                    "(verdict, reasons, or who reviewed)", uid=row["uid"])
                    continue
                if row.get("item_sha256") is not None and \
                        versions.get((item_id, row["item_version"])) != row["item_sha256"]:
                    # the field's edit it reviewed was not applied (a conflict): counting it
                    # would be a vote on a text the reviewer never saw
                    report.conflict("reviews", "reviews a version of the item the central store "
                                    "does not hold", uid=row["uid"])
                    continue
                if (item_id, reviewer.id) in reviewed:  # centrally, or earlier in this batch
                    report.conflict("reviews", "this reviewer already reviewed this item centrally",
                                    uid=row["uid"])
                    continue
                new.append(dict(uid=row["uid"], kit_id=kit.id, item_id=item_id,
                                item_version=row["item_version"], reviewer_id=reviewer.id,
                                verdict=row["verdict"], reasons=row["reasons"] or [],
                                suggested_edit=row.get("suggested_edit"),
                                created_at=_when(row.get("created_at")) or utcnow()))
                have[row["uid"]] = None  # the same id twice in a batch: the second is a retry
                reviewed.add((item_id, reviewer.id))
                touched.add(item_id)
                report.added["reviews"] += 1
        if new:  # one multi-row insert, as a bulk load would, not an ORM record each
            from sqlalchemy import insert

            s.execute(insert(Review), new)
        campaign = s.get(Campaign, kit.campaign_id)
        self._decide_merged(s, AcceptanceRule.from_campaign(campaign.acceptance_rule),
                            sorted(touched), report)

    @staticmethod
    def _item_keys(s, public_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
        """public id -> (item id, author id), two columns instead of whole items."""
        keys = list({k for k in public_ids if k})
        found: dict[str, tuple[int, int]] = {}
        for start in range(0, len(keys), 900):
            found.update({pid: (iid, author) for pid, iid, author in s.execute(
                select(Item.public_id, Item.id, Item.author_id).where(
                    Item.public_id.in_(keys[start:start + 900])))})
        return found

    @staticmethod
    def _reviewed_pairs(s, item_ids: Iterable[int]) -> set[tuple[int, int]]:
        """(item id, reviewer id) of every review the central store holds of these items."""
        ids = list(item_ids)
        pairs: set[tuple[int, int]] = set()
        for start in range(0, len(ids), 900):
            pairs.update((item_id, reviewer_id) for item_id, reviewer_id in s.execute(
                select(Review.item_id, Review.reviewer_id).where(
                    Review.item_id.in_(ids[start:start + 900]))))
        return pairs

    @staticmethod
    def _decide_merged(s, rule: AcceptanceRule, item_ids: list[int], report: MergeReport) -> None:
        """The campaign's rule over every review of these items, central ones too: the still
        undecided ones are locked (in id order, as two merges or a merge and a reviewer may
        touch the same items), their votes counted in one query, the decided ones updated."""
        for start in range(0, len(item_ids), 900):
            chunk = item_ids[start:start + 900]
            open_items = {item_id: version for item_id, version in s.execute(
                select(Item.id, Item.version).where(Item.id.in_(chunk), Item.status == "submitted")
                .order_by(Item.id).with_for_update())}
            if not open_items:
                continue
            votes: dict[int, dict[str, int]] = {}
            for item_id, version, verdict, n in s.execute(
                    select(Review.item_id, Review.item_version, Review.verdict, func.count())
                    .where(Review.item_id.in_(list(open_items)))
                    .group_by(Review.item_id, Review.item_version, Review.verdict)):
                if open_items[item_id] == version:
                    votes.setdefault(item_id, {})[verdict] = n
            decided: dict[str, list[int]] = {}
            for item_id in open_items:
                mine = votes.get(item_id, {})
                outcome = decide(mine.get("approve", 0), mine.get("reject", 0), rule)
                if outcome:
                    decided.setdefault(outcome, []).append(item_id)
            now = utcnow()
            from sqlalchemy import update

            for outcome, ids in decided.items():
                s.execute(update(Item).where(Item.id.in_(ids))
                          .values(status=outcome, decided_at=now)
                          .execution_options(synchronize_session=False))
                report.decided[outcome] = report.decided.get(outcome, 0) + len(ids)

    def _merge_ledger(self, s, kit: Kit, rows, report: MergeReport) -> None:
        """A field laptop is not trusted with money: each entry's amount must be what the rate
        card it names gives for its activity, quantity and the person's compensation choice.
        Which entries the central store holds already (by id, or by activity and source key)
        is asked once per batch and activity, not once per entry."""
        have = self._ids(s, CompensationEntry, "uid", (r["uid"] for r in rows))
        cards = {c.id: c for c in s.scalars(select(RateCard).where(RateCard.campaign_id == kit.campaign_id))}
        people = self._ids(s, Contributor, "uid", (r["person"] for r in rows))
        items = self._item_keys(s, (r.get("item") for r in rows))
        recorded = self._recorded_sources(s, rows)
        new = []
        with s.no_autoflush:
            for row in rows:
                source = (row["activity"], row["source_key"])
                if row["uid"] in have or source in recorded:
                    report.retries["ledger"] += 1  # this work was recorded (and maybe paid) already
                    continue
                person = people.get(row["person"])
                if person is None:
                    report.conflict("ledger", "names a person the central store does not hold",
                                    uid=row["uid"])
                    continue
                item = items.get(row.get("item"))
                priced = self._rate_card_price(s, kit, row, person, cards)
                if priced != (Decimal(row["amount"]), row["unit"]):
                    report.conflict("ledger", "its amount is not what the kit's rate card gives "
                                    f"for {row['activity']} (expected {priced[0]} {priced[1]})"
                                    if priced else "it names no rate card the kit carried that pays "
                                    f"for {row['activity']}", uid=row["uid"])
                    continue
                new.append(dict(uid=row["uid"], kit_id=kit.id, contributor_id=person.id,
                                campaign_id=kit.campaign_id, activity=row["activity"],
                                source_key=row["source_key"], item_id=item[0] if item else None,
                                language=row.get("language"), rate_card_id=row.get("rate_card_id"),
                                quantity=Decimal(row["quantity"]), amount=Decimal(row["amount"]),
                                unit=row["unit"], created_at=_when(row.get("created_at")) or utcnow()))
                have[row["uid"]] = None  # the same entry twice in a batch is paid once
                recorded.add(source)
                report.added["ledger"] += 1
        if new:
            from sqlalchemy import insert

            s.execute(insert(CompensationEntry), new)

    @staticmethod
    def _recorded_sources(s, rows) -> set[tuple[str, str]]:
        """(activity, source key) of the batch's entries the central store holds already: one
        query per activity and 900 keys, through the (activity, source_key) unique index."""
        wanted: dict[str, set[str]] = {}
        for row in rows:
            wanted.setdefault(row["activity"], set()).add(row["source_key"])
        found: set[tuple[str, str]] = set()
        for activity, keys in wanted.items():
            keys = list(keys)
            for start in range(0, len(keys), 900):
                found.update((activity, key) for key in s.scalars(
                    select(CompensationEntry.source_key).where(
                        CompensationEntry.activity == activity,
                        CompensationEntry.source_key.in_(keys[start:start + 900]))))
        return found

    @staticmethod
    def _rate_card_price(s, kit: Kit, row, person: Contributor,
                         cards: dict[int, RateCard]) -> tuple[Decimal, str] | None:
        card = cards.get(row.get("rate_card_id"))
        if card is None or (_aware(card.created_at) > _aware(kit.created_at)
                            and card.id not in sent_in_news(s, kit)["rate_cards"]):
            return None  # a card made after the kit, and never sent to it, is not the field's
        rate = (card.rates or {}).get(row["activity"])
        if not rate:
            return None
        try:
            quantity = Decimal(row["quantity"])
        except (ArithmeticError, TypeError, ValueError):
            return None
        # the way of being paid the field knew when the work was done; the central one may
        # have changed since (a reviewer back in town asking for airtime from now on)
        if "method" in row:
            method, choice = row["method"], row.get("choice")
            if method not in (None, *COMPENSATION_METHODS) or not isinstance(choice, (str, type(None))):
                return None
        else:
            method, choice = person.compensation_method, person.compensation_choice
        return _priced(rate, method, choice, quantity)

    def _merge_withdrawals(self, s, kit: Kit, rows, report: MergeReport) -> None:
        people = self._ids(s, Contributor, "uid", (r["person"] for r in rows))
        for row in rows:
            person = people.get(row["person"])
            if person is None:
                continue
            if person.withdrawn_at is not None:
                report.retries["withdrawals"] += 1
                continue
            when = _when(row["withdrawn_at"])
            person.withdrawn_at = when
            for consent in s.scalars(select(Consent).where(Consent.contributor_id == person.id,
                                                           Consent.withdrawn_at.is_(None))):
                consent.withdrawn_at = when
            report.added["withdrawals"] += 1
