"""Settings an organiser changes in the app, shared by every process on one store.

    days = store.session_idle_days()            # every new browser connection reads it
    store.set_session_idle_days(14, actor_id=organiser.id)

Why in the store and not only the environment: an organiser running a campaign from the
collector has no shell on the server, and two processes behind one proxy must agree. The
environment (`JAMII_SESSION_IDLE_DAYS`, read by the web layer) gives the default until an
organiser chooses; their choice is audited and wins from the next page on.
"""

from __future__ import annotations

from sqlalchemy import select

from jamii.core.records import AppSetting, utcnow
from jamii.core.store._base import Actor, StoreBase, StoreError, _actor

SESSION_IDLE_DAYS = "session_idle_days"
IDLE_DAYS_RANGE = (1, 365)
"""A day at least (a shared phone in a village hall), a year at most (a cookie's lifetime)."""


class AppSettingStore(StoreBase):
    def session_idle_days(self) -> int | None:
        """Days of inactivity after which a sign-in ends, as an organiser set it (None: unset)."""
        with self.read() as s:
            value = s.scalar(select(AppSetting.value).where(AppSetting.name == SESSION_IDLE_DAYS))
        try:
            return int(value) if value is not None else None
        except ValueError:  # only the setter writes it; a hand-edited row falls back to the default
            return None

    def set_session_idle_days(self, days: int, *, actor_id: Actor) -> None:
        """How long a browser left alone stays signed in, for every session from its next use."""
        low, high = IDLE_DAYS_RANGE
        if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
            raise StoreError(f"Sign-ins last between {low} and {high} days of inactivity; got {days!r}.")
        with self.write() as s:
            actor = _actor(s, actor_id, "change how long sign-ins last")
            row = s.get(AppSetting, SESSION_IDLE_DAYS)
            if row is None:
                row = AppSetting(name=SESSION_IDLE_DAYS, value=str(days))
                s.add(row)
            row.value, row.updated_at = str(days), utcnow()
            row.updated_by = actor.id if actor is not None else None
            self._audit(s, actor_id, "settings.session_idle_days", "app_setting", None, days=days)
