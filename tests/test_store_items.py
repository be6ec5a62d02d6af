"""The store's `core/store/_items.py`: submission, audio, listing and status counts.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real,
migrated store. Nothing is mocked.
"""

from __future__ import annotations

import hashlib
import unicodedata

import pytest

from jamii.core.items import ItemError
from jamii.core.records import Item
from jamii.core.store import OPERATOR, DuplicateItem, Forbidden, Store, StoreError
from tests.support.store_world import World, contextual, count, pr, run_racing
from tests.support.store_world import world  # noqa: F401 - fixtures


# ---------------------------------------------------------------------------------------- items


def test_submit_needs_consent(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    store.add_consent_text(c.id, "1", "en", "Text.", actor_id=OPERATOR)
    p, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    with pytest.raises(Forbidden, match="consent"):
        store.submit_item(campaign_id=c.id, author_id=p.id, kind="prompt_response",
                          language="sw", content=pr(), client_key="k1")
    assert count(store, Item) == 0


def test_same_client_key_twice_is_one_item(world):
    first = world.submit(content=pr("a"), key="double-click")
    second = world.submit(content=pr("a"), key="double-click")
    assert first.created is True and second.created is False
    assert first.item.id == second.item.id
    assert first.item.public_id.startswith("itm_") and first.item.status == "submitted"
    assert count(world.store, Item) == 1


def test_exact_duplicate_content_is_refused(world):
    world.submit(content=pr("a"), key="k1")
    with pytest.raises(DuplicateItem, match="already in the campaign"):
        world.submit(author=world.author2, content=pr("a"), key="k2")
    # whitespace and Unicode form do not hide a duplicate
    nfd = {k: "  " + unicodedata.normalize("NFD", v) + "\n" for k, v in pr("a").items()}
    with pytest.raises(DuplicateItem):
        world.submit(content=nfd, key="k3")
    assert count(world.store, Item) == 1


def test_bad_content_lists_every_field_and_writes_nothing(world):
    with pytest.raises(ItemError) as err:
        world.submit(content={"prompt": "", "response": 42, "task_type": "poetry"}, key="bad")
    fields = {p.field for p in err.value.problems}
    assert {"prompt", "response", "task_type"} <= fields
    message = str(err.value)
    assert "prompt" in message and "response" in message and "task_type" in message
    assert count(world.store, Item) == 0
    # the key was not burnt: the fixed submission goes through under it
    assert world.submit(content=pr("fixed"), key="bad").created


def test_bad_contextual_item_names_rubric_problems(world):
    content = contextual()
    content["rubric"] = [{"name": "usefulness", "anchors": ["a", "b"]}]
    content["reference_answers"] = []
    with pytest.raises(ItemError) as err:
        world.submit(kind="contextual", content=content)
    fields = {p.field for p in err.value.problems}
    assert "rubric[1].anchors" in fields and "reference_answers" in fields
    assert count(world.store, Item) == 0
    assert world.submit(kind="contextual", content=contextual()).created


@pytest.mark.parametrize("change, message", [
    ({"kind": "speech"}, "does not collect speech"),
    ({"language": "yo"}, "not yo"),
    ({"dialect": "Kiamu"}, "dialects"),
    ({"domain": "finance"}, "domains"),
])
def test_item_outside_the_campaign_is_refused(store, change, message):
    w = World(store)
    store.update_campaign(w.campaign.id, item_kinds=["prompt_response", "contextual"],
                          actor_id=w.org.id)
    content = pr()
    if change.get("kind") == "speech":
        content = {"transcript": "Habari", "audio_sha256": "0" * 64}
    with pytest.raises(StoreError, match=message):
        w.submit(content=content, **change)
    assert count(store, Item) == 0


def test_item_fields_that_fit_the_campaign(world):
    a = world.submit(language="swh", dialect="Kiunguja", domain="health").item
    assert (a.language, a.dialect, a.domain) == ("sw", "Kiunguja", "health")
    b = world.submit(dialect="other: Kiamu").item
    assert b.dialect == "other: Kiamu"
    c = world.submit(language="sn", dialect="Zezuru").item  # no dialect list for sn: free text
    assert c.dialect == "Zezuru"
    assert a.consent_id == world.store.active_consent(world.author.id, world.campaign.id).id


def test_text_is_stored_nfc(world):
    prompt = "Ọmọ mi ń ṣàìsàn, kí ni kí n ṣe?"
    nfd = unicodedata.normalize("NFD", prompt)
    assert nfd != prompt
    sub = world.submit(content={"prompt": nfd, "response": "Lọ sí ilé ìwòsàn."})
    stored = world.store.item(sub.item.id).content["prompt"]
    assert stored == unicodedata.normalize("NFC", prompt)
    assert unicodedata.is_normalized("NFC", stored)


def test_speech_needs_voice_consent(world):
    store = world.store
    data = b"RIFF fake wav bytes"
    digest = store.save_audio(data)
    no_voice = world.person(["contributor"], scopes={"open_publication": True, "voice": False})
    speech = {"transcript": "Habari za asubuhi", "audio_sha256": digest,
              "duration_s": 2.5, "sample_rate": 16000}
    with pytest.raises(Forbidden, match="voice"):
        world.submit(author=no_voice, kind="speech", content=speech)
    assert count(store, Item) == 0
    ok = world.submit(kind="speech", content=speech).item
    assert ok.content["audio_sha256"] == digest
    with pytest.raises(ItemError, match="audio"):
        world.submit(kind="speech", content={"transcript": "Bila sauti"})


def test_speech_refused_when_consent_text_never_asked_for_voice(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], item_kinds=["speech"],
                              actor_id=OPERATOR)
    ct = store.add_consent_text(c.id, "1", "en", "Text.", scopes=["open_publication"],
                                actor_id=OPERATOR)
    p, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    store.accept_consent(p.id, ct.id, {"open_publication": True})
    digest = store.save_audio(b"voice of someone who never agreed to share it")
    with pytest.raises((Forbidden, StoreError)):
        store.submit_item(campaign_id=c.id, author_id=p.id, kind="speech", language="sw",
                          content={"transcript": "Habari", "audio_sha256": digest},
                          client_key="k1")


def test_audio_is_content_addressed_and_written_once(store):
    data = b"\x00\x01" * 1000
    digest = store.save_audio(data)
    assert digest == hashlib.sha256(data).hexdigest()
    path = store.audio_path(digest)
    assert path.read_bytes() == data
    assert path.parent.name == digest[:2] and path.name == f"{digest}.wav"
    mtime = path.stat().st_mtime_ns
    assert store.save_audio(data) == digest
    assert path.stat().st_mtime_ns == mtime
    files = [p for p in store.audio_dir.rglob("*") if p.is_file()]
    assert files == [path]  # one file, no leftover temporaries
    other = store.save_audio(b"other bytes")
    assert other != digest and store.audio_path(other).exists()


def test_client_key_is_required(world):
    with pytest.raises(StoreError, match="client key"):
        world.submit(key="")
    with pytest.raises(StoreError, match="client key"):
        world.submit(key="k" * 129)


def test_listing_items(world):
    a = world.submit().item
    b = world.submit(author=world.author2).item
    c = world.submit(kind="contextual", content=contextual()).item
    store = world.store
    assert [i.id for i in store.items(world.campaign.id)] == [c.id, b.id, a.id]
    assert [i.id for i in store.items(world.campaign.id, author_id=world.author2.id)] == [b.id]
    assert [i.id for i in store.items(world.campaign.id, kind="contextual")] == [c.id]
    assert len(store.items(world.campaign.id, limit=2)) == 2
    assert store.item(a.public_id).id == a.id


def test_double_submit_racing_the_content_check(world, monkeypatch, request, tmp_path):
    """A double click that reached two server processes: both must get the one item back."""
    store = world.store
    other = Store(store.url, tmp_path / "audio", create=False)
    args = dict(campaign_id=world.campaign.id, author_id=world.author.id, kind="prompt_response",
                language="sw", content=pr("race"), client_key="double-click")
    real_check = Store._check_fit
    race: list = []

    def racing_check(*a):
        if not race:  # the first submission is past its client_key check: the second one runs
            race.append(None)
            race[0] = run_racing(lambda: other.submit_item(**args))
        return real_check(*a)

    monkeypatch.setattr(Store, "_check_fit", staticmethod(racing_check))
    try:
        first = store.submit_item(**args)
        thread, out = race[0]
        thread.join(timeout=90)
    finally:
        other.close()
    assert "error" not in out, out.get("error")
    second = out["value"]
    assert first.item.id == second.item.id
    assert sorted([first.created, second.created]) == [False, True]
    assert count(store, Item) == 1


# -------------------------------------------------------------------------------- status counts


def test_status_counts(world):
    store = world.store
    a = world.submit(dialect="Kiunguja").item
    world.submit(author=world.author2, dialect="Kimvita")
    world.submit(language="sn")
    world.submit(kind="contextual", content=contextual())
    for r in world.reviewers[:2]:
        store.record_review(a.id, r.id, "approve")
    counts = store.status_counts(world.campaign.id)
    assert counts["items"] == 4
    assert counts["by_kind"] == {"prompt_response": 3, "contextual": 1}
    assert counts["by_status"] == {"accepted": 1, "submitted": 3}
    assert counts["by_language"] == {"sw": 3, "sn": 1}
    assert counts["by_dialect"] == {"sw/Kiunguja": 1, "sw/Kimvita": 1, "sn/(none)": 1,
                                    "sw/(none)": 1}
    assert counts["contributors"] == {"with_items": 2, "registered": 6, "withdrawn": 0,
                                      "reviewers": 3, "organisers": 1}


def test_status_counts_of_an_empty_campaign(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    counts = store.status_counts(c.id)
    assert counts["items"] == 0 and counts["by_status"] == {}
