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


def test_migration_0008_gives_old_records_global_ids_and_ledger_keys(store_url, tmp_path):
    """A store from before field kits: its people, consents, reviews and ledger entries get
    distinct global ids, and its ledger's source keys name items and reviews by them, so an
    entry for the same item made in a kit can never be a second one."""
    from alembic import command
    from alembic.config import Config

    from jamii.core.store._base import MIGRATIONS, make_engine

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(store_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    now = "2026-01-01 00:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO campaigns (id, slug, name, description, languages, dialects, domains, "
                          "item_kinds, targets, acceptance_rule, consent_scopes, compensation_options, "
                          "rating_settings, licence_plan, created_at) VALUES (1, 'k', 'K', '', '[]', '{}', "
                          "'[]', '[]', '{}', '{}', '[]', '{}', '{}', 'cc-by-4.0', :t)"), {"t": now})
        for pid in (1, 2):
            conn.execute(text("INSERT INTO contributors (id, pseudonym, roles, languages_spoken, created_at) "
                              "VALUES (:i, :p, '[]', '[]', :t)"), {"i": pid, "p": f"p{pid}", "t": now})
        conn.execute(text("INSERT INTO items (id, public_id, campaign_id, kind, language, author_id, status, "
                          "version, content, content_sha256, client_key, provenance, created_at) VALUES "
                          "(7, 'itm_seven', 1, 'prompt_response', 'sw', 1, 'accepted', 1, '{}', 'x', 'c7', '{}', :t)"),
                     {"t": now})
        conn.execute(text("INSERT INTO reviews (id, item_id, item_version, reviewer_id, verdict, reasons, created_at) "
                          "VALUES (3, 7, 1, 2, 'approve', '[]', :t)"), {"t": now})
        for eid, who, activity, key in ((1, 1, "item_accepted", "item:7"), (2, 1, "recording_minute", "audio:7"),
                                        (3, 2, "review", "review:3"), (4, 2, "rating", "rating:9")):
            conn.execute(text("INSERT INTO compensation_entries (id, contributor_id, campaign_id, activity, "
                              "source_key, quantity, amount, unit, status, created_at) VALUES "
                              "(:i, :w, 1, :a, :k, 1, 5, 'KES', 'owed', :t)"),
                         {"i": eid, "w": who, "a": activity, "k": key, "t": now})
    engine.dispose()
    migrated = Store(store_url, tmp_path / "audio")
    try:
        with migrated.read() as s:
            keys = dict(s.execute(text("SELECT id, source_key FROM compensation_entries")).all())
            review_uid = s.execute(text("SELECT uid FROM reviews WHERE id = 3")).scalar()
            uids = [u for t in ("contributors", "reviews", "compensation_entries")
                    for u in s.scalars(text(f"SELECT uid FROM {t}"))]
        assert keys == {1: "item:itm_seven", 2: "audio:itm_seven", 3: f"review:{review_uid}", 4: "rating:9"}
        assert all(len(u) == 32 for u in uids) and len(set(uids)) == len(uids) == 7
    finally:
        migrated.close()
