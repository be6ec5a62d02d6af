"""Field kits, the store's side: what a kit carries out of the central store, and a field store
made from one.

    kit_id, contents = central.issue_kit(campaign.id, actor_id=organiser.id)  # jamii kit create
    field.load_kit(contents, actor_id=OPERATOR)                               # jamii init --from-kit
    field.field_kit()                                                         # -> the kit's id

What goes out, and what does not. A field laptop needs to run the campaign and let its people
sign in: the campaign, its consent texts and rate cards, and the people who may work there
(organisers, reviewers, and contributors with an active consent) with their pseudonym, roles,
languages, compensation choice, and their invite code and password only as the hashes the
store keeps. Not their names, phone numbers, emails, payment accounts or self-described region,
gender and age: those stay in the central store. Of the central items only content hashes go,
so a duplicate is refused in the field as centrally (`KnownContent`), never their texts.

Every record the field store makes carries the kit's id (`kit_id`, stamped on flush) beside its
global id (`uid`, or an item's `public_id`), which is how a merge recognises it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from sqlalchemy import func, insert, select

from jamii.core.records import (Campaign, Consent, ConsentText, Contributor, ContributorContact,
                                Item, Kit, KnownContent, RateCard, utcnow)
from jamii.core.store._base import Actor, StoreBase, StoreError, _actor, _get, _sha256

KIT_FORMAT = "jamii-kit/1"
CAMPAIGN_FIELDS = ("id", "slug", "name", "description", "languages", "dialects", "domains",
                   "item_kinds", "targets", "acceptance_rule", "consent_scopes",
                   "compensation_options", "rating_settings", "licence_plan",
                   "current_consent_version")
PERSON_FIELDS = ("uid", "pseudonym", "roles", "invite_code_sha256", "ui_language",
                 "languages_spoken", "dialect", "compensation_method", "compensation_choice")
"""A person as the field needs them: no contact details, no region, gender or age band."""
CONSENT_FIELDS = ("uid", "version", "text_sha256", "scopes", "accepted_at")


def _row(record: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value = getattr(record, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class KitStore(StoreBase):
    # --- central ----------------------------------------------------------------------------
    def issue_kit(self, campaign_id: int, *, actor_id: Actor, note: str = "") -> tuple[str, dict[str, Any]]:
        """Record a new kit for a campaign and return (its id, what it carries) for
        `core/kit/kits.py` to write. Organisers only; audited."""
        if not isinstance(note, str) or len(note) > 200:
            raise StoreError("A kit's note is at most 200 characters of text.")
        with self.write() as s:
            actor = _actor(s, actor_id, "make a field kit")
            campaign = _get(s, Campaign, campaign_id)
            token = secrets.token_urlsafe(32)
            kit = Kit(campaign_id=campaign.id, made_here=True, note=note,
                      token_sha256=_sha256(token), created_by=actor.id if actor is not None else None)
            s.add(kit)
            s.flush()
            texts = list(s.scalars(select(ConsentText).where(ConsentText.campaign_id == campaign.id)
                                   .order_by(ConsentText.id)))
            cards = list(s.scalars(select(RateCard).where(RateCard.campaign_id == campaign.id)
                                   .order_by(RateCard.id)))
            consents = list(s.scalars(select(Consent).where(Consent.campaign_id == campaign.id,
                                                            Consent.withdrawn_at.is_(None))
                                      .order_by(Consent.id)))
            consenting = {c.contributor_id for c in consents}
            people = [p for p in s.scalars(select(Contributor).where(Contributor.withdrawn_at.is_(None))
                                           .order_by(Contributor.id))
                      if p.id in consenting or {"organiser", "reviewer"} & set(p.roles or ())]
            logins = {c.contributor_id: c for c in s.scalars(select(ContributorContact).where(
                ContributorContact.contributor_id.in_([p.id for p in people] or [-1])))}
            uid_of = {p.id: p.uid for p in people}
            known = list(s.scalars(select(Item.content_sha256).where(Item.campaign_id == campaign.id)
                                   .order_by(Item.content_sha256)))
            self._audit(s, actor_id, "kit.issue", "kit", kit.id, campaign=campaign.slug,
                        people=len(people), known_items=len(known))
            contents = {
                "format": KIT_FORMAT, "kit_id": kit.id, "kit_token": token,
                "created_at": kit.created_at.isoformat(),
                "campaign": _row(campaign, CAMPAIGN_FIELDS),
                "consent_texts": [_row(t, ("id", "version", "language", "text", "sha256", "scopes"))
                                  for t in texts],
                "rate_cards": [_row(c, ("id", "version", "rates")) for c in cards],
                "people": [{**_row(p, PERSON_FIELDS),
                            "login_name": logins[p.id].login_name if p.id in logins else None,
                            "password_hash": logins[p.id].password_hash if p.id in logins else None}
                           for p in people],
                "consents": [{**_row(c, CONSENT_FIELDS), "person": uid_of[c.contributor_id],
                              "consent_text_id": c.consent_text_id}
                             for c in consents if c.contributor_id in uid_of],
                "known_content": known,
            }
            return kit.id, contents

    # --- field ------------------------------------------------------------------------------
    def load_kit(self, contents: dict[str, Any], *, actor_id: Actor) -> str:
        """Make this empty store a field store of the kit: its campaign, consent texts, rate
        cards, people, consents and the central items' hashes, all in one transaction. Only
        the operator (`jamii init --from-kit`) or an organiser does it; refused on a store that
        holds any campaign."""
        if not isinstance(contents, dict) or contents.get("format") != KIT_FORMAT:
            raise StoreError(f"This is not a jamii kit (expected format {KIT_FORMAT}).")
        try:
            with self.write() as s:
                _actor(s, actor_id, "make a field store from a kit")
                if s.scalar(select(func.count()).select_from(Campaign)):
                    raise StoreError("This store already holds a campaign: a kit is loaded into a "
                                     "new, empty store (a new JAMII_DATA folder).")
                camp = contents["campaign"]
                s.execute(insert(Campaign).values(**{k: camp[k] for k in CAMPAIGN_FIELDS}))
                for t in contents["consent_texts"]:
                    s.execute(insert(ConsentText).values(campaign_id=camp["id"], **t))
                for c in contents["rate_cards"]:
                    s.execute(insert(RateCard).values(campaign_id=camp["id"], **c))
                person_id = {}
                for p in contents["people"]:
                    person = Contributor(**{k: p[k] for k in PERSON_FIELDS})
                    s.add(person)
                    s.flush()
                    person_id[p["uid"]] = person.id
                    if p.get("login_name") or p.get("password_hash"):
                        s.add(ContributorContact(contributor_id=person.id, login_name=p["login_name"],
                                                 password_hash=p["password_hash"]))
                for c in contents["consents"]:
                    s.add(Consent(contributor_id=person_id[c["person"]], campaign_id=camp["id"],
                                  consent_text_id=c["consent_text_id"], version=c["version"],
                                  text_sha256=c["text_sha256"], scopes=c["scopes"], uid=c["uid"],
                                  accepted_at=_when(c["accepted_at"])))
                known = contents["known_content"]
                for start in range(0, len(known), 5000):
                    s.execute(insert(KnownContent), [{"campaign_id": camp["id"], "content_sha256": h}
                                                     for h in known[start:start + 5000]])
                s.add(Kit(id=contents["kit_id"], campaign_id=camp["id"], made_here=False,
                          token_sha256=_sha256(contents["kit_token"])))
                s.flush()
                self._audit(s, actor_id, "kit.load", "kit", contents["kit_id"],
                            people=len(person_id), known_items=len(known))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"This kit is incomplete or damaged ({type(exc).__name__}: {exc}); "
                             "make a new one with `jamii kit create`.") from None
        self._field_kit = contents["kit_id"]
        return contents["kit_id"]

    def kit_token_ok(self, kit_id: object, token: object) -> bool:
        """Whether a bundle's token is the one this store issued with kit `kit_id` (compared
        in constant time): the bundle was made from that kit, not by whoever has the public key."""
        if not isinstance(kit_id, str) or not isinstance(token, str) or len(token) > 128:
            return False
        with self.read() as s:
            kit = s.get(Kit, kit_id)
        return bool(kit and kit.made_here and kit.token_sha256
                     and hmac.compare_digest(kit.token_sha256, _sha256(token)))

    def field_kit(self) -> str | None:
        """The kit this store was made from (a field store), or None (a central store)."""
        if not hasattr(self, "_field_kit"):
            with self.read() as s:
                self._field_kit = s.scalar(select(Kit.id).where(Kit.made_here.is_(False)))
        return self._field_kit

    def kits(self, campaign_id: int | None = None) -> list[Kit]:
        """The kits this store issued or came from, newest first."""
        q = select(Kit).order_by(Kit.created_at.desc())
        if campaign_id is not None:
            q = q.where(Kit.campaign_id == campaign_id)
        with self.read() as s:
            return list(s.scalars(q))

    def _stamp_kit(self, session, _context, _instances) -> None:
        """before_flush: in a field store, every new record that can carry a kit id gets it."""
        kit = self.field_kit()
        if kit is None:
            return
        for record in session.new:
            if hasattr(record, "kit_id") and getattr(record, "kit_id", None) is None \
                    and not isinstance(record, (Kit, KnownContent)):
                record.kit_id = kit


def _when(text: str | None):
    """A time as a kit or bundle writes it (ISO 8601), timezone-aware; None stays None."""
    from datetime import datetime

    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)
