"""Several writer processes submit at once: nothing is lost, nothing is stored twice.

Eight processes (spawned, like separate server processes) share one store: a SQLite file, or a
PostgreSQL schema. Each submits its own items, and in between, pairs of processes submit the
same client keys at the same moment (a double click that reached two server processes, or a
retry racing the original), and now and then all eight submit one key together. Every
submission must come back with an item id, every key must be stored exactly once, and every
process that sent a key must get the same item for it.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import traceback

import pytest
from sqlalchemy import func, select

from support.pg import pg_schema_url
from jamii.core.records import Item

WRITERS = 8
OWN = 80          # keys only this process sends
SHARED = 20       # keys sent by both processes of a pair, at the same moment
STORM = 4         # keys sent by all eight processes at the same moment
SHARED_EVERY = OWN // SHARED


def _content(key: str) -> dict:
    return {"prompt": f"Swali {key}: mvua ikichelewa, nipande nini?",
            "response": f"Jibu {key}: panda mtama au mihogo inayostahimili ukame."}


def _writer(url, audio_dir, campaign_id, authors, worker, start, pair_barrier, all_barrier, out):
    """Submit OWN own keys, SHARED keys together with the partner, STORM keys with everyone."""
    from jamii.core.store import Store

    results, errors = [], []
    pair = worker // 2
    try:
        store = Store(url, audio_dir)  # what every server process does on start
        start.wait(timeout=120)
        plan = []
        for n in range(OWN):
            plan.append((f"own-{worker}-{n}", authors[worker], None))
            if n % SHARED_EVERY == SHARED_EVERY - 1:
                plan.append((f"pair-{pair}-{n // SHARED_EVERY}", authors[2 * pair], pair_barrier))
            if n % (OWN // STORM) == 0:
                plan.append((f"storm-{n // (OWN // STORM)}", authors[0], all_barrier))
        for key, author, barrier in plan:
            if barrier is not None:
                barrier.wait(timeout=120)
            try:
                sub = store.submit_item(campaign_id=campaign_id, author_id=author,
                                        kind="prompt_response", language="sw",
                                        content=_content(key), client_key=key)
                results.append((key, sub.item.id, sub.created))
            except Exception as exc:  # noqa: BLE001
                errors.append(f"worker {worker} {key}: {type(exc).__name__}: {exc}")
        store.close()
    except Exception:  # noqa: BLE001
        errors.append(f"worker {worker}: {traceback.format_exc()}")
        for b in (start, pair_barrier, all_barrier):
            b.abort()
    out.put((worker, results, errors))


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def run(backend, tmp_path_factory):
    """Run the eight writers once per backend; the tests below judge the outcome."""
    tmp = tmp_path_factory.mktemp(f"concurrency-{backend}")
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp / 'jamii.sqlite3'}", (lambda: None)
    else:
        url, drop = pg_schema_url()
    try:
        yield _run_writers(url, tmp / "audio")
    finally:
        drop()


def _run_writers(url, audio_dir) -> dict:
    from jamii.core.store import OPERATOR, Store

    store = Store(url, audio_dir)
    campaign = store.create_campaign("mvua", "Mvua", languages=["sw"], actor_id=OPERATOR)
    text = store.add_consent_text(campaign.id, "1", "en", "I agree.", actor_id=OPERATOR)
    authors = []
    for _ in range(WRITERS):
        person, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        store.accept_consent(person.id, text.id, {"open_publication": True})
        authors.append(person.id)

    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(WRITERS + 1), ctx.Queue()
    pair_barriers = [ctx.Barrier(2) for _ in range(WRITERS // 2)]
    all_barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_writer, args=(url, str(audio_dir), campaign.id, authors, w,
                                               start, pair_barriers[w // 2], all_barrier, out))
             for w in range(WRITERS)]
    for p in procs:  # tests/conftest.py keeps __main__ safe for spawn after an AppTest
        p.start()
    began = time.monotonic()
    start.wait(timeout=120)
    reports = [out.get(timeout=200) for _ in procs]
    elapsed = time.monotonic() - began
    for p in procs:
        p.join(timeout=30)
    with store.read() as s:
        rows = s.execute(select(Item.client_key, Item.id, Item.content)
                         .where(Item.campaign_id == campaign.id)).all()
        total = s.scalar(select(func.count()).select_from(Item))
        dupes = s.execute(select(Item.client_key).group_by(Item.client_key)
                          .having(func.count() > 1)).all()
    store.close()
    print(f"{SENT} submissions by {WRITERS} processes in {elapsed:.1f} s")
    return {
        "exitcodes": [p.exitcode for p in procs],
        "results": [r for _, res, _ in reports for r in res],
        "errors": [e for _, _, errs in reports for e in errs],
        "rows": rows, "total": total, "dupes": dupes,
    }


SENT = WRITERS * OWN + 2 * (WRITERS // 2) * SHARED + WRITERS * STORM
EXPECTED_KEYS = ({f"own-{w}-{n}" for w in range(WRITERS) for n in range(OWN)}
                 | {f"pair-{p}-{j}" for p in range(WRITERS // 2) for j in range(SHARED)}
                 | {f"storm-{j}" for j in range(STORM)})


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_nothing_is_lost_or_doubled(run):
    assert run["exitcodes"] == [0] * WRITERS
    assert run["dupes"] == []
    assert run["total"] == len(run["rows"]) == len(EXPECTED_KEYS)
    stored = {key: (item_id, content) for key, item_id, content in run["rows"]}
    assert set(stored) == EXPECTED_KEYS
    for key, (_, content) in stored.items():
        assert content["prompt"] == _content(key)["prompt"]
    # whoever got an answer got the stored item; exactly one submission created each item
    by_key: dict[str, list[tuple[int, bool]]] = {}
    for key, item_id, created in run["results"]:
        by_key.setdefault(key, []).append((item_id, created))
    for key, answers in by_key.items():
        assert {item_id for item_id, _ in answers} == {stored[key][0]}, key
        assert sum(created for _, created in answers) == 1, key
    # a submission that failed never left its key unstored
    assert set(by_key) == EXPECTED_KEYS




@pytest.mark.slow
@pytest.mark.timeout(240)
def test_every_racing_submission_gets_its_item_back(run, backend, request):
    assert run["errors"] == []
    assert len(run["results"]) == SENT, "a submission came back without an item"
    counts: dict[str, int] = {}
    for key, _, _ in run["results"]:
        counts[key] = counts.get(key, 0) + 1
    assert counts["storm-0"] == WRITERS and counts["pair-0-0"] == 2
