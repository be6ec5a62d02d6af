"""A SQLite cache of finished requests: one row per request, committed as soon as it finishes.

Per-sample scores and summaries are cached beside them, so a repeated run recomputes nothing,
and so are the descriptions of the models that answered (what `Backend.describe()` said), so a
run whose answers are all cached describes its model without loading it.

The key (see `jamii.evaluate._tasks.cache_key`) covers the model and its revision, the prompt
(or the audio's sha256), the generation parameters and the item's id and version, so a changed
item, model or setting is computed again and nothing else is. WAL mode lets a run be killed at
any moment (kill -9) without losing committed rows.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    revision TEXT,
    task TEXT NOT NULL,
    item_id TEXT NOT NULL,
    item_version INTEGER,
    params TEXT NOT NULL,
    output TEXT NOT NULL,
    finished_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS summaries (key TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (key TEXT PRIMARY KEY, payload TEXT NOT NULL);
"""


class Cache:
    """Finished requests by key."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            self._conn.commit()

    def _get(self, table: str, column: str, keys: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key, {column} FROM {table} WHERE key IN ({marks})", chunk)
                out.update(rows.fetchall())
        return out

    def get_many(self, keys: list[str]) -> dict[str, str]:
        """Outputs of the requests that are cached."""
        return self._get("requests", "output", keys)

    def get_scores(self, keys: list[str]) -> dict[str, str]:
        """Per-sample scores already computed (JSON by key)."""
        return self._get("scores", "payload", keys)

    def put_scores(self, rows: list[tuple[str, str]]) -> None:
        with self._lock:
            self._conn.executemany("INSERT OR REPLACE INTO scores (key, payload) VALUES (?, ?)", rows)
            self._conn.commit()

    def _get_json(self, table: str, key: str) -> dict | None:
        found = self._get(table, "payload", [key])
        return json.loads(found[key]) if key in found else None

    def _put_json(self, table: str, key: str, value: dict) -> None:
        with self._lock:
            self._conn.execute(f"INSERT OR REPLACE INTO {table} (key, payload) VALUES (?, ?)",
                               (key, json.dumps(value)))
            self._conn.commit()

    def get_summary(self, key: str) -> dict | None:
        return self._get_json("summaries", key)

    def put_summary(self, key: str, summary: dict) -> None:
        self._put_json("summaries", key, summary)

    def get_model(self, key: str) -> dict | None:
        """A model's stored description (see `put_model`), or None."""
        return self._get_json("models", key)

    def put_model(self, key: str, description: dict) -> None:
        """Store what a loaded backend said of its model (`describe()`), by model and settings."""
        self._put_json("models", key, description)

    def put_many(self, rows: list[dict]) -> None:
        """Commit finished requests (dicts with the table's columns except finished_at)."""
        now = time.time()
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO requests (key, model, revision, task, item_id, item_version,"
                " params, output, finished_at) VALUES (:key, :model, :revision, :task, :item_id,"
                " :item_version, :params, :output, :finished_at)",
                [{**r, "finished_at": now} for r in rows],
            )
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM requests").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
