"""Campaigns and their rate cards."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from sqlalchemy import select

from jamii.core import checks
from jamii.core.records import Campaign, RateCard
from jamii.core.schema import ITEM_KINDS
from jamii.core.store._base import (Actor, NotFound, StoreBase, StoreError, _actor,
                                    _current_rate_card, _get, _refuse_bad_text, _tag)


class CampaignStore(StoreBase):
    # --- campaigns ------------------------------------------------------------------------
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

    # --- rate cards -----------------------------------------------------------------------
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
            _refuse_bad_text(checks.check_public_label(f"unit of {activity}", unit, max_chars=24))
            unit = checks.normalise_text(unit) if isinstance(unit, str) else str(unit).strip()
            if not unit:
                raise StoreError(f"The rate for {activity} needs a unit: a currency such as KES "
                                 "or an in-kind unit such as 'airtime' or 'seed pack'.")
            clean[activity] = {"amount": str(amount), "unit": unit}
            in_kind = rate.get("in_kind") or {}
            if not isinstance(in_kind, dict):
                raise StoreError(f"in_kind for {activity} must map a good to its quantity, "
                                 "e.g. {'seed pack': 0.2}.")
            _refuse_bad_text(*(checks.check_public_label(f"in-kind good of {activity}", g, required=True,
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

    def rate_cards(self, campaign_id: int) -> list[RateCard]:
        with self.read() as s:
            return list(s.scalars(select(RateCard).where(RateCard.campaign_id == campaign_id)
                                  .order_by(RateCard.version.desc())))

    def rate_cards_by_id(self, ids: set[int]) -> dict[int, RateCard]:
        if not ids:
            return {}
        with self.read() as s:
            return {c.id: c for c in s.scalars(select(RateCard).where(RateCard.id.in_(ids)))}

    def release_rate_cards(self, campaign_id: int) -> list[RateCard]:
        with self.read() as s:
            return list(s.scalars(select(RateCard).where(RateCard.campaign_id == campaign_id)
                                  .order_by(RateCard.version)))


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
