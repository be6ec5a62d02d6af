"""Personal data in item text: what the scan flags, and the organiser's clearance of it.

A release refuses items whose text may hold personal data (DESIGN section 6) unless an
organiser looked and cleared them; clearing is a recorded, audited decision, never a default.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core.records import Item
from jamii.core.store._base import Actor, StoreBase, StoreError, _actor, _refuse_bad_text


@dataclass(frozen=True)
class Flagged:
    item: Item
    hits: list[tuple[str, checks.PiiHit]]
    """(field, hit) for every possible piece of personal data in the item's text."""


class PrivacyQueries(StoreBase):
    def flagged_items(self, campaign_id: int, *, status: str = "accepted",
                      include_cleared: bool = False, limit: int = 500) -> list[Flagged]:
        """Items whose text may hold emails, phone numbers or id numbers, oldest first."""
        q = select(Item).where(Item.campaign_id == campaign_id, Item.status == status)
        if not include_cleared:
            q = q.where(Item.pii_cleared_by.is_(None))
        out: list[Flagged] = []
        with self.read() as s:
            for item in s.scalars(q.order_by(Item.id).execution_options(yield_per=1000)):
                texts = item_rules.outgoing_texts(item.kind, item.content, dialect=item.dialect,
                                                  domain=item.domain)
                hits = [(name, hit) for name, text in texts.items()
                        if checks.might_hold_pii(text) for hit in checks.find_pii(text)]
                if hits:
                    out.append(Flagged(item, hits))
                    if len(out) >= limit:
                        break
        return out

    def clear_pii(self, item_ids: list[int], *, actor_id: Actor, note: str) -> int:
        """Record that an organiser checked these items and their text may be published.

        The clearance names that organiser, so the operator alone cannot give it."""
        _refuse_bad_text(checks.check_text("note", note, required=False))
        note = checks.normalise_text(note) if isinstance(note, str) else ""
        if not note:
            raise StoreError("Say why the flagged text may be published (for example: "
                             "'a public hotline number, not a person's').")
        ids = sorted(set(item_ids))
        if not ids:
            raise StoreError("Select at least one item to clear.")
        with self.write() as s:
            _actor(s, actor_id, "clear personal-data flags", operator=False)
            found = list(s.scalars(select(Item).where(Item.id.in_(ids))))
            if len(found) != len(ids):
                missing = sorted(set(ids) - {i.id for i in found})
                raise StoreError(f"No items with ids {missing}.")
            for item in found:
                item.pii_cleared_by = actor_id
            self._audit(s, actor_id, "item.clear_pii", "item", None,
                        items=[i.public_id for i in found], note=note)
        return len(ids)
