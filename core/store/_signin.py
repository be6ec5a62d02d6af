"""Sign-in: invite codes and passwords, throttled against guessing.

    person = store.sign_in_with_code("ABCD-EFGH-JKLM", client="203.0.113.7")
    person = store.sign_in_with_password("amina", "...", client="203.0.113.7")

Each returns the person, or None when the code or password is wrong; it raises
`TooManyAttempts` (with `retry_after` seconds) while a login or a client is blocked, and
`BadSignInInput` for text no person could have typed (NUL and other control characters,
absurd lengths), before anything reaches the database.

Throttle. Failures are counted per key: the login name (hashed) for passwords, and the client
(its address, hashed) for both codes and passwords. After `threshold` failures a key is
blocked for `base` seconds, doubling with every further failure up to `ceiling`; an hour
without attempts forgets the count, and a successful sign-in forgets the login's count. An
attempt is charged *before* its password is checked and refunded when it succeeds, so a
burst of parallel guesses cannot slip past the count, and a refused attempt never runs argon2:
that bounds the CPU and memory a stranger can make the server spend. Unknown logins are
counted exactly like real ones, so blocking does not reveal which logins exist either.

Clients are keyed by `client_key`: an IPv4 address whole, an IPv6 address by its /64 (one
ordinary IPv6 subscriber holds a whole /64, 2^64 addresses to cycle through). Cycling login
names and client keys together still slips past both per-key counts, so one more count spans
every attempt: `GLOBAL_FAILURES_PER_MINUTE`, kept in the same table under the reserved key
'global' (the others are 'login:<sha256>' and 'client:<sha256>', so nothing collides with it).

Why not a library: `limits` keeps its counters in Redis, Memcached, MongoDB or etcd, none of
which a field laptop or a small server runs; `pyrate-limiter` has SQLite and PostgreSQL
buckets, but they open their own connections outside the store's engine and keep tables
outside its migrations, and they meter every call (a leaky bucket) rather than failures with
an exponential backoff that a success clears. The state here is one small table
(`sign_in_throttle`) in the store itself, so every collector and dashboard process on one
PostgreSQL throttles together, and a SQLite deployment needs nothing more.

Equal work: an unknown login, or a person without a password, is checked against a dummy
argon2 hash of the same parameters (`_passwords.verify_password`), so each answer costs one
argon2 verify whether or not the login exists. The argon2 parameters are stated in
`jamii.core.store._passwords`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import yaml
from sqlalchemy import delete, or_, select

from jamii.core.checks import normalise_text
from jamii.core.records import Contributor, ContributorContact, SignInThrottle, utcnow
from jamii.core.store._base import StoreError
from jamii.core.store._passwords import hash_password, needs_rehash, verify_password
from jamii.core.store._people import PeopleStore, normalise_code

MAX_CODE_CHARS = 64
MAX_LOGIN_CHARS = 120
MAX_PASSWORD_CHARS = 1024
QUIET_RESET = timedelta(hours=1)
"""A key with no attempt for this long starts counting from zero again."""
GLOBAL_FAILURES_PER_MINUTE = 60
"""Failed sign-ins allowed per minute across every login and client together; the next attempt
waits (TooManyAttempts) until the minute is over, before argon2 runs. Why: the per-login and
per-client counts never stop someone who changes both on every guess (any login name, an
address from a botnet or a fresh IPv6 /64), and each guess costs one argon2 verify of 19 MiB
and tens of milliseconds. This cap bounds that to about one failed verify a second (at most
twice the cap across the edge of two minutes) on every process of one store together. The
price: while someone floods wrong guesses, everyone else's sign-in waits too, for at most the
rest of the minute; a success does not count (its charge is refunded) and does not reset the
count. A jamii deployment is tens to hundreds of people, who mistype far less than this."""
GLOBAL_KEY = "global"
"""The reserved `sign_in_throttle` key of the global count; its `last_at` is the minute's start."""
GLOBAL_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Throttle:
    """After `threshold` failures block for `base` seconds, doubling per failure up to `ceiling`."""

    threshold: int
    base: int = 60
    ceiling: int = 30 * 60

    def block_seconds(self, failures: int) -> int | None:
        if failures < self.threshold:
            return None
        return min(self.ceiling, self.base * 2 ** min(failures - self.threshold, 20))


class TooManyAttempts(StoreError):
    """Sign-in is refused for `retry_after` seconds after repeated failures."""

    def __init__(self, retry_after: int):
        self.retry_after = max(1, int(retry_after))
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(f"Too many attempts: try again in {minutes} minute"
                         f"{'' if minutes == 1 else 's'}.")

    @property
    def minutes(self) -> int:
        return math.ceil(self.retry_after / 60)


class BadSignInInput(StoreError):
    """A sign-in field holds characters no code, login or password can contain."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def client_key(client: str) -> str:
    """The key a client address is throttled by: an IPv4 address whole, an IPv6 address by
    its /64 (an IPv4 address written as IPv6, ::ffff:a.b.c.d, as the IPv4 address). Anything
    that is not an address (a host name, "local", an already-keyed /64) is kept as it is."""
    try:
        address = ipaddress.ip_address(client.strip())
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))  # drops any %zone
    return str(address)


def _aware(when: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the store writes UTC."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when


_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_JOINERS = frozenset("\u200c\u200d")  # part of spelling in several scripts (Persian, Malayalam...)


_FIELD_NAMES = {"code": "invite code", "login": "login name", "password": "password"}


def check_sign_in_field(field: str, value: str | None, limit: int, *, strict: bool = True) -> None:
    """Refuse what no person types into a sign-in field (`code`, `login` or `password`), so it
    never reaches the database (PostgreSQL refuses a NUL in text with an error).

    Codes and login names take printable characters only; passwords only refuse NUL and
    broken (surrogate) characters, so any password that could be set still signs in."""
    if value is None:
        return
    name = _FIELD_NAMES[field]
    if not isinstance(value, str):
        raise BadSignInInput(field, f"The {name} must be text.")
    if len(value) > limit:
        raise BadSignInInput(field, f"The {name} is too long: at most {limit} characters.")
    for ch in value:
        category = unicodedata.category(ch)
        if ch == "\x00" or category == "Cs" or (
                strict and category in _BAD_CATEGORIES and ch not in _JOINERS):
            raise BadSignInInput(field, f"The {name} contains a character that cannot be typed "
                                        f"(U+{ord(ch):04X}): type it again by hand.")


@lru_cache(maxsize=1)
def demo_code_hashes() -> tuple[str, ...]:
    """sha256 of every invite code in the seeds that ship with jamii: public, in every copy."""
    try:
        text = (importlib.resources.files("jamii.seeds") / "people.yaml").read_text("utf-8")
        people = (yaml.safe_load(text) or {}).get("people") or []
    except (OSError, ModuleNotFoundError, yaml.YAMLError):
        return ()
    return tuple(_sha256(normalise_code(str(p["invite_code"])))
                 for p in people if isinstance(p, dict) and p.get("invite_code"))


class SignInStore(PeopleStore):
    """Sign-in with a throttle shared through the store; overrides `PeopleStore`'s."""

    login_throttle = Throttle(threshold=5)
    """Per login name: five tries, then 1, 2, 4... minutes, at most 30."""
    client_throttle = Throttle(threshold=20)
    """Per client address, over every login and code: a classroom behind one address mistypes."""

    @staticmethod
    def sign_in_clock() -> datetime:
        return utcnow()

    # --- sign-in ------------------------------------------------------------------------------
    def sign_in_with_code(self, code: str, *, client: str | None = None) -> Contributor | None:
        check_sign_in_field("code", code, MAX_CODE_CHARS)
        clean = normalise_code(code or "")
        if not clean:
            return None
        keys = self._throttle_keys(None, client)
        blocked, charged_at = self._charge(keys)
        with self.read() as s:
            person = s.scalar(select(Contributor).where(
                Contributor.invite_code_sha256 == _sha256(clean)))
        with self.write() as s:
            self._settle(s, keys, ok=person is not None, blocked=blocked, method="code",
                         client=client, charged_at=charged_at)
        return person

    def sign_in_with_password(self, login_name: str, password: str, *,
                              client: str | None = None) -> Contributor | None:
        check_sign_in_field("login", login_name, MAX_LOGIN_CHARS)
        check_sign_in_field("password", password, MAX_PASSWORD_CHARS, strict=False)
        if not login_name or not password:
            return None
        login_name = normalise_text(login_name)  # as the store keeps login names (NFC, trimmed)
        keys = self._throttle_keys(login_name, client)
        blocked, charged_at = self._charge(keys)
        with self.read() as s:
            contact = s.scalar(select(ContributorContact).where(
                ContributorContact.login_name == login_name))
            stored = contact.password_hash if contact else None
            person_id = contact.contributor_id if contact else None
        ok = verify_password(stored, password)  # one argon2 verify, known login or not
        fresh = hash_password(password) if ok and needs_rehash(stored) else None
        with self.write() as s:
            person = s.get(Contributor, person_id) if ok else None
            if fresh:
                s.get(ContributorContact, person_id).password_hash = fresh
            self._settle(s, keys, ok=person is not None, blocked=blocked, method="password",
                         client=client, login_name=login_name, charged_at=charged_at)
        return person

    # --- the throttle -------------------------------------------------------------------------
    def _throttle_keys(self, login_name: str | None, client: str | None) -> list[str]:
        keys = [GLOBAL_KEY]
        if login_name is not None:
            keys.append("login:" + _sha256(login_name.casefold()))
        if client:
            keys.append("client:" + _sha256(client_key(client)))
        return sorted(keys)  # one lock order for every process

    def _rule(self, key: str) -> Throttle:
        return self.login_throttle if key.startswith("login:") else self.client_throttle

    def _charge(self, keys: list[str]) -> tuple[int | None, datetime]:
        """Count this attempt as a failure until it succeeds; refuse while a key is blocked or
        the global cap is reached.

        Returns the seconds of any block this attempt's charge started (for the audit), and
        the time it was charged (for the refund)."""
        now = self.sign_in_clock()
        cap = GLOBAL_FAILURES_PER_MINUTE  # read at each attempt, so it can be changed
        with self.write() as s:
            self._ensure_rows(s, keys, now)
            rows = list(s.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))
                                  .order_by(SignInThrottle.key).with_for_update()))
            waits = []
            for row in rows:
                if row.key == GLOBAL_KEY:
                    if now - _aware(row.last_at) >= GLOBAL_WINDOW:  # a new minute begins
                        row.failures, row.last_at, row.blocked_until = 0, now, None
                    if row.failures >= cap:
                        waits.append((_aware(row.last_at) + GLOBAL_WINDOW - now).total_seconds())
                elif row.blocked_until is not None and _aware(row.blocked_until) > now:
                    waits.append((_aware(row.blocked_until) - now).total_seconds())
            if waits:
                raise TooManyAttempts(math.ceil(max(waits)))
            started = None
            for row in rows:
                if row.key == GLOBAL_KEY:
                    row.failures += 1
                    row.blocked_until = (_aware(row.last_at) + GLOBAL_WINDOW
                                         if row.failures >= cap else None)
                    continue
                if _aware(row.last_at) < now - QUIET_RESET:
                    row.failures = 0
                row.failures += 1
                row.last_at = now
                seconds = self._rule(row.key).block_seconds(row.failures)
                row.blocked_until = now + timedelta(seconds=seconds) if seconds else None
                if seconds:
                    started = max(started or 0, seconds)
        return started, now

    def _ensure_rows(self, session, keys: list[str], now: datetime) -> None:
        dialect = session.get_bind().dialect.name
        values = [{"key": k, "failures": 0, "last_at": now} for k in keys]
        if dialect in ("postgresql", "sqlite"):
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            session.execute(insert(SignInThrottle).values(values)
                            .on_conflict_do_nothing(index_elements=["key"]))
            return
        for value in values:  # pragma: no cover - jamii runs on SQLite and PostgreSQL
            if session.get(SignInThrottle, value["key"]) is None:
                session.add(SignInThrottle(**value))
                session.flush()

    def _settle(self, session, keys: list[str], *, ok: bool, blocked: int | None, method: str,
                client: str | None, charged_at: datetime, login_name: str | None = None) -> None:
        """A success refunds its charge (and clears its login's count, never the global one);
        a failure is audited."""
        if ok:
            for key in keys:
                row = session.get(SignInThrottle, key, with_for_update=True)
                if row is None:
                    continue
                if key == GLOBAL_KEY:
                    if _aware(row.last_at) <= charged_at:  # charged in this minute, not the last
                        row.failures = max(0, row.failures - 1)
                        if row.failures < GLOBAL_FAILURES_PER_MINUTE:
                            row.blocked_until = None
                    continue
                if key.startswith("login:"):
                    session.delete(row)
                    continue
                row.failures = max(0, row.failures - 1)
                if self._rule(key).block_seconds(row.failures) is None:
                    row.blocked_until = None
            return
        details = {"method": method}
        if login_name is not None:
            details["login_sha256"] = _sha256(login_name.casefold())[:16]
        if client:
            details["client_sha256"] = _sha256(client_key(client))[:16]
        if blocked:
            details["blocked_seconds"] = blocked
        self._audit(session, None, "sign_in.failed", "sign_in", None, **details)
        now = self.sign_in_clock()
        session.execute(delete(SignInThrottle).where(
            SignInThrottle.last_at < now - 2 * QUIET_RESET,
            or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until < now)))

    # --- demo people --------------------------------------------------------------------------
    def demo_people_active(self) -> list[str]:
        """Pseudonyms of people who still sign in with a public demo invite code (from the seeds
        that ship with jamii): anyone who has read the README can act as them."""
        hashes = demo_code_hashes()
        if not hashes:
            return []
        with self.read() as s:
            return list(s.scalars(select(Contributor.pseudonym).where(
                Contributor.invite_code_sha256.in_(hashes), Contributor.withdrawn_at.is_(None))
                .order_by(Contributor.pseudonym)))
