"""Bringing a kit's work back (issue 14): `jamii kit bundle` on a field SQLite store, `jamii
kit merge` into the central store (SQLite and PostgreSQL, the `store` fixture).

Every item, review, consent, new person and ledger entry arrives exactly once, whatever is
merged twice or cut short; duplicates, conflicts and withdrawn authors are listed; a bundle
for another store, or one changed after it was sealed, is refused with nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from jamii.cli import cli
from jamii.core.kit.bundles import merge_bundle, write_bundle
from jamii.core.kit.kits import create_kit, init_from_kit
from jamii.core.kit.sealed import SealedError
from jamii.core.records import CompensationEntry, Consent, Contributor, Item, Review
from jamii.core.store import OPERATOR
from tests.test_kit_create import ANSWER, PROMPT, central, field_store  # noqa: F401 - fixture

COUNTED = (Contributor, Consent, Item, Review, CompensationEntry)


def counts(store) -> dict[str, int]:
    with store.read() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def content(text: str) -> dict:
    return {"prompt": text, "response": ANSWER, "task_type": "open_qa"}


@pytest.fixture
def field_work(central, tmp_path):
    """A kit out in the field: Amina writes two items, a newcomer joins, consents and writes
    one, and the reviewer approves Amina's first (a paid review)."""
    store, camp, people = central
    create_kit(store, camp.id, tmp_path / "k.kit", actor_id=OPERATOR)
    field = field_store(tmp_path)
    init_from_kit(field, tmp_path / "k.kit", actor_id=OPERATOR)
    amina = field.sign_in_with_code(people["amina"][1])
    reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
    first = field.submit_item(campaign_id=camp.id, author_id=amina.id, kind="prompt_response",
                              language="sw", content=content("Mahindi ya msimu wa vuli hupandwa lini?"),
                              client_key="f-1").item
    field.submit_item(campaign_id=camp.id, author_id=amina.id, kind="prompt_response", language="sw",
                      content=content("Mtama unastahimili ukame kiasi gani?"), client_key="f-2")
    newcomer, _ = field.add_contributor(roles=["contributor"], pseudonym="mgeni-kitui", actor_id=OPERATOR)
    text = field.consent_text(camp.id, "sw")
    field.accept_consent(newcomer.id, text.id, {"open_publication": True})
    field.submit_item(campaign_id=camp.id, author_id=newcomer.id, kind="prompt_response", language="sw",
                      content=content("Maji ya mvua yahifadhiwe vipi?"), client_key="f-3")
    field.record_review(first.id, reviewer.id, "approve")
    yield store, camp, people, field, tmp_path
    field.close()


def test_a_bundle_merges_every_record_once_and_twice_adds_nothing(field_work):
    store, camp, people, field, tmp = field_work
    before = counts(store)
    done = write_bundle(field, tmp / "b1.bundle", actor_id=OPERATOR)
    assert done.rows["items"] == 3 and done.rows["people"] == 1 and done.rows["reviews"] == 1
    report = merge_bundle(store, tmp / "b1.bundle", actor_id=OPERATOR)
    assert report.added == {"people": 1, "consents": 1, "items": 3, "reviews": 1, "ledger": 1,
                            "withdrawals": 0}
    assert not (report.conflicts or report.duplicates or report.withdrawn_authors)
    after = counts(store)
    assert {k: after[k] - before[k] for k in after} == {
        "contributors": 1, "consents": 1, "items": 3, "reviews": 1, "compensation_entries": 1}
    mine = {i.content["prompt"] for i in store.items(camp.id, author_id=people["amina"][0].id)}
    assert "Mahindi ya msimu wa vuli hupandwa lini?" in mine  # under her central account
    newcomer = store.contributor_by_pseudonym("mgeni-kitui")
    assert newcomer.kit_id == done.kit_id and store.active_consent(newcomer.id, camp.id)
    [entry] = [e for e in store.ledger(camp.id) if e.kit_id == done.kit_id]
    assert entry.activity == "review" and entry.contributor_id == people["reviewer"].id

    again = merge_bundle(store, tmp / "b1.bundle", actor_id=OPERATOR)
    assert set(again.added.values()) == {0} and again.retries["items"] == 3
    assert counts(store) == after
    # the next bundle carries everything again, and only the new work is added
    field.submit_item(campaign_id=camp.id, author_id=field.sign_in_with_code(people["amina"][1]).id,
                      kind="prompt_response", language="sw",
                      content=content("Kunde hupandwa pamoja na mahindi?"), client_key="f-4")
    write_bundle(field, tmp / "b2.bundle", actor_id=OPERATOR)
    later = merge_bundle(store, tmp / "b2.bundle", actor_id=OPERATOR)
    assert later.added["items"] == 1 and later.retries["items"] == 3


def test_a_merge_cut_short_and_run_again_ends_as_one_clean_run(field_work, monkeypatch):
    store, _, _, field, tmp = field_work
    write_bundle(field, tmp / "b.bundle", actor_id=OPERATOR)
    before = counts(store)
    real = type(store).merge_kit_rows
    calls = {"n": 0}

    def dies_on_the_third_batch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill between two batches leaves it
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(store), "merge_kit_rows", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR)
    partial = counts(store)
    assert partial != before and partial["reviews"] == before["reviews"]  # people, consents only
    monkeypatch.setattr(type(store), "merge_kit_rows", real)
    merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR)
    after = counts(store)
    assert {k: after[k] - before[k] for k in after} == {
        "contributors": 1, "consents": 1, "items": 3, "reviews": 1, "compensation_entries": 1}


def test_withdrawals_duplicates_and_conflicts_are_listed_not_applied(field_work):
    store, camp, people, field, tmp = field_work
    amina = people["amina"][0]
    store.withdraw(amina.id, actor_id=amina.id)  # centrally, while the kit was out
    # another kit's item with the same text as one of this kit's arrived first
    store.submit_item(campaign_id=camp.id, author_id=people["reviewer"].id, kind="prompt_response",
                      language="sw", content=content("Maji ya mvua yahifadhiwe vipi?"), client_key="c-dup")
    write_bundle(field, tmp / "b.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR)
    assert len(report.withdrawn_authors) == 2 and {w["author"] for w in report.withdrawn_authors} == {amina.pseudonym}
    assert len(report.duplicates) == 1 and report.added["items"] == 2
    # the field changes an item's text under the same id: a conflict, the central text stays
    with field.write() as s:
        item = s.scalar(select(Item).where(Item.client_key == "f-2"))
        item.content = {**item.content, "prompt": "Mtama mweupe unastahimili ukame?"}
        item.content_sha256 = "f" * 64
        public_id = item.public_id
    write_bundle(field, tmp / "b2.bundle", actor_id=OPERATOR)
    again = merge_bundle(store, tmp / "b2.bundle", actor_id=OPERATOR)
    assert [c["public_id"] for c in again.conflicts if c["table"] == "items"] == [public_id]
    with store.read() as s:
        kept = s.scalar(select(Item).where(Item.public_id == public_id))
    assert kept.content["prompt"] == "Mtama unastahimili ukame kiasi gani?"


def test_a_bundle_for_another_store_or_changed_after_sealing_is_refused_with_nothing_written(
        field_work, tmp_path_factory):
    from jamii.core.store import Store

    store, _, _, field, tmp = field_work
    write_bundle(field, tmp / "b.bundle", actor_id=OPERATOR)
    before = counts(store)
    sealed = bytearray((tmp / "b.bundle").read_bytes())
    sealed[len(sealed) // 2] ^= 0x01
    (tmp / "changed.bundle").write_bytes(bytes(sealed))
    with pytest.raises(SealedError, match="damaged|changed"):
        merge_bundle(store, tmp / "changed.bundle", actor_id=OPERATOR)
    assert counts(store) == before
    other_dir = tmp_path_factory.mktemp("other-central")
    other = Store(f"sqlite:///{other_dir / 'jamii.sqlite3'}", other_dir / "audio")
    try:
        with pytest.raises(SealedError, match="another central store"):
            merge_bundle(other, tmp / "b.bundle", actor_id=OPERATOR)
    finally:
        other.close()


def test_the_four_commands_in_order(central, tmp_path, monkeypatch):
    store, camp, people = central
    monkeypatch.delenv("JAMII_DB", raising=False)
    runner = CliRunner()
    central_args = ["--db", store.url, "--data-dir", str(store.audio_dir.parent)]
    laptop = ["--data-dir", str(tmp_path / "laptop")]

    def run(*args):
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run("kit", "create", "--campaign", "kilimo", "--out", str(tmp_path / "k.kit"), *central_args)
    run("init", "--from-kit", str(tmp_path / "k.kit"), *laptop)
    from jamii.core.store import Store

    field = Store.open(data_dir=tmp_path / "laptop")
    try:
        amina = field.sign_in_with_code(people["amina"][1])
        field.submit_item(campaign_id=camp.id, author_id=amina.id, kind="prompt_response",
                          language="sw", content=content("Mbegu bora za maharage ni zipi?"), client_key="cli-1")
    finally:
        field.close()
    assert "1 items" in run("kit", "bundle", "--out", str(tmp_path / "b.bundle"), *laptop)
    out = run("kit", "merge", str(tmp_path / "b.bundle"), *central_args)
    assert "items: 1 added" in out
    assert "items: 0 added, 1 already here" in run("kit", "merge", str(tmp_path / "b.bundle"), *central_args)
    refused = runner.invoke(cli, ["kit", "merge", str(tmp_path / "k.kit"), *central_args])
    assert refused.exit_code != 0 and "Traceback" not in refused.output


def test_a_bundle_sealed_by_someone_with_only_the_public_key_is_refused(field_work):
    """The central key travels in every kit: a stranger can seal a bundle to it, with a real
    kit's id, but not with that kit's secret token."""
    from jamii.core.kit.bundles import BUNDLE_FORMAT
    from jamii.core.kit.sealed import write_sealed

    store, camp, people, field, tmp = field_work
    public = (field.audio_dir.parent / "kit" / "central-public-key.txt").read_text().strip()
    manifest = {"format": BUNDLE_FORMAT, "kit_id": field.field_kit(), "kit_token": "guess" * 9}
    forged = [{"uid": "f" * 32, "person": people["amina"][0].uid, "campaign_id": camp.id,
               "activity": "review", "source_key": "review:forged", "item": None, "language": "sw",
               "rate_card_id": None, "quantity": "1", "amount": "100000", "unit": "KES",
               "created_at": "2026-12-01T00:00:00+00:00"}]
    import json

    write_sealed(tmp / "forged.bundle", public, [
        ("manifest.json", json.dumps(manifest).encode()),
        ("tables/ledger.jsonl", json.dumps(forged).encode()[1:-1] + b"\n")])
    before = counts(store)
    with pytest.raises(Exception, match="does not prove it comes from a kit"):
        merge_bundle(store, tmp / "forged.bundle", actor_id=OPERATOR)
    assert counts(store) == before


def test_a_ledger_amount_the_rate_card_does_not_give_is_a_conflict(field_work):
    """A field laptop is not trusted with money: an entry raised on the laptop (its store
    edited by hand) is listed, not owed."""
    store, camp, _, field, tmp = field_work
    with field.write() as s:
        entry = s.scalar(select(CompensationEntry))
        entry.amount = entry.amount * 1000
    write_bundle(field, tmp / "b.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR)
    assert report.added["ledger"] == 0 and report.added["reviews"] == 1
    [conflict] = [c for c in report.conflicts if c["table"] == "ledger"]
    assert "rate card" in conflict["why"] and "10" in conflict["why"]
    assert not [e for e in store.ledger(camp.id) if e.kit_id]


def test_a_laptop_edited_by_hand_cannot_make_organisers_or_slip_in_what_no_form_takes(field_work):
    """The field store is a file on a laptop: what it says is judged again at the merge."""
    store, camp, _, field, tmp = field_work
    with field.write() as s:
        newcomer = s.scalar(select(Contributor).where(Contributor.pseudonym == "mgeni-kitui"))
        newcomer.roles = ["organiser", "contributor"]
        item = s.scalar(select(Item).where(Item.client_key == "f-2"))
        item.content = {**item.content, "response": "<script>alert(1)</script>"}
        reviewed = s.scalar(select(Item).where(Item.client_key == "f-3"))
        s.add(Review(item_id=reviewed.id, item_version=1, reviewer_id=newcomer.id,
                     verdict="approve", reasons=[]))  # the author approving her own item
    write_bundle(field, tmp / "b.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR)
    merged = store.contributor_by_pseudonym("mgeni-kitui")
    assert merged.roles == ["contributor"] and report.roles_reduced[0]["roles"] == ["contributor"]
    why = {c["table"]: c["why"] for c in report.conflicts}
    assert "HTML" in why["items"] or "refused" in why["items"], why
    assert "could have recorded" in why["reviews"], why
    assert report.added["items"] == 2 and report.added["reviews"] == 1
    assert "<script>" not in str([i.content for i in store.items(camp.id)])


def test_an_unnormalised_duplicate_is_listed_not_a_batch_that_fails_forever(field_work):
    """The bundle's word for a content hash is not taken: an item whose stored text differs
    from a central item's only by normalisation (and whose hash the laptop got wrong) is a
    duplicate, and the rest of its batch merges."""
    store, camp, _, field, tmp = field_work
    with field.write() as s:
        item = s.scalar(select(Item).where(Item.client_key == "f-2"))
        item.content = {**item.content, "prompt": "  " + PROMPT + "  "}  # a central item's text
        item.content_sha256 = "0" * 64
    write_bundle(field, tmp / "b.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR)
    assert [d["public_id"] for d in report.duplicates] == [item.public_id]
    assert report.added["items"] == 2
    assert merge_bundle(store, tmp / "b.bundle", actor_id=OPERATOR).added["items"] == 0


def test_a_malformed_row_says_so_and_its_batch_changes_nothing(field_work):
    """A bundle with the kit's real token (its laptop) but a row no `jamii kit bundle` writes:
    a clear refusal, not a traceback, and that batch leaves the store as it was."""
    import json

    from jamii.core.kit.bundles import BUNDLE_FORMAT
    from jamii.core.kit.sealed import write_sealed
    from jamii.core.store import StoreError

    store, camp, people, field, tmp = field_work
    folder = field.audio_dir.parent / "kit"
    manifest = {"format": BUNDLE_FORMAT, "kit_id": field.field_kit(),
                "kit_token": (folder / "kit-token.txt").read_text().strip()}
    bad = {"uid": "e" * 32, "person": people["amina"][0].uid, "campaign_id": camp.id,
           "activity": "review", "source_key": "review:x", "item": None, "language": "sw",
           "rate_card_id": None, "quantity": "one", "amount": "lots", "unit": "KES"}
    write_sealed(tmp / "bad.bundle", (folder / "central-public-key.txt").read_text().strip(), [
        ("manifest.json", json.dumps(manifest).encode()),
        ("tables/ledger.jsonl", json.dumps(bad).encode() + b"\n")])
    before = counts(store)
    with pytest.raises(StoreError, match="malformed.*nothing of this batch"):
        merge_bundle(store, tmp / "bad.bundle", actor_id=OPERATOR)
    assert counts(store) == before
    for line in (b"{not json\n", b"[1, 2]\n"):
        write_sealed(tmp / "junk.bundle", (folder / "central-public-key.txt").read_text().strip(), [
            ("manifest.json", json.dumps(manifest).encode()), ("tables/items.jsonl", line)])
        with pytest.raises(StoreError, match="not JSON|not a record"):
            merge_bundle(store, tmp / "junk.bundle", actor_id=OPERATOR)
    assert counts(store) == before
