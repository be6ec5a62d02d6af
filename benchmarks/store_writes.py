"""Concurrent submissions to the store: throughput, latency, and proof that nothing is lost or doubled.

    python benchmarks/store_writes.py [--backend sqlite|postgres|both] [--writers 8] [--submissions 2000]

Each backend gets a fresh store (a temporary SQLite file; a temporary PostgreSQL schema that is
dropped afterwards). `--writers` processes (spawned, as the collector's server processes would
be) each open their own `Store` on it and submit their share of `--submissions` items as fast
as they can, all starting at once. One submission in ten re-sends a key submitted a moment
before (a double click or a retry after a dropped connection): it must come back as the same
item and store nothing.

Prints a table, then a final line of JSON:

    {"sqlite": {"submissions": ..., "per_second": ..., "p50_ms": ..., "p95_ms": ...,
                "lost": 0, "duplicated": 0, ...}, "postgres": {...}}

and exits 1 if any backend lost or duplicated a submission. Speed targets are printed for
information only; they never fail the run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support.pg

PG_BASE = os.environ.get("JAMII_BENCH_PG_URL",
                         os.environ.get("JAMII_TEST_PG_URL",
                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
TARGET_PER_SECOND = {"sqlite": 200, "postgres": 200}
"""Indicative targets, printed next to the measurements and never asserted."""
RETRY_EVERY = 10


def content_for(key: str) -> dict:
    return {"prompt": f"Swali la kipimo {key}: mbolea gani inafaa kwa mahindi?",
            "response": f"Jibu la kipimo {key}: tumia samadi iliyooza vizuri."}


def writer(url: str, audio_dir: str, campaign_id: int, author_id: int, worker: int, count: int,
           run: str, start, out) -> None:
    """One writer process: open a Store, wait for the others, submit `count` items."""
    from jamii.core.store import Store

    results, errors = [], []
    try:
        store = Store(url, audio_dir, create=False)
        # a first read warms the connection pool so the timings measure submissions
        store.campaign(campaign_id)
    except Exception:  # noqa: BLE001
        start.wait(timeout=120)
        out.put({"worker": worker, "results": [], "errors": [traceback.format_exc()],
                 "t0": time.time(), "t1": time.time()})
        return
    start.wait(timeout=120)
    t0 = time.time()
    keys: list[str] = []
    for n in range(count):
        if n % RETRY_EVERY == RETRY_EVERY - 1 and keys:
            key, retry = keys[-1], True
        else:
            key, retry = f"{run}-w{worker}-{n}", False
            keys.append(key)
        began = time.perf_counter()
        try:
            sub = store.submit_item(campaign_id=campaign_id, author_id=author_id,
                                    kind="prompt_response", language="sw",
                                    content=content_for(key), client_key=key)
            results.append((key, sub.item.id, sub.created, retry, time.perf_counter() - began))
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none hidden
            errors.append(f"{key}: {type(exc).__name__}: {exc}")
    t1 = time.time()
    store.close()
    out.put({"worker": worker, "results": results, "errors": errors, "t0": t0, "t1": t1})


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def run_backend(backend: str, url: str, audio_dir: Path, writers: int, submissions: int) -> dict:
    from sqlalchemy import func, select

    from jamii.core.records import Item
    from jamii.core.store import OPERATOR, Store

    store = Store(url, audio_dir)
    org, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    campaign = store.create_campaign("bench", "Benchmark", languages=["sw"], actor_id=org.id)
    text = store.add_consent_text(campaign.id, "1", "en", "I agree.", actor_id=org.id)
    authors = []
    for _ in range(writers):
        person, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        store.accept_consent(person.id, text.id, {"open_publication": True,
                                                  "model_evaluation": True, "voice": True})
        authors.append(person.id)

    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(writers + 1), ctx.Queue()
    run = uuid.uuid4().hex[:8]
    shares = [submissions // writers + (1 if i < submissions % writers else 0) for i in range(writers)]
    procs = [ctx.Process(target=writer, args=(url, str(audio_dir), campaign.id, authors[i], i,
                                              shares[i], run, start, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    start.wait(timeout=300)
    reports = [out.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(timeout=60)

    results = [r for rep in reports for r in rep["results"]]
    errors = [e for rep in reports for e in rep["errors"]]
    elapsed = max(rep["t1"] for rep in reports) - min(rep["t0"] for rep in reports)
    latencies = [r[4] * 1000 for r in results]

    with store.read() as s:
        rows = s.execute(select(Item.client_key, Item.id).where(Item.campaign_id == campaign.id)).all()
        total_rows = s.scalar(select(func.count()).select_from(Item))
    store.close()
    stored: dict[str, list[int]] = {}
    for key, item_id in rows:
        stored.setdefault(key, []).append(item_id)
    submitted = {f"{run}-w{w}-{n}" for w in range(writers) for n in range(shares[w])
                 if not (n % RETRY_EVERY == RETRY_EVERY - 1 and n > 0)}
    acknowledged: dict[str, set[int]] = {}
    for key, item_id, _created, _retry, _lat in results:
        acknowledged.setdefault(key, set()).add(item_id)
    lost = sum(1 for key in submitted
               if key not in stored or key not in acknowledged
               or acknowledged[key] != set(stored[key]))
    duplicated = (total_rows - len(stored)) + sum(len(ids) - 1 for ids in stored.values()) + sum(
        1 for key in stored if key not in submitted)
    created = sum(1 for r in results if r[2])
    return {
        "submissions": len(results) + len(errors),
        "distinct_keys": len(submitted),
        "retries": sum(1 for r in results if r[3]),
        "created": created,
        "errors": len(errors),
        "error_sample": errors[:3],
        "writers": writers,
        "seconds": round(elapsed, 3),
        "per_second": round((len(results) + len(errors)) / elapsed, 1) if elapsed else None,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "target_per_second": TARGET_PER_SECOND[backend],
        "lost": lost,
        "duplicated": duplicated,
    }


def sqlite_case(writers: int, submissions: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="jamii-bench-"))
    try:
        return run_backend("sqlite", f"sqlite:///{tmp / 'jamii.sqlite3'}", tmp / "audio",
                           writers, submissions)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def postgres_case(writers: int, submissions: int) -> dict:
    from support.pg import new_schema

    url, drop = new_schema(PG_BASE, "jamii_bench_")
    tmp = Path(tempfile.mkdtemp(prefix="jamii-bench-"))
    try:
        return run_backend("postgres", url, tmp / "audio", writers, submissions)
    finally:
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--submissions", type=int, default=2000,
                        help="submissions in all, shared between the writers")
    args = parser.parse_args(argv)
    if args.writers < 1 or args.submissions < args.writers:
        parser.error("need at least one writer and one submission per writer")

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    summary: dict[str, dict] = {}
    for backend in backends:
        print(f"{backend}: {args.writers} writer processes, {args.submissions} submissions ...",
              file=sys.stderr, flush=True)
        case = sqlite_case if backend == "sqlite" else postgres_case
        summary[backend] = case(args.writers, args.submissions)

    header = f"{'backend':<10}{'subs':>7}{'errors':>8}{'per s':>9}{'target':>8}{'p50 ms':>9}" \
             f"{'p95 ms':>9}{'p99 ms':>9}{'lost':>6}{'dup':>6}"
    print(header)
    print("-" * len(header))
    for backend, r in summary.items():
        print(f"{backend:<10}{r['submissions']:>7}{r['errors']:>8}{r['per_second']:>9}"
              f"{r['target_per_second']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
              f"{r['lost']:>6}{r['duplicated']:>6}")
        for err in r["error_sample"]:
            print(f"  error: {err}")
    print(json.dumps(summary, sort_keys=True))
    bad = any(r["lost"] or r["duplicated"] for r in summary.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
