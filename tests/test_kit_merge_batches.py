"""A merge asks the central store once per batch, not once per row (issue 14): what that
batching could break and a user would notice (SQLite and PostgreSQL, the `store` fixture).

Two field reviews of one item in one batch decide it once, with the central votes counted; a
ledger entry whose work the central store has paid already, or that a batch carries twice, is
paid once; a review batch that mixes retries, conflicts and new reviews reports each; and
writing a bundle holds no table whole in memory.
"""

from __future__ import annotations

import tracemalloc
import uuid

import pytest
from sqlalchemy import func, select

from jamii.core.kit.bundles import merge_bundle, write_bundle
from jamii.core.kit.kits import create_kit, init_from_kit
from jamii.core.records import CompensationEntry, Item, Review
from jamii.core.store import OPERATOR
from tests.test_kit_create import ANSWER, central, field_store  # noqa: F401 - fixture


def content(text: str) -> dict:
    return {"prompt": text, "response": ANSWER, "task_type": "open_qa"}


QUESTIONS = ("Mahindi ya msimu wa vuli hupandwa lini?", "Mtama unastahimili ukame kiasi gani?",
             "Maji ya mvua yahifadhiwe vipi?")


@pytest.fixture
def kit_out(central, tmp_path):
    """Two more central reviewers, a kit, and on its laptop three items by Amina (merged
    once, before any field review)."""
    store, camp, people = central
    for name in ("mkaguzi2", "mkaguzi3"):
        person, _ = store.add_contributor(roles=["reviewer"], login_name=name,
                                          password=f"a long secret for {name}", actor_id=OPERATOR)
        people[name] = person
    create_kit(store, camp.id, tmp_path / "k.kit", actor_id=OPERATOR)
    field = field_store(tmp_path)
    init_from_kit(field, tmp_path / "k.kit", actor_id=OPERATOR)
    amina = field.sign_in_with_code(people["amina"][1])
    items = [field.submit_item(campaign_id=camp.id, author_id=amina.id, kind="prompt_response",
                               language="sw", content=content(q), client_key=f"f-{n}").item
             for n, q in enumerate(QUESTIONS)]
    write_bundle(field, tmp_path / "items.bundle", actor_id=OPERATOR)
    merge_bundle(store, tmp_path / "items.bundle", actor_id=OPERATOR)
    yield store, camp, people, field, items, tmp_path
    field.close()


def central_item(store, public_id: str) -> Item:
    with store.read() as s:
        return s.scalar(select(Item).where(Item.public_id == public_id))


def bundle_rows(field, table: str) -> list[dict]:
    return [row for name, rows in field.kit_records(actor_id=OPERATOR) if name == table
            for row in rows]


def one_field_review_merged(kit_out) -> None:
    """The kit's reviewer approves the first item in the field (a paid review), merged."""
    store, _, _, field, items, tmp = kit_out
    reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
    field.record_review(items[0].id, reviewer.id, "approve")
    write_bundle(field, tmp / "b.bundle", actor_id=OPERATOR)
    merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR)


def test_two_field_reviews_in_one_batch_decide_the_item_once_with_central_votes_counted(kit_out):
    store, camp, people, field, items, tmp = kit_out
    both_approve, split = items[0], items[1]
    # centrally, while the kit was out: the third reviewer rejects the second item
    store.record_review(central_item(store, split.public_id).id, people["mkaguzi3"].id, "reject",
                        reasons=["unclear"])
    reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
    reviewer2 = field.sign_in_with_password("mkaguzi2", "a long secret for mkaguzi2")
    for item in (both_approve, split):
        field.record_review(item.id, reviewer.id, "approve")
    field.record_review(split.id, reviewer2.id, "reject", reasons=["unclear"])  # 1:1 here, 1:2 there
    field.record_review(both_approve.id, reviewer2.id, "approve")
    write_bundle(field, tmp / "reviews.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp / "reviews.bundle", actor_id=OPERATOR)
    assert report.added["reviews"] == 4 and not report.conflicts
    assert report.decided == {"accepted": 1, "rejected": 1}
    accepted, rejected = (central_item(store, i.public_id) for i in (both_approve, split))
    assert accepted.status == "accepted" and accepted.decided_at is not None
    assert rejected.status == "rejected"  # the central reject counts under the rule
    assert central_item(store, items[2].public_id).status == "submitted"
    again = merge_bundle(store, tmp / "reviews.bundle", actor_id=OPERATOR)
    assert again.decided == {} and again.retries["reviews"] == 4


def test_a_ledger_batch_repeating_work_paid_centrally_or_within_itself_pays_once(kit_out):
    store, camp, people, field, items, tmp = kit_out
    one_field_review_merged(kit_out)
    [paid] = bundle_rows(field, "ledger")

    def entry(source_key: str) -> dict:
        return {**paid, "uid": uuid.uuid4().hex, "source_key": source_key}

    batch = [paid,                                  # the same entry again: a retry
             entry(paid["source_key"]),             # a new id for work paid already
             entry("review:fresh"), entry("review:fresh")]  # new work, twice in one batch
    report = store.merge_kit_rows(field.field_kit(), "ledger", batch, actor_id=OPERATOR)
    assert report.added["ledger"] == 1 and report.retries["ledger"] == 3 and not report.conflicts
    with store.read() as s:
        keys = list(s.scalars(select(CompensationEntry.source_key)
                              .where(CompensationEntry.kit_id == field.field_kit())))
    assert sorted(keys) == sorted([paid["source_key"], "review:fresh"])
    assert store.merge_kit_rows(field.field_kit(), "ledger", batch,
                                actor_id=OPERATOR).added["ledger"] == 0


def test_a_review_batch_mixing_retries_conflicts_and_new_reviews_reports_each(kit_out):
    store, camp, people, field, items, tmp = kit_out
    one_field_review_merged(kit_out)
    [merged] = bundle_rows(field, "reviews")
    store.record_review(central_item(store, items[1].public_id).id, people["mkaguzi2"].id,
                        "approve")  # centrally

    def review(item, who, **changes) -> dict:
        return {**merged, "uid": uuid.uuid4().hex, "item": item.public_id,
                "item_sha256": item.content_sha256, "reviewer": people[who].uid, **changes}

    new = review(items[2], "mkaguzi2")
    rows = {"retry": merged,
            "reviewed centrally": review(items[1], "mkaguzi2"),
            "same reviewer and item, new id": review(items[0], "reviewer"),
            "bad verdict": review(items[2], "mkaguzi3", verdict="love it"),
            "unknown item": {**review(items[2], "mkaguzi3"), "item": "itm_" + "0" * 16},
            "new": new,
            "new, twice in the batch": new,
            "new, same reviewer and item in the batch": review(items[2], "mkaguzi2")}
    report = store.merge_kit_rows(field.field_kit(), "reviews", list(rows.values()),
                                  actor_id=OPERATOR)
    assert report.added["reviews"] == 1 and report.retries["reviews"] == 2
    why = {c["uid"]: c["why"] for c in report.conflicts}
    assert set(why) == {rows[k]["uid"] for k in ("reviewed centrally", "same reviewer and item, new id",
                                                  "bad verdict", "unknown item",
                                                  "new, same reviewer and item in the batch")}
    assert "already reviewed" in why[rows["reviewed centrally"]["uid"]]
    assert "already reviewed" in why[rows["same reviewer and item, new id"]["uid"]]
    assert "already reviewed" in why[rows["new, same reviewer and item in the batch"]["uid"]]
    assert "could have recorded" in why[rows["bad verdict"]["uid"]]
    assert "does not hold" in why[rows["unknown item"]["uid"]]
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Review).where(
            Review.item_id == central_item(store, items[2].public_id).id)) == 1


def _bundling_peaks(central, tmp_path, sizes, prepare) -> dict[int, int]:
    """write_bundle's traced peak memory on a field store of the central campaign's kit, for
    each size in turn; `prepare(field, n, previous n)` gives the store n items and reviews."""
    store, camp, _ = central
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the field store is SQLite; once is enough")
    create_kit(store, camp.id, tmp_path / "k.kit", actor_id=OPERATOR)
    field = field_store(tmp_path)
    init_from_kit(field, tmp_path / "k.kit", actor_id=OPERATOR)
    peaks, before = {}, 0
    try:
        for n in sizes:
            prepare(field, n, before)
            before = n
            tracemalloc.start()
            try:
                done = write_bundle(field, tmp_path / f"{n}.bundle", actor_id=OPERATOR)
                peaks[n] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert done.rows["items"] == done.rows["reviews"] == n
    finally:
        field.close()
    return peaks


def _generated_records(n_items: int):
    """kit_records' tables as a store streaming them would give them: each row made as it is
    asked for, so whatever memory grows with the number of rows is write_bundle's own."""
    def items():
        for i in range(n_items):
            yield {"public_id": f"itm_{i:016x}", "campaign_id": 1, "kind": "prompt_response",
                   "language": "sw", "dialect": None, "domain": "agriculture",
                   "status": "submitted", "version": 1,
                   "content": content(f"Swali la shamba namba {i} kuhusu mahindi na maharage?"),
                   "content_sha256": f"{i:064x}", "client_key": f"k-{i}", "provenance": {},
                   "author": "a" * 32, "consent": None, "created_at": "2026-12-01T00:00:00+00:00"}

    def reviews():
        for i in range(n_items):
            yield {"uid": f"{i:032x}", "item": f"itm_{i:016x}", "item_version": 1,
                   "reviewer": "b" * 32, "verdict": "approve", "reasons": [],
                   "suggested_edit": None, "created_at": "2026-12-01T00:00:00+00:00"}

    def records(*, actor_id):
        for table in ("people", "consents", "items", "reviews", "ledger", "withdrawals"):
            yield table, {"items": items, "reviews": reviews}.get(table, lambda: iter(()))()
    return records


def test_writing_a_bundle_holds_no_table_whole_in_memory(central, tmp_path, monkeypatch):
    """Fed its rows one at a time, write_bundle's peak is the same for a kit ten times the
    size: each table goes to a file as it comes, then into the sealed stream."""
    def prepare(field, n, _before):
        monkeypatch.setattr(field, "kit_records", _generated_records(n))

    peaks = _bundling_peaks(central, tmp_path, (2_000, 20_000), prepare)
    # 18,000 more items and reviews held whole would be some 20 MB more
    assert peaks[20_000] < peaks[2_000] + (1 << 20), peaks


def _field_items(field, camp_id: int, start: int, n: int) -> None:
    """n items (and a review each) written straight into the field store, as a long day of
    collecting leaves them: what kit_records must stream, not hold."""
    from sqlalchemy import insert

    from jamii.core.records import Contributor, new_uid

    kit = field.field_kit()
    with field.write() as s:
        author, reviewer = list(s.scalars(select(Contributor.id).order_by(Contributor.id)))[:2]
        s.execute(insert(Item), [
            {"public_id": f"itm_{i:016x}", "campaign_id": camp_id, "kind": "prompt_response",
             "language": "sw", "domain": "agriculture", "status": "submitted", "version": 1,
             "content": content(f"Swali la shamba namba {i} kuhusu mahindi na maharage?"),
             "content_sha256": f"{i:064x}", "client_key": f"k-{i}", "provenance": {},
             "author_id": author, "kit_id": kit} for i in range(start, start + n)])
        ids = list(s.scalars(select(Item.id).where(Item.kit_id == kit, Item.id > 0)
                             .order_by(Item.id.desc()).limit(n)))
        s.execute(insert(Review), [{"uid": new_uid(), "item_id": i, "item_version": 1,
                                    "reviewer_id": reviewer, "verdict": "approve", "reasons": [],
                                    "kit_id": kit} for i in ids])


def test_a_field_stores_rows_are_streamed_into_the_bundle(central, tmp_path):
    """The field store's own kit_records, not a stand-in: bundling five times the items takes
    about the same memory (it grew some 4.5 MB per 1,000 items when each table was a list)."""
    camp_id = central[1].id
    peaks = _bundling_peaks(central, tmp_path, (2_000, 10_000),
                            lambda field, n, before: _field_items(field, camp_id, before, n - before))
    # 8,000 more items held whole would be some 36 MB more; a few small per-item maps remain
    assert peaks[10_000] < peaks[2_000] + (8 << 20), peaks


def test_a_bundle_line_that_is_not_utf8_is_refused_as_not_json(kit_out):
    """The merge parses each line's bytes: a line a text editor mangled says so, no traceback."""
    import json

    from jamii.core.kit.bundles import BUNDLE_FORMAT
    from jamii.core.kit.sealed import write_sealed
    from jamii.core.store import StoreError

    store, _, _, field, _, tmp = kit_out
    folder = field.audio_dir.parent / "kit"
    manifest = {"format": BUNDLE_FORMAT, "kit_id": field.field_kit(),
                "kit_token": (folder / "kit-token.txt").read_text().strip()}
    write_sealed(tmp / "mangled.bundle", (folder / "central-public-key.txt").read_text().strip(), [
        ("manifest.json", json.dumps(manifest).encode()),
        ("tables/items.jsonl", b'{"public_id": "itm_\xff"}\n')])
    with pytest.raises(StoreError, match="not JSON"):
        merge_bundle(store, tmp / "mangled.bundle", actor_id=OPERATOR)
