"""The store's drafts (`core/store/_drafts.py`) and organisers' settings (`_app_settings.py`):
half-written work that survives a reload, read by nobody but its person. On SQLite and
PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jamii.core.store import OPERATOR, Forbidden, StoreError
from jamii.core.store._drafts import MAX_DRAFT_AUDIO, MAX_DRAFT_CHARS


@pytest.fixture
def world(store):
    camp = store.create_campaign("kilimo", "Kilimo", languages=["sw"], actor_id=OPERATOR)
    ct = store.add_consent_text(camp.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    amina, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    baraka, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    organiser, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    for who in (amina, baraka):
        store.accept_consent(who.id, ct.id, {})
    return store, camp.id, amina.id, baraka.id, organiser.id


def test_a_draft_comes_back_to_its_person_and_is_replaced_by_the_next(world):
    store, camp, amina, _, _ = world
    assert store.draft(amina, camp, "pr", actor_id=amina) is None
    store.save_draft(amina, camp, "pr", {"pr_prompt": "Mvua", "_key": "pr:1"}, actor_id=amina)
    store.save_draft(amina, camp, "pr", {"pr_prompt": "Mvua za masika", "pr_task_type": "open_qa",
                                         "_key": "pr:1"}, actor_id=amina)
    got = store.draft(amina, camp, "pr", actor_id=amina)
    assert got.fields == {"pr_prompt": "Mvua za masika", "pr_task_type": "open_qa", "_key": "pr:1"}
    assert got.audio is None
    assert store.draft(amina, camp, "cx", actor_id=amina) is None  # one draft per form
    assert store.clear_draft(amina, camp, "pr", actor_id=amina)
    assert store.draft(amina, camp, "pr", actor_id=amina) is None
    assert not store.clear_draft(amina, camp, "pr", actor_id=amina)


def test_nobody_else_reads_or_changes_a_draft(world):
    store, camp, amina, baraka, organiser = world
    store.save_draft(amina, camp, "pr", {"pr_prompt": "siri yangu"}, actor_id=amina)
    for who in (baraka, organiser, OPERATOR, None):
        with pytest.raises(Forbidden):
            store.draft(amina, camp, "pr", actor_id=who)
        with pytest.raises(Forbidden):
            store.save_draft(amina, camp, "pr", {"pr_prompt": "imebadilishwa"}, actor_id=who)
        with pytest.raises(Forbidden):
            store.clear_draft(amina, camp, "pr", actor_id=who)
    assert store.draft(amina, camp, "pr", actor_id=amina).fields == {"pr_prompt": "siri yangu"}


def test_a_recording_is_kept_until_replaced_or_dropped(world):
    store, camp, amina, _, _ = world
    wav = b"RIFF" + bytes(range(256)) * 40
    store.save_draft(amina, camp, "sp", {"sp_transcript": ""}, audio=wav, actor_id=amina)
    store.save_draft(amina, camp, "sp", {"sp_transcript": "Habari"}, actor_id=amina)  # keeps it
    got = store.draft(amina, camp, "sp", actor_id=amina)
    assert (got.fields["sp_transcript"], got.audio) == ("Habari", wav)
    store.save_draft(amina, camp, "sp", {"sp_transcript": "Habari"}, audio=None, actor_id=amina)
    assert store.draft(amina, camp, "sp", actor_id=amina).audio is None
    with pytest.raises(StoreError, match="recording"):
        store.save_draft(amina, camp, "sp", {}, audio=b"x" * (MAX_DRAFT_AUDIO + 1), actor_id=amina)


def test_a_sent_draft_is_not_given_back(world):
    """The answer to a submit was lost with the connection: the item is stored, so the draft
    holding its key must not fill the form again (it would be sent twice)."""
    store, camp, amina, _, _ = world
    store.save_draft(amina, camp, "pr", {"pr_prompt": "Mbolea ipi?", "_key": "pr:abc"}, actor_id=amina)
    store.submit_item(campaign_id=camp, author_id=amina, kind="prompt_response", language="sw",
                      content={"prompt": "Mbolea ipi ni bora kwa mahindi?",
                               "response": "Samadi iliyooza vizuri.", "task_type": "open_qa"},
                      client_key="pr:abc")
    assert store.draft(amina, camp, "pr", actor_id=amina) is None


def test_withdrawal_deletes_drafts_and_own_data_lists_them(world):
    store, camp, amina, baraka, _ = world
    store.save_draft(amina, camp, "pr", {"pr_prompt": "nusu"}, audio=b"RIFF....", actor_id=amina)
    store.save_draft(baraka, camp, "pr", {"pr_prompt": "yangu"}, actor_id=baraka)
    [mine] = store.own_data(amina)["drafts"]
    assert (mine["fields"], mine["recording_bytes"]) == ({"pr_prompt": "nusu"}, 8)
    store.withdraw(amina, actor_id=amina)
    assert store.own_data(amina)["drafts"] == []
    assert store.draft(baraka, camp, "pr", actor_id=baraka).fields == {"pr_prompt": "yangu"}
    with pytest.raises(Forbidden, match="withdrawn"):
        store.save_draft(amina, camp, "pr", {"pr_prompt": "tena"}, actor_id=amina)


@pytest.mark.parametrize("fields, problem", [
    ("not a mapping", "mapping"),
    ({"a" * 65: "x"}, "names"),
    ({"<script>": "x"}, "names"),
    ({"pr_prompt": {"nested": "dict"}}, "not dict"),
    ({"pr_prompt": "x" * (MAX_DRAFT_CHARS + 1)}, "at most"),
    ({f"f{i}": "" for i in range(101)}, "mapping"),
])
def test_what_no_form_makes_is_refused_with_nothing_written(world, fields, problem):
    store, camp, amina, _, _ = world
    with pytest.raises(StoreError, match=problem):
        store.save_draft(amina, camp, "pr", fields, actor_id=amina)
    with pytest.raises(StoreError, match="form"):
        store.save_draft(amina, camp, "PR; drop", {}, actor_id=amina)
    assert store.draft(amina, camp, "pr", actor_id=amina) is None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_typed_text_comes_back_exactly(world, text):
    """NUL, lone direction marks, emoji, half a surrogate pair's neighbours: a draft is what
    was typed, on both backends (PostgreSQL's text refuses NUL; the JSON column does not)."""
    store, camp, amina, _, _ = world
    store.save_draft(amina, camp, "cx", {"cx_question": text, "cx_ticks": [True, "\x00"]},
                     actor_id=amina)
    assert store.draft(amina, camp, "cx", actor_id=amina).fields == {
        "cx_question": text, "cx_ticks": [True, "\x00"]}


def test_two_tabs_saving_at_once_leave_one_draft(world):
    store, camp, amina, _, _ = world
    errors = []

    def save(n):
        try:
            for k in range(5):
                store.save_draft(amina, camp, "pr", {"pr_prompt": f"tab {n} edit {k}"}, actor_id=amina)
        except Exception as exc:  # noqa: BLE001 - the test reports any
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.draft(amina, camp, "pr", actor_id=amina).fields["pr_prompt"].endswith("edit 4")
    assert len(store.own_data(amina)["drafts"]) == 1


def test_session_idle_days_is_an_organisers_choice_within_a_year(world):
    store, _, amina, _, organiser = world
    assert store.session_idle_days() is None
    store.set_session_idle_days(7, actor_id=organiser)
    assert store.session_idle_days() == 7
    with pytest.raises(Forbidden):
        store.set_session_idle_days(365, actor_id=amina)
    for bad in (0, 366, -1, "30", 2.5, True):
        with pytest.raises(StoreError, match="between 1 and 365"):
            store.set_session_idle_days(bad, actor_id=organiser)
    assert store.session_idle_days() == 7
    [event] = store.audit_events(action_prefix="settings.")
    assert event["details"]["days"] == 7


def test_merging_keeps_the_other_fields_and_create_false_makes_none(world):
    """The page's script sends the texts as typed, the server the choices: neither wipes the
    other's fields."""
    store, camp, amina, _, _ = world
    assert not store.save_draft(amina, camp, "pr", {"pr_task_type": "open_qa"}, merge=True,
                                create=False, actor_id=amina)
    assert store.draft(amina, camp, "pr", actor_id=amina) is None
    store.save_draft(amina, camp, "pr", {"pr_prompt": "Mvua", "_key": "pr:1"}, merge=True, actor_id=amina)
    assert store.save_draft(amina, camp, "pr", {"pr_task_type": "open_qa"}, merge=True,
                            create=False, actor_id=amina)
    store.save_draft(amina, camp, "pr", {"pr_prompt": "Mvua za masika"}, merge=True, actor_id=amina)
    assert store.draft(amina, camp, "pr", actor_id=amina).fields == {
        "pr_prompt": "Mvua za masika", "pr_task_type": "open_qa", "_key": "pr:1"}
