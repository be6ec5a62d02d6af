"""Build a release of N generated items and compare it with a bare export of the same rows.

    python benchmarks/release_build.py [--items 100000] [--keep DIR]

Setup (not measured): a fresh SQLite store with one campaign, 2,000 consenting contributors, and
N accepted prompt_response and contextual items in two languages, each with two approving
reviews, inserted with bulk core SQL. Then, in the same process:

- bare export, in a child process: one query reading the rows (items joined with author
  pseudonyms and reviewer pseudonyms, the content as the JSON text the store holds) and one
  `pyarrow.parquet.write_table`;
- `build_release` with every gate on (consent, PII scan, exact and near duplicates, licence,
  language, datasheet answers, `load_dataset` and Croissant validation), in this process.

Last line, JSON: {"items", "release_s", "release_cpu_s", "bare_export_s", "bare_cpu_s",
"ratio", "peak_mb", "main_peak_mb", "worker_peak_mb", "workers", "bare_peak_mb", "load_avg",
"targets": {...}}. `peak_mb` is the largest sum of the resident memory of this process (setup
included) and its workers, sampled every 50 ms while the release builds. The release runs
first, so that its workers are the only children when it ends: `worker_peak_mb` is the largest
worker's maximum resident set and `main_peak_mb` this process's. The bare export runs afterwards in its own process, so the rows it
holds all at once count against neither. CPU seconds and the load average are printed because
other work on the machine stretches wall time. Targets (60 s for 1M items, 1.5 GB, 10x the
bare export) are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGETS = {"release_s_per_million": 60, "peak_mb": 1536, "ratio": 10}
WORDS = ("mbolea mahindi shamba mvua maji mbegu udongo mavuno soko bei mkulima ng'ombe kuku "
         "homa mtoto dawa kliniki afya chakula lishe mama mjamzito malaria kuhara kikohozi "
         "wiki mwezi asubuhi jioni kijiji mji mto ziwa mlima barabara jirani familia").split()
SN_WORDS = ("fetiraiza chibage munda mvura mvura mbeu ivhu goho musika mutengo murimi mombe huku "
            "fivha mwana mushonga kiriniki hutano chikafu mai ane pamuviri marariya manyoka").split()


def _text(rng: random.Random, words, n: int, i: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n)) + f" swali {i % 997}?"


def setup(folder: Path, items: int):
    from sqlalchemy import insert

    from jamii.core.records import Consent, Contributor, Item, Review
    from jamii.core.store import OPERATOR, Store
    from tests.support.release_store import ANSWERS

    store = Store(f"sqlite:///{folder / 'bench.sqlite3'}", folder / "audio")
    org, _ = store.add_contributor(roles=["organiser"], pseudonym="bench-org", actor_id=OPERATOR)
    camp = store.create_campaign("bench", "Benchmark campaign", languages=["sw", "sn"],
                                 item_kinds=["prompt_response", "contextual"],
                                 dialects={"sw": ["Kiunguja", "Kimvita"], "sn": ["Zezuru", "Karanga"]},
                                 domains=["agriculture", "health"], actor_id=org.id)
    ct = store.add_consent_text(camp.id, "1", "en", "I agree to open publication.", actor_id=org.id)
    store.set_rate_card(camp.id, {"item_accepted": {"amount": 50, "unit": "KES"}}, actor_id=org.id)
    now = datetime.now(timezone.utc)
    people = 2000
    rng = random.Random(7)
    with store.write() as s:
        s.execute(insert(Contributor), [
            {"pseudonym": f"p-{i:05d}", "roles": ["contributor", "reviewer"],
             "gender": rng.choice(["woman", "man", None]), "age_band": rng.choice(["18-24", "25-34", "35-44"]),
             "dialect": rng.choice(["Kiunguja", "Zezuru"]), "created_at": now, "languages_spoken": []}
            for i in range(people)])
        ids = [r[0] for r in s.execute(Contributor.__table__.select().with_only_columns(Contributor.id)
                                       .where(Contributor.pseudonym.like("p-%")))]
        s.execute(insert(Consent), [
            {"contributor_id": cid, "campaign_id": camp.id, "consent_text_id": ct.id, "version": "1",
             "text_sha256": ct.sha256, "scopes": {"open_publication": True, "model_evaluation": True,
                                                  "voice": False}, "accepted_at": now}
            for cid in ids])
    with store.read() as s:
        consent_of = dict(s.execute(Consent.__table__.select().with_only_columns(
            Consent.contributor_id, Consent.id)).all())
    rubric = [{"name": n, "description": "", "anchors": ["1", "2", "3", "4", "5"]}
              for n in ("usefulness", "relevance", "accuracy", "safety")]
    chunk = 20000
    next_id = 1
    for start in range(0, items, chunk):
        rows, reviews = [], []
        for i in range(start, min(items, start + chunk)):
            lang = "sw" if i % 3 else "sn"
            words = WORDS if lang == "sw" else SN_WORDS
            author = ids[i % people]
            kind = "prompt_response" if i % 4 else "contextual"
            if kind == "prompt_response":
                content = {"prompt": _text(rng, words, 14, i), "response": _text(rng, words, 18, i),
                           "task_type": "open_qa"}
            else:
                content = {"scenario": _text(rng, words, 12, i), "persona": "mkulima",
                           "question": _text(rng, words, 10, i),
                           "reference_answers": [_text(rng, words, 16, i)], "red_flags": [],
                           "rubric": rubric}
            rows.append({"id": next_id, "public_id": f"itm_{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}",
                         "campaign_id": camp.id, "kind": kind, "language": lang,
                         "dialect": ("Kiunguja" if lang == "sw" else "Zezuru") if i % 5 else None,
                         "domain": "health" if i % 2 else "agriculture", "author_id": author,
                         "consent_id": consent_of[author], "status": "accepted", "version": 1,
                         "content": content, "content_sha256": uuid.uuid4().hex + uuid.uuid4().hex,
                         "client_key": f"k{i}", "provenance": {"source": "collector"},
                         "created_at": now, "decided_at": now})
            for r in (1, 2):
                reviews.append({"item_id": next_id, "item_version": 1,
                                "reviewer_id": ids[(i + r * 7) % people], "verdict": "approve",
                                "reasons": [], "created_at": now})
            next_id += 1
        with store.write() as s:
            s.execute(insert(Item), rows)
            s.execute(insert(Review), reviews)
    return store, camp, ANSWERS


def _cached_setup(cache: Path | None, folder: Path, items: int):
    """`setup`, or a copy of a store `setup` seeded earlier into `cache` (same generator)."""
    if cache is None:
        return setup(folder, items)
    from jamii.core.store import Store
    from tests.support.release_store import ANSWERS

    seeded = cache / f"bench-{items}.sqlite3"
    if not seeded.exists():
        cache.mkdir(parents=True, exist_ok=True)
        store, _, _ = setup(folder, items)
        store.close()
        shutil.copyfile(folder / "bench.sqlite3", seeded)
    else:
        shutil.copyfile(seeded, folder / "bench.sqlite3")
    store = Store(f"sqlite:///{folder / 'bench.sqlite3'}", folder / "audio")
    return store, store.campaign("bench"), ANSWERS


class TreeMemory:
    """Samples the resident memory of this process plus all its children every 50 ms, in a
    thread: the peak of what a run held at one moment, workers included."""

    def __init__(self):
        import threading

        import psutil

        self._me, self.peak_mb, self._stop = psutil.Process(), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> float:
        import psutil

        total = 0
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:  # a worker that just ended
                pass
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, self._total())

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bare_export(url: str, campaign_id: int, out: Path) -> tuple[float, float, float]:
    """One query reading the rows from the store, one `pq.write_table` writing them.

    Returns (wall seconds, CPU seconds, peak MB of this process)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sqlalchemy import Text, create_engine, func, select, type_coerce
    from sqlalchemy.orm import aliased

    from jamii.core.records import Contributor, Item, Review

    engine = create_engine(url)
    t0, c0 = time.perf_counter(), time.process_time()
    author, reviewer = aliased(Contributor), aliased(Contributor)
    reviewers = (select(func.aggregate_strings(reviewer.pseudonym, ","))
                 .select_from(Review).join(reviewer, reviewer.id == Review.reviewer_id)
                 .where(Review.item_id == Item.id).scalar_subquery())
    query = (select(Item.public_id, Item.version, Item.kind, Item.language, Item.dialect,
                    Item.domain, author.pseudonym, reviewers, type_coerce(Item.content, Text))
             .join(author, author.id == Item.author_id)
             .where(Item.campaign_id == campaign_id, Item.status == "accepted"))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    cols = list(zip(*rows))
    del rows
    names = ("id", "version", "kind", "language", "dialect", "domain", "author", "reviewers",
             "content")
    table = pa.table({name: list(col) for name, col in zip(names, cols)})
    pq.write_table(table, out / "bare.parquet", compression="zstd")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    engine.dispose()
    return wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bare_in_child(url: str, campaign_id: int, out: Path) -> tuple[float, float, float]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(bare_export, (url, campaign_id, out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the release folder here")
    parser.add_argument("--cache", type=Path, default=None,
                        help="seed the store once into this folder and copy it for each run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jamii-bench-release-"))
    try:
        t0 = time.perf_counter()
        store, camp, answers = _cached_setup(args.cache, folder, args.items)
        print(f"setup: {args.items:,} items in {time.perf_counter() - t0:.1f} s (not measured)")
        load_before = os.getloadavg()[0]
        from jamii.datasheets import build_release
        from jamii.datasheets._collect import _workers

        out = args.keep or folder / "release"
        t0, c0 = time.perf_counter(), time.process_time()
        with TreeMemory() as memory:
            result = build_release(store, "bench", "1.0.0", out, answers=answers)
        release_s, main_cpu = time.perf_counter() - t0, time.process_time() - c0
        # before any other child runs: the children so far are the release's workers, so
        # RUSAGE_CHILDREN gives their CPU and the largest one's peak
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu = kids.ru_utime + kids.ru_stime
        release_cpu = main_cpu + workers_cpu
        main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_peak = kids.ru_maxrss / 1024 if workers_cpu > 0 else 0.0
        workers = _workers() if workers_cpu > 0 else 0
        # what was resident at once, sampled: this process (setup included) and its workers
        peak_mb = memory.peak_mb
        bare_s, bare_cpu, bare_peak = _bare_in_child(store.url, camp.id, folder)
        print(f"bare export: {bare_s:.2f} s (CPU {bare_cpu:.2f} s, peak {bare_peak:.0f} MB)")
        print(f"release: {result.items:,} items in {release_s:.2f} s; removed {result.removed}")
        scaled_target = TARGETS["release_s_per_million"] * max(args.items, 1) / 1_000_000
        print(f"targets: release < {scaled_target:.0f} s at this size ({TARGETS['release_s_per_million']} s "
              f"per million), peak < {TARGETS['peak_mb']} MB, ratio < {TARGETS['ratio']}x")
        store.close()
        print(json.dumps({"items": args.items, "released": result.items,
                          "release_s": round(release_s, 2), "release_cpu_s": round(release_cpu, 2),
                          "bare_export_s": round(bare_s, 2), "bare_cpu_s": round(bare_cpu, 2),
                          "ratio": round(release_s / bare_s, 2),
                          "cpu_ratio": round(release_cpu / bare_cpu, 2), "peak_mb": round(peak_mb),
                          "main_peak_mb": round(main_peak), "worker_peak_mb": round(worker_peak),
                          "workers": workers,
                          "main_cpu_s": round(main_cpu, 2), "workers_cpu_s": round(workers_cpu, 2),
                          "bare_peak_mb": round(bare_peak),
                          "load_avg": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                          "targets": TARGETS}))
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
