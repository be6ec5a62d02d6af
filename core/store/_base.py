"""Engine, sessions and migrations: the only place jamii opens a database connection."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import orjson
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from jamii.core.records import AuditEvent

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class StoreError(Exception):
    """A request the store refuses; the message says what to do instead."""


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
