"""Field kits, the way back out: what changed centrally since a kit was made, and a field
store applying it (issue 14: "the central answers a push with what changed centrally").

    news = central.kit_news(kit_id, actor_id=OPERATOR)        # jamii kit news / a push's answer
    report = field.apply_kit_news(news, actor_id=OPERATOR)    # jamii kit update

News is a plain JSON-able dict (`NEWS_FORMAT`), cumulative: each one says everything that
changed since the kit was made, so a lost one loses nothing and the newest one is enough. It
carries only what the field store holds and the central store may change since:

- `withdrawals`: people the kit carries (by `uid`) who withdrew centrally since. The field
  withdraws them as a local withdrawal does: every consent withdrawn, their drafts deleted,
  they can no longer sign in or contribute, and their items are never publishable. jamii
  never erases submitted items on withdrawal (they are kept for the record, out of every
  release), centrally or in the field; `drafts` says what goes: their unsent drafts.
- `people`: people the kit carries whose roles an organiser changed centrally since (a reviewer
  no longer reviewing), with their roles now.
- `consent_texts`: the campaign's consent texts added since (full text, version, language,
  sha256, scopes, as a kit carries them), and `campaign.current_consent_version`: a new
  current version means contributors are asked to accept it at their next visit.
- `rate_cards`: rate cards added since; the newest prices field work from then on.
- `campaign`: the campaign's settings as they are now (languages, domains, acceptance rule...).
- `known_content`: content hashes of the campaign's items added since (never their texts), so
  the field refuses duplicates of them as centrally.

Never names, contact details, passwords, payment details or self-described region, gender or
age: those stay central. The central store audits each news it makes (`kit.news`, naming the
texts and rate cards it sent), which is how a merge knows that field consents and ledger
entries may name them (`sent_in_news`).

In the field, news is hostile input until checked: every value is validated before anything
is written, and it is applied in one transaction; the same news twice changes nothing, and
news older than news already applied is refused (it would undo newer changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, insert, or_, select

from jamii.core.records import (CONSENT_SCOPES, ROLES, AuditEvent, Campaign, Consent,
                                ConsentText, Contributor, Draft, Item, Kit, KnownContent,
                                RateCard, utcnow)
from jamii.core.schema import ITEM_KINDS
from jamii.core.store._base import Actor, StoreBase, StoreError, _actor, _sha256, _tag
from jamii.core.store._kits import CAMPAIGN_FIELDS, _when

NEWS_FORMAT = "jamii-kit-news/1"
NEWS_CAMPAIGN_FIELDS = tuple(f for f in CAMPAIGN_FIELDS if f not in ("id", "slug"))
"""What of a campaign can change after a kit is made (its id and short name cannot)."""
PAID_ACTIVITIES = ("item_accepted", "review", "rating", "recording_minute")
LIMITS = {"consent_texts": 1000, "rate_cards": 1000, "withdrawals": 1_000_000,
          "people": 1_000_000, "known_content": 5_000_000}
"""Most entries of each list news may carry; more is not news from a jamii central store."""
MAX_CONSENT_TEXT = 200_000
MAX_SETTING_CHARS = 100_000
"""A campaign setting (targets, acceptance rule, ...) as JSON, at most."""
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UID = re.compile(r"[0-9a-f]{32}")


@dataclass
class NewsReport:
    """What applying one news did in the field store; empty lists and zeros when nothing."""

    kit_id: str = ""
    made_at: str = ""
    withdrawn: list[str] = field(default_factory=list)
    """uids of people withdrawn here by this news."""
    roles_changed: list[dict[str, Any]] = field(default_factory=list)
    consent_texts_added: list[dict[str, Any]] = field(default_factory=list)
    rate_cards_added: list[int] = field(default_factory=list)
    """Versions of the rate cards added."""
    campaign_fields: list[str] = field(default_factory=list)
    """Campaign settings that changed (current_consent_version among them)."""
    known_content_added: int = 0
    unknown_people: int = 0
    """People the news names that this field store does not hold (nothing to do)."""
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """Central records not applied because the field made one of its own in their place."""

    @property
    def changed(self) -> bool:
        return bool(self.withdrawn or self.roles_changed or self.consent_texts_added
                    or self.rate_cards_added or self.campaign_fields or self.known_content_added)


def sent_in_news(s, kit: Kit) -> dict[str, set[int]]:
    """The consent texts and rate cards the central store has sent kit `kit` in news (from its
    `kit.news` audit events), read once per database session."""
    key = ("jamii.kit_news.sent", kit.id)
    if key not in s.info:
        sent: dict[str, set[int]] = {"consent_texts": set(), "rate_cards": set()}
        for details in s.scalars(select(AuditEvent.details).where(
                AuditEvent.action == "kit.news", AuditEvent.record_type == "kit",
                AuditEvent.record_id == str(kit.id))):
            for name in sent:
                sent[name].update(i for i in (details or {}).get(name) or () if isinstance(i, int))
        s.info[key] = sent
    return s.info[key]


class KitNewsStore(StoreBase):
    # --- central ----------------------------------------------------------------------------
    def kit_news(self, kit_id: str, *, actor_id: Actor) -> dict[str, Any]:
        """What changed centrally since kit `kit_id` was made that its field store holds (see
        the module). Organisers only; audited, naming the texts and rate cards sent."""
        with self.write() as s:
            _actor(s, actor_id, "send a field kit what changed centrally")
            kit = s.get(Kit, kit_id) if isinstance(kit_id, str) else None
            if kit is None or not kit.made_here:
                raise StoreError(f"Kit {kit_id} was not made by this store: news for a kit comes "
                                 "from the central store that wrote it.")
            since = kit.created_at
            campaign = s.get(Campaign, kit.campaign_id)
            carried = or_(Contributor.created_at <= since, Contributor.kit_id == kit.id)
            withdrawn = list(s.execute(select(Contributor.uid, Contributor.withdrawn_at).where(
                carried, Contributor.withdrawn_at > since).order_by(Contributor.id)))
            changed_roles = {int(r) for r in s.scalars(select(AuditEvent.record_id).where(
                AuditEvent.action == "contributor.roles", AuditEvent.created_at > since))
                if r and r.isdigit()}
            people = [] if not changed_roles else list(s.execute(
                select(Contributor.uid, Contributor.roles).where(
                    carried, Contributor.withdrawn_at.is_(None),
                    Contributor.id.in_(sorted(changed_roles))).order_by(Contributor.id)))
            texts = list(s.scalars(select(ConsentText).where(
                ConsentText.campaign_id == campaign.id, ConsentText.created_at > since)
                .order_by(ConsentText.id)))
            cards = list(s.scalars(select(RateCard).where(
                RateCard.campaign_id == campaign.id, RateCard.created_at > since)
                .order_by(RateCard.id)))
            # items added since, and items other kits brought (made by their laptops' clocks)
            known = sorted(set(s.scalars(select(Item.content_sha256).where(
                Item.campaign_id == campaign.id,
                or_(Item.kit_id.is_(None), Item.kit_id != kit.id),
                or_(Item.created_at > since, Item.kit_id.is_not(None))))))
            made_at = utcnow().isoformat()
            news = {
                "format": NEWS_FORMAT, "kit_id": kit.id, "campaign_id": campaign.id,
                "kit_made_at": _iso(kit.created_at), "made_at": made_at,
                "campaign": {f: getattr(campaign, f) for f in NEWS_CAMPAIGN_FIELDS},
                "withdrawals": [{"uid": uid, "withdrawn_at": _iso(when), "drafts": "delete"}
                                for uid, when in withdrawn],
                "people": [{"uid": uid, "roles": list(roles or [])} for uid, roles in people],
                "consent_texts": [{"id": t.id, "version": t.version, "language": t.language,
                                   "text": t.text, "sha256": t.sha256, "scopes": list(t.scopes or [])}
                                  for t in texts],
                "rate_cards": [{"id": c.id, "version": c.version, "rates": c.rates} for c in cards],
                "known_content": known,
            }
            self._audit(s, actor_id, "kit.news", "kit", kit.id, made_at=made_at,
                        consent_texts=[t.id for t in texts], rate_cards=[c.id for c in cards],
                        withdrawals=len(withdrawn), people=len(people), known_items=len(known))
            return news

    # --- field ------------------------------------------------------------------------------
    def apply_kit_news(self, news: dict[str, Any], *, actor_id: Actor) -> NewsReport:
        """Apply news from the central store to this field store, in one transaction, as the
        same changes made here would be (see the module). StoreError, with nothing changed,
        for news of another kit, older than news applied already, or with a malformed value."""
        with self.write() as s:
            _actor(s, actor_id, "apply news from the central store")
            mine = s.scalar(select(Kit).where(Kit.made_here.is_(False)))
            if mine is None:
                raise StoreError("This store was not made from a kit (jamii init --from-kit): news "
                                 "from the central store is for a field laptop's store.")
            clean = _checked(news, mine)
            report = NewsReport(kit_id=mine.id, made_at=news["made_at"])
            last = max((_when((d or {}).get("made_at")) for d in s.scalars(
                select(AuditEvent.details).where(AuditEvent.action == "kit.news.apply"))
                if isinstance((d or {}).get("made_at"), str)), default=None)
            if last is not None and _aware(last) > clean["made_at"]:
                raise StoreError(f"This news was made at {news['made_at']}, before news this store "
                                 f"applied already ({last.isoformat()}): it would undo newer "
                                 "changes. Ask the central store for new news (jamii kit news).")
            campaign = s.get(Campaign, mine.campaign_id)
            self._news_texts(s, campaign, clean["consent_texts"], report)
            self._news_cards(s, campaign, clean["rate_cards"], report)
            versions = set(s.scalars(select(ConsentText.version).where(
                ConsentText.campaign_id == campaign.id)))
            current = clean["campaign"].get("current_consent_version")
            if current is not None and current not in versions:
                raise StoreError(f"The news makes consent version {current} current, but neither "
                                 "this store nor the news holds that text: nothing was applied.")
            for name, value in clean["campaign"].items():
                if getattr(campaign, name) != value:
                    setattr(campaign, name, value)
                    report.campaign_fields.append(name)
            self._news_people(s, clean, report)
            report.known_content_added = _add_known(s, campaign.id, clean["known_content"])
            # news that changed nothing is the newest seen too: older news must not undo it
            if report.changed or last is None or _aware(last) < clean["made_at"]:
                self._audit(s, actor_id, "kit.news.apply", "kit", mine.id, made_at=news["made_at"],
                            withdrawn=len(report.withdrawn), roles=len(report.roles_changed),
                            consent_texts=len(report.consent_texts_added),
                            rate_cards=report.rate_cards_added, campaign=report.campaign_fields,
                            known_items=report.known_content_added)
        return report

    @staticmethod
    def _news_texts(s, campaign: Campaign, texts: list[dict[str, Any]], report: NewsReport) -> None:
        for t in texts:
            same = s.scalar(select(ConsentText).where(
                ConsentText.campaign_id == campaign.id, ConsentText.version == t["version"],
                ConsentText.language == t["language"]))
            if same is not None:
                if same.sha256 != t["sha256"]:
                    report.conflicts.append({"consent_text": t["id"], "version": t["version"],
                                             "language": t["language"], "why": "this store holds "
                                             "a text of its own under this version and language"})
                continue
            values = {k: t[k] for k in ("version", "language", "text", "sha256", "scopes")}
            if s.get(ConsentText, t["id"]) is None:  # the central id, as a kit carries texts
                values["id"] = t["id"]
            s.execute(insert(ConsentText).values(campaign_id=campaign.id, **values))
            report.consent_texts_added.append({"version": t["version"], "language": t["language"]})

    @staticmethod
    def _news_cards(s, campaign: Campaign, cards: list[dict[str, Any]], report: NewsReport) -> None:
        for c in cards:
            held = s.get(RateCard, c["id"])
            same = s.scalar(select(RateCard).where(RateCard.campaign_id == campaign.id,
                                                   RateCard.version == c["version"]))
            if held is not None and same is not None and held.id == same.id \
                    and held.rates == c["rates"]:
                continue  # applied already
            if held is not None or same is not None:
                report.conflicts.append({"rate_card": c["id"], "version": c["version"],
                                         "why": "this store holds a rate card of its own under "
                                         "this id or version"})
                continue
            s.execute(insert(RateCard).values(id=c["id"], campaign_id=campaign.id,
                                              version=c["version"], rates=c["rates"]))
            report.rate_cards_added.append(c["version"])

    @staticmethod
    def _news_people(s, clean: dict[str, Any], report: NewsReport) -> None:
        uids = {w["uid"] for w in clean["withdrawals"]} | {p["uid"] for p in clean["people"]}
        held: dict[str, Contributor] = {}
        uid_list = sorted(uids)
        for start in range(0, len(uid_list), 900):
            held.update({p.uid: p for p in s.scalars(select(Contributor).where(
                Contributor.uid.in_(uid_list[start:start + 900])))})
        report.unknown_people = len(uids - set(held))
        for w in clean["withdrawals"]:
            person = held.get(w["uid"])
            if person is None or person.withdrawn_at is not None:
                continue
            # as `withdraw` does here: every consent, and the unsent drafts
            person.withdrawn_at = w["withdrawn_at"]
            for consent in s.scalars(select(Consent).where(Consent.contributor_id == person.id,
                                                           Consent.withdrawn_at.is_(None))):
                consent.withdrawn_at = w["withdrawn_at"]
            s.execute(delete(Draft).where(Draft.contributor_id == person.id))
            report.withdrawn.append(person.uid)
        for p in clean["people"]:
            person = held.get(p["uid"])
            if person is None or person.withdrawn_at is not None or list(person.roles or []) == p["roles"]:
                continue
            report.roles_changed.append({"uid": person.uid, "before": list(person.roles or []),
                                         "after": p["roles"]})
            person.roles = p["roles"]


def _add_known(s, campaign_id: int, hashes: list[str]) -> int:
    added = 0
    for start in range(0, len(hashes), 900):
        chunk = hashes[start:start + 900]
        have = set(s.scalars(select(KnownContent.content_sha256).where(
            KnownContent.campaign_id == campaign_id, KnownContent.content_sha256.in_(chunk))))
        new = [h for h in chunk if h not in have]
        if new:
            s.execute(insert(KnownContent), [{"campaign_id": campaign_id, "content_sha256": h}
                                             for h in new])
            added += len(new)
    return added


# --- news as hostile input ------------------------------------------------------------------
def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _aware(when):
    return when if when.tzinfo else when.replace(tzinfo=utcnow().tzinfo)


def _bad(what: str) -> StoreError:
    return StoreError(f"This news is malformed: {what}. Nothing was applied; ask the central "
                      "store for new news (jamii kit news).")


def _time(value: Any, what: str):
    if not isinstance(value, str) or len(value) > 40:
        raise _bad(f"{what} is not a time")
    try:
        return _aware(_when(value))
    except ValueError:
        raise _bad(f"{what} is not a time ({value[:40]!r})") from None


def _text(value: Any, what: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit or (not empty and not value.strip()):
        raise _bad(f"{what} must be text of at most {limit} characters")
    return value


def _list(news: dict[str, Any], name: str) -> list[Any]:
    value = news.get(name, [])
    if not isinstance(value, list):
        raise _bad(f"'{name}' is not a list")
    if len(value) > LIMITS[name]:
        raise _bad(f"'{name}' has {len(value)} entries, more than any news carries ({LIMITS[name]})")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2 ** 31:
        raise _bad(f"{what} is not a positive whole number")
    return value


def _entry(value: Any, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict) or not set(keys) <= set(value):
        raise _bad(f"an entry of '{what}' is not a record with {', '.join(keys)}")
    return value


def _checked(news: Any, kit: Kit) -> dict[str, Any]:
    """News with every value checked (and times parsed), or StoreError saying what is wrong."""
    if not isinstance(news, dict) or news.get("format") != NEWS_FORMAT:
        raise StoreError(f"This is not news from a jamii central store (expected format "
                         f"{NEWS_FORMAT}): nothing was applied.")
    if news.get("kit_id") != kit.id:
        raise StoreError(f"This news is for kit {str(news.get('kit_id'))[:40]}, and this store was "
                         f"made from kit {kit.id}: nothing was applied. Ask for news of kit {kit.id}.")
    if news.get("campaign_id") != kit.campaign_id:
        raise _bad("it names another campaign than the kit's")
    out: dict[str, Any] = {"made_at": _time(news.get("made_at"), "made_at")}

    camp = news.get("campaign", {})
    if not isinstance(camp, dict) or set(camp) - set(NEWS_CAMPAIGN_FIELDS):
        raise _bad(f"'campaign' may hold only {', '.join(NEWS_CAMPAIGN_FIELDS)}")
    out["campaign"] = _campaign(camp)

    texts = []
    for t in _list(news, "consent_texts"):
        t = _entry(t, "consent_texts", ("id", "version", "language", "text", "sha256", "scopes"))
        version = _text(t["version"], "a consent text's version", 32)
        text = _text(t["text"], f"consent text {version}", MAX_CONSENT_TEXT)
        if t["sha256"] != _sha256(text):
            raise _bad(f"consent text {version} does not match its sha256")
        scopes = t["scopes"]
        if not isinstance(scopes, list) or not set(scopes) <= set(CONSENT_SCOPES) \
                or not all(isinstance(x, str) for x in scopes):
            raise _bad(f"consent text {version} has scopes other than {', '.join(CONSENT_SCOPES)}")
        texts.append({"id": _int(t["id"], "a consent text's id"), "version": version,
                      "language": _language(t["language"]), "text": text, "sha256": t["sha256"],
                      "scopes": scopes})
    out["consent_texts"] = texts

    cards = []
    for c in _list(news, "rate_cards"):
        c = _entry(c, "rate_cards", ("id", "version", "rates"))
        cards.append({"id": _int(c["id"], "a rate card's id"),
                      "version": _int(c["version"], "a rate card's version"),
                      "rates": _rates(c["rates"])})
    out["rate_cards"] = cards

    withdrawals = []
    for w in _list(news, "withdrawals"):
        w = _entry(w, "withdrawals", ("uid", "withdrawn_at"))
        withdrawals.append({"uid": _uid(w["uid"]),
                            "withdrawn_at": _time(w["withdrawn_at"], "a withdrawal's time")})
    out["withdrawals"] = withdrawals

    people = []
    for p in _list(news, "people"):
        p = _entry(p, "people", ("uid", "roles"))
        roles = p["roles"]
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles) \
                or not set(roles) <= set(ROLES):
            raise _bad(f"a person's roles must be a list of {', '.join(ROLES)}")
        people.append({"uid": _uid(p["uid"]), "roles": list(dict.fromkeys(roles))})
    out["people"] = people

    known = _list(news, "known_content")
    if not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in known):
        raise _bad("'known_content' holds something other than sha256 hashes")
    out["known_content"] = sorted(set(known))
    return out


def _uid(value: Any) -> str:
    if not isinstance(value, str) or not _UID.fullmatch(value):
        raise _bad("a person's uid is not a jamii global id (32 hex digits)")
    return value


def _language(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 35:
        raise _bad("a language is not a language tag")
    try:
        return _tag(value, "language")
    except StoreError as exc:
        raise _bad(str(exc)) from None


def _rates(rates: Any) -> dict[str, Any]:
    if not isinstance(rates, dict) or not set(rates) <= set(PAID_ACTIVITIES):
        raise _bad(f"a rate card pays only {', '.join(PAID_ACTIVITIES)}")
    for activity, rate in rates.items():
        if not isinstance(rate, dict) or not set(rate) <= {"amount", "unit", "in_kind"}:
            raise _bad(f"the rate for {activity} is not an amount and a unit")
        try:
            if not isinstance(rate.get("amount"), str):
                raise TypeError
            amount = Decimal(rate["amount"])
        except (TypeError, ValueError, InvalidOperation):
            raise _bad(f"the rate for {activity} has no numeric amount") from None
        if not amount.is_finite() or amount < 0 or len(str(rate.get("amount"))) > 32:
            raise _bad(f"the rate for {activity} is not an amount jamii pays")
        _text(rate.get("unit"), f"the unit of {activity}", 24)
        in_kind = rate.get("in_kind", {})
        if not isinstance(in_kind, dict) or len(in_kind) > 50:
            raise _bad(f"in_kind of {activity} must map a good to its quantity")
        for good, quantity in in_kind.items():
            _text(good, f"an in-kind good of {activity}", 120)
            try:
                if not isinstance(quantity, str) or len(quantity) > 32 \
                        or not Decimal(quantity).is_finite():
                    raise ValueError
            except (TypeError, ValueError, InvalidOperation):
                raise _bad(f"an in-kind quantity of {activity} is not a number") from None
    return rates


def _campaign(camp: dict[str, Any]) -> dict[str, Any]:
    import json

    from jamii.core.store._campaigns import _campaign_texts

    out = dict(camp)
    for name in ("name", "description", "dialects", "domains"):
        if name in out and out[name] is None:
            raise _bad(f"the campaign's {name} is missing")
    if "description" in out:
        _text(out["description"], "the campaign's description", MAX_SETTING_CHARS, empty=True)
    try:
        out.update(_campaign_texts({k: out[k] for k in ("name", "description", "dialects",
                                                         "domains") if k in out}))
    except StoreError as exc:
        raise _bad(f"the campaign's settings: {exc}") from None
    for name, kinds in (("languages", None), ("item_kinds", ITEM_KINDS),
                        ("consent_scopes", CONSENT_SCOPES)):
        if name in out:
            value = out[name]
            if not isinstance(value, list) or len(value) > 200 \
                    or not all(isinstance(v, str) for v in value):
                raise _bad(f"the campaign's {name} is not a list of names")
            if kinds is None:
                out[name] = [_language(v) for v in value]
            elif not set(value) <= set(kinds):
                raise _bad(f"the campaign's {name} may hold only {', '.join(kinds)}")
    for name in ("targets", "acceptance_rule", "compensation_options", "rating_settings"):
        if name in out:
            if not isinstance(out[name], dict) or len(json.dumps(out[name])) > MAX_SETTING_CHARS:
                raise _bad(f"the campaign's {name} is not a setting jamii writes")
    if "licence_plan" in out:
        _text(out["licence_plan"], "the campaign's licence plan", 64)
    if out.get("current_consent_version") is not None:
        out["current_consent_version"] = _text(out["current_consent_version"],
                                               "the current consent version", 32)
    return out
