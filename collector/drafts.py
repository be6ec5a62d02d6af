"""A contribution form's half-written item, kept in the store as it is typed.

Each contribution page calls `restore` before it draws its widgets and `keep` after: the first
fills the widgets from the stored draft whenever the page is entered afresh (a reload, a locked
phone, a reconnect to another server process, a visit to another page), the second saves the choices and the
recording when they change; the texts are sent by the page's script as they are typed
(web/draft_route.py). `clear` runs after a successful submit. Nothing here imports Streamlit: `state` is
the session state in the app and a dict in tests.

The draft holds the form's submission key, so an item whose answer was lost with the
connection is not sent a second time: the store does not give such a draft back, and a resend
of the same key is recognised by `Store.submit_item`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, MutableMapping

from jamii.core.store import Forbidden, Store, StoreError
from jamii.core.store._drafts import KEEP, KEY_FIELD
from jamii.web.session import Viewer

AUDIO_STATE = "_draft_audio:{form}"
"""Where a restored recording waits (bytes) until it is sent, replaced or dropped."""
CLEARED_STATE = "_draft_cleared:{form}"
"""Set by `clear`: the next `keep` has no draft to change unless it saves a recording."""


def _sig(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _fields(state: MutableMapping[str, Any], form: str, keys: Iterable[str]) -> dict[str, Any]:
    fields = {}
    for key in keys:
        value = state.get(key)
        if value is None or isinstance(value, (str, bool, int, float)):
            fields[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, bool, int, float)) for v in value):
            fields[key] = list(value)
    fields[KEY_FIELD] = state.get(f"_ikey:{form}")
    return fields


def restore(store: Store, state: MutableMapping[str, Any], viewer: Viewer, form: str,
            keys: Iterable[str], *, texts: Iterable[str] = ()) -> bool:
    """Put the stored draft's values into the widgets' keys when the page is entered (call
    before the widgets are drawn): after a reload, a reconnect, or a visit to another page,
    which drops the widgets' values from the session. True when a draft with something
    written (one of `texts`) or recorded was given back."""
    keys = list(keys)
    if any(key in state for key in keys):  # the page is being used: its widgets hold the text
        return False
    person = viewer.person.id
    try:
        draft = store.draft(person, viewer.campaign.id, form, actor_id=person)
    except (Forbidden, StoreError):
        return False
    if draft is None:
        return False
    keys = set(keys)
    for key, value in draft.fields.items():
        if key in keys:
            state[key] = value
    if isinstance(draft.fields.get(KEY_FIELD), str):
        state[f"_ikey:{form}"] = draft.fields[KEY_FIELD]  # a resend is the same submission
    if draft.audio:
        state[AUDIO_STATE.format(form=form)] = draft.audio
    state[f"_draft_sig:{form}"] = _sig(_fields(state, form, keys))
    state[f"_draft_audio_sha:{form}"] = hashlib.sha256(draft.audio).hexdigest() if draft.audio else None
    written = any(isinstance(draft.fields.get(k), str) and draft.fields[k].strip() for k in texts)
    return bool(written or draft.audio)


def keep(store: Store, state: MutableMapping[str, Any], viewer: Viewer, form: str,
         keys: Iterable[str], *, audio: bytes | None = None) -> bool:
    """Save the choices `keys` (and the form's recording, `audio`) when they changed since the
    last save (call after the widgets are drawn). The texts are not the server's to save: in a
    form they reach the script only on submit, so the page's script sends them as typed
    (web/draft_route.py). Choices alone start no draft; they join one that texts or a
    recording began. True when a save happened."""
    fields = _fields(state, form, keys)
    sig = _sig(fields)
    audio_sha = hashlib.sha256(audio).hexdigest() if audio else None
    saved_audio = state.get(f"_draft_audio_sha:{form}")
    cleared = state.pop(CLEARED_STATE.format(form=form), False)
    if sig == state.get(f"_draft_sig:{form}") and audio_sha == saved_audio:
        return False
    if cleared and audio_sha == saved_audio:
        # the first save after `clear` could only change an existing draft (no recording: no
        # create), and `clear` has just deleted the store's: nothing to write, only to remember
        state[f"_draft_sig:{form}"] = sig
        state[f"_draft_audio_sha:{form}"] = audio_sha
        return False
    person = viewer.person.id
    try:
        store.save_draft(person, viewer.campaign.id, form, fields, merge=True,
                         create=audio_sha != saved_audio,
                         audio=KEEP if audio_sha == saved_audio else audio, actor_id=person)
    except (Forbidden, StoreError):  # withdrawn meanwhile, or more than a form holds: not kept
        return False
    state[f"_draft_sig:{form}"] = sig
    state[f"_draft_audio_sha:{form}"] = audio_sha
    return True


def clear(store: Store, state: MutableMapping[str, Any], viewer: Viewer, form: str) -> None:
    """After a successful submit: the stored draft goes, and the emptied form is not saved."""
    person = viewer.person.id
    try:
        store.clear_draft(person, viewer.campaign.id, form, actor_id=person)
    except (Forbidden, StoreError):
        pass
    for slot in (f"_draft_sig:{form}", f"_draft_audio_sha:{form}", AUDIO_STATE.format(form=form)):
        state.pop(slot, None)
    state[CLEARED_STATE.format(form=form)] = True
