"""Kitting out (issue 14, first part): `jamii kit create` on the central store (SQLite and
PostgreSQL, the `store` fixture) and `jamii init --from-kit` on a new field SQLite store.

What a field laptop can do with the kit alone: its people sign in with their codes and
passwords, contribute under their central consent, duplicates of central items are refused,
and everything it makes carries the kit's id beside a global id. What the kit must not carry:
contact details, self-described region, gender or age, withdrawn people, or any text of the
central items.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jamii.cli import cli
from jamii.core.kit.kits import central_key_path, create_kit, init_from_kit, read_kit
from jamii.core.store import OPERATOR, DuplicateItem, Store, StoreError

PROMPT = "Mbolea ya samadi huwekwa lini kwenye shamba la mahindi huko Kitui?"
ANSWER = "Weka samadi iliyooza wiki mbili kabla ya kupanda, ichanganye na udongo vizuri."


@pytest.fixture
def central(store):
    """A central store with a campaign, people of every kind, and one central item."""
    camp = store.create_campaign("kilimo", "Kilimo", languages=["sw"], domains=["agriculture"],
                                 consent_scopes=["open_publication"], actor_id=OPERATOR)
    text = store.add_consent_text(camp.id, "1", "sw", "Nakubali kushiriki.", actor_id=OPERATOR)
    store.set_rate_card(camp.id, {"review": {"amount": 10, "unit": "KES"}}, actor_id=OPERATOR)
    amina, amina_code = store.add_contributor(roles=["contributor"], name="Amina Juma",
                                              phone="+255712345678", region="Pwani", gender="woman",
                                              actor_id=OPERATOR)
    gone, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    reviewer, _ = store.add_contributor(roles=["reviewer"], login_name="mkaguzi",
                                        password="a long reviewer secret", actor_id=OPERATOR)
    stranger, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)  # no consent
    for who in (amina, gone, reviewer):
        store.accept_consent(who.id, text.id, {"open_publication": True})
    store.withdraw(gone.id, actor_id=gone.id)
    store.submit_item(campaign_id=camp.id, author_id=amina.id, kind="prompt_response", language="sw",
                      content={"prompt": PROMPT, "response": ANSWER, "task_type": "open_qa"},
                      client_key="central-1")
    return store, camp, {"amina": (amina, amina_code), "gone": gone, "reviewer": reviewer,
                         "stranger": stranger}


def field_store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'field' / 'jamii.sqlite3'}", tmp_path / "field" / "audio")


def test_a_kit_carries_what_the_field_needs_and_nothing_private(central, tmp_path):
    store, camp, people = central
    done = create_kit(store, camp.id, tmp_path / "kilimo.kit", actor_id=OPERATOR, note="Kitui hall")
    raw = gzip.decompress((tmp_path / "kilimo.kit").read_bytes()).decode()
    for private in ("Amina Juma", "+255712345678", "Pwani", "woman", PROMPT, ANSWER, "a long reviewer secret"):
        assert private not in raw, private
    kit = read_kit(tmp_path / "kilimo.kit")
    pseudonyms = {p["pseudonym"] for p in kit["people"]}
    assert pseudonyms == {people["amina"][0].pseudonym, people["reviewer"].pseudonym}
    assert done.known_items == 1 and len(kit["known_content"][0]) == 64
    assert kit["central_public_key"].startswith("age1")
    key = central_key_path(store)
    assert key.exists() and (key.stat().st_mode & 0o077) == 0  # only the store's owner reads it
    [event] = store.audit_events(action_prefix="kit.issue")
    assert event["record"] == f"kit:{done.kit_id}"
    assert [k.id for k in store.kits(camp.id)] == [done.kit_id]


def test_a_field_store_from_a_kit_works_offline_and_stamps_its_records(central, tmp_path):
    store, camp, people = central
    create_kit(store, camp.id, tmp_path / "kilimo.kit", actor_id=OPERATOR)
    field = field_store(tmp_path)
    try:
        done = init_from_kit(field, tmp_path / "kilimo.kit", actor_id=OPERATOR)
        assert field.field_kit() == done.kit_id and store.field_kit() is None
        amina_code = people["amina"][1]
        amina = field.sign_in_with_code(amina_code)
        assert amina is not None and amina.uid == people["amina"][0].uid
        reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
        assert reviewer is not None
        fcamp = field.campaign("kilimo")
        assert fcamp.id == camp.id and field.active_consent(amina.id, fcamp.id) is not None
        with pytest.raises(DuplicateItem):  # a central item, known by its hash alone
            field.submit_item(campaign_id=fcamp.id, author_id=amina.id, kind="prompt_response",
                              language="sw", content={"prompt": PROMPT, "response": ANSWER,
                                                      "task_type": "open_qa"}, client_key="field-dup")
        item = field.submit_item(campaign_id=fcamp.id, author_id=amina.id, kind="prompt_response",
                                 language="sw", content={"prompt": PROMPT + " Msimu wa vuli?",
                                                         "response": ANSWER, "task_type": "open_qa"},
                                 client_key="field-1").item
        assert item.kit_id == done.kit_id
        field.record_review(item.id, reviewer.id, "approve")
        [review] = field.reviews_of(item.id)
        [entry] = field.ledger(fcamp.id)
        assert review.kit_id == entry.kit_id == done.kit_id
        assert entry.source_key == f"review:{review.uid}" and len(review.uid) == 32
        newcomer, _ = field.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        assert field.contributor(newcomer.id).kit_id == done.kit_id
        assert field.contributor(amina.id).kit_id is None  # came from the central store
    finally:
        field.close()


def test_a_kit_loads_only_into_an_empty_store_and_bad_files_say_so(central, tmp_path):
    store, camp, _ = central
    create_kit(store, camp.id, tmp_path / "kilimo.kit", actor_id=OPERATOR)
    with pytest.raises(StoreError, match="already holds a campaign"):
        init_from_kit(store, tmp_path / "kilimo.kit", actor_id=OPERATOR)
    (tmp_path / "notes.txt").write_text("not a kit")
    (tmp_path / "other.kit").write_bytes(gzip.compress(json.dumps({"format": "zip"}).encode()))
    (tmp_path / "cut.kit").write_bytes((tmp_path / "kilimo.kit").read_bytes()[:200])
    field = field_store(tmp_path)
    try:
        for name, says in (("notes.txt", "not a jamii kit"), ("other.kit", "not a jamii kit"),
                           ("cut.kit", "not a jamii kit"), ("missing.kit", "No kit file")):
            with pytest.raises(StoreError, match=says):
                init_from_kit(field, tmp_path / name, actor_id=OPERATOR)
            assert field.campaigns() == []  # nothing half-loaded
        contributor = field.add_contributor(roles=["contributor"], actor_id=OPERATOR)[0]
        from jamii.core.store import Forbidden

        with pytest.raises(Forbidden):
            field.load_kit(read_kit(tmp_path / "kilimo.kit"), actor_id=contributor.id)
        assert field.campaigns() == []
    finally:
        field.close()


def test_the_two_commands_in_order(central, tmp_path, monkeypatch):
    store, camp, _ = central
    monkeypatch.delenv("JAMII_DB", raising=False)
    runner = CliRunner()
    central_data = store.audio_dir.parent
    made = runner.invoke(cli, ["kit", "create", "--campaign", "kilimo", "--out", str(tmp_path / "k.kit"),
                               "--db", store.url, "--data-dir", str(central_data)])
    assert made.exit_code == 0, made.output
    assert "jamii init --from-kit k.kit" in made.output
    field_data = tmp_path / "laptop"
    loaded = runner.invoke(cli, ["init", "--from-kit", str(tmp_path / "k.kit"), "--data-dir", str(field_data)])
    assert loaded.exit_code == 0, loaded.output
    assert "Field store of kit" in loaded.output and "campaign 'kilimo'" in loaded.output
    again = runner.invoke(cli, ["init", "--from-kit", str(tmp_path / "k.kit"), "--data-dir", str(field_data)])
    assert again.exit_code != 0 and "already holds a campaign" in again.output
    assert (field_data / "kit" / "central-public-key.txt").read_text().startswith("age1")
    assert not (field_data / "kit" / "central-key.txt").exists()  # the secret stays central
    assert os.listdir(tmp_path).count("k.kit") == 1
    rerun = runner.invoke(cli, ["init", "--data-dir", str(field_data)])  # what `make run` does
    assert rerun.exit_code == 0 and "example campaign is not added" in rerun.output
    field = Store.open(data_dir=field_data)
    try:
        assert [c.slug for c in field.campaigns()] == ["kilimo"] and not field.demo_people_active()
    finally:
        field.close()
