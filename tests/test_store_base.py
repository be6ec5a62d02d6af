"""The store's `core/store/_base.py`: migrations, the engine, transactions and the audit trail.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real,
migrated store. Nothing is mocked.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, select, text

from jamii.core.records import AuditEvent, Base
from jamii.core.store import OPERATOR, Store
from tests.support.store_world import RATES, count
from tests.support.store_world import world  # noqa: F401 - fixtures


# -------------------------------------------------------------------------- migrations & engine


def test_migrations_create_every_table(store):
    expected = set(Base.metadata.tables) | {"alembic_version"}
    assert set(store.tables()) == expected


def test_reopening_migrates_nothing_and_stays_at_head(store, tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from jamii.core.store._base import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()

    statements: list[str] = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", spy)
    try:
        again = Store(store.url, tmp_path / "audio")
    finally:
        event.remove(Engine, "before_cursor_execute", spy)
    try:
        ddl = [s for s in statements
               if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP", "INSERT", "UPDATE"))]
        assert ddl == [], f"re-opening a migrated store changed it: {ddl}"
        with again.read() as s:
            assert list(s.scalars(text("SELECT version_num FROM alembic_version"))) == [head]
    finally:
        again.close()


def test_models_and_migrations_agree(store):
    """Alembic autogenerate finds nothing to do: the migrations build exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_busy_timeout(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_write_is_one_transaction(store):
    """An error inside `write()` leaves nothing behind."""
    org, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    before = count(store, AuditEvent)
    with pytest.raises(RuntimeError):
        with store.write() as s:
            store._audit(s, org.id, "test.action", "campaign", 1)
            s.flush()
            raise RuntimeError("boom")
    assert count(store, AuditEvent) == before


# ---------------------------------------------------------------------------------------- audit


def test_organiser_actions_are_audited(world):
    store, org = world.store, world.org
    person, _ = store.add_contributor(roles=["contributor"], actor_id=org.id)
    store.set_roles(person.id, ["contributor", "reviewer"], actor_id=org.id)
    store.set_rate_card(world.campaign.id, RATES, actor_id=org.id)
    store.update_campaign(world.campaign.id, name="Kilimo 2", actor_id=org.id)
    store.withdraw(person.id, actor_id=org.id, reason="request")
    with store.read() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.actor_id == org.id)
                                .order_by(AuditEvent.id)))
    actions = [e.action for e in events]
    for action in ("campaign.create", "consent_text.add", "contributor.add", "contributor.roles",
                   "rate_card.set", "campaign.update", "contributor.withdraw"):
        assert action in actions, action
    roles = next(e for e in events if e.action == "contributor.roles")
    assert roles.record_id == str(person.id)
    assert roles.details == {"before": ["contributor"], "after": ["contributor", "reviewer"]}
    assert all(e.created_at is not None for e in events)
