"""The store, on SQLite and on PostgreSQL (the `store` fixture runs each test on both).

Every test works on a real, migrated store: a fresh SQLite file, or a PostgreSQL schema of its
own that is dropped afterwards. Nothing is mocked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import unicodedata
from decimal import Decimal

import pytest
from sqlalchemy import Engine, event, func, select, text

from jamii.core.items import ItemError
from jamii.core.records import (
    AuditEvent,
    Base,
    CompensationEntry,
    Consent,
    ContributorContact,
    Item,
    PaymentEvent,
)
from jamii.core.store import OPERATOR, DuplicateItem, Forbidden, Store, StoreError

# ------------------------------------------------------------------------------------ helpers


def pr(n: int | str = 1, **extra) -> dict:
    """A valid prompt/response content, distinct for each n."""
    return {"prompt": f"Mbolea gani inafaa kwa mahindi shamba {n}?",
            "response": f"Tumia mbolea ya samadi iliyooza vizuri, kipimo {n}.", **extra}


def contextual(n: int = 1) -> dict:
    return {
        "scenario": f"Mkulima wa Kitui anauliza sokoni, shamba {n}",
        "persona": "Mkulima mdogo mwenye ekari mbili",
        "question": "Nifanye nini mahindi yakinyauka?",
        "reference_answers": ["Mwagilia asubuhi na jioni na weka matandazo."],
        "rubric": [{"name": "usefulness",
                    "anchors": ["haifai", "kidogo", "wastani", "nzuri", "bora kabisa"]}],
    }


class World:
    """A campaign with an organiser, two consenting contributors and three reviewers."""

    def __init__(self, store: Store, rates: dict | None = None):
        self.store = store
        self.org, _ = store.add_contributor(roles=["organiser"], name="Amina Organiser",
                                            actor_id=OPERATOR)
        self.campaign = store.create_campaign(
            "kilimo", "Kilimo", languages=["sw", "sn"], domains=["agriculture", "health"],
            dialects={"sw": ["Kiunguja", "Kimvita"]}, actor_id=self.org.id)
        self.consent_text = store.add_consent_text(
            self.campaign.id, "1", "en", "I agree to share what I write.", actor_id=self.org.id)
        if rates is not None:
            store.set_rate_card(self.campaign.id, rates, actor_id=self.org.id)
        self.author = self.person(["contributor"])
        self.author2 = self.person(["contributor"])
        self.reviewers = [self.person(["reviewer"]) for _ in range(3)]
        self._n = 0

    def person(self, roles, scopes=None, **profile):
        p, _ = self.store.add_contributor(roles=roles, **profile, actor_id=OPERATOR)
        self.store.accept_consent(p.id, self.consent_text.id, scopes or {
            "open_publication": True, "model_evaluation": True, "voice": True})
        return p

    def submit(self, author=None, content=None, key=None, **kw):
        self._n += 1
        kw.setdefault("kind", "prompt_response")
        kw.setdefault("language", "sw")
        return self.store.submit_item(
            campaign_id=self.campaign.id, author_id=(author or self.author).id,
            content=content or pr(f"w{self._n}"), client_key=f"key-{self._n}" if key is None else key, **kw)


@pytest.fixture
def world(store):
    return World(store)


RATES = {"item_accepted": {"amount": "50", "unit": "KES"},
         "review": {"amount": "5", "unit": "KES"}}


@pytest.fixture
def paid_world(store):
    return World(store, rates=RATES)


def count(store: Store, model, *where) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# --------------------------------------------------------------------------- migrations & engine


def test_migrations_create_every_table(store):
    expected = set(Base.metadata.tables) | {"alembic_version"}
    assert set(store.tables()) == expected


def test_reopening_migrates_nothing_and_stays_at_head(store, tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from jamii.core.store._base import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()

    statements: list[str] = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", spy)
    try:
        again = Store(store.url, tmp_path / "audio")
    finally:
        event.remove(Engine, "before_cursor_execute", spy)
    try:
        ddl = [s for s in statements
               if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP", "INSERT", "UPDATE"))]
        assert ddl == [], f"re-opening a migrated store changed it: {ddl}"
        with again.read() as s:
            assert list(s.scalars(text("SELECT version_num FROM alembic_version"))) == [head]
    finally:
        again.close()


def test_models_and_migrations_agree(store):
    """Alembic autogenerate finds nothing to do: the migrations build exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_busy_timeout(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_write_is_one_transaction(store):
    """An error inside `write()` leaves nothing behind."""
    org, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    before = count(store, AuditEvent)
    with pytest.raises(RuntimeError):
        with store.write() as s:
            store._audit(s, org.id, "test.action", "campaign", 1)
            s.flush()
            raise RuntimeError("boom")
    assert count(store, AuditEvent) == before


# ------------------------------------------------------------------------------------ campaigns


def test_campaign_languages_are_normalised(store):
    c = store.create_campaign("c1", "C1", languages=["swh", "SN", "zul"],
                              dialects={"swh": ["Kiunguja"]}, actor_id=OPERATOR)
    assert c.languages == ["sw", "sn", "zu"]
    assert c.dialects == {"sw": ["Kiunguja"]}
    assert store.campaign("c1").languages == ["sw", "sn", "zu"]
    assert store.campaign(c.id).slug == "c1"


def test_campaign_with_invalid_language_is_refused_helpfully(store):
    with pytest.raises(StoreError) as err:
        store.create_campaign("c1", "C1", languages=["Kiswahili-xx-123"], actor_id=OPERATOR)
    assert "BCP-47" in str(err.value) and "'sw'" in str(err.value)
    with pytest.raises(StoreError, match="at least one language"):
        store.create_campaign("c2", "C2", languages=[], actor_id=OPERATOR)
    assert store.campaigns() == []


def test_campaign_with_unknown_kind_is_refused(store):
    with pytest.raises(StoreError, match="Unknown item kind"):
        store.create_campaign("c1", "C1", languages=["sw"], item_kinds=["essay"], actor_id=OPERATOR)
    assert store.campaigns() == []


def test_campaign_duplicate_slug_is_refused(store):
    store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    with pytest.raises(StoreError, match="exists already"):
        store.create_campaign("c1", "Other", languages=["sn"], actor_id=OPERATOR)
    assert [c.name for c in store.campaigns()] == ["C1"]


def test_unknown_campaign_names_the_existing_ones(store):
    from jamii.core.store import NotFound

    store.create_campaign("kilimo", "Kilimo", languages=["sw"], actor_id=OPERATOR)
    with pytest.raises(NotFound, match="kilimo"):
        store.campaign("afya")


# ---------------------------------------------------------------------------------- contributors


def test_invite_code_sign_in_ignores_case_and_dashes(store):
    person, code = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    assert len(code.replace("-", "")) == 12
    assert store.sign_in_with_code(code).id == person.id
    assert store.sign_in_with_code(code.lower().replace("-", "")).id == person.id
    assert store.sign_in_with_code(" " + code.lower().replace("-", " ") + " ").id == person.id
    assert store.sign_in_with_code("AAAA-BBBB-CCCC") is None
    assert store.sign_in_with_code("") is None
    with store.read() as s:  # stored hashed, never in clear
        raw = s.execute(text("SELECT invite_code_sha256 FROM contributors")).scalar()
    assert code not in raw and len(raw) == 64


def test_password_sign_in_stores_only_an_argon2_hash(store):
    person, _ = store.add_contributor(roles=["organiser"], login_name="amina",
                                      password="mahindi-na-maharage", actor_id=OPERATOR)
    with store.read() as s:
        stored = s.execute(text("SELECT password_hash FROM contributor_contacts")).scalar()
    assert stored.startswith("$argon2")
    assert "mahindi-na-maharage" not in stored
    assert store.sign_in_with_password("amina", "mahindi-na-maharage").id == person.id
    assert store.sign_in_with_password("amina", "wrong-password!") is None
    assert store.sign_in_with_password("nobody", "mahindi-na-maharage") is None


def test_set_password_requires_length_and_unique_login(store):
    a, _ = store.add_contributor(roles=["organiser"], login_name="amina", password="x" * 12,
                                 actor_id=OPERATOR)
    b, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    with pytest.raises(StoreError, match="10 characters"):
        store.set_password(b.id, "baraka", "short", actor_id=a.id)
    with pytest.raises(StoreError, match="taken"):
        store.set_password(b.id, "amina", "long-enough-pw", actor_id=a.id)
    store.set_password(b.id, "baraka", "long-enough-pw", actor_id=a.id)
    assert store.sign_in_with_password("baraka", "long-enough-pw").id == b.id
    with pytest.raises(StoreError, match="taken"):
        store.add_contributor(login_name="amina", password="y" * 12, actor_id=OPERATOR)


def test_contact_details_live_only_in_contributor_contacts(store):
    person, _ = store.add_contributor(roles=["contributor"], name="Baraka Mwangi",
                                      email="baraka@example.org", phone="+254712345678",
                                      gender="man", region="Kitui", actor_id=OPERATOR)
    with store.read() as s:
        row = s.execute(text("SELECT * FROM contributors")).mappings().one()
        contact = s.get(ContributorContact, person.id)
    flat = " ".join(str(v) for v in row.values())
    for private in ("Baraka", "baraka@example.org", "+254712345678"):
        assert private not in flat
    assert "name" not in row and "email" not in row and "phone" not in row
    assert (contact.name, contact.email, contact.phone) == (
        "Baraka Mwangi", "baraka@example.org", "+254712345678")
    assert row["gender"] == "man" and row["pseudonym"].startswith("c-")


def test_roles_and_profile_are_validated(store):
    with pytest.raises(StoreError, match="Unknown role"):
        store.add_contributor(roles=["admin"], actor_id=OPERATOR)
    with pytest.raises(StoreError, match="Unknown profile field"):
        store.add_contributor(roles=["contributor"], shoe_size="42", actor_id=OPERATOR)
    with pytest.raises(StoreError, match="compensation method"):
        store.add_contributor(roles=["contributor"], compensation_method="cheque",
                              actor_id=OPERATOR)
    p, _ = store.add_contributor(roles=["contributor"], languages_spoken=["swh", "en"],
                                 actor_id=OPERATOR)
    assert p.languages_spoken == ["sw", "en"]
    assert store.update_profile(p.id, region="Kitui", actor_id=p.id).region == "Kitui"
    assert store.update_profile(p.id, region="", actor_id=p.id).region is None


# ------------------------------------------------------------------------------------ consent


def test_consent_text_versions_are_immutable(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    first = store.add_consent_text(c.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    assert first.sha256 == hashlib.sha256("Nakubali.".encode()).hexdigest()
    assert store.add_consent_text(c.id, "1", "sw", "Nakubali.",
                                  actor_id=OPERATOR).id == first.id  # same: no-op
    with pytest.raises(StoreError, match="cannot change"):
        store.add_consent_text(c.id, "1", "swh", "Nakubali kabisa.", actor_id=OPERATOR)
    assert [t.text for t in store.consent_texts(c.id)] == ["Nakubali."]
    with pytest.raises(StoreError, match="empty"):
        store.add_consent_text(c.id, "2", "sw", "   ", actor_id=OPERATOR)
    with pytest.raises(StoreError, match="Unknown consent scope"):
        store.add_consent_text(c.id, "2", "sw", "Text", scopes=["selling"], actor_id=OPERATOR)


def test_consent_text_falls_back_to_english(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    store.add_consent_text(c.id, "1", "en", "I agree.", actor_id=OPERATOR)
    store.add_consent_text(c.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    assert store.consent_text(c.id, "sw-KE").text == "Nakubali."
    assert store.consent_text(c.id, "fr").text == "I agree."


def test_a_new_consent_version_requires_accepting_again(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    v1 = store.add_consent_text(c.id, "1", "en", "Version one.", actor_id=OPERATOR)
    p, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    consent = store.accept_consent(p.id, v1.id, {"open_publication": True})
    assert store.active_consent(p.id, c.id).id == consent.id
    v2 = store.add_consent_text(c.id, "2", "en", "Version two.", actor_id=OPERATOR)
    assert store.campaign(c.id).current_consent_version == "2"
    assert store.active_consent(p.id, c.id) is None
    with pytest.raises(Forbidden, match="consent"):
        store.submit_item(campaign_id=c.id, author_id=p.id, kind="prompt_response",
                          language="sw", content=pr(), client_key="k1")
    again = store.accept_consent(p.id, v2.id, {"open_publication": True})
    assert store.active_consent(p.id, c.id).id == again.id
    assert again.version == "2" and again.text_sha256 == v2.sha256


def test_consent_scopes_are_explicit_choices(store):
    c = store.create_campaign("c1", "C1", languages=["sw"], actor_id=OPERATOR)
    ct = store.add_consent_text(c.id, "1", "en", "Text.", actor_id=OPERATOR)
    assert sorted(ct.scopes) == ["model_evaluation", "open_publication", "voice"]
    p, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    consent = store.accept_consent(p.id, ct.id, {"open_publication": True, "voice": 0})
    # every scope of the text is recorded as a yes or a no, nothing left implicit
    assert consent.scopes == {"open_publication": True, "model_evaluation": False, "voice": False}
    with store.read() as s:
        assert s.get(Consent, consent.id).scopes == consent.scopes


def test_withdrawal_marks_consents_withdrawn_and_blocks_contributing(world):
    store = world.store
    world.submit()
    store.withdraw(world.author.id, actor_id=world.org.id, reason="asked by SMS")
    with store.read() as s:
        consents = list(s.scalars(select(Consent).where(Consent.contributor_id == world.author.id)))
    assert consents and all(c.withdrawn_at is not None for c in consents)
    assert store.active_consent(world.author.id, world.campaign.id) is None
    assert store.contributor(world.author.id).withdrawn_at is not None
    with pytest.raises(Forbidden):
        world.submit()
    with pytest.raises(Forbidden, match="withdrawn"):
        store.accept_consent(world.author.id, world.consent_text.id, {"open_publication": True})


# -------------------------------------------------------------------------------------- items


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


def _race(fn, *args):
    """Run `fn` on another thread (another connection) while our transaction is open.

    Waits up to 2 s: long enough for a writer that is not blocked to commit, short enough
    that a writer correctly blocked by our transaction's lock does not deadlock the test.
    """
    out: dict = {}

    def target():
        try:
            out["value"] = fn(*args)
        except Exception as exc:  # noqa: BLE001
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=2)
    return thread, out




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
            race[0] = _race(lambda: other.submit_item(**args))
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


# ------------------------------------------------------------------------------------ reviews


def test_authors_never_review_their_own_items(world):
    item = world.submit().item
    with pytest.raises(Forbidden, match="own"):
        world.store.record_review(item.id, world.author.id, "approve")
    assert world.store.reviews_of(item.id) == []


def test_a_reviewer_reviews_an_item_once(world):
    item = world.submit().item
    r = world.reviewers[0]
    world.store.record_review(item.id, r.id, "approve")
    with pytest.raises(StoreError, match="already reviewed"):
        world.store.record_review(item.id, r.id, "reject", reasons=["unclear"])
    assert len(world.store.reviews_of(item.id)) == 1


def test_review_input_is_validated(world):
    item = world.submit().item
    r = world.reviewers[0].id
    with pytest.raises(StoreError, match="not a verdict"):
        world.store.record_review(item.id, r, "maybe")
    with pytest.raises(StoreError, match="reason"):
        world.store.record_review(item.id, r, "reject")
    with pytest.raises(StoreError, match="Unknown reason"):
        world.store.record_review(item.id, r, "reject", reasons=["ugly"])
    with pytest.raises(StoreError, match="edit"):
        world.store.record_review(item.id, r, "edit")
    assert world.store.reviews_of(item.id) == []


def _status_after(world, verdicts: list[str]) -> str:
    item = world.submit().item
    for reviewer, verdict in zip(world.reviewers, verdicts):
        world.store.record_review(item.id, reviewer.id, verdict,
                                  reasons=["inaccurate"] if verdict == "reject" else None)
    return world.store.item(item.id).status


@pytest.mark.parametrize("verdicts, status", [
    (["approve"], "submitted"),
    (["reject"], "submitted"),
    (["approve", "approve"], "accepted"),
    (["reject", "reject"], "rejected"),
    (["approve", "reject"], "submitted"),
    (["reject", "approve"], "submitted"),
    (["approve", "reject", "approve"], "accepted"),
    (["approve", "reject", "reject"], "rejected"),
])
def test_common_voice_rule(world, verdicts, status):
    assert _status_after(world, verdicts) == status


def test_three_tied_votes_reject_and_decided_items_take_no_more_reviews(store):
    w = World(store)
    w.reviewers.append(w.person(["reviewer"]))
    # 2 approvals against 2 rejections cannot happen under the default rule (2-1 decides),
    # so a tie at 3+ needs a campaign rule that waits for more votes
    store.update_campaign(w.campaign.id, acceptance_rule={"min_votes": 4, "tie_reject_at": 4},
                          actor_id=w.org.id)
    assert _status_after(w, ["approve", "reject", "approve", "reject"]) == "rejected"
    item = w.submit().item
    for r in w.reviewers[:2]:
        store.record_review(item.id, r.id, "approve")
    assert store.item(item.id).status == "submitted"  # min_votes=4: still open
    store.record_review(item.id, w.reviewers[2].id, "approve")
    store.record_review(item.id, w.reviewers[3].id, "reject", reasons=["unclear"])
    assert store.item(item.id).status == "accepted"
    late = w.person(["reviewer"])
    with pytest.raises(StoreError, match="already been decided"):
        store.record_review(item.id, late.id, "approve")


def test_edit_verdict_sends_item_back_to_its_author(world):
    store = world.store
    item = world.submit().item
    store.record_review(item.id, world.reviewers[0].id, "edit",
                        suggested_edit={"response": "Tumia samadi iliyooza, kilo mbili."})
    assert store.item(item.id).status == "needs_edit"
    with pytest.raises(Forbidden):
        store.accept_edit(item.id, world.author2.id, {"response": "x"})
    edited = store.accept_edit(item.id, world.author.id,
                               {"response": "Tumia samadi iliyooza, kilo mbili."})
    assert edited.version == 2 and edited.status == "submitted"
    # votes on the old version do not count for the new one
    store.record_review(item.id, world.reviewers[1].id, "approve")
    assert store.item(item.id).status == "submitted"
    store.record_review(item.id, world.reviewers[2].id, "approve")
    assert store.item(item.id).status == "accepted"


def test_review_queue(world):
    store = world.store
    mine = world.submit().item
    other = world.submit(author=world.author2).item
    queue = store.review_queue(world.campaign.id, world.author.id)
    assert [i.id for i in queue] == [other.id]  # never one's own items
    r = world.reviewers[0]
    assert [i.id for i in store.review_queue(world.campaign.id, r.id)] == [mine.id, other.id]
    store.record_review(mine.id, r.id, "approve")
    assert [i.id for i in store.review_queue(world.campaign.id, r.id)] == [other.id]




def test_simultaneous_reviews_still_decide_the_item(store, monkeypatch, request, tmp_path):
    """Two reviewers approve the same item at the same moment: it must end up accepted."""
    import jamii.core.store._reviews as reviews

    w = World(store, rates=RATES)
    item = w.submit().item
    other = Store(store.url, tmp_path / "audio", create=False)
    real_decide = reviews.decide
    race: list = []

    def racing_decide(*a):
        if not race:  # the first review has counted the votes: the second reviewer submits
            race.append(None)
            race[0] = _race(other.record_review, item.id, w.reviewers[1].id, "approve")
        return real_decide(*a)

    monkeypatch.setattr(reviews, "decide", racing_decide)
    try:
        store.record_review(item.id, w.reviewers[0].id, "approve")
        thread, out = race[0]
        thread.join(timeout=90)
    finally:
        other.close()
    assert "error" not in out, out.get("error")
    assert len(store.reviews_of(item.id)) == 2
    assert store.item(item.id).status == "accepted"
    assert len(_entries(store, activity="item_accepted")) == 1


# ----------------------------------------------------------------------------- compensation


def _entries(store, **where):
    with store.read() as s:
        q = select(CompensationEntry).order_by(CompensationEntry.id)
        for k, v in where.items():
            q = q.where(getattr(CompensationEntry, k) == v)
        return list(s.scalars(q))


def test_reviews_and_acceptance_earn_entries_at_the_card_in_force(paid_world):
    w, store = paid_world, paid_world.store
    card = store.rate_card(w.campaign.id)
    item = w.submit().item
    r1, r2 = w.reviewers[:2]
    store.record_review(item.id, r1.id, "approve")
    assert [(e.contributor_id, e.activity, e.amount, e.unit) for e in _entries(store)] == [
        (r1.id, "review", Decimal("5"), "KES")]
    store.record_review(item.id, r2.id, "approve")
    entries = _entries(store)
    assert sorted((e.contributor_id, e.activity, e.amount) for e in entries) == sorted([
        (r1.id, "review", Decimal("5")), (r2.id, "review", Decimal("5")),
        (w.author.id, "item_accepted", Decimal("50"))])
    assert all(e.rate_card_id == card.id and e.status == "owed" for e in entries)
    assert all(e.item_id == item.id and e.language == "sw" for e in entries)
    accepted = [e for e in entries if e.activity == "item_accepted"]
    assert accepted[0].source_key == f"item:{item.id}"


def test_a_rejected_item_earns_its_author_nothing(paid_world):
    w, store = paid_world, paid_world.store
    item = w.submit().item
    for r in w.reviewers[:2]:
        store.record_review(item.id, r.id, "reject", reasons=["inaccurate"])
    assert store.item(item.id).status == "rejected"
    assert _entries(store, contributor_id=w.author.id) == []
    assert len(_entries(store, activity="review")) == 2


def test_rate_card_change_applies_to_later_activity_only(paid_world):
    w, store = paid_world, paid_world.store
    v1 = store.rate_card(w.campaign.id)
    item = w.submit().item
    store.record_review(item.id, w.reviewers[0].id, "approve")
    v2 = store.set_rate_card(w.campaign.id, {"item_accepted": {"amount": "80", "unit": "KES"},
                                             "review": {"amount": "7.5", "unit": "KES"}},
                             actor_id=w.org.id)
    assert (v1.version, v2.version) == (1, 2)
    store.record_review(item.id, w.reviewers[1].id, "approve")
    by_person = {e.contributor_id: e for e in _entries(store)}
    first, second = by_person[w.reviewers[0].id], by_person[w.reviewers[1].id]
    assert (first.amount, first.rate_card_id) == (Decimal("5"), v1.id)
    assert (second.amount, second.rate_card_id) == (Decimal("7.5"), v2.id)
    author = by_person[w.author.id]
    assert (author.amount, author.rate_card_id) == (Decimal("80"), v2.id)


def test_rate_card_is_validated(paid_world):
    w, store = paid_world, paid_world.store
    for rates, message in [
        ({"lunch": {"amount": 1, "unit": "KES"}}, "not a paid activity"),
        ({"review": {"amount": "abc", "unit": "KES"}}, "numeric"),
        ({"review": {"amount": "-1", "unit": "KES"}}, "negative"),
        ({"review": {"amount": "1", "unit": " "}}, "unit"),
    ]:
        with pytest.raises(StoreError, match=message):
            store.set_rate_card(w.campaign.id, rates, actor_id=w.org.id)
    assert store.rate_card(w.campaign.id).version == 1


def test_volunteers_get_zero_amount_entries(store):
    w = World(store, rates=RATES)
    volunteer = w.person(["reviewer"], compensation_method="volunteer")
    item = w.submit(author=w.person(["contributor"], compensation_method="volunteer")).item
    store.record_review(item.id, volunteer.id, "approve")
    store.record_review(item.id, w.reviewers[0].id, "approve")
    entries = {e.contributor_id: e for e in _entries(store)}
    assert entries[volunteer.id].amount == 0 and "volunteer" in entries[volunteer.id].unit
    assert entries[item.author_id].amount == 0
    assert entries[w.reviewers[0].id].amount == Decimal("5")


def test_speech_acceptance_earns_recording_minutes(store):
    w = World(store, rates={**RATES, "recording_minute": {"amount": "10", "unit": "KES"}})
    digest = store.save_audio(b"a voice")
    item = w.submit(kind="speech", content={"transcript": "Habari", "audio_sha256": digest,
                                            "duration_s": 90, "sample_rate": 16000}).item
    for r in w.reviewers[:2]:
        store.record_review(item.id, r.id, "approve")
    minutes = _entries(store, activity="recording_minute")
    assert [(e.quantity, e.amount) for e in minutes] == [(Decimal("1.5"), Decimal("15"))]


def test_no_rate_card_means_no_entries(world):
    item = world.submit().item
    for r in world.reviewers[:2]:
        world.store.record_review(item.id, r.id, "approve")
    assert world.store.item(item.id).status == "accepted"
    assert _entries(world.store) == []


def test_review_decision_and_pay_commit_together(paid_world, monkeypatch):
    """If earning fails, neither the review nor the decision is stored."""
    w, store = paid_world, paid_world.store
    item = w.submit().item
    store.record_review(item.id, w.reviewers[0].id, "approve")

    def broken(*args, **kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr(type(store), "_decide", broken)
    with pytest.raises(RuntimeError):
        store.record_review(item.id, w.reviewers[1].id, "approve")
    assert len(store.reviews_of(item.id)) == 1
    assert len(_entries(store)) == 1
    assert store.item(item.id).status == "submitted"


# ------------------------------------------------------------------------------------ ledger


def _owed_entries(w, n_items=2):
    for _ in range(n_items):
        item = w.submit().item
        for r in w.reviewers[:2]:
            w.store.record_review(item.id, r.id, "approve")
    return [e.id for e in _entries(w.store)]


def test_ledger_moves_owed_approved_paid(paid_world):
    w, store = paid_world, paid_world.store
    ids = _owed_entries(w)
    assert len(ids) == 6
    assert store.move_payments(ids, "approved", actor_id=w.org.id) == 6
    assert {e.status for e in store.ledger(w.campaign.id)} == {"approved"}
    with pytest.raises(StoreError, match="reference"):
        store.move_payments(ids, "paid", actor_id=w.org.id)
    store.move_payments(ids, "paid", actor_id=w.org.id, reference="MPESA-QX12")
    entries = store.ledger(w.campaign.id)
    assert {(e.status, e.payout_reference) for e in entries} == {("paid", "MPESA-QX12")}
    assert store.ledger(w.campaign.id, status="owed") == []
    with store.read() as s:
        moves = list(s.scalars(select(PaymentEvent.status).where(PaymentEvent.entry_id == ids[0])
                               .order_by(PaymentEvent.id)))
        audits = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("payout.%")).order_by(AuditEvent.id)))
    assert moves == ["approved", "paid"]
    assert audits == ["payout.approved", "payout.paid"]


def test_compensation_totals_count_each_cells_people_once_across_statuses(paid_world):
    """Per status, and per cell (activity, language, unit): everyone with an entry in any status
    but failed, and of them those paid and those not yet paid, each person counted once."""
    w, store = paid_world, paid_world.store
    r0, r1, r2 = w.reviewers
    for pair in ((r0, r1), (r1, r2), (r2, r0)):
        item = w.submit().item
        for r in pair:
            store.record_review(item.id, r.id, "approve")
    reviews = {r.id: [e.id for e in _entries(store, activity="review", contributor_id=r.id)]
               for r in w.reviewers}
    store.move_payments(reviews[r0.id] + reviews[r1.id] + reviews[r2.id][:1], "approved",
                        actor_id=w.org.id)
    store.move_payments(reviews[r0.id], "paid", actor_id=w.org.id, reference="MPESA-1")
    store.move_payments(reviews[r2.id][:1], "failed", actor_id=w.org.id, reference="no account")
    rows = [r for r in store.compensation_totals(w.campaign.id) if r["activity"] == "review"]
    # r0 paid twice, r1 approved twice, r2 owed once and failed once
    assert {r["status"]: (r["entries"], r["people"], r["amount"]) for r in rows} == {
        "paid": (2, 1, Decimal("10")), "approved": (2, 1, Decimal("10")),
        "owed": (1, 1, Decimal("5")), "failed": (1, 1, Decimal("5"))}
    assert {(r["earners"], r["paid_earners"], r["unpaid_earners"]) for r in rows} == {(3, 1, 2)}
    (accepted,) = [r for r in store.compensation_totals(w.campaign.id)
                   if r["activity"] == "item_accepted"]
    assert (accepted["entries"], accepted["earners"], accepted["unpaid_earners"]) == (3, 1, 1)


def test_failed_payments_can_be_owed_again(paid_world):
    w, store = paid_world, paid_world.store
    ids = _owed_entries(w, 1)
    store.move_payments(ids, "approved", actor_id=w.org.id)
    store.move_payments(ids, "failed", actor_id=w.org.id, reference="number not registered")
    store.move_payments(ids, "owed", actor_id=w.org.id)
    assert {e.status for e in store.ledger(w.campaign.id)} == {"owed"}


def test_invalid_ledger_moves_are_refused_all_or_nothing(paid_world):
    w, store = paid_world, paid_world.store
    ids = _owed_entries(w)
    store.move_payments(ids[:2], "approved", actor_id=w.org.id)
    events = count(store, PaymentEvent)
    with pytest.raises(StoreError, match="cannot move"):
        store.move_payments(ids, "paid", actor_id=w.org.id, reference="REF")  # 4 still owed
    with pytest.raises(StoreError, match="cannot move"):
        store.move_payments(ids, "approved", actor_id=w.org.id)  # 2 already approved
    with pytest.raises(StoreError, match="do not exist"):
        store.move_payments(ids[2:] + [99999], "approved", actor_id=w.org.id)
    with pytest.raises(StoreError, match="not a payment status"):
        store.move_payments(ids, "cancelled", actor_id=w.org.id)
    with pytest.raises(StoreError, match="at least one"):
        store.move_payments([], "approved", actor_id=w.org.id)
    statuses = {e.id: e.status for e in store.ledger(w.campaign.id)}
    assert statuses == {i: ("approved" if i in ids[:2] else "owed") for i in ids}
    assert count(store, PaymentEvent) == events


def test_payout_csv_aggregates_per_person_and_is_audited(store):
    w = World(store, rates=RATES)
    payee = w.person(["contributor"], compensation_method="mobile_money")
    with store.write() as s:
        s.get(ContributorContact, payee.id).payment_account = "+254700000001"
    for _ in range(3):
        item = w.submit(author=payee).item
        for r in w.reviewers[:2]:
            store.record_review(item.id, r.id, "approve")
    ids = [e.id for e in store.ledger(w.campaign.id)]
    store.move_payments(ids, "approved", actor_id=w.org.id)
    out = store.payout_csv(w.campaign.id, actor_id=w.org.id)
    rows = list(csv.DictReader(io.StringIO(out)))
    by_person = {r["pseudonym"]: r for r in rows}
    assert len(rows) == 3  # the author and two reviewers, one line each
    mine = by_person[payee.pseudonym]
    assert (mine["amount"], mine["unit"], mine["account"], mine["method"]) == (
        "150.00", "KES", "+254700000001", "mobile_money")
    assert len(mine["entries"].split()) == 3
    assert by_person[w.reviewers[0].pseudonym]["amount"] == "15.00"
    with store.read() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "payout.export")).one()
    assert audit.actor_id == w.org.id and audit.details == {"status": "approved", "people": 3}


# ------------------------------------------------------------------------------------- audit


def test_organiser_actions_are_audited(world):
    store, org = world.store, world.org
    person, _ = store.add_contributor(roles=["contributor"], actor_id=org.id)
    store.set_roles(person.id, ["contributor", "reviewer"], actor_id=org.id)
    store.set_rate_card(world.campaign.id, RATES, actor_id=org.id)
    store.update_campaign(world.campaign.id, name="Kilimo 2", actor_id=org.id)
    store.withdraw(person.id, actor_id=org.id, reason="request")
    with store.read() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.actor_id == org.id)
                                .order_by(AuditEvent.id)))
    actions = [e.action for e in events]
    for action in ("campaign.create", "consent_text.add", "contributor.add", "contributor.roles",
                   "rate_card.set", "campaign.update", "contributor.withdraw"):
        assert action in actions, action
    roles = next(e for e in events if e.action == "contributor.roles")
    assert roles.record_id == str(person.id)
    assert roles.details == {"before": ["contributor"], "after": ["contributor", "reviewer"]}
    assert all(e.created_at is not None for e in events)


# ----------------------------------------------------------------------------- status counts


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
