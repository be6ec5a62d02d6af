"""Drafts: a half-written item kept server-side, per person, campaign and form.

    store.save_draft(person.id, campaign.id, "pr", {"pr_prompt": "Habari"}, actor_id=person.id)
    draft = store.draft(person.id, campaign.id, "pr", actor_id=person.id)   # after a reload
    store.clear_draft(person.id, campaign.id, "pr", actor_id=person.id)     # on submit

Why in the store and not in the browser: a phone that locks, a connection that drops or a
server process that dies all lose Streamlit's session state, and a contributor on a shared
phone must not leave her words in its browser storage. The store is the one place every
process reads, and only its person reads a draft (organisers do not: it is unsent work).

A draft is refused when it is not one a form could have made (too large, not a mapping of
short names to text, ticks and choices); it is never checked for content problems, which are
the submit's business. It holds the form's submission key, so a draft whose item was in fact
stored (the answer lost with the connection) is not given back, so it is not sent twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from jamii.core.records import Campaign, Draft, Item, utcnow
from jamii.core.store._base import StoreBase, StoreError, _actor, _get

MAX_DRAFT_CHARS = 200_000
"""All texts of one draft together: far above any item a form takes (the contextual form's
largest is some 20,000 characters), far below what would let a script fill the database."""
MAX_DRAFT_AUDIO = 8_000_000
"""A recording of the longest clip the speech form takes (30 s) is about 1 MB at 16 kHz;
a browser that records at 48 kHz stereo makes under 6 MB."""
MAX_FIELDS = 100
KEY_FIELD = "_key"
"""The field holding the draft's submission key (the item's `client_key` once sent)."""
_NAME = re.compile(r"[A-Za-z0-9_:.\-]{1,64}")

KEEP = object()
"""`save_draft(audio=KEEP)`: leave the stored recording as it is (the default)."""


@dataclass(frozen=True)
class DraftView:
    fields: dict[str, Any]
    audio: bytes | None
    updated_at: Any


def _check_fields(fields: object) -> dict[str, Any]:
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
        raise StoreError(f"A draft is a mapping of at most {MAX_FIELDS} fields.")
    total = 0
    for name, value in fields.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise StoreError("A draft's field names are 1 to 64 letters, digits or _:.-")
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > MAX_FIELDS:
            raise StoreError(f"A draft field holds at most {MAX_FIELDS} choices.")
        for one in values:
            if one is not None and not isinstance(one, (str, bool, int, float)):
                raise StoreError(f"A draft field holds text, a tick or a number, not {type(one).__name__}.")
            total += len(one) if isinstance(one, str) else 8
    if total > MAX_DRAFT_CHARS:
        raise StoreError(f"A draft holds at most {MAX_DRAFT_CHARS:,} characters; this one has {total:,}.")
    return dict(fields)


def _check_form(form: object) -> str:
    if not isinstance(form, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", form):
        raise StoreError("A draft's form is named by 1 to 32 lowercase letters, digits or _.")
    return form


class DraftStore(StoreBase):
    def save_draft(self, person_id: int, campaign_id: int, form: str, fields: dict[str, Any], *,
                   audio: bytes | None | object = KEEP, merge: bool = False,
                   create: bool = True, actor_id) -> bool:
        """Keep what the person has typed so far, replacing the last draft of that form, or with
        `merge` only the fields given (the page's script sends the texts as they are typed,
        the server the choices). With `create=False` only an existing draft changes. Only the
        person themself saves their draft. True when a draft was written."""
        form = _check_form(form)
        fields = _check_fields(fields)
        if audio is not KEEP and audio is not None:
            if not isinstance(audio, (bytes, bytearray)) or len(audio) > MAX_DRAFT_AUDIO:
                raise StoreError(f"A draft's recording is at most {MAX_DRAFT_AUDIO:,} bytes.")
            audio = bytes(audio)
        now = utcnow()
        with self.write() as s:
            _actor(s, actor_id, "keep this draft", roles=(), self_id=person_id)
            _get(s, Campaign, campaign_id)
            if merge or not create:
                row = s.scalar(select(Draft).where(
                    Draft.contributor_id == person_id, Draft.campaign_id == campaign_id,
                    Draft.form == form).with_for_update())
                if row is None and not create:
                    return False
                if merge and row is not None:
                    fields = _check_fields({**(row.fields or {}), **fields})
            values = {"contributor_id": person_id, "campaign_id": campaign_id, "form": form,
                      "fields": fields, "updated_at": now}
            changes = {"fields": fields, "updated_at": now}
            if audio is not KEEP:
                values["audio"] = changes["audio"] = audio
            dialect = s.get_bind().dialect.name
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            # one statement: two tabs saving at once leave one draft, the later one
            s.execute(insert(Draft).values(values).on_conflict_do_update(
                index_elements=["contributor_id", "campaign_id", "form"], set_=changes))
            return True

    def draft(self, person_id: int, campaign_id: int, form: str, *, actor_id) -> DraftView | None:
        """The person's draft of a form, or None. A draft whose submission key is already an
        item's (it was sent, and only the answer was lost) is None: the form starts empty and
        the next save replaces it. Only the person themself reads it."""
        form = _check_form(form)
        with self.read() as s:
            _actor(s, actor_id, "read this draft", roles=(), self_id=person_id)
            row = s.scalar(select(Draft).where(Draft.contributor_id == person_id,
                                               Draft.campaign_id == campaign_id, Draft.form == form))
            if row is None:
                return None
            key = (row.fields or {}).get(KEY_FIELD)
            if isinstance(key, str) and s.scalar(select(Item.id).where(Item.client_key == key)):
                return None
            return DraftView(dict(row.fields or {}), row.audio, row.updated_at)

    def clear_draft(self, person_id: int, campaign_id: int, form: str, *, actor_id) -> bool:
        """Forget the person's draft of a form (after it was sent). False when there was none."""
        form = _check_form(form)
        with self.write() as s:
            _actor(s, actor_id, "clear this draft", roles=(), self_id=person_id)
            done = s.execute(delete(Draft).where(Draft.contributor_id == person_id,
                                                 Draft.campaign_id == campaign_id, Draft.form == form))
            return done.rowcount > 0
