"""Consent texts (versioned, per language, immutable once used) and people's consents."""

from __future__ import annotations

from typing import Iterable, NamedTuple

from sqlalchemy import select

from jamii.core import checks
from jamii.core.records import CONSENT_SCOPES, Campaign, Consent, ConsentText, Contributor
from jamii.core.store._base import (Actor, NotFound, StoreBase, StoreError, _active_consent,
                                    _actor, _get, _refuse_bad_text, _sha256, _tag)


class ViewerRecords(NamedTuple):
    """What one page view reads about its viewer (`ConsentStore.viewer_records`)."""

    person: Contributor | None
    campaigns: list[Campaign]
    campaign: Campaign | None
    consent: Consent | None
    rating_refusal: str | None
    """`Store.may_rate`'s answer for the person in `campaign` ("no_campaign" without one)."""


class ConsentStore(StoreBase):
    # --- consent texts --------------------------------------------------------------------
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

    def release_consent_texts(self, campaign_id: int) -> list[ConsentText]:
        with self.read() as s:
            return list(s.scalars(select(ConsentText).where(ConsentText.campaign_id == campaign_id)
                                  .order_by(ConsentText.version, ConsentText.language)))

    # --- consents -------------------------------------------------------------------------
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

    def viewer_records(self, person_id: int | None, campaign_id: object = None) -> ViewerRecords:
        """Everything a page view reads about its viewer, in one read (one connection, where
        `contributor`, `campaigns`, `active_consent` and `may_rate` take one each): the person
        with id `person_id` (None when it is None or names nobody), every campaign by id, the
        one with id `campaign_id` (else the first), the person's active consent to it and
        whether they may rate in it. Nothing is cached: each call reads the store afresh."""
        from jamii.core.store._ratings import RatingStore

        with self.read() as s:
            person = s.get(Contributor, person_id) if person_id is not None else None
            campaigns = list(s.scalars(select(Campaign).order_by(Campaign.id)))
            campaign = next((c for c in campaigns if c.id == campaign_id),
                            campaigns[0] if campaigns else None)
            if campaign is None:
                return ViewerRecords(person, campaigns, None, None, "no_campaign")
            consent = _active_consent(s, person.id, campaign.id) if person else None
            refusal = RatingStore._rating_refusal(s, campaign, person, consent)
            return ViewerRecords(person, campaigns, campaign, consent, refusal)

    def consents_of(self, contributor_id: int) -> list[Consent]:
        with self.read() as s:
            return list(s.scalars(select(Consent).where(Consent.contributor_id == contributor_id)
                                  .order_by(Consent.id.desc())))
