"""Drafts in the collector's three contribution forms (collector/drafts.py): what a person
typed, chose or recorded comes back after a reload, and only to them; a sent item's draft is
gone.

The texts are sent by the page's script as they are typed (web/draft_route.py), which AppTest
does not run: here the store is given them as that route gives them (`typed`), and
tests/test_draft_route.py and the browser tests drive the script and the route for real. A
"reload" is a new AppTest run against the same store: a new Streamlit session, as a reload, a
locked phone or a reconnect to another server process gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.collector_fixtures import ALL_SCOPES, APP, person, seeded_store, wav  # noqa: E402

PROMPT = "Ni lini ninapaswa kupanda mahindi katika msimu wa mvua za masika huko Pwani?"
ANSWER = "Panda mahindi mara tu mvua za kwanza za kutosha zinaponyesha na udongo ukiwa na unyevu."
RESTORED = "Your unsent work is back"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("drafts") / "data"
    store = seeded_store(data)
    yield store, data
    store.close()


@pytest.fixture
def open_page(env, monkeypatch):
    store, data = env
    monkeypatch.setenv("JAMII_DATA", str(data))
    monkeypatch.delenv("JAMII_DB", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()

    def make(person_id: int, page: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.session_state["contributor_id"] = person_id
        at.query_params["lang"] = "en"
        at.switch_page(page).run()  # the page is the first thing this session runs
        assert not at.exception, at.exception
        return at

    return make


def typed(store, person_id: int, form: str, **fields) -> None:
    """What /drafts does with the texts the page's script posts."""
    store.save_draft(person_id, store.campaigns()[0].id, form, fields, merge=True, actor_id=person_id)


def send(at, form: str) -> None:
    at.button(key=f"FormSubmitter:{form}_form-Send").click().run()
    assert not at.exception, at.exception


def infos(at) -> str:
    return "\n".join(str(i.value) for i in at.info)


def test_a_half_written_question_survives_a_reload_and_goes_on_submit(open_page, env):
    store, _ = env
    amina, _ = person(store, consent=ALL_SCOPES)
    at = open_page(amina.id, "views/write.py")
    assert RESTORED not in infos(at)
    typed(store, amina.id, "pr", pr_prompt=PROMPT, _key=at.session_state["_ikey:pr"])
    at.selectbox(key="pr_task_type").set_value("open_qa").run()  # a choice: the server keeps it

    again = open_page(amina.id, "views/write.py")  # the reload
    assert RESTORED in infos(again)
    assert again.text_area(key="pr_prompt").value == PROMPT
    assert again.selectbox(key="pr_task_type").value == "open_qa"
    assert again.session_state["_ikey:pr"] == at.session_state["_ikey:pr"]  # the same submission
    again.text_area(key="pr_response").input(ANSWER)
    send(again, "pr")
    [item] = store.items(store.campaigns()[0].id, author_id=amina.id)
    assert (item.content["prompt"], item.content["task_type"]) == (PROMPT, "open_qa")
    assert item.client_key == at.session_state["_ikey:pr"]
    assert again.text_area(key="pr_prompt").value == ""  # emptied for the next one
    assert store.draft(amina.id, store.campaigns()[0].id, "pr", actor_id=amina.id) is None

    fresh = open_page(amina.id, "views/write.py")
    assert RESTORED not in infos(fresh) and fresh.text_area(key="pr_prompt").value in ("", None)


def test_a_draft_is_only_its_persons(open_page, env):
    store, _ = env
    amina, _ = person(store, consent=ALL_SCOPES)
    baraka, _ = person(store, consent=ALL_SCOPES)
    typed(store, amina.id, "pr", pr_prompt="Siri ya Amina: mbegu za babu")
    assert RESTORED in infos(open_page(amina.id, "views/write.py"))
    theirs = open_page(baraka.id, "views/write.py")
    assert theirs.text_area(key="pr_prompt").value in ("", None)
    assert RESTORED not in infos(theirs)


def test_a_draft_sent_when_the_connection_dropped_is_not_sent_twice(open_page, env):
    """The submit reached the store but its answer never reached the phone: after the
    reload the form is empty, and the item exists once."""
    store, _ = env
    amina, _ = person(store, consent=ALL_SCOPES)
    camp = store.campaigns()[0].id
    at = open_page(amina.id, "views/write.py")
    typed(store, amina.id, "pr", pr_prompt=PROMPT + " Kitui", pr_response=ANSWER,
          _key=at.session_state["_ikey:pr"])
    key = store.draft(amina.id, camp, "pr", actor_id=amina.id).fields["_key"]
    store.submit_item(campaign_id=camp, author_id=amina.id, kind="prompt_response", language="sw",
                      content={"prompt": PROMPT + " Kitui", "response": ANSWER, "task_type": "instruction"},
                      client_key=key)  # what the lost run had done
    again = open_page(amina.id, "views/write.py")
    assert again.text_area(key="pr_prompt").value in ("", None)
    assert len(store.items(camp, author_id=amina.id)) == 1


def test_a_contextual_draft_keeps_its_rubric_edits(open_page, env):
    store, _ = env
    amina, _ = person(store, consent=ALL_SCOPES)
    typed(store, amina.id, "cx", cx_question="Nipande mahindi lini huko Mutare?",
          cx_c0_a5="Jibu kamili, sahihi kwa eneo la Mutare")
    again = open_page(amina.id, "views/contextual.py")
    assert again.text_area(key="cx_question").value == "Nipande mahindi lini huko Mutare?"
    assert again.text_input(key="cx_c0_a5").value == "Jibu kamili, sahihi kwa eneo la Mutare"
    assert again.text_input(key="cx_c0_a1").value  # the other anchors are still the template's


def test_a_recording_survives_a_reload_and_is_sent_from_the_draft(open_page, env):
    store, _ = env
    amina, _ = person(store, consent=ALL_SCOPES)
    camp = store.campaigns()[0].id
    clip = wav(2)
    at = open_page(amina.id, "views/speech.py")
    at.audio_input(key="sp_audio").set_value(("clip.wav", clip, "audio/wav")).run()
    assert store.draft(amina.id, camp, "sp", actor_id=amina.id).audio == clip

    again = open_page(amina.id, "views/speech.py")
    assert RESTORED in infos(again)
    assert "Your recording from before" in "\n".join(c.value for c in again.caption)
    again.text_area(key="sp_transcript").input("Habari za asubuhi, mahindi yanahitaji mvua.")
    send(again, "sp")
    [item] = store.items(camp, author_id=amina.id)
    assert item.kind == "speech" and store.audio_path(item.content["audio_sha256"]).read_bytes() == clip
    assert store.draft(amina.id, camp, "sp", actor_id=amina.id) is None


def test_a_kept_recording_can_be_deleted(open_page, env):
    store, _ = env
    amina, _ = person(store, consent=ALL_SCOPES)
    camp = store.campaigns()[0].id
    at = open_page(amina.id, "views/speech.py")
    at.audio_input(key="sp_audio").set_value(("clip.wav", wav(2), "audio/wav")).run()
    again = open_page(amina.id, "views/speech.py")
    again.button(key="sp_drop_kept").click().run()
    assert not again.exception
    assert store.draft(amina.id, camp, "sp", actor_id=amina.id).audio is None
    again.text_area(key="sp_transcript").input("Habari za asubuhi.")
    send(again, "sp")
    assert not store.items(camp, author_id=amina.id)  # nothing recorded: nothing sent


def test_a_visit_to_another_page_gives_the_draft_back_on_return(open_page, env):
    """Streamlit forgets a page's widgets when another page runs: coming back, the form is
    filled again from the store (else the next key press would send an emptied text)."""
    store, _ = env
    amina, _ = person(store, consent=ALL_SCOPES)
    at = open_page(amina.id, "views/write.py")
    typed(store, amina.id, "pr", pr_prompt=PROMPT)
    at.switch_page("views/mine.py").run()
    at.switch_page("views/write.py").run()
    assert not at.exception
    assert at.text_area(key="pr_prompt").value == PROMPT
