"""Engine, sessions and migrations: the only place jamii opens a database connection."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Union

import orjson
from sqlalchemy import create_engine, event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from jamii.core import checks
from jamii.core.langtags import LanguageTagError, normalise_tag
from jamii.core.records import AuditEvent, Campaign, Consent, Contributor, RateCard

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class StoreError(Exception):
    """A request the store refuses; the message says what to do instead. `code`, where given,
    names the case for a page that words it in the reader's language (never parse the English)."""

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message)
        self.code = code


class NotFound(StoreError):
    pass


class Forbidden(StoreError):
    """The acting person's role or consent does not allow this."""


class Operator:
    """The person at this machine's shell: `jamii` commands, `jamii init` and the seeds.

    Whoever can run the command line can open the database file itself, so the store lets
    this actor do what an organiser may; the web apps never pass it. Audit events record it
    as no person (actor_id null) with `operator: true`.
    """

    def __repr__(self) -> str:
        return "OPERATOR"


OPERATOR = Operator()

Actor = Union[int, Operator, None]
"""Who does a mutation: a contributor id, or OPERATOR (None is refused)."""

ORGANISER = ("organiser",)


def _actor(session: Session, actor_id: "int | Operator | None", what: str, *,
           roles: tuple[str, ...] = ORGANISER, self_id: int | None = None,
           operator: bool = True) -> Contributor | None:
    """Check that `actor_id` may `what` (e.g. "change roles"), before anything is written.

    The operator (the command line) may do anything an organiser may, unless `operator` is
    False (a decision that must name a person). A person may act when they hold one of
    `roles`, or when they are `self_id` (their own profile, their own withdrawal); a withdrawn
    person may do nothing. No actor (None) is refused: the store never trusts that its caller
    checked. Returns the acting person (None for the operator).
    """
    if isinstance(actor_id, Operator):
        if roles and operator:
            return None
        if roles:
            raise Forbidden(f"Name the organiser who decides to {what} (--as PSEUDONYM): the "
                            "operator alone cannot.")
        raise Forbidden(f"Only the person themself can {what}; the operator cannot do it for them.")
    if actor_id is None or isinstance(actor_id, bool) or not isinstance(actor_id, int):
        raise Forbidden(f"Say who wants to {what}: the store does not act for no one.")
    person = session.get(Contributor, actor_id)
    if person is None:
        raise Forbidden(f"No contributor with id {actor_id} can {what}.")
    if person.withdrawn_at is not None:
        raise Forbidden(f"This account has withdrawn and can no longer {what}; an organiser can "
                        "invite you again.")
    if self_id is not None and actor_id == self_id:
        return person
    if not set(roles) & set(person.roles or ()):
        who = [f"{r}s" for r in roles] + (["the person themself"] if self_id is not None else [])
        raise Forbidden(f"Only {' or '.join(who)} can {what}.")
    return person


def _get(session: Session, model: type, key: Any) -> Any:
    """The record of `model` with primary key `key`, or NotFound naming what is missing."""
    found = session.get(model, key)
    if found is None:
        raise NotFound(f"No {model.__tablename__.rstrip('s').replace('_', ' ')} with id {key}.")
    return found


def _tag(tag: str, field: str) -> str:
    """A BCP-47 tag in its normal form, or StoreError naming the field."""
    try:
        return normalise_tag(tag)
    except LanguageTagError as exc:
        raise StoreError(f"{field}: {exc}") from None


def _active_consent(session: Session, contributor_id: int, campaign_id: int) -> Consent | None:
    """The newest unwithdrawn consent to the campaign's current version, if any."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    return session.scalar(
        select(Consent).where(
            Consent.contributor_id == contributor_id, Consent.campaign_id == campaign_id,
            Consent.version == campaign.current_consent_version, Consent.withdrawn_at.is_(None))
        .order_by(Consent.id.desc()).limit(1))


def _current_rate_card(session: Session, campaign_id: int) -> RateCard | None:
    """The campaign's rate card in force: its newest version."""
    return session.scalar(select(RateCard).where(RateCard.campaign_id == campaign_id)
                          .order_by(RateCard.version.desc()).limit(1))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, decimals as strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _refuse_bad_text(*problems: list[checks.Problem]) -> None:
    """Raise StoreError naming every blocking problem of free-text values; nothing is written."""
    blocking = [p.message for group in problems for p in group if p.blocking]
    if blocking:
        raise StoreError(" ".join(blocking))


def _json_text(value: Any) -> str:
    """JSON columns' serializer: orjson (compact UTF-8, several times faster than the json
    module on the large records a release writes: a million item versions). Whatever orjson
    refuses goes to the json module, which accepts or refuses it as it always did."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except TypeError:
        return json.dumps(value)


def make_engine(url: str) -> Engine:
    """SQLite in WAL mode with a busy timeout, or any other SQLAlchemy URL (PostgreSQL).

    SQLite write transactions start with BEGIN IMMEDIATE so that concurrent writers queue on
    the busy timeout instead of failing with "database is locked" when a reader upgrades.
    """
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60}, json_serializer=_json_text)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('jamii_begin', 'DEFERRED')}")

        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=_json_text)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (safe to run on every start)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class StoreBase:
    """Sessions and the audit trail, shared by every part of the store."""

    def __init__(self, url: str, audio_dir: str | Path, *, create: bool = True):
        self.url = url
        self.engine = make_engine(url)
        self.audio_dir = Path(audio_dir)
        if create:
            migrate(self.engine)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        writer_bind = (
            self.engine.execution_options(jamii_begin="IMMEDIATE")
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        self._writer = sessionmaker(writer_bind, expire_on_commit=False)
        if hasattr(self, "_stamp_kit"):  # a field store's new records carry its kit's id
            event.listen(self._writer, "before_flush", self._stamp_kit)

    def check_actor(self, actor_id: "int | Operator | None", what: str, *,
                    roles: tuple[str, ...] = ORGANISER) -> None:
        """Raise Forbidden unless `actor_id` may `what`: for a caller about to do something
        outside the store (an upload) that ends in a store write by the same actor."""
        with self.read() as s:
            _actor(s, actor_id, what, roles=roles)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything inside commits together or not at all."""
        with self._writer.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def tables(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    @staticmethod
    def _audit(session: Session, actor_id: "int | Operator | None", action: str, record_type: str,
               record_id: object = None, **details) -> None:
        if isinstance(actor_id, Operator):
            actor_id, details = None, {**details, "operator": True}
        session.add(
            AuditEvent(actor_id=actor_id, action=action, record_type=record_type,
                       record_id=None if record_id is None else str(record_id), details=details)
        )

    def audit_events(self, limit: int = 200, action_prefix: str | None = None) -> list[dict[str, Any]]:
        q = select(AuditEvent, Contributor.pseudonym).join(
            Contributor, Contributor.id == AuditEvent.actor_id, isouter=True)
        if action_prefix:
            q = q.where(AuditEvent.action.startswith(action_prefix))
        with self.read() as s:
            rows = s.execute(q.order_by(AuditEvent.id.desc()).limit(limit)).all()
        return [{"id": e.id, "when": e.created_at, "actor": who or "", "action": e.action,
                 "record": f"{e.record_type}:{e.record_id or ''}", "details": _plain(e.details)}
                for e, who in rows]

