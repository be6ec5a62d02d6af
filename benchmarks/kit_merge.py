"""A field kit's bundle merged into a large central store, against a bare insert of the same rows.

    python benchmarks/kit_merge.py [--backend postgres|sqlite] [--central-items 1000000]
                                   [--field-items 100000] [--clips 2000] [--reviewed 0.1]
                                   [--cache DIR] [--keep]

Setup (not measured, but timed and printed):
- central store A (PostgreSQL: a temporary schema on `JAMII_BENCH_PG_URL` or `JAMII_TEST_PG_URL`,
  default `postgresql+psycopg://postgres@127.0.0.1:5432/test`, dropped at the end; SQLite: a
  temporary file): a campaign (prompt_response, contextual, speech), a rate card paying reviews
  and accepted items, 2,000 consenting people (one in twenty also a reviewer) and N central
  items (three quarters prompt_response, a quarter contextual, real content hashes) by bulk
  insert (COPY on PostgreSQL, then VACUUM ANALYZE as autovacuum would). `--cache DIR` keeps the
  generated rows (COPY files, or the SQLite file) for later runs. Store B, the bare insert's
  target, holds the same rows.
- `create_kit` on A, `init_from_kit` on a new field SQLite store (the kit carries every central
  content hash). In the field: 20 newcomers added and consenting through the store, 10 items
  submitted and 2 of them approved twice through the store (`submit_item`, `record_review`);
  then, by bulk insert in the same shape (checked column by column against those), the other
  `--field-items` text items by 200 of the kit's people and the newcomers, `--clips` speech items
  besides, whose generated 16 kHz WAVs (1-2 s) are saved with `save_audio`, and for a share
  `--reviewed` of the text items two approvals by kit reviewers with the ledger entries
  `record_review` makes (two reviews, the author's accepted item). Every field row has the kit id.

Measured, each step in a fresh spawned process, so that its peak memory is its own:
- `bundle`: `write_bundle` on the field store: seconds, CPU seconds, the process's peak resident
  memory (VmHWM, imports included; `start_mb` is the RSS after imports and opening the store),
  the bundle's size;
- `merge`: `merge_bundle` into A: the same, and seconds by stage (reading the bundle through
  once to verify it; the recordings; each table's `merge_kit_rows`; the rest, decrypting and
  parsing);
- `bare`: the same rows inserted into B with SQLAlchemy core executemany, one transaction per
  2,000 rows (people, consents, items with RETURNING for their ids, reviews, ledger), and the
  recordings written with fsync as `save_audio` does; the rows are read from the field store and
  the people's ids resolved before the clock starts;
- `merge_again`: the same bundle merged into A a second time.

Last line, JSON: {"backend", "central_items", "field_items", "clips", "bundle_mb", "bundle_s",
"bundle_peak_mb", "merge_s", "merge_peak_mb", "merge_stages_s", "bare_s", "merge_vs_bare",
"merge_cpu_vs_bare", "merge_again_s", "added", "setup", "load_avg", "targets", ...}; on a busy
machine `merge_cpu_vs_bare` (this process's CPU seconds, the database server's not counted) is
the steadier ratio. Targets (merge within 3x the bare insert, peak memory of bundle and merge
under 1 GB) are printed, never asserted. Exit 1 when a count is wrong: the merge must add
exactly the bundle's rows and recordings (and accept the twice-approved items), the bare
insert the same, and the second merge nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
import uuid
import wave
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # support.pg
sys.path.insert(0, str(HERE))

from release_build import WORDS  # noqa: E402 - the same Swahili words

PG_BASE = os.environ.get("JAMII_BENCH_PG_URL",
                         os.environ.get("JAMII_TEST_PG_URL",
                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
TARGETS = {"merge_vs_bare": 3.0, "peak_mb": 1024}
BATCH = 2000
"""Rows per transaction of the bare insert: `merge_bundle`'s own batch."""
PEOPLE = 2000
FIELD_AUTHORS = 200
NEWCOMERS = 20
SUBMITTED = 10
COUNTED = ("contributors", "consents", "items", "reviews", "compensation_entries")
BUNDLE_TABLE = {"people": "contributors", "consents": "consents", "items": "items",
                "reviews": "reviews", "ledger": "compensation_entries"}
PG_CACHED = ("contributors", "consents", "items")
CACHE_FORMAT = "kit-merge-central/1"
SCOPES = {"open_publication": True, "model_evaluation": True, "voice": True}
RUBRIC = [{"name": n, "description": "", "anchors": ["1", "2", "3", "4", "5"]}
          for n in ("usefulness", "relevance", "accuracy", "safety")]


# --- generated content ----------------------------------------------------------------------
class Texts:
    """Sentences from a pool, each made unique by its number (so every content hash differs)."""

    def __init__(self, seed: int, size: int = 997):
        rng = random.Random(seed)
        self.pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
                     for _ in range(size)]

    def __call__(self, i: int, salt: str, offset: int = 0) -> str:
        return f"{self.pool[(i + offset) % len(self.pool)]} {salt} {i}?"

    def content(self, kind: str, i: int, salt: str) -> dict:
        """Content as `clean_content` leaves it (same keys, same order)."""
        if kind == "prompt_response":
            return {"prompt": self(i, salt), "response": self(i, salt, 7), "task_type": "open_qa"}
        return {"scenario": self(i, salt, 3), "persona": "mkulima", "question": self(i, salt, 5),
                "reference_answers": [self(i, salt, 11)], "red_flags": [], "rubric": RUBRIC}


def wav_clip(i: int, rng: random.Random) -> tuple[bytes, float]:
    """A distinct 16 kHz mono 16-bit WAV of 1 to 2 seconds: a tone with noise."""
    import numpy as np

    seconds = round(rng.uniform(1.0, 2.0), 3)
    t = np.arange(int(16000 * seconds)) / 16000
    noise = np.random.default_rng(i).standard_normal(t.size)
    signal = 0.3 * np.sin(2 * math.pi * (180 + i % 400) * t) + 0.05 * noise
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((signal * 32767).astype("<i2").tobytes())
    return out.getvalue(), seconds


# --- central stores -------------------------------------------------------------------------
class Backend:
    """A fresh database for one central store (a PostgreSQL schema or a SQLite file) and its
    data folder; `drop()` removes the schema."""

    def __init__(self, kind: str, folder: Path, name: str):
        self.kind, self.folder = kind, folder / name
        self.folder.mkdir(parents=True)
        self.audio, self.schema = self.folder / "audio", None
        if kind == "postgres":
            from support.pg import new_schema

            self.url, self.drop = new_schema(PG_BASE, "jamii_kitm_")
            self.schema = self.url.rsplit("%3D", 1)[1]
        else:
            self.url, self.drop = f"sqlite:///{self.folder / 'jamii.sqlite3'}", lambda: None

    def store(self, create: bool = True):
        from jamii.core.store import Store

        return Store(self.url, self.audio, create=create)


def central_basics(store):
    """What the organiser makes through the store (the same ids in every fresh store)."""
    from jamii.core.store import OPERATOR

    org, _ = store.add_contributor(roles=["organiser"], pseudonym="bench-org", actor_id=OPERATOR)
    camp = store.create_campaign(
        "kit-bench", "Field kit benchmark", languages=["sw"],
        item_kinds=["prompt_response", "contextual", "speech"],
        dialects={"sw": ["Kiunguja", "Kimvita"]}, domains=["agriculture", "health"],
        consent_scopes=list(SCOPES), actor_id=org.id)
    text = store.add_consent_text(camp.id, "1", "sw", "Nakubali kushiriki na kurekodiwa.",
                                  actor_id=org.id)
    store.set_rate_card(camp.id, {"item_accepted": {"amount": 50, "unit": "KES"},
                                  "review": {"amount": 10, "unit": "KES"}}, actor_id=org.id)
    return camp, text


def central_rows(store, camp, text, n_items: int) -> None:
    """2,000 consenting people and `n_items` central items, by bulk insert."""
    from sqlalchemy import insert, select

    from jamii.core.items import content_sha256
    from jamii.core.records import Consent, Contributor

    rng = random.Random(5)
    now = datetime.now(timezone.utc)
    with store.write() as s:
        s.execute(insert(Contributor), [
            {"uid": uuid.UUID(int=rng.getrandbits(128)).hex, "pseudonym": f"p-{i:05d}",
             "roles": ["contributor", "reviewer"] if i % 20 == 0 else ["contributor"],
             "dialect": rng.choice(["Kiunguja", "Kimvita"]), "languages_spoken": ["sw"],
             "created_at": now} for i in range(PEOPLE)])
        ids = list(s.scalars(select(Contributor.id).where(Contributor.pseudonym.like("p-%"))
                             .order_by(Contributor.id)))
        s.execute(insert(Consent), [
            {"uid": uuid.UUID(int=rng.getrandbits(128)).hex, "contributor_id": cid,
             "campaign_id": camp.id, "consent_text_id": text.id, "version": "1",
             "text_sha256": text.sha256, "scopes": SCOPES, "accepted_at": now} for cid in ids])
        consent_of = dict(s.execute(select(Consent.contributor_id, Consent.id)).all())
    texts = Texts(1)
    columns = ("public_id", "campaign_id", "kind", "language", "dialect", "domain", "author_id",
               "consent_id", "status", "version", "content", "content_sha256", "client_key",
               "provenance", "created_at", "decided_at")

    def rows():
        for i in range(n_items):
            kind = "contextual" if i % 4 == 0 else "prompt_response"
            content = texts.content(kind, i, "kati")
            author = ids[i % PEOPLE]
            status = "submitted" if i % 10 == 0 else "accepted"
            yield (f"itm_{rng.getrandbits(64):016x}", camp.id, kind, "sw",
                   "Kiunguja" if i % 3 else None, "health" if i % 2 else "agriculture", author,
                   consent_of[author], status, 1, content, content_sha256(kind, content),
                   f"central-{i}", {"source": "collector"}, now,
                   None if status == "submitted" else now)

    bulk_insert(store, "items", columns, rows())


@contextmanager
def pg_cursor(store, table: str | None = None):
    """A raw psycopg cursor, committed at the end; with `table`, that table's plain indexes are
    dropped first and built again at the end (much faster than keeping them during a COPY)."""
    raw = store.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            indexes = []
            if table:
                indexes = cur.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                    "current_schema() AND tablename = %s AND indexname LIKE 'ix_%%'",
                    (table,)).fetchall()
                for name, _ in indexes:
                    cur.execute(f'DROP INDEX "{name}"')
            yield cur
            for _, definition in indexes:
                cur.execute(definition)
        raw.commit()
    finally:
        raw.close()


def bulk_insert(store, table: str, columns, rows) -> None:
    """Rows (tuples in `columns` order) into `table`: COPY on PostgreSQL, executemany on SQLite."""
    import orjson
    from sqlalchemy import insert

    from jamii.core.records import Base

    if store.engine.dialect.name == "postgresql":
        def cell(v):
            return orjson.dumps(v).decode() if isinstance(v, (dict, list)) else v

        with pg_cursor(store, table) as cur, \
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([cell(v) for v in row])
        return
    model, chunk = Base.metadata.tables[table], []
    for row in rows:
        chunk.append(dict(zip(columns, row)))
        if len(chunk) == 20_000:
            with store.write() as s:
                s.execute(insert(model), chunk)
            chunk = []
    if chunk:
        with store.write() as s:
            s.execute(insert(model), chunk)


def pg_dump_rows(store, folder: Path) -> None:
    """The bulk rows of a seeded PostgreSQL central, as COPY files."""
    with pg_cursor(store) as cur:
        for table in PG_CACHED:
            where = " WHERE pseudonym LIKE 'p-%'" if table == "contributors" else ""
            with open(folder / f"{table}.copy", "wb") as fh, \
                    cur.copy(f"COPY (SELECT * FROM {table}{where} ORDER BY id) TO STDOUT") as copy:
                for data in copy:
                    fh.write(data)


def pg_load_rows(store, folder: Path) -> None:
    for table in PG_CACHED:
        with pg_cursor(store, table) as cur:
            with open(folder / f"{table}.copy", "rb") as fh, \
                    cur.copy(f"COPY {table} FROM STDIN") as copy:
                while data := fh.read(1 << 20):
                    copy.write(data)
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "
                        f"FROM {table}")


def vacuum_analyse(store) -> None:
    """PostgreSQL: VACUUM ANALYZE the bulk tables, as autovacuum would after a million rows."""
    from sqlalchemy import create_engine

    if store.engine.dialect.name != "postgresql":
        return
    engine = create_engine(store.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        for table in PG_CACHED:
            c.exec_driver_sql(f"VACUUM ANALYZE {table}")
    engine.dispose()


def seed_centrals(a: Backend, b: Backend, n_items: int, cache: Path | None, work: Path) -> dict:
    """Stores A and B with the same central rows, generated once (or read from `cache`)."""
    keep = (cache or work / "central-rows") / f"{a.kind}-{n_items}"
    meta = {"format": CACHE_FORMAT, "backend": a.kind, "central_items": n_items}
    stamp = keep / "meta.json"
    from_cache = stamp.exists() and json.loads(stamp.read_text()) == meta
    t0 = time.perf_counter()
    if a.kind == "sqlite":
        if not from_cache:
            store = a.store()
            central_rows(store, *central_basics(store), n_items)
            store.close()
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(a.folder / "jamii.sqlite3", keep / "central.sqlite3")
            stamp.write_text(json.dumps(meta))
        for target in (a, b):
            shutil.copyfile(keep / "central.sqlite3", target.folder / "jamii.sqlite3")
    else:
        for target in (a, b):
            store = target.store()
            camp, text = central_basics(store)
            if stamp.exists():
                pg_load_rows(store, keep)
            else:
                central_rows(store, camp, text, n_items)
                keep.mkdir(parents=True, exist_ok=True)
                pg_dump_rows(store, keep)
                stamp.write_text(json.dumps(meta))
            vacuum_analyse(store)
            store.close()
    return {"seconds": round(time.perf_counter() - t0, 1), "from_cache": from_cache}


# --- the field store ------------------------------------------------------------------------
def fill_field(field, camp_id: int, n_text: int, n_clips: int, reviewed: float) -> dict:
    """The field's work: a little through the store, the rest by bulk insert in the same shape."""
    from decimal import Decimal

    from sqlalchemy import insert, select

    from jamii.core.items import content_sha256
    from jamii.core.records import CompensationEntry, Consent, Contributor, Item, Review, new_uid
    from jamii.core.store import OPERATOR
    from jamii.core.store._items import new_public_id

    kit = field.field_kit()
    text = field.consent_text(camp_id, "sw")
    for i in range(NEWCOMERS):
        person, _ = field.add_contributor(roles=["contributor"], pseudonym=f"shamba-{i:03d}",
                                          actor_id=OPERATOR)
        field.accept_consent(person.id, text.id, SCOPES)
    with field.read() as s:
        consent_of = dict(s.execute(select(Consent.contributor_id, Consent.id)).all())
        people = s.execute(select(Contributor.id, Contributor.roles, Contributor.kit_id)
                           .order_by(Contributor.id)).all()
    reviewers = [pid for pid, roles, _ in people if "reviewer" in roles]
    authors = [pid for pid, roles, _ in people if pid in consent_of and roles == ["contributor"]]
    authors = authors[:FIELD_AUTHORS] + [pid for pid, _, k in people if k == kit]
    texts = Texts(2)
    kinds = ["contextual" if i % 4 == 0 else "prompt_response" for i in range(n_text)]
    for i in range(SUBMITTED):  # through the store: the shape every bulk row copies
        item = field.submit_item(campaign_id=camp_id, author_id=authors[i % len(authors)],
                                 kind=kinds[i], language="sw",
                                 content=texts.content(kinds[i], i, "shamba"), dialect="Kimvita",
                                 domain="agriculture", client_key=uuid.uuid4().hex).item
        if i < 2:
            for reviewer in reviewers[:2]:
                field.record_review(item.id, reviewer, "approve")
    with field.read() as s:
        card_id = s.scalar(select(CompensationEntry.rate_card_id).limit(1))
        next_id = s.scalar(select(Item.id).order_by(Item.id.desc()).limit(1)) + 1
    now = datetime.now(timezone.utc)
    rng = random.Random(9)
    pay = {"review": Decimal("10.0000"), "item_accepted": Decimal("50.0000")}
    items, reviews, ledger = [], [], []

    def flush():
        with field.write() as s:
            for model, rows in ((Item, items), (Review, reviews), (CompensationEntry, ledger)):
                if rows:
                    s.execute(insert(model), rows)
                rows.clear()

    def earn(person, activity, key, item_id, when):
        ledger.append({"uid": new_uid(), "kit_id": kit, "contributor_id": person,
                       "campaign_id": camp_id, "activity": activity, "source_key": key,
                       "item_id": item_id, "language": "sw", "rate_card_id": card_id,
                       "quantity": Decimal("1.0000"), "amount": pay[activity], "unit": "KES",
                       "status": "owed", "created_at": when})

    audio_s, n_reviewed, total = 0.0, 2, n_text + n_clips
    for i in range(SUBMITTED, total):
        author = authors[i % len(authors)]
        when = now - timedelta(seconds=total - i)
        if i < n_text:
            kind, content = kinds[i], texts.content(kinds[i], i, "shamba")
        else:
            t0 = time.perf_counter()
            data, seconds = wav_clip(i, rng)
            digest = field.save_audio(data, ".wav")
            audio_s += time.perf_counter() - t0
            kind = "speech"
            content = {"transcript": texts(i, "sauti"), "prompt_text": texts(i, "soma", 3),
                       "audio_sha256": digest, "duration_s": seconds, "sample_rate": 16000}
        public_id = new_public_id()
        accepted = kind != "speech" and rng.random() < reviewed
        items.append({"id": next_id, "kit_id": kit, "public_id": public_id, "campaign_id": camp_id,
                      "kind": kind, "language": "sw", "dialect": "Kimvita" if i % 3 else None,
                      "domain": "health" if i % 2 else "agriculture", "author_id": author,
                      "consent_id": consent_of[author],
                      "status": "accepted" if accepted else "submitted", "version": 1,
                      "content": content, "content_sha256": content_sha256(kind, content),
                      "client_key": uuid.uuid4().hex, "provenance": {"source": "collector"},
                      "created_at": when, "decided_at": when if accepted else None})
        if accepted:
            n_reviewed += 1
            for reviewer in rng.sample([r for r in reviewers if r != author], 2):
                uid = new_uid()
                reviews.append({"uid": uid, "kit_id": kit, "item_id": next_id, "item_version": 1,
                                "reviewer_id": reviewer, "verdict": "approve", "reasons": [],
                                "suggested_edit": None, "created_at": when})
                earn(reviewer, "review", f"review:{uid}", next_id, when)
            earn(author, "item_accepted", f"item:{public_id}", next_id, when)
        next_id += 1
        if len(items) >= 20_000:
            flush()
    flush()
    _check_same_shape(field, kit)
    return {"reviewed_items": n_reviewed, "audio_s": round(audio_s, 1)}


def _check_same_shape(field, kit: str) -> None:
    """The bulk rows fill the same columns as the store's own rows of the same kind (the first
    item, review and ledger entry), with content as `clean_content` leaves it and its hash
    (SystemExit otherwise)."""
    from sqlalchemy import select

    from jamii.core.items import clean_content, content_sha256
    from jamii.core.records import CompensationEntry, Item, Review

    varying = {"dialect", "domain"}  # left empty on some bulk rows on purpose
    with field.read() as s:
        for model, same in ((Item, ("kind", "status")), (Review, ()),
                            (CompensationEntry, ("activity",))):
            mine = s.scalar(select(model).where(model.kit_id == kit).order_by(model.id).limit(1))
            bulk = s.scalar(select(model).where(
                model.kit_id == kit, *(getattr(model, c) == getattr(mine, c) for c in same))
                .order_by(model.id.desc()).limit(1))

            def filled(record):
                return {c.key for c in model.__table__.columns
                        if getattr(record, c.key) is not None and c.key not in varying}

            differ = filled(mine) ^ filled(bulk)
            if model is Item and (
                    clean_content(bulk.kind, bulk.content).content != bulk.content
                    or list(mine.content) != list(bulk.content)
                    or content_sha256(bulk.kind, bulk.content) != bulk.content_sha256):
                differ.add("content")
            if differ or bulk.id == mine.id:
                raise SystemExit(f"setup: bulk {model.__tablename__} rows differ from the "
                                 f"store's own: {sorted(differ)}")


# --- measured steps, each in its own process ------------------------------------------------
def peak_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss
    carries the parent's peak into a spawned child on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """RSS at the start; wall and CPU seconds from there, and the process's peak memory."""

    def __init__(self):
        import psutil

        self.start_mb = psutil.Process().memory_info().rss / 2**20
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def done(self, **out) -> dict:
        return {"seconds": time.perf_counter() - self.t0, "cpu_s": time.process_time() - self.c0,
                "start_mb": self.start_mb, "peak_mb": peak_mb(), **out}


def step_bundle(field_url: str, field_audio: str, out: str) -> dict:
    from jamii.core.kit.bundles import write_bundle
    from jamii.core.store import OPERATOR, Store

    field = Store(field_url, field_audio, create=False)
    clock = Clock()
    summary = write_bundle(field, Path(out), actor_id=OPERATOR)
    result = clock.done(rows=summary.rows, recordings=summary.recordings,
                        bytes=Path(out).stat().st_size)
    field.close()
    return result


def step_merge(url: str, audio: str, bundle: str) -> dict:
    """`merge_bundle`, with the seconds of each stage (the wrappers only time the calls)."""
    import jamii.core.kit.bundles as bundles
    from jamii.core.store import OPERATOR, Store

    store = Store(url, audio, create=False)
    stages: dict[str, float] = {}

    def timed(name, fn):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                key = name(*args) if callable(name) else name
                stages[key] = stages.get(key, 0.0) + time.perf_counter() - t0
        return run

    bundles.verify_sealed = timed("verify", bundles.verify_sealed)
    store.save_audio = timed("recordings", store.save_audio)
    store.merge_kit_rows = timed(lambda kit, table, rows: table, store.merge_kit_rows)
    clock = Clock()
    report = bundles.merge_bundle(store, Path(bundle), actor_id=OPERATOR)
    result = clock.done(added=report.added, retries=report.retries, decided=report.decided,
                        conflicts=len(report.conflicts), duplicates=len(report.duplicates))
    stages["decrypt_parse_other"] = result["seconds"] - sum(stages.values())
    result["stages_s"] = {k: round(v, 2) for k, v in stages.items()}
    store.close()
    return result


def step_bare(url: str, audio: str, field_url: str, field_audio: str) -> dict:
    """The bundle's rows inserted as plainly as the central store holds them (see the module)."""
    from decimal import Decimal

    from sqlalchemy import insert, select

    from jamii.core.records import CompensationEntry, Consent, Contributor, Item, Review
    from jamii.core.store import OPERATOR, Store
    from jamii.core.store._kit_merge import ITEM_FIELDS, PERSON_FIELDS
    from jamii.core.store._kits import _when

    field = Store(field_url, field_audio, create=False)
    kit = field.field_kit()
    tables = {table: list(rows) for table, rows in field.kit_records(actor_id=OPERATOR)}
    clips = {d: field.audio_path(d).read_bytes() for d in sorted(
        {r["content"]["audio_sha256"] for r in tables["items"] if r["kind"] == "speech"})}
    field.close()
    store = Store(url, audio, create=False)
    with store.read() as s:
        person = dict(s.execute(select(Contributor.uid, Contributor.id)).all())
        consent = dict(s.execute(select(Consent.uid, Consent.id)).all())
    now = datetime.now(timezone.utc)

    def insert_batches(model, rows, values, key=None) -> dict:
        """`rows` as `values` makes them, a transaction per batch; {key: id} when asked."""
        ids = {}
        for start in range(0, len(rows), BATCH):
            batch = [values(r) for r in rows[start:start + BATCH]]
            with store.engine.begin() as c:
                if key is None:
                    c.execute(insert(model), batch)
                else:
                    ids.update({k: i for i, k in c.execute(
                        insert(model).returning(model.id, key), batch)})
        return ids

    clock = Clock()
    person.update(insert_batches(Contributor, tables["people"], lambda r: {
        **{f: r.get(f) for f in PERSON_FIELDS}, "kit_id": kit,
        "created_at": _when(r["created_at"])}, Contributor.uid))
    consent.update(insert_batches(Consent, tables["consents"], lambda r: {
        "uid": r["uid"], "kit_id": kit, "contributor_id": person[r["person"]],
        "campaign_id": r["campaign_id"], "consent_text_id": r["consent_text_id"],
        "version": r["version"], "text_sha256": r["text_sha256"], "scopes": r["scopes"],
        "accepted_at": _when(r["accepted_at"]), "withdrawn_at": _when(r["withdrawn_at"])},
        Consent.uid))
    item_id = insert_batches(Item, tables["items"], lambda r: {
        **{f: r[f] for f in ITEM_FIELDS}, "author_id": person[r["author"]],
        "consent_id": consent.get(r["consent"]), "kit_id": kit,
        "created_at": _when(r["created_at"]),
        "decided_at": None if r["status"] == "submitted" else now}, Item.public_id)
    insert_batches(Review, tables["reviews"], lambda r: {
        "uid": r["uid"], "kit_id": kit, "item_id": item_id[r["item"]],
        "item_version": r["item_version"], "reviewer_id": person[r["reviewer"]],
        "verdict": r["verdict"], "reasons": r["reasons"] or [],
        "suggested_edit": r["suggested_edit"], "created_at": _when(r["created_at"])})
    insert_batches(CompensationEntry, tables["ledger"], lambda r: {
        "uid": r["uid"], "kit_id": kit, "contributor_id": person[r["person"]],
        "campaign_id": r["campaign_id"], "activity": r["activity"],
        "source_key": r["source_key"], "item_id": item_id.get(r["item"]),
        "language": r["language"], "rate_card_id": r["rate_card_id"],
        "quantity": Decimal(r["quantity"]), "amount": Decimal(r["amount"]), "unit": r["unit"],
        "created_at": _when(r["created_at"])})
    rows_s = time.perf_counter() - clock.t0
    for digest, data in clips.items():
        path = store.audio_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    result = clock.done()
    result["stages_s"] = {"rows": round(rows_s, 2),
                          "recordings": round(result["seconds"] - rows_s, 2)}
    store.close()
    return result


def in_child(fn, *args) -> dict:
    """`fn(*args)` in a fresh spawned process: its imports and its memory its own."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


# --- checks ---------------------------------------------------------------------------------
def counts(backend: Backend) -> dict[str, int]:
    from sqlalchemy import text

    store = backend.store(create=False)
    try:
        with store.engine.connect() as c:
            out = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}
            out["accepted_items"] = c.execute(text(
                "SELECT count(*) FROM items WHERE kit_id IS NOT NULL AND status = 'accepted'"
            )).scalar()
    finally:
        store.close()
    out["audio_files"] = sum(1 for _ in backend.audio.rglob("*.wav"))
    return out


def delta(after: dict, before: dict) -> dict:
    return {k: after[k] - before[k] for k in after}


class Load:
    """The 1-minute load average, sampled every 5 s while the measured steps run."""

    def __init__(self):
        self.samples, self._stop = [os.getloadavg()[0]], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(5):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join()
        return [round(min(self.samples), 1), round(max(self.samples), 1)]


def check(made: dict, merged: dict, again: dict, changes: dict, reviewed: int) -> list[str]:
    """Every way the counts can be wrong, as sentences (none: all is well)."""
    expected = {BUNDLE_TABLE[t]: n for t, n in made["rows"].items() if t in BUNDLE_TABLE}
    expected.update(audio_files=made["recordings"], accepted_items=reviewed)
    problems = []
    for name in ("merge", "bare insert"):
        wrong = {k: (changes[name][k], v) for k, v in expected.items() if changes[name][k] != v}
        if wrong:
            problems.append(f"{name} added {wrong} (added, bundle's rows)")
    if any(merged["added"][t] != made["rows"][t] for t in BUNDLE_TABLE):
        problems.append(f"merge report {merged['added']} != bundle rows {made['rows']}")
    if merged["conflicts"] or merged["duplicates"]:
        problems.append(f"merge listed {merged['conflicts']} conflicts and "
                        f"{merged['duplicates']} duplicates")
    if any(changes["merge again"].values()) or any(again["added"].values()):
        problems.append(f"second merge added {changes['merge again']} ({again['added']})")
    return problems


# --- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres",
                    help="the central store's database (the field store is always SQLite)")
    ap.add_argument("--central-items", type=int, default=1_000_000)
    ap.add_argument("--field-items", type=int, default=100_000, help="text items made in the field")
    ap.add_argument("--clips", type=int, default=2000,
                    help="speech items (each with its recording) made in the field besides")
    ap.add_argument("--reviewed", type=float, default=0.1,
                    help="share of the field's text items approved twice in the field")
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep the generated central rows here and reuse them (they take minutes)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and schemas")
    args = ap.parse_args(argv)
    if args.field_items < SUBMITTED:
        ap.error(f"--field-items must be at least {SUBMITTED}")

    from jamii.core.kit.kits import create_kit, init_from_kit
    from jamii.core.store import OPERATOR, Store

    work = Path(tempfile.mkdtemp(prefix="jamii-kit-merge-"))
    backends: list[Backend] = []
    setup: dict = {}
    try:
        for name in ("central", "bare"):
            backends.append(Backend(args.backend, work, name))
        a, b = backends
        print(f"central stores ({args.backend}): {args.central_items:,} items each ...",
              flush=True)
        setup["central"] = seed_centrals(a, b, args.central_items, args.cache, work)
        central = a.store(create=False)
        camp = central.campaign("kit-bench")
        t0 = time.perf_counter()
        kit = create_kit(central, camp.id, work / "field.kit", actor_id=OPERATOR)
        central.close()
        setup["create_kit_s"] = round(time.perf_counter() - t0, 1)
        setup["kit_mb"] = round((work / "field.kit").stat().st_size / 2**20, 1)
        field_audio = work / "field" / "audio"
        field_url = f"sqlite:///{field_audio.parent / 'jamii.sqlite3'}"
        field = Store(field_url, field_audio)
        t0 = time.perf_counter()
        init_from_kit(field, work / "field.kit", actor_id=OPERATOR)
        setup["init_from_kit_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        setup["field"] = fill_field(field, camp.id, args.field_items, args.clips, args.reviewed)
        field.close()
        setup["field"]["seconds"] = round(time.perf_counter() - t0, 1)
        print(f"setup: {setup} (kit: {kit.people:,} people, {kit.known_items:,} hashes)",
              flush=True)

        load = Load()
        bundle, before, changes = work / "field.bundle", counts(a), {}
        print("bundle ...", flush=True)
        made = in_child(step_bundle, field_url, str(field_audio), str(bundle))
        print("merge ...", flush=True)
        merged = in_child(step_merge, a.url, str(a.audio), str(bundle))
        merged_counts = counts(a)
        changes["merge"] = delta(merged_counts, before)
        print("bare insert ...", flush=True)
        bare_before = counts(b)
        bare = in_child(step_bare, b.url, str(b.audio), field_url, str(field_audio))
        changes["bare insert"] = delta(counts(b), bare_before)
        print("merge again ...", flush=True)
        again = in_child(step_merge, a.url, str(a.audio), str(bundle))
        changes["merge again"] = delta(counts(a), merged_counts)
        load_range = load.stop()
        problems = check(made, merged, again, changes, setup["field"]["reviewed_items"])
    finally:
        if args.keep:
            print(f"kept: {work}" + "".join(f", schema {x.schema}" for x in backends if x.schema))
        else:
            for backend in backends:
                backend.drop()
            shutil.rmtree(work, ignore_errors=True)

    ratio, cpu_ratio = merged["seconds"] / bare["seconds"], merged["cpu_s"] / bare["cpu_s"]
    peak = max(made["peak_mb"], merged["peak_mb"], again["peak_mb"])
    print()
    print(f"{'step':<14}{'seconds':>9}{'cpu s':>8}{'start MB':>10}{'peak MB':>9}")
    for name, r in (("bundle", made), ("merge", merged), ("bare insert", bare),
                    ("merge again", again)):
        print(f"{name:<14}{r['seconds']:>9.2f}{r['cpu_s']:>8.2f}{r['start_mb']:>10.0f}"
              f"{r['peak_mb']:>9.0f}")
    print(f"bundle: {made['bytes'] / 2**20:.1f} MB, rows {made['rows']}, "
          f"{made['recordings']} recordings")
    for name, r in (("merge", merged), ("bare insert", bare), ("merge again", again)):
        print(f"{name} by stage (s): {r['stages_s']}")
    print(f"merge / bare insert: {ratio:.2f}x (target <= {TARGETS['merge_vs_bare']}x) "
          f"{'ok' if ratio <= TARGETS['merge_vs_bare'] else 'OVER'}")
    print(f"the same in this process's CPU seconds (the database server's not counted): "
          f"{cpu_ratio:.2f}x")
    print(f"peak memory, bundle and merge: {peak:.0f} MB (target < {TARGETS['peak_mb']} MB) "
          f"{'ok' if peak < TARGETS['peak_mb'] else 'OVER'}")
    print(f"load average (1 min) while measuring: {load_range[0]} to {load_range[1]} "
          f"on {os.cpu_count()} cores")
    for problem in problems:
        print(f"FAIL: {problem}")
    result = {
        "backend": args.backend, "central_items": args.central_items,
        "field_items": args.field_items, "clips": args.clips, "bundle_rows": made["rows"],
        "bundle_mb": round(made["bytes"] / 2**20, 1), "bundle_s": round(made["seconds"], 2),
        "bundle_cpu_s": round(made["cpu_s"], 2), "bundle_peak_mb": round(made["peak_mb"]),
        "bundle_start_mb": round(made["start_mb"]),
        "merge_s": round(merged["seconds"], 2), "merge_cpu_s": round(merged["cpu_s"], 2),
        "merge_peak_mb": round(merged["peak_mb"]), "merge_start_mb": round(merged["start_mb"]),
        "merge_stages_s": merged["stages_s"], "added": merged["added"],
        "decided": merged["decided"], "bare_s": round(bare["seconds"], 2),
        "bare_stages_s": bare["stages_s"], "merge_vs_bare": round(ratio, 2),
        "merge_cpu_vs_bare": round(cpu_ratio, 2),
        "merge_again_s": round(again["seconds"], 2), "merge_again_peak_mb": round(again["peak_mb"]),
        "merge_again_stages_s": again["stages_s"], "setup": setup, "load_avg": load_range,
        "problems": problems, "targets": TARGETS,
    }
    print(json.dumps(result))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
