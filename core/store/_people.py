"""Contributors: who they are (pseudonym, roles, self-described profile), their contact
details and passwords, withdrawal, and counts of people for the dashboard and the release.

Counts of people (`profile_counts`, `release_profile_counts`) are aggregates: no contributor id,
pseudonym or contact leaves them; the caller applies the rule of five (`jamii.core.disclosure`).
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from typing import Any, Iterable

from sqlalchemy import delete, func, select

from jamii.core import checks
from jamii.core.records import (
    COMPENSATION_METHODS,
    DEMOGRAPHIC_FIELDS,
    PROFILE_FIELDS,
    ROLES,
    Campaign,
    CompensationEntry,
    Consent,
    Contributor,
    ContributorContact,
    Draft,
    Item,
    PaymentEvent,
    Rating,
    Review,
    utcnow,
)
from jamii.core.store._base import (Actor, NotFound, StoreBase, StoreError, _actor, _get, _plain,
                                    _refuse_bad_text, _sha256, _tag)
from jamii.core.store._passwords import HASHER


_hasher = HASHER  # argon2id at the parameters stated in jamii.core.store._passwords


def new_invite_code() -> str:
    """Short enough to read out over a phone line, long enough not to be guessed."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


_MADE_BY_JAMII = re.compile(r"(?:c|import)-[0-9a-f]{8}")
"""The pseudonyms jamii makes itself (`_new_pseudonym`, the importer's "import-<hash>"): eight
hex digits are a hash, not a person's number, even when all eight happen to be digits."""


def pseudonym_problems(pseudonym: str | None, *, required: bool = False) -> list[checks.Problem]:
    """A pseudonym is printed in every row of every release: refused when it may hold personal
    data, unless jamii made it."""
    if isinstance(pseudonym, str) and _MADE_BY_JAMII.fullmatch(pseudonym):
        return []
    return checks.check_public_label("pseudonym", pseudonym, required=required, max_chars=64)


class PeopleStore(StoreBase):
    # --- contributors ---------------------------------------------------------------------
    def add_contributor(self, *, roles: Iterable[str] = ("contributor",), name: str | None = None,
                        email: str | None = None, phone: str | None = None,
                        login_name: str | None = None, password: str | None = None,
                        pseudonym: str | None = None, invite_code: str | None = None,
                        actor_id: Actor, **profile: Any) -> tuple[Contributor, str]:
        """Create a person and return them with their invite code (shown once, stored hashed)."""
        roles = _roles(roles)
        _refuse_bad_text(
            checks.check_label("name", name, max_chars=200),
            checks.check_label("email", email, max_chars=320),
            checks.check_label("phone", phone, max_chars=40),
            checks.check_label("login_name", login_name, max_chars=120),
            pseudonym_problems(pseudonym))
        name, email, phone, login_name, pseudonym = (
            checks.normalise_text(v) or None if isinstance(v, str) else v
            for v in (name, email, phone, login_name, pseudonym))
        profile = _profile(profile)
        code = invite_code or new_invite_code()
        with self.write() as s:
            _actor(s, actor_id, "add people")
            pseudonym = pseudonym or self._new_pseudonym(s)
            if s.scalar(select(Contributor.id).where(Contributor.pseudonym == pseudonym)):
                raise StoreError(f"The pseudonym '{pseudonym}' is taken: choose another.")
            person = Contributor(pseudonym=pseudonym, roles=roles,
                                 invite_code_sha256=_sha256(normalise_code(code)),
                                 **profile)
            s.add(person)
            s.flush()
            if login_name and s.scalar(select(ContributorContact).where(
                    ContributorContact.login_name == login_name)):
                raise StoreError(f"The login name '{login_name}' is taken: choose another.")
            s.add(ContributorContact(
                contributor_id=person.id, name=name, email=email, phone=phone,
                login_name=login_name, password_hash=_hasher.hash(password) if password else None))
            self._audit(s, actor_id, "contributor.add", "contributor", person.id, roles=roles)
        return person, code

    @staticmethod
    def _new_pseudonym(session) -> str:
        while True:
            candidate = "c-" + secrets.token_hex(4)
            if not session.scalar(select(Contributor.id).where(Contributor.pseudonym == candidate)):
                return candidate

    def contributor(self, contributor_id: int) -> Contributor:
        with self.read() as s:
            return _get(s, Contributor, contributor_id)

    def contributor_by_pseudonym(self, pseudonym: str) -> Contributor:
        with self.read() as s:
            found = s.scalar(select(Contributor).where(Contributor.pseudonym == pseudonym))
            if not found:
                raise NotFound(f"No contributor with pseudonym '{pseudonym}'.")
            return found

    def contributors(self) -> list[Contributor]:
        with self.read() as s:
            return list(s.scalars(select(Contributor).order_by(Contributor.id)))

    # sign-in (throttled, equal work for unknown logins): jamii.core.store._signin.SignInStore

    def set_password(self, contributor_id: int, login_name: str, password: str, *,
                     actor_id: Actor) -> None:
        _refuse_bad_text(checks.check_label("login_name", login_name, required=True, max_chars=120))
        login_name = checks.normalise_text(login_name)
        if len(password) < 10:
            raise StoreError("Choose a password of at least 10 characters.")
        with self.write() as s:
            _actor(s, actor_id, "set passwords", self_id=contributor_id)
            _get(s, Contributor, contributor_id)
            contact = s.get(ContributorContact, contributor_id)
            if contact is None:
                contact = ContributorContact(contributor_id=contributor_id)
                s.add(contact)
            taken = s.scalar(select(ContributorContact.contributor_id).where(
                ContributorContact.login_name == login_name))
            if taken and taken != contributor_id:
                raise StoreError(f"The login name '{login_name}' is taken: choose another.")
            contact.login_name = login_name
            contact.password_hash = _hasher.hash(password)
            self._audit(s, actor_id, "contributor.password", "contributor", contributor_id)

    def set_roles(self, contributor_id: int, roles: Iterable[str], *,
                  actor_id: Actor) -> Contributor:
        roles = _roles(roles)
        with self.write() as s:
            _actor(s, actor_id, "change roles")
            person = _get(s, Contributor, contributor_id)
            before = list(person.roles)
            person.roles = roles
            self._audit(s, actor_id, "contributor.roles", "contributor", contributor_id,
                        before=before, after=roles)
        return person

    def update_profile(self, contributor_id: int, *, actor_id: Actor,
                       **profile: Any) -> Contributor:
        """Self-description: every field optional; an empty value clears it."""
        clean = _profile(profile, clearing=True)
        with self.write() as s:
            _actor(s, actor_id, "change this profile", self_id=contributor_id)
            person = _get(s, Contributor, contributor_id)
            for key, value in clean.items():
                setattr(person, key, value)
        return person

    def withdraw(self, contributor_id: int, *, actor_id: Actor, reason: str = "") -> Contributor:
        """Withdraw every consent: the person's items leave every future release."""
        _refuse_bad_text(checks.check_text("reason", reason, required=False))
        reason = checks.normalise_text(reason) if isinstance(reason, str) else ""
        now = utcnow()
        with self.write() as s:
            _actor(s, actor_id, "withdraw this person", self_id=contributor_id)
            person = _get(s, Contributor, contributor_id)
            person.withdrawn_at = person.withdrawn_at or now
            for consent in s.scalars(select(Consent).where(
                    Consent.contributor_id == contributor_id, Consent.withdrawn_at.is_(None))):
                consent.withdrawn_at = now
            # unsent work goes too: nobody may read it again, the person included
            s.execute(delete(Draft).where(Draft.contributor_id == contributor_id))
            self._audit(s, actor_id, "contributor.withdraw", "contributor", contributor_id,
                        reason=reason)
        return person

    # --- organiser views ------------------------------------------------------------------
    def people_overview(self, campaign_id: int | None = None) -> list[dict[str, Any]]:
        """Everyone with roles, status and item counts (no contact details)."""
        counts_q = select(Item.author_id, func.count()).group_by(Item.author_id)
        if campaign_id is not None:
            counts_q = counts_q.where(Item.campaign_id == campaign_id)
        with self.read() as s:
            counts = dict(s.execute(counts_q).all())
            people = list(s.scalars(select(Contributor).order_by(Contributor.id)))
        return [{"id": p.id, "pseudonym": p.pseudonym, "roles": list(p.roles),
                 "withdrawn": p.withdrawn_at is not None, "items": counts.get(p.id, 0),
                 "compensation_method": p.compensation_method or ""} for p in people]

    # --- a person's own data --------------------------------------------------------------
    def own_data(self, contributor_id: int) -> dict[str, Any]:
        """Everything the store holds about one person, for them to download (JSON-ready)."""
        with self.read() as s:
            person = s.get(Contributor, contributor_id)
            if person is None:
                raise NotFound(f"No contributor with id {contributor_id}.")
            contact = s.get(ContributorContact, contributor_id)
            consents = list(s.scalars(select(Consent).where(Consent.contributor_id == contributor_id)))
            items = list(s.scalars(select(Item).where(Item.author_id == contributor_id)))
            reviews = list(s.scalars(select(Review).where(Review.reviewer_id == contributor_id)))
            ratings = list(s.scalars(select(Rating).where(Rating.rater_id == contributor_id)))
            entries = list(s.scalars(select(CompensationEntry).where(
                CompensationEntry.contributor_id == contributor_id)))
            events = list(s.scalars(select(PaymentEvent).where(
                PaymentEvent.entry_id.in_([e.id for e in entries] or [-1]))))
            slugs = dict(s.execute(select(Campaign.id, Campaign.slug)).all())
            drafts = list(s.scalars(select(Draft).where(Draft.contributor_id == contributor_id)))
        return {
            "person": _row(person, ("pseudonym", "roles", "ui_language", "dialect", "region",
                                    "gender", "age_band", "languages_spoken",
                                    "compensation_method", "compensation_choice", "created_at",
                                    "withdrawn_at")),
            "contact": _row(contact, ("name", "email", "phone", "payment_account", "login_name"))
            if contact else {},
            "consents": [{**_row(c, ("version", "text_sha256", "scopes", "accepted_at",
                                     "withdrawn_at")), "campaign": slugs.get(c.campaign_id)}
                         for c in consents],
            "items": [{**_row(i, ("public_id", "kind", "language", "dialect", "domain", "status",
                                  "version", "content", "created_at", "decided_at")),
                       "campaign": slugs.get(i.campaign_id)} for i in items],
            "reviews_written": [_row(r, ("item_id", "item_version", "verdict", "reasons",
                                         "suggested_edit", "created_at")) for r in reviews],
            "ratings": [_row(r, ("answer_id", "other_answer_id", "preferred", "scores",
                                 "safety_flag", "comment", "created_at")) for r in ratings],
            "earnings": [{**_row(e, ("id", "activity", "quantity", "amount", "unit", "status",
                                     "payout_reference", "created_at")),
                          "campaign": slugs.get(e.campaign_id)} for e in entries],
            "payment_events": [_row(p, ("entry_id", "status", "reference", "created_at"))
                               for p in events],
            "drafts": [{**_row(d, ("form", "fields", "updated_at")), "campaign": slugs.get(d.campaign_id),
                        "recording_bytes": len(d.audio or b"")} for d in drafts],
        }

    # --- counts of people -----------------------------------------------------------------
    def profile_counts(self, campaign_id: int,
                       dimensions: tuple[str, ...] = DEMOGRAPHIC_FIELDS) -> dict[str, Any]:
        """People with at least one item in the campaign, counted per self-described value.

        Withdrawn people are left out. Returns {"people": total, "by": {dimension: [{"value":
        str | None, "people": n, "items": n}, ...]}}; None is "not said". The caller applies
        the rule of five before showing anything.
        """
        bad = [d for d in dimensions if d not in DEMOGRAPHIC_FIELDS]
        if bad:
            raise StoreError(f"Unknown profile field(s) {bad}: use {', '.join(DEMOGRAPHIC_FIELDS)}.")
        authors = (select(Item.author_id, func.count().label("n_items"))
                   .where(Item.campaign_id == campaign_id).group_by(Item.author_id).subquery())
        base = (select(Contributor, authors.c.n_items)
                .join(authors, authors.c.author_id == Contributor.id)
                .where(Contributor.withdrawn_at.is_(None)))
        out: dict[str, Any] = {"by": {}}
        with self.read() as s:
            out["people"] = s.scalar(select(func.count()).select_from(base.subquery())) or 0
            for dim in dimensions:
                col = getattr(Contributor, dim)
                q = (select(col, func.count(), func.sum(authors.c.n_items))
                     .join(authors, authors.c.author_id == Contributor.id)
                     .where(Contributor.withdrawn_at.is_(None)).group_by(col))
                out["by"][dim] = [{"value": (v or None), "people": n, "items": int(i or 0)}
                                  for v, n, i in s.execute(q).all()]
        return out

    def release_profile_counts(self, contributor_ids: Iterable[int]) -> dict[str, Any]:
        """Counts of people by each self-described field (None = not said); never a list of people."""
        ids = sorted(set(contributor_ids))
        counts: dict[str, Counter] = {f: Counter() for f in DEMOGRAPHIC_FIELDS}
        languages: Counter = Counter()
        columns = [getattr(Contributor, f) for f in DEMOGRAPHIC_FIELDS]
        with self.read() as s:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for row in s.execute(select(*columns, Contributor.languages_spoken)
                                     .where(Contributor.id.in_(chunk))):
                    for name, value in zip(DEMOGRAPHIC_FIELDS, row[:-1]):
                        counts[name][value or None] += 1
                    for tag in row[-1] or []:
                        languages[tag] += 1
        return {"people": len(ids), **{k: dict(v) for k, v in counts.items()},
                "languages_spoken": dict(languages)}

    def release_withdrawn_people(self, campaign_id: int) -> int:
        """How many people who contributed to the campaign have withdrawn (a count only)."""
        with self.read() as s:
            return int(s.scalar(
                select(func.count(func.distinct(Item.author_id)))
                .join(Contributor, Contributor.id == Item.author_id)
                .where(Item.campaign_id == campaign_id, Contributor.withdrawn_at.is_not(None))) or 0)


_PROFILE_LIMITS = {"dialect": 120, "region": 120, "gender": 60, "age_band": 20,
                   "compensation_choice": 120}


def _roles(roles: Iterable[str]) -> list[str]:
    roles = list(dict.fromkeys(roles))
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise StoreError(f"Unknown role(s) {bad}: use {', '.join(ROLES)}.")
    return roles


def _profile(profile: dict[str, Any], clearing: bool = False) -> dict[str, Any]:
    bad = set(profile) - set(PROFILE_FIELDS)
    if bad:
        raise StoreError(f"Unknown profile field(s) {sorted(bad)}: use {', '.join(PROFILE_FIELDS)}.")
    _refuse_bad_text(*(checks.check_label(key, profile[key], max_chars=limit)
                       for key, limit in _PROFILE_LIMITS.items() if key in profile))
    out: dict[str, Any] = {}
    for key, value in profile.items():
        if key == "languages_spoken":
            out[key] = [_tag(t, "languages spoken") for t in (value or [])]
            continue
        value = checks.normalise_text(value) if isinstance(value, str) else value
        if key == "compensation_method" and value and value not in COMPENSATION_METHODS:
            raise StoreError(f"'{value}' is not a compensation method: use "
                             f"{', '.join(COMPENSATION_METHODS)}.")
        if key == "ui_language" and value:
            value = _tag(value, "interface language")
        if value or clearing:
            out[key] = value or None
    return out


def _row(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: _plain(getattr(obj, c)) for c in columns}
