"""Campaigns, contributors, roles, sign-in and consent."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from sqlalchemy import select

from jamii.core import checks
from jamii.core.records import (
    COMPENSATION_METHODS,
    CONSENT_SCOPES,
    PROFILE_FIELDS,
    ROLES,
    Campaign,
    Consent,
    ConsentText,
    Contributor,
    ContributorContact,
    RateCard,
    utcnow,
)
from jamii.core.schema import ITEM_KINDS
from jamii.core.store._base import (Actor, NotFound, StoreBase, StoreError, _active_consent,
                                    _actor, _current_rate_card, _get, _refuse_bad_text, _tag)
from jamii.core.store._passwords import HASHER

_hasher = HASHER  # argon2id at the parameters stated in jamii.core.store._passwords


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_invite_code() -> str:
    """Short enough to read out over a phone line, long enough not to be guessed."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


class PeopleStore(StoreBase):
    # --- campaigns -------------------------------------------------------------------------
    def create_campaign(self, slug: str, name: str, *, languages: Iterable[str],
                        item_kinds: Iterable[str] = ITEM_KINDS, actor_id: Actor,
                        **fields: Any) -> Campaign:
        _refuse_bad_text(checks.check_label("short name", slug, required=True, max_chars=64))
        fields = _campaign_texts({"name": name, **fields})
        name = fields.pop("name")
        langs = [_tag(t, "languages") for t in languages]
        if not langs:
            raise StoreError("A campaign needs at least one language: give BCP-47 tags such as 'sw'.")
        kinds = list(item_kinds)
        unknown = [k for k in kinds if k not in ITEM_KINDS]
        if unknown:
            raise StoreError(f"Unknown item kind(s) {unknown}: use {', '.join(ITEM_KINDS)}.")
        dialects = fields.pop("dialects", None) or {}
        with self.write() as s:
            _actor(s, actor_id, "create campaigns")
            if s.scalar(select(Campaign).where(Campaign.slug == slug)):
                raise StoreError(f"A campaign called '{slug}' exists already: choose another short name.")
            campaign = Campaign(slug=slug, name=name, languages=langs, item_kinds=kinds,
                                dialects=dialects, **fields)
            s.add(campaign)
            s.flush()
            self._audit(s, actor_id, "campaign.create", "campaign", campaign.id, slug=slug)
        return campaign

    def update_campaign(self, campaign_id: int, *, actor_id: Actor, **fields: Any) -> Campaign:
        allowed = {"name", "description", "languages", "dialects", "domains", "item_kinds",
                   "targets", "acceptance_rule", "consent_scopes", "compensation_options",
                   "licence_plan"}
        bad = set(fields) - allowed
        if bad:
            raise StoreError(f"These campaign fields cannot be changed here: {sorted(bad)}")
        fields = _campaign_texts(fields)
        if "languages" in fields:
            fields["languages"] = [_tag(t, "languages") for t in fields["languages"]]
        with self.write() as s:
            _actor(s, actor_id, "change campaigns")
            campaign = _get(s, Campaign, campaign_id)
            for key, value in fields.items():
                setattr(campaign, key, value)
            self._audit(s, actor_id, "campaign.update", "campaign", campaign_id, fields=sorted(fields))
        return campaign

    def campaign(self, slug_or_id: str | int) -> Campaign:
        """The campaign with this short name (slug) or id; NotFound names the campaigns there are."""
        with self.read() as s:
            if isinstance(slug_or_id, int):
                found = s.get(Campaign, slug_or_id)
            else:
                found = s.scalar(select(Campaign).where(Campaign.slug == slug_or_id))
            if not found:
                names = ", ".join(s.scalars(select(Campaign.slug))) or "none yet"
                raise NotFound(f"No campaign '{slug_or_id}'. Campaigns in this store: {names}.")
            return found

    def campaigns(self) -> list[Campaign]:
        with self.read() as s:
            return list(s.scalars(select(Campaign).order_by(Campaign.id)))

    # --- rate cards ---------------------------------------------------------------------------
    def set_rate_card(self, campaign_id: int, rates: dict[str, dict[str, Any]], *,
                      actor_id: Actor) -> RateCard:
        """A new version; entries already recorded keep the version they were earned under."""
        clean = {}
        for activity, rate in rates.items():
            if activity not in ("item_accepted", "review", "rating", "recording_minute"):
                raise StoreError(f"'{activity}' is not a paid activity: use item_accepted, review, "
                                 "rating or recording_minute.")
            try:
                amount = Decimal(str(rate["amount"]))
            except (KeyError, InvalidOperation):
                raise StoreError(f"The rate for {activity} needs a numeric amount.") from None
            if amount < 0:
                raise StoreError(f"The rate for {activity} cannot be negative.")
            unit = rate.get("unit") or ""
            _refuse_bad_text(checks.check_label(f"unit of {activity}", unit, max_chars=24))
            unit = checks.normalise_text(unit) if isinstance(unit, str) else str(unit).strip()
            if not unit:
                raise StoreError(f"The rate for {activity} needs a unit: a currency such as KES "
                                 "or an in-kind unit such as 'airtime' or 'seed pack'.")
            clean[activity] = {"amount": str(amount), "unit": unit}
            in_kind = rate.get("in_kind") or {}
            if not isinstance(in_kind, dict):
                raise StoreError(f"in_kind for {activity} must map a good to its quantity, "
                                 "e.g. {'seed pack': 0.2}.")
            _refuse_bad_text(*(checks.check_label(f"in-kind good of {activity}", g, required=True,
                                                  max_chars=120) for g in in_kind))
            try:
                goods = {checks.normalise_text(g): str(Decimal(str(q))) for g, q in in_kind.items()}
            except InvalidOperation:
                raise StoreError(f"Each in-kind quantity for {activity} must be a number.") from None
            if goods:
                clean[activity]["in_kind"] = goods
        with self.write() as s:
            actor = _actor(s, actor_id, "set the rate card")
            _get(s, Campaign, campaign_id)
            last = s.scalar(select(RateCard.version).where(RateCard.campaign_id == campaign_id)
                            .order_by(RateCard.version.desc()).limit(1)) or 0
            card = RateCard(campaign_id=campaign_id, version=last + 1, rates=clean,
                            created_by=actor.id if actor else None)
            s.add(card)
            s.flush()
            self._audit(s, actor_id, "rate_card.set", "rate_card", card.id, version=card.version)
        return card

    def rate_card(self, campaign_id: int) -> RateCard | None:
        with self.read() as s:
            return _current_rate_card(s, campaign_id)

    # --- contributors -------------------------------------------------------------------------
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
            checks.check_label("pseudonym", pseudonym, max_chars=64))
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
            self._audit(s, actor_id, "contributor.withdraw", "contributor", contributor_id,
                        reason=reason)
        return person

    # --- consent ------------------------------------------------------------------------------
    def add_consent_text(self, campaign_id: int, version: str, language: str, text: str, *,
                         scopes: Iterable[str] | None = None, make_current: bool = True,
                         actor_id: Actor) -> ConsentText:
        language = _tag(language, "language")
        if not isinstance(text, str) or not text.strip():
            raise StoreError("The consent text is empty: paste the full text people will read.")
        _refuse_bad_text(
            checks.check_label("consent version", version, required=True, max_chars=32),
            checks.check_text("consent text", text, max_chars=200_000))
        version = checks.normalise_text(version)
        with self.write() as s:
            _actor(s, actor_id, "add consent texts")
            campaign = _get(s, Campaign, campaign_id)
            scopes = list(scopes if scopes is not None else (campaign.consent_scopes or CONSENT_SCOPES))
            bad = [x for x in scopes if x not in CONSENT_SCOPES]
            if bad:
                raise StoreError(f"Unknown consent scope(s) {bad}: use {', '.join(CONSENT_SCOPES)}.")
            existing = s.scalar(select(ConsentText).where(
                ConsentText.campaign_id == campaign_id, ConsentText.version == version,
                ConsentText.language == language))
            if existing:
                if existing.sha256 == _sha256(text):
                    return existing
                raise StoreError(f"Consent version {version} ({language}) exists and cannot change: "
                                 "publish a new version instead.")
            ct = ConsentText(campaign_id=campaign_id, version=version, language=language,
                             text=text, sha256=_sha256(text), scopes=scopes)
            s.add(ct)
            if make_current:
                campaign.current_consent_version = version
            s.flush()
            self._audit(s, actor_id, "consent_text.add", "consent_text", ct.id,
                        version=version, language=language)
        return ct

    def consent_text(self, campaign_id: int, language: str | None = None) -> ConsentText:
        """The current version in the reader's language, else English, else any language."""
        with self.read() as s:
            campaign = _get(s, Campaign, campaign_id)
            texts = list(s.scalars(select(ConsentText).where(
                ConsentText.campaign_id == campaign_id,
                ConsentText.version == campaign.current_consent_version)))
            if not texts:
                raise NotFound("This campaign has no consent text yet: an organiser must add one.")
            by_lang = {t.language: t for t in texts}
            for want in (language, (language or "").split("-")[0], "en"):
                if want and want in by_lang:
                    return by_lang[want]
            return texts[0]

    def consent_texts(self, campaign_id: int) -> list[ConsentText]:
        with self.read() as s:
            return list(s.scalars(select(ConsentText).where(ConsentText.campaign_id == campaign_id)
                                  .order_by(ConsentText.id)))

    def accept_consent(self, contributor_id: int, consent_text_id: int,
                       scopes: dict[str, bool]) -> Consent:
        with self.write() as s:
            _actor(s, contributor_id, "accept a consent text", roles=(), self_id=contributor_id)
            ct = _get(s, ConsentText, consent_text_id)
            choices = {scope: bool(scopes.get(scope, False)) for scope in ct.scopes}
            same = s.scalar(select(Consent).where(
                Consent.contributor_id == contributor_id, Consent.consent_text_id == ct.id,
                Consent.withdrawn_at.is_(None)).order_by(Consent.id.desc()).limit(1))
            if same is not None and same.scopes == choices:
                return same  # a double click: the same choices are already on record
            consent = Consent(contributor_id=contributor_id, campaign_id=ct.campaign_id,
                              consent_text_id=ct.id, version=ct.version, text_sha256=ct.sha256,
                              scopes=choices)
            s.add(consent)
            s.flush()
            self._audit(s, contributor_id, "consent.accept", "consent", consent.id,
                        version=ct.version, language=ct.language, scopes=choices)
        return consent

    def active_consent(self, contributor_id: int, campaign_id: int) -> Consent | None:
        """The newest unwithdrawn consent to the campaign's current version, if any."""
        with self.read() as s:
            return _active_consent(s, contributor_id, campaign_id)


def _campaign_texts(fields: dict[str, Any]) -> dict[str, Any]:
    """Campaign fields with their free texts checked and normalised (StoreError if any is bad)."""
    fields = dict(fields)
    problems = []
    if "name" in fields:
        problems.append(checks.check_label("name", fields["name"], required=True))
    if "description" in fields:
        problems.append(checks.check_text("description", fields["description"], required=False))
    dialects = fields.get("dialects")
    if dialects is not None and not isinstance(dialects, dict):
        raise StoreError("dialects must map a language tag to its list of dialect names.")
    for tag, names in (dialects or {}).items():
        if isinstance(names, str) or not isinstance(names, (list, tuple)):
            raise StoreError(f"dialects of {tag}: give a list of dialect names.")
        problems += [checks.check_label(f"dialect of {tag}", d, required=True, max_chars=120)
                     for d in names]
    domains = fields.get("domains")
    if domains is not None and (isinstance(domains, str) or not isinstance(domains, (list, tuple))):
        raise StoreError("domains: give a list of domain names.")
    problems += [checks.check_label("domain", d, required=True, max_chars=120)
                 for d in domains or ()]
    _refuse_bad_text(*problems)
    if "name" in fields:
        fields["name"] = checks.normalise_text(fields["name"])
    if isinstance(fields.get("description"), str):
        fields["description"] = checks.normalise_text(fields["description"])
    if dialects is not None:
        fields["dialects"] = {_tag(k, "dialects"): [checks.normalise_text(d) for d in v]
                              for k, v in dialects.items()}
    if domains is not None:
        fields["domains"] = [checks.normalise_text(d) for d in domains]
    return fields


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
