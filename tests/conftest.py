"""Shared fixtures: real stores on SQLite and PostgreSQL, never mocks.

PostgreSQL tests run whenever the server answers (127.0.0.1:5432, trust auth, database
`test`, or JAMII_TEST_PG_URL); each test gets its own schema, dropped afterwards, so runs never
collide. With JAMII_REQUIRE_POSTGRES=1 (set by `make test` in CI) a missing server fails the
run instead of skipping, so CI cannot pass without having run them.
"""

from __future__ import annotations

import sys

import pytest

from support.pg import PG_AVAILABLE, PG_BASE, pg_schema_url  # noqa: F401 - re-exported


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """The URL of an empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jamii.sqlite3'}"
    else:
        url, drop = pg_schema_url()
        yield url
        drop()


@pytest.fixture
def store(store_url, tmp_path):
    """A migrated, empty store on each backend."""
    from jamii.core.store import Store

    s = Store(store_url, tmp_path / "audio")
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path):
    """A migrated, empty SQLite store, for tests whose subject is not the backend."""
    from jamii.core.store import Store

    s = Store(f"sqlite:///{tmp_path / 'jamii.sqlite3'}", tmp_path / "audio")
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Streamlit's AppTest runs app scripts as `__main__`; processes spawned later (store and
    release workers) re-run the parent's `__main__`, so put the real one back after each test."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
