"""A kit's trip out and back (issue 14), as the people at either end would notice it.

What tests/test_kit_create.py and tests/test_kit_merge.py leave out: recordings travel inside
the bundle and play from the central store's own folder; a real `jamii kit merge` process
killed with SIGKILL at several points, then run again, ends with exactly the rows one clean
run gives; two kits of one campaign that collected the same text; the central store changing
its rate card and consent text while a kit was out (what the field promised is what is owed);
and a pseudonym given to two different people, one in the field and one centrally; a payment
choice changed centrally meanwhile (the field's work is paid as the field promised), and a
consent text made in the field (never mixed up with a central text of the same id).

Central stores run on SQLite and PostgreSQL (the `store` fixture) unless a test says otherwise;
field stores are SQLite, as on a laptop.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Integer, func, select, text
from sqlalchemy.orm import aliased

from jamii.collector.forms import check_clip
from jamii.core.kit.bundles import merge_bundle, write_bundle
from jamii.core.kit.kits import create_kit, init_from_kit
from jamii.core.records import (AuditEvent, Base, CompensationEntry, Consent, Contributor, Item,
                                Review, new_uid)
from jamii.core.store import OPERATOR, NotFound, Store
from tests.browser._jamii_browser import app_env, jamii_command
from tests.support.collector_fixtures import wav
from tests.support.pg import pg_schema_url
from tests.test_kit_create import ANSWER, central, field_store  # noqa: F401 - fixture


@contextmanager
def kit_out(store: Store, camp_id: int, where: Path) -> Iterator[Store]:
    """A kit of the campaign written to `where`/k.kit, and the field store made from it in
    `where`/field (a laptop's SQLite store), closed afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    create_kit(store, camp_id, where / "k.kit", actor_id=OPERATOR)
    field = field_store(where)
    try:
        init_from_kit(field, where / "k.kit", actor_id=OPERATOR)
        yield field
    finally:
        field.close()


def qa(prompt: str) -> dict:
    return {"prompt": prompt, "response": ANSWER, "task_type": "open_qa"}


def write(field: Store, camp_id: int, author_id: int, prompt: str, key: str) -> Item:
    return field.submit_item(campaign_id=camp_id, author_id=author_id, kind="prompt_response",
                             language="sw", content=qa(prompt), client_key=key).item


def kit_ledger(store: Store, camp_id: int, kit_id: str) -> list[CompensationEntry]:
    return [e for e in store.ledger(camp_id) if e.kit_id == kit_id]


def nothing_added(report) -> bool:
    return set(report.added.values()) == {0} and not report.renamed


def audio_files(store: Store) -> list[tuple[Path, bytes]]:
    return sorted((p.relative_to(store.audio_dir), p.read_bytes())
                  for p in store.audio_dir.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- 1. recordings
@pytest.fixture
def speech_central(store):
    """A campaign that collects speech, paid per review, accepted item and recorded minute;
    one review decides. A speaker who consented to voice recordings, and a reviewer."""
    camp = store.create_campaign("sauti", "Sauti za Kitui", languages=["sw"], item_kinds=["speech"],
                                 consent_scopes=["open_publication", "voice"],
                                 acceptance_rule={"min_votes": 1, "tie_reject_at": 3},
                                 actor_id=OPERATOR)
    consent = store.add_consent_text(camp.id, "1", "sw", "Nakubali sauti yangu irekodiwe.",
                                     actor_id=OPERATOR)
    store.set_rate_card(camp.id, {"review": {"amount": 10, "unit": "KES"},
                                  "item_accepted": {"amount": 20, "unit": "KES"},
                                  "recording_minute": {"amount": 30, "unit": "KES"}},
                        actor_id=OPERATOR)
    speaker, speaker_code = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    store.accept_consent(speaker.id, consent.id, {"open_publication": True, "voice": True})
    _, reviewer_code = store.add_contributor(roles=["reviewer"], actor_id=OPERATOR)
    return store, camp, speaker_code, reviewer_code


def test_recordings_travel_in_the_bundle_and_play_from_the_central_folder(speech_central, tmp_path):
    store, camp, speaker_code, reviewer_code = speech_central
    with kit_out(store, camp.id, tmp_path) as field:
        speaker = field.sign_in_with_code(speaker_code)
        reviewer = field.sign_in_with_code(reviewer_code)
        recorded = {}  # public_id -> (the clip's bytes, the content the form sent)
        for n, (seconds, freq, transcript) in enumerate((
                (1.5, 220.0, "Mvua ilinyesha usiku kucha huko Mwingi."),
                (2.25, 330.0, "Wakulima walipanda mtama baada ya mvua ya kwanza."))):
            clip = check_clip(wav(seconds, freq=freq))
            assert clip is not None and not clip.problems
            # as collector/forms.py:submit_speech does: the audio first, then the item naming it
            digest = field.save_audio(clip.data, ".wav")
            content = {"transcript": transcript, "audio_sha256": digest,
                       "duration_s": clip.duration_s, "sample_rate": clip.sample_rate}
            item = field.submit_item(campaign_id=camp.id, author_id=speaker.id, kind="speech",
                                     language="sw", content=content, client_key=f"clip-{n}").item
            recorded[item.public_id] = (clip.data, content)
        first, second = recorded
        field.record_review(field.item(first).id, reviewer.id, "approve")  # accepted in the field
        done = write_bundle(field, tmp_path / "sauti.bundle", actor_id=OPERATOR)
        assert done.recordings == 2
    shutil.rmtree(tmp_path / "field")  # the laptop is gone: only the bundle came back
    assert store.audio_dir != field.audio_dir and not list(store.audio_dir.rglob("*.wav"))

    report = merge_bundle(store, tmp_path / "sauti.bundle", actor_id=OPERATOR)
    assert report.added["items"] == 2 and report.added["reviews"] == 1 and not report.conflicts
    for public_id, (data, content) in recorded.items():
        item = store.item(public_id)
        assert item.kind == "speech" and item.content == content
        path = store.audio_path(item.content["audio_sha256"])
        assert path.is_relative_to(store.audio_dir)
        assert path.read_bytes() == data  # byte for byte, in the central store's own folder
        assert store.release_audio(item.content["audio_sha256"]) == data  # what a release reads
    assert store.item(first).status == "accepted" and store.item(second).status == "submitted"
    paid = {(e.activity, e.source_key): e.amount for e in kit_ledger(store, camp.id, done.kit_id)}
    [review] = store.reviews_of(store.item(first).id)
    assert paid == {("review", f"review:{review.uid}"): Decimal(10),
                    ("item_accepted", f"item:{first}"): Decimal(20),
                    ("recording_minute", f"audio:{first}"): Decimal(30) * Decimal("1.5") / 60}

    files = audio_files(store)
    assert len(files) == 2  # the two recordings, and nothing half-written beside them
    again = merge_bundle(store, tmp_path / "sauti.bundle", actor_id=OPERATOR)
    assert nothing_added(again) and again.retries["items"] == 2
    assert audio_files(store) == files
    assert len(kit_ledger(store, camp.id, done.kit_id)) == 3


# --------------------------------------------------------------------------- 3. two kits
def test_two_kits_with_the_same_text_the_second_copy_is_a_listed_duplicate(central, tmp_path):
    store, camp, people = central
    amina_code = people["amina"][1]
    second, second_code = store.add_contributor(roles=["reviewer"], pseudonym="mkaguzi-wa-pili",
                                                actor_id=OPERATOR)
    same = "Mbegu za mahindi zihifadhiwe vipi baada ya mavuno?"
    made = {}
    for name, other, reviewer_signs_in in (
            ("a", "Ng'ombe wa maziwa hulishwa nini wakati wa kiangazi?",
             lambda f: f.sign_in_with_password("mkaguzi", "a long reviewer secret")),
            ("b", "Nyanya hupandwa umbali gani kati ya mche mmoja na mwingine?",
             lambda f: f.sign_in_with_code(second_code))):
        with kit_out(store, camp.id, tmp_path / name) as field:  # both out at once
            amina, reviewer = field.sign_in_with_code(amina_code), reviewer_signs_in(field)
            copy = write(field, camp.id, amina.id, same, f"{name}-same")
            own = write(field, camp.id, amina.id, other, f"{name}-own")
            for item in (copy, own):
                field.record_review(item.id, reviewer.id, "approve")  # 10 KES each, promised there
            made[name] = {"copy": copy.public_id, "own": own.public_id, "kit": field.field_kit(),
                          "ledger": sorted(e.uid for e in field.ledger(camp.id))}
            write_bundle(field, tmp_path / f"{name}.bundle", actor_id=OPERATOR)
    a, b = made["a"], made["b"]
    assert len(a["ledger"]) == len(b["ledger"]) == 2

    first = merge_bundle(store, tmp_path / "a.bundle", actor_id=OPERATOR)
    assert first.added["items"] == 2 and not first.duplicates
    later = merge_bundle(store, tmp_path / "b.bundle", actor_id=OPERATOR)
    assert later.duplicates == [{"public_id": b["copy"], "same_as": a["copy"]}]
    assert later.added["items"] == 1 and store.item(b["own"]).kit_id == b["kit"]
    with pytest.raises(NotFound):
        store.item(b["copy"])
    # the second kit's review of its copy is not counted on the first kit's item: with the
    # campaign's two votes, it would have been accepted on one reviewer's word each
    kept = store.item(a["copy"])
    assert kept.status == "submitted" and len(store.reviews_of(kept.id)) == 1
    assert [r.reviewer_id for r in store.reviews_of(store.item(b["own"]).id)] == [second.id]
    # every review was done and promised in the field: each kit's entries are owed, once
    with store.read() as s:
        central_uids = sorted(s.scalars(select(CompensationEntry.uid).where(
            CompensationEntry.kit_id.in_([a["kit"], b["kit"]]))))
    assert central_uids == sorted(a["ledger"] + b["ledger"])

    for name in ("b", "a"):  # both again, the other way round
        assert nothing_added(merge_bundle(store, tmp_path / f"{name}.bundle", actor_id=OPERATOR))
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(CompensationEntry).where(
            CompensationEntry.kit_id.in_([a["kit"], b["kit"]]))) == 4
    assert len(store.items(camp.id)) == 1 + 3  # the central item, and the three distinct texts


# --------------------------------------------------------------------------- 4. central change
def test_a_new_rate_card_and_consent_text_centrally_leave_the_field_terms(central, tmp_path):
    """What the field promised is what is owed: the amounts of the rate card in force where the
    work was done, not the card the central store adopted meanwhile; and the field's consents
    to the version it showed stay as given."""
    store, camp, people = central
    store.update_campaign(camp.id, acceptance_rule={"min_votes": 1, "tie_reject_at": 3},
                          actor_id=OPERATOR)
    field_card = store.set_rate_card(camp.id, {"review": {"amount": 10, "unit": "KES"},
                                               "item_accepted": {"amount": 50, "unit": "KES"}},
                                     actor_id=OPERATOR)
    with kit_out(store, camp.id, tmp_path) as field:
        amina = field.sign_in_with_code(people["amina"][1])
        reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
        newcomer, _ = field.add_contributor(roles=["contributor"], pseudonym="mgeni-mwingi",
                                            actor_id=OPERATOR)
        field.accept_consent(newcomer.id, field.consent_text(camp.id, "sw").id,
                             {"open_publication": True})
        theirs = [write(field, camp.id, amina.id, "Kahawa huvunwa mwezi gani?", "t-1"),
                  write(field, camp.id, newcomer.id, "Mchwa hufukuzwa vipi shambani?", "t-2")]
        for item in theirs:
            field.record_review(item.id, reviewer.id, "approve")
        kit_id = field.field_kit()
        promised = sorted((e.uid, e.activity, e.amount, e.unit) for e in field.ledger(camp.id))
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert sorted(a for _, a, _, _ in promised) == ["item_accepted"] * 2 + ["review"] * 2

    # meanwhile, centrally: a new rate card, and a new consent text people must accept
    new_card = store.set_rate_card(camp.id, {"review": {"amount": 25, "unit": "KES"},
                                             "item_accepted": {"amount": 80, "unit": "KES"}},
                                   actor_id=OPERATOR)
    store.add_consent_text(camp.id, "2", "sw", "Nakubali toleo la pili la masharti.",
                           actor_id=OPERATOR)
    assert store.rate_card(camp.id).id == new_card.id
    assert store.campaign(camp.id).current_consent_version == "2"

    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert not report.conflicts, report.conflicts
    assert (report.added["items"], report.added["ledger"], report.added["consents"]) == (2, 4, 1)
    for item in theirs:
        assert store.item(item.public_id).status == "accepted"
    owed = kit_ledger(store, camp.id, kit_id)
    assert sorted((e.uid, e.activity, e.amount, e.unit) for e in owed) == promised
    assert {e.rate_card_id for e in owed} == {field_card.id}
    assert sum(e.amount for e in owed if e.contributor_id == people["amina"][0].id) == 50
    assert sum(e.amount for e in owed if e.contributor_id == people["reviewer"].id) == 20
    # the newcomer's consent to version 1 arrives as given, and their item names it
    merged = store.contributor_by_pseudonym("mgeni-mwingi")
    [consent] = store.consents_of(merged.id)
    assert consent.version == "1" and consent.withdrawn_at is None
    assert store.item(theirs[1].public_id).consent_id == consent.id
    assert store.active_consent(merged.id, camp.id) is None  # asked for version 2 next time


def test_a_payment_choice_changed_centrally_meanwhile_still_pays_the_field_work(central, tmp_path):
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        amina = field.sign_in_with_code(people["amina"][1])
        reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
        item = write(field, camp.id, amina.id, "Parachichi huzaa baada ya miaka mingapi?", "m-1")
        field.record_review(item.id, reviewer.id, "approve")
        [promised] = [(e.uid, e.amount, e.unit) for e in field.ledger(camp.id)]
        assert promised[1:] == (Decimal(10), "KES")
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    reviewer = people["reviewer"]  # back in town, they ask to be paid in airtime from now on
    store.update_profile(reviewer.id, actor_id=reviewer.id, compensation_method="airtime")
    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    owed = [(e.uid, e.amount, e.unit) for e in store.earnings(reviewer.id)]
    assert owed == [promised], report.conflicts


def test_a_consent_never_names_a_text_its_person_did_not_accept(central, tmp_path):
    from jamii.core.records import ConsentText
    from jamii.core.store import StoreError

    store, camp, _ = central
    with kit_out(store, camp.id, tmp_path) as field:
        try:
            shown = field.add_consent_text(camp.id, "1-kitui", "sw",
                                           "Nakubali, kama ilivyoelezwa kwenye mkutano wa kijiji.",
                                           actor_id=OPERATOR)
        except StoreError:
            return  # a field store that refuses texts of its own cannot mix them up
        newcomer, _ = field.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        field.accept_consent(newcomer.id, shown.id, {"open_publication": True})
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    store.add_consent_text(camp.id, "2", "sw", "Toleo la pili: sauti na picha pia.",
                           actor_id=OPERATOR)
    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    with store.read() as s:
        for consent in s.scalars(select(Consent).where(Consent.kit_id.is_not(None))):
            assert s.get(ConsentText, consent.consent_text_id).sha256 == consent.text_sha256
    assert report.added["consents"] == 1 or report.conflicts


# --------------------------------------------------------------------------- 5. pseudonyms
def test_a_pseudonym_taken_centrally_meanwhile_gives_two_people_not_one(central, tmp_path):
    store, camp, _ = central
    text = store.consent_text(camp.id, "sw")
    with kit_out(store, camp.id, tmp_path) as field:
        outside, outside_code = field.add_contributor(roles=["contributor"], pseudonym="mama-pendo",
                                                      actor_id=OPERATOR)
        field.accept_consent(outside.id, text.id, {"open_publication": True})
        out_item = write(field, camp.id, outside.id, "Dawa ya kienyeji ya kuku ni ipi?", "p-1")
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    inside, inside_code = store.add_contributor(roles=["contributor"], pseudonym="mama-pendo",
                                                actor_id=OPERATOR)
    store.accept_consent(inside.id, text.id, {"open_publication": True})
    in_item = write(store, camp.id, inside.id, "Kuku wa kienyeji hutaga mayai mangapi?", "p-2")

    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    [renamed] = report.renamed
    assert renamed["uid"] == outside.uid and renamed["field_pseudonym"] == "mama-pendo"
    assert renamed["pseudonym"] != "mama-pendo"
    assert store.contributor_by_pseudonym("mama-pendo").id == inside.id
    moved = store.contributor_by_pseudonym(renamed["pseudonym"])
    assert moved.uid == outside.uid and moved.id != inside.id
    # each person's work stays theirs
    assert [i.public_id for i in store.items(camp.id, author_id=moved.id)] == [out_item.public_id]
    assert [i.public_id for i in store.items(camp.id, author_id=inside.id)] == [in_item.public_id]
    assert store.active_consent(moved.id, camp.id) is not None
    # and each signs in as themself: the field person's printed code still works centrally
    assert store.sign_in_with_code(outside_code).id == moved.id
    assert store.sign_in_with_code(inside_code).id == inside.id

    again = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert nothing_added(again) and again.retries["people"] == 1
    assert len([p for p in store.contributors() if p.uid == outside.uid]) == 1


# --------------------------------------------------------------------------- 2. kill -9
BULK_ITEMS = 2400
"""Field items made in bulk: two batches of the merge's 2000 rows."""
BULK_REVIEWS = 600
KILLS = ((0, 0.0), (2, 0.3), (3, 0.0), (4, 0.2), (5, 0.0))
"""Where each `jamii kit merge` is killed: once this run has audited so many kit.merge events
(one a batch: people, consents, items, items, reviews, ledger), and so many seconds more; 0 is
as soon as it has the bundle open (reading it through, before any write). The merge writes
review and ledger rows as it goes through a batch (each row's checks flush the ones before),
so a kill inside those batches cuts a transaction that has written rows."""


def _busy_field(tmp_path: Path, central_store: Store, camp_id: int, codes: dict[str, str]) -> Path:
    """A field store with a few thousand items (a bulk import there), hundreds of paid reviews,
    a newcomer who consented, and some work done through the ordinary calls; its bundle."""
    with kit_out(central_store, camp_id, tmp_path) as field:
        amina = field.sign_in_with_code(codes["amina"])
        reviewer = field.sign_in_with_code(codes["reviewer"])
        newcomer, _ = field.add_contributor(roles=["contributor"], pseudonym="mgeni-kilifi",
                                            actor_id=OPERATOR)
        field.accept_consent(newcomer.id, field.consent_text(camp_id, "sw").id,
                             {"open_publication": True})
        for who, prompt in ((amina, "Migomba hupandwa wakati gani wa mwaka?"),
                            (newcomer, "Mbolea ya kuku inafaa kwa mboga za majani?")):
            field.record_review(write(field, camp_id, who.id, prompt, f"hand-{who.id}").id,
                                reviewer.id, "approve")
        author = field.import_author("shamba-la-pwani", actor_id=OPERATOR)
        field.submit_items_bulk(campaign_id=camp_id, author_id=author.id, actor_id=OPERATOR, items=[
            {"kind": "prompt_response", "language": "sw", "client_key": f"bulk-{n}",
             "provenance": {"source": "import"},
             "content": qa(f"Swali la shamba namba {n}: mbegu gani hustawi pwani?")}
            for n in range(BULK_ITEMS)])
        card = field.rate_card(camp_id)
        with field.write() as s:  # what record_review writes for each, without its checks
            for item in s.scalars(select(Item).where(Item.client_key.like("bulk-%"))
                                  .order_by(Item.id).limit(BULK_REVIEWS)):
                uid = new_uid()
                s.add(Review(uid=uid, item_id=item.id, item_version=item.version,
                             reviewer_id=reviewer.id, verdict="approve", reasons=[]))
                s.add(CompensationEntry(contributor_id=reviewer.id, campaign_id=camp_id,
                                        activity="review", source_key=f"review:{uid}",
                                        item_id=item.id, language="sw", rate_card_id=card.id,
                                        quantity=Decimal(1), amount=Decimal(10), unit="KES"))
        done = write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert done.rows["items"] == BULK_ITEMS + 2 and done.rows["reviews"] == BULK_REVIEWS + 2
    return done.path


def _clone(source: Store, url: str, data_dir: Path) -> Store:
    """A second central store holding exactly what `source` holds, ids, kit and key included."""
    copy = Store(url, data_dir / "audio")
    tables = Base.metadata.sorted_tables
    with source.engine.connect() as src, copy.engine.begin() as dst:
        for table in reversed(tables):
            dst.execute(table.delete())
        for table in tables:
            rows = [dict(r._mapping) for r in src.execute(table.select())]
            if rows:
                dst.execute(table.insert(), rows)
        for table in tables:
            if "id" in table.c and isinstance(table.c.id.type, Integer):
                dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
    shutil.copytree(source.audio_dir.parent / "kit", data_dir / "kit")
    return copy


def _state(store: Store) -> dict:
    """Everything a merge writes, by global ids (local row ids differ: PostgreSQL spends a
    sequence number on every insert a kill rolled back): rows per table, and who is what."""
    person = aliased(Contributor)
    with store.read() as s:
        counts = {t.name: s.scalar(select(func.count()).select_from(t))
                  for t in Base.metadata.sorted_tables if t.name != "audit_events"}
        rows = {  # not the audit trail: each run audits the batches it applied, by design
            "people": select(Contributor.uid, Contributor.pseudonym, Contributor.kit_id,
                             Contributor.invite_code_sha256, Contributor.withdrawn_at),
            "consents": select(Consent.uid, Consent.version, Consent.kit_id, person.uid)
            .join(person, person.id == Consent.contributor_id),
            "items": select(Item.public_id, Item.status, Item.content_sha256, Item.kit_id,
                            person.uid).join(person, person.id == Item.author_id),
            "reviews": select(Review.uid, Review.verdict, Item.public_id, person.uid)
            .join(Item, Item.id == Review.item_id).join(person, person.id == Review.reviewer_id),
            "ledger": select(CompensationEntry.source_key, CompensationEntry.uid,
                             CompensationEntry.amount, CompensationEntry.unit, person.uid)
            .join(person, person.id == CompensationEntry.contributor_id),
        }
        return {"counts": counts, **{k: {tuple(r) for r in s.execute(q)} for k, q in rows.items()}}


def _merge_events(store: Store) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "kit.merge"))


def _has_open(proc: subprocess.Popen, path: Path) -> bool:
    try:
        fds = os.listdir(f"/proc/{proc.pid}/fd")
        return any(os.readlink(f"/proc/{proc.pid}/fd/{fd}") == os.path.realpath(path) for fd in fds)
    except OSError:  # it closed a file meanwhile
        return False


def _merge_command(bundle: Path, store: Store, started: list[subprocess.Popen]) -> subprocess.Popen:
    """`jamii kit merge BUNDLE --db URL --data-dir DIR`, in a process group of its own."""
    data = store.audio_dir.parent
    proc = subprocess.Popen(
        jamii_command() + ["kit", "merge", str(bundle), "--db", store.url, "--data-dir", str(data)],
        env=app_env(data), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    started.append(proc)
    return proc


@pytest.mark.slow
@pytest.mark.postgres
def test_a_merge_killed_again_and_again_ends_as_one_clean_run(tmp_path):
    """`jamii kit merge` on a central PostgreSQL store, SIGKILLed at several points (reading
    the bundle, between batches, inside a batch's transaction) and run again each time, ends
    with the same rows as one uninterrupted run of the same bundle into a copy of the store."""
    url, drop = pg_schema_url()
    ref_url, ref_drop = pg_schema_url()
    central_store = Store(url, tmp_path / "central" / "audio")
    reference, started = None, []
    try:
        camp = central_store.create_campaign("kilimo", "Kilimo", languages=["sw"],
                                             consent_scopes=["open_publication"], actor_id=OPERATOR)
        consent = central_store.add_consent_text(camp.id, "1", "sw", "Nakubali kushiriki.",
                                                 actor_id=OPERATOR)
        central_store.set_rate_card(camp.id, {"review": {"amount": 10, "unit": "KES"}},
                                    actor_id=OPERATOR)
        amina, amina_code = central_store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        central_store.accept_consent(amina.id, consent.id, {"open_publication": True})
        _, reviewer_code = central_store.add_contributor(roles=["reviewer"], actor_id=OPERATOR)
        bundle = _busy_field(tmp_path / "laptop", central_store, camp.id,
                             {"amina": amina_code, "reviewer": reviewer_code})
        reference = _clone(central_store, ref_url, tmp_path / "reference")
        before = _state(central_store)
        assert _state(reference) == before
        clean = _merge_command(bundle, reference, started)  # one uninterrupted run, alongside

        progress = []
        for events, seconds in KILLS:
            start = _merge_events(central_store)
            proc = _merge_command(bundle, central_store, started)
            began = time.monotonic()
            while _merge_events(central_store) - start < max(events, 1) and not (
                    events == 0 and _has_open(proc, bundle)):
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() - began < 120, "the merge never got that far"
                time.sleep(0.02)
            time.sleep(seconds)
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL, f"the merge ended by itself: {out}"
            progress.append(_state(central_store)["counts"]["items"])
        finished = _merge_command(bundle, central_store, started)
        out, _ = finished.communicate(timeout=300)
        assert finished.returncode == 0, out
        out, _ = clean.communicate(timeout=300)
        assert clean.returncode == 0, out

        after, expected = _state(central_store), _state(reference)
        grown = {t: expected["counts"][t] - before["counts"][t] for t in expected["counts"]}
        assert grown["items"] == BULK_ITEMS + 2 and grown["reviews"] == BULK_REVIEWS + 2
        assert grown["compensation_entries"] == BULK_REVIEWS + 2 and grown["contributors"] == 2
        assert progress == sorted(progress)  # killed later each time, and never losing work
        assert any(before["counts"]["items"] < n < expected["counts"]["items"] for n in progress), \
            progress  # at least one kill fell between the item batches
        assert after["counts"] == expected["counts"]
        for what in ("people", "consents", "items", "reviews", "ledger"):
            assert after[what] == expected[what], what
    finally:
        for proc in started:  # a failed assertion leaves none of ours running
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        central_store.close()
        if reference is not None:
            reference.close()
        drop()
        ref_drop()
