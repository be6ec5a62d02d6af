"""Server-side web sessions: a sign-in that survives a reload, a locked phone, a lost connection.

    session_id, handoff = store.start_web_session(person.id, actor_id=person.id)  # after sign-in
    token = store.adopt_web_session(handoff)        # the /auth/adopt route: the cookie's value
    person, session_id = store.web_session_person(token)   # every new browser connection
    store.end_web_session(session_id, actor_id=person.id)  # sign out
    store.end_all_web_sessions(person.id, actor_id=person.id)  # sign out everywhere

Why a hand-off. Streamlit cannot set a cookie from a script, and a cookie a script can read is
one a script can steal. So the page that signed someone in gets only a one-use hand-off (valid
`HANDOFF_SECONDS`), which it posts to the app's own route; the route swaps it here for the
real token and sets that as an HttpOnly cookie. The store keeps SHA-256 hashes of both, never
the values (256 random bits each, so a plain hash is enough: nothing to brute-force).

Expiry is by inactivity (`idle_days`, 30 by default, `JAMII_SESSION_IDLE_DAYS` in the web
layer); `last_seen_at` is written at most every `TOUCH_EVERY`, so reading a session on every
page costs no write. Withdrawal and role changes need nothing here: the apps read the person's
roles and withdrawal from the store on every run.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update

from jamii.core.records import Contributor, WebSession, utcnow
from jamii.core.store._base import Forbidden, StoreBase, _actor, _sha256

HANDOFF_SECONDS = 120
"""The page posts its hand-off within a second; two minutes allows a slow phone network."""
TOUCH_EVERY = timedelta(minutes=10)
DEFAULT_IDLE_DAYS = 30
MAX_SECRET_CHARS = 128
"""Hand-offs and tokens are 43 characters; anything much longer is not one of ours."""


def _secret(value: object) -> str | None:
    """The hash of a hand-off or token as received from a browser, or None for junk."""
    if not isinstance(value, str) or not 20 <= len(value) <= MAX_SECRET_CHARS or not value.isascii():
        return None
    return _sha256(value)


def _is_self(actor_id: object, person_id: int) -> bool:
    return isinstance(actor_id, int) and not isinstance(actor_id, bool) and actor_id == person_id


class WebSessionStore(StoreBase):
    def start_web_session(self, person_id: int, *, actor_id) -> tuple[int, str]:
        """A session for the person who has just signed in (only they start one), waiting for
        its cookie: (session id, the one-use hand-off for `adopt_web_session`)."""
        if not _is_self(actor_id, person_id):
            raise Forbidden("Only the person who signed in starts their own session.")
        handoff = secrets.token_urlsafe(32)
        with self.write() as s:
            if s.get(Contributor, person_id) is None:
                raise Forbidden(f"No contributor with id {person_id} can sign in.")
            session = WebSession(contributor_id=person_id, handoff_sha256=_sha256(handoff))
            s.add(session)
            s.flush()
            self._audit(s, person_id, "session.start", "web_session", session.id)
            return session.id, handoff

    def adopt_web_session(self, handoff: object) -> str | None:
        """The cookie's token for a hand-off used once, within `HANDOFF_SECONDS` of sign-in, on
        a session not ended; None otherwise (a second use, a guess, a stale page). One UPDATE,
        so two requests racing with one hand-off get one token between them."""
        digest = _secret(handoff)
        if digest is None:
            return None
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.write() as s:
            done = s.execute(
                update(WebSession)
                .where(WebSession.handoff_sha256 == digest, WebSession.token_sha256.is_(None),
                       WebSession.revoked_at.is_(None),
                       WebSession.created_at >= now - timedelta(seconds=HANDOFF_SECONDS))
                .values(token_sha256=_sha256(token), handoff_sha256=None, last_seen_at=now))
            return token if done.rowcount == 1 else None

    def web_session_person(self, token: object, *, idle_days: int = DEFAULT_IDLE_DAYS
                           ) -> tuple[Contributor, int] | None:
        """(the person, the session id) a cookie's token signs in, or None: unknown, ended, or
        unused for `idle_days`. A withdrawn person is still returned (they may read what they
        gave); the pages refuse them the rest, as for any withdrawn person."""
        digest = _secret(token)
        if digest is None:
            return None
        now = utcnow()
        with self.write() as s:
            session = s.scalar(select(WebSession).where(WebSession.token_sha256 == digest,
                                                        WebSession.revoked_at.is_(None)))
            if session is None:
                return None
            seen = session.last_seen_at if session.last_seen_at.tzinfo else \
                session.last_seen_at.replace(tzinfo=now.tzinfo)
            if now - seen > timedelta(days=idle_days):
                session.revoked_at = now
                return None
            if now - seen > TOUCH_EVERY:
                session.last_seen_at = now
            person = s.get(Contributor, session.contributor_id)
            if person is None:
                return None
            s.expunge(person)
            return person, session.id

    def web_session_active(self, session_id: object) -> bool:
        """Whether a web session in use has not been ended (signed out, everywhere, expired)."""
        if isinstance(session_id, bool) or not isinstance(session_id, int):
            return False
        with self.read() as s:
            return s.scalar(select(WebSession.id).where(WebSession.id == session_id,
                                                        WebSession.revoked_at.is_(None))) is not None

    def web_session_adopted(self, session_id: object) -> bool:
        """Whether a session's hand-off has become its cookie (or can no longer: used, ended or
        stale), so the page stops posting it."""
        if isinstance(session_id, bool) or not isinstance(session_id, int):
            return True
        with self.read() as s:
            row = s.execute(select(WebSession.token_sha256, WebSession.handoff_sha256, WebSession.created_at)
                            .where(WebSession.id == session_id)).first()
        if row is None or row.token_sha256 is not None or row.handoff_sha256 is None:
            return True
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=utcnow().tzinfo)
        return utcnow() - created > timedelta(seconds=HANDOFF_SECONDS)

    def end_web_session(self, session_id: int, *, actor_id) -> bool:
        """Sign out one browser: its session stops signing anyone in, at once and for good.
        Only its person ends it. False when it had already ended."""
        with self.write() as s:
            session = s.get(WebSession, session_id)
            if session is None:
                return False
            if not _is_self(actor_id, session.contributor_id):  # withdrawn people sign out too
                raise Forbidden("Only the person signed in can sign this browser out.")
            if session.revoked_at is not None:
                return False
            session.revoked_at, session.handoff_sha256 = utcnow(), None
            self._audit(s, actor_id, "session.end", "web_session", session.id)
            return True

    def end_all_web_sessions(self, person_id: int, *, actor_id) -> int:
        """Sign out everywhere: every session of the person ends (a lost phone, a shared one).
        The person themself or an organiser; returns how many ended."""
        with self.write() as s:
            if not _is_self(actor_id, person_id):
                _actor(s, actor_id, "sign this person out everywhere")
            ended = s.execute(update(WebSession)
                              .where(WebSession.contributor_id == person_id, WebSession.revoked_at.is_(None))
                              .values(revoked_at=utcnow(), handoff_sha256=None)).rowcount
            self._audit(s, actor_id, "session.end_all", "contributor", person_id, sessions=ended)
            return ended


__all__ = ["WebSessionStore", "HANDOFF_SECONDS", "DEFAULT_IDLE_DAYS"]
