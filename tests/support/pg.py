"""A PostgreSQL schema of its own for each test or benchmark, on the test server.

The server is 127.0.0.1:5432 with trust authentication (database `test`) unless
JAMII_TEST_PG_URL says otherwise. With JAMII_REQUIRE_POSTGRES=1 a missing server fails
instead of skipping, so CI cannot pass without having run the PostgreSQL tests.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

PG_BASE = os.environ.get("JAMII_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_BASE, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


PG_AVAILABLE = _pg_available()


def pg_schema_url() -> tuple[str, callable]:
    """A fresh schema on the test server, its URL, and a function that drops it."""
    if not PG_AVAILABLE:
        if os.environ.get("JAMII_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (JAMII_REQUIRE_POSTGRES=1) but {PG_BASE} does not answer")
        pytest.skip("PostgreSQL server not reachable")
    return new_schema(PG_BASE, "jamii_t_")


def new_schema(base: str, prefix: str) -> tuple[str, callable]:
    """Create a uniquely named schema on the server at `base`: its URL (search_path set to
    it) and a function that drops it with everything in it."""
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return url, drop
