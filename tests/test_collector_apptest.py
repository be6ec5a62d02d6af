"""AppTest for every collector page's wiring, on a temporary seeded SQLite store.

Session state is set as the sign-in would set it (only `contributor_id`); pages are opened
with `switch_page`. Forbidden pages are checked by session tampering: the page must show a
refusal, never its content.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.collector_fixtures import ALL_SCOPES, APP, person, seeded_store, wav  # noqa: E402

SW_PROMPT = "Ni lini ninapaswa kupanda mahindi katika msimu wa mvua za masika huko Pwani?"
SW_ANSWER = "Panda mahindi mara tu mvua za kwanza za kutosha zinaponyesha na udongo ukiwa na unyevu."


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("collector") / "data"
    store = seeded_store(data)
    yield store, data
    store.close()


@pytest.fixture
def app(env, monkeypatch):
    store, data = env
    monkeypatch.setenv("JAMII_DATA", str(data))
    monkeypatch.delenv("JAMII_DB", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()  # the store another test module's app cached is not this one

    def make(person_id=None, lang=None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=30)
        if person_id is not None:
            at.session_state["contributor_id"] = person_id
        if lang:
            at.query_params["lang"] = lang
        return at

    return make


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [e.value for e in at.error]
    parts += [c.value for c in at.caption] + [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_sign_in_page_in_swahili_and_bad_codes(app):
    at = app(lang="sw").run()
    assert not at.exception
    assert at.title[0].value == "Karibu jamii"
    at.button[0].click().run()  # empty code
    assert "Andika msimbo wako" in texts(at)
    at.text_input(key="sign_in_code").input("WRONG-CODE-1234")
    at.button[0].click().run()
    assert not at.exception and "halijulikani" in texts(at)
    assert "contributor_id" not in at.session_state


def test_sign_in_with_invite_code_goes_to_consent(app):
    at = app(lang="en").run()
    at.text_input(key="sign_in_code").input("demo-mwan-ajum")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["contributor_id"]
    assert at.title[0].value == "Consent"
    assert "Version 1" in texts(at)


def test_missing_translation_falls_back_and_unknown_language_is_english(app):
    at = app(lang="xx").run()
    assert not at.exception and at.title[0].value == "Welcome to jamii"


def test_consent_then_contribute_prompt_response(app, env):
    store, _ = env
    who, _ = person(store)
    at = app(who.id).run()
    assert not at.exception and at.title[0].value == "Consent"
    at.switch_page("views/write.py").run()
    assert "Read and accept the consent text" in texts(at)  # nothing before consent
    at.switch_page("views/consent.py").run()
    at.checkbox(key="consent_open_publication").check()
    at.checkbox(key="consent_model_evaluation").check()
    at.button(key=next(b.key for b in at.button if b.key.startswith("FormSubmitter:consent_form"))).click().run()
    assert not at.exception
    consent = store.active_consent(who.id, store.campaigns()[0].id)
    assert consent.scopes == {"open_publication": True, "model_evaluation": True, "voice": False}
    at.switch_page("views/write.py").run()
    assert at.title[0].value == "Write a question"
    at.text_area(key="pr_prompt").input(SW_PROMPT)
    at.text_area(key="pr_response").input("<script>alert(1)</script>")
    at.button(key="FormSubmitter:pr_form-Send").click().run()
    assert "remove the HTML code" in texts(at)
    assert not store.items(store.campaigns()[0].id, author_id=who.id)
    at.text_area(key="pr_response").input(SW_ANSWER)
    at.button(key="FormSubmitter:pr_form-Send").click().run()
    assert not at.exception
    mine = store.items(store.campaigns()[0].id, author_id=who.id)
    assert len(mine) == 1 and mine[0].content["response"] == SW_ANSWER
    assert "Saved, thank you" in texts(at)
    assert at.text_area(key="pr_prompt").value == ""  # the form is empty for the next item
    # the same text again (a reload): one item, said kindly
    at.text_area(key="pr_prompt").input(SW_PROMPT)
    at.text_area(key="pr_response").input(SW_ANSWER)
    at.button(key="FormSubmitter:pr_form-Send").click().run()
    assert "already saved" in texts(at)
    assert len(store.items(store.campaigns()[0].id, author_id=who.id)) == 1


def test_pii_warning_asks_for_confirmation(app, env):
    store, _ = env
    who, _ = person(store, consent=ALL_SCOPES)
    at = app(who.id).run()
    at.text_area(key="pr_prompt").input(SW_PROMPT + " Swali la pili.")
    at.text_area(key="pr_response").input(SW_ANSWER + " Barua: amina@example.org")
    at.button(key="FormSubmitter:pr_form-Send").click().run()
    assert "email address" in "\n".join(w.value for w in at.warning)
    assert not store.items(store.campaigns()[0].id, author_id=who.id)
    at.checkbox(key="pr_confirm").check()
    at.button(key="FormSubmitter:pr_form-Send").click().run()
    assert not at.exception
    assert len(store.items(store.campaigns()[0].id, author_id=who.id)) == 1


def test_speech_page_refuses_a_short_clip_and_stores_a_good_one(app, env):
    store, _ = env
    who, _ = person(store, consent=ALL_SCOPES)
    at = app(who.id).run()
    at.switch_page("views/speech.py").run()
    assert not at.exception and at.title[0].value == "Record speech"
    at.audio_input(key="sp_audio").set_value(("clip.wav", wav(0.5), "audio/wav")).run()
    assert "shorter than 1" in texts(at)
    at.text_area(key="sp_transcript").input("Habari za asubuhi, mahindi yanahitaji mvua.")
    at.button(key="FormSubmitter:sp_form-Send").click().run()
    assert not store.items(store.campaigns()[0].id, author_id=who.id)
    at.audio_input(key="sp_audio").set_value(("clip.wav", wav(2), "audio/wav")).run()
    at.text_area(key="sp_transcript").input("Habari za asubuhi, mahindi yanahitaji mvua.")
    at.button(key="FormSubmitter:sp_form-Send").click().run()
    assert not at.exception
    [item] = store.items(store.campaigns()[0].id, author_id=who.id)
    assert item.kind == "speech" and item.content["duration_s"] == pytest.approx(2, abs=0.01)


def test_speech_without_voice_consent_is_closed(app, env):
    store, _ = env
    who, _ = person(store, consent=dict(ALL_SCOPES, voice=False))
    at = app(who.id).run()
    at.switch_page("views/speech.py").run()
    assert not at.exception and "does not include voice" in texts(at) + "\n".join(w.value for w in at.warning)
    assert not at.audio_input


def test_contextual_page_renders_with_community_anchors(app, env):
    store, _ = env
    who, _ = person(store, consent=ALL_SCOPES)
    at = app(who.id).run()
    at.switch_page("views/contextual.py").run()
    assert not at.exception and at.title[0].value == "Real-life situation"
    assert at.text_input(key="cx_c0_a1").value  # prefilled from the seeded rubric
    at.button(key="FormSubmitter:cx_form-Send").click().run()
    assert "this is empty" in texts(at)


def test_review_page_records_a_verdict(app, env):
    store, _ = env
    reviewer = store.contributor_by_pseudonym("demo-mkaguzi")
    at = app(reviewer.id, lang="en").run()
    at.switch_page("views/review.py").run()
    assert not at.exception and at.title[0].value == "Review"
    shown = at.session_state["rv_item_id"]
    item = store.item(shown)
    assert item.author_id != reviewer.id
    at.button_group(key=f"rv{shown}_verdict").set_value("reject").run()
    at.button(key=f"FormSubmitter:rv{shown}_form-Send my review").click().run()
    assert "Choose" in texts(at) or "this is empty" in texts(at)
    at.selectbox(key=f"rv{shown}_reason").set_value("unclear")
    at.button(key=f"FormSubmitter:rv{shown}_form-Send my review").click().run()
    assert not at.exception
    assert any(r.reviewer_id == reviewer.id for r in store.reviews_of(shown))
    assert at.session_state["rv_item_id"] != shown


def test_review_page_filters_by_language_and_skips(app, env):
    store, _ = env
    camp = store.campaigns()[0]
    author, _ = person(store, consent=ALL_SCOPES)
    for n, lang in enumerate(("sn", "sw", "sn", "sw")):
        store.submit_item(campaign_id=camp.id, author_id=author.id, kind="prompt_response",
                          language=lang, client_key=f"apptest-rv-{n}",
                          content={"prompt": f"{SW_PROMPT} Nambari {'abcd'[n]}.",
                                   "response": SW_ANSWER, "task_type": "instruction"})
    reviewer, _ = person(store, roles=["reviewer"], consent=ALL_SCOPES, languages_spoken=["sw"])
    at = app(reviewer.id, lang="en").run()
    at.switch_page("views/review.py").run()
    assert not at.exception
    assert at.button_group(key="rv_langs").value == ["sw"]  # from the profile
    first = at.session_state["rv_item_id"]
    assert store.item(first).language == "sw"
    # skip: another Swahili item, and the skipped one does not come back in this session
    at.button(key=f"rv{first}_skip").click().run()
    second = at.session_state["rv_item_id"]
    assert second != first and store.item(second).language == "sw"
    assert first in at.session_state["rv_skipped"]
    # Shona only
    at.button_group(key="rv_langs").set_value(["sn"]).run()
    shona = at.session_state["rv_item_id"]
    assert store.item(shona).language == "sn"
    # the verdict counts for the item on screen when it was sent
    at.button_group(key=f"rv{shona}_verdict").set_value("approve").run()
    at.button(key=f"FormSubmitter:rv{shona}_form-Send my review").click().run()
    assert not at.exception and "review is recorded" in texts(at)
    assert any(r.reviewer_id == reviewer.id for r in store.reviews_of(shona))
    assert not any(r.reviewer_id == reviewer.id for r in store.reviews_of(first))
    assert at.session_state["rv_item_id"] not in (shona, first)


def test_contributor_cannot_open_reviewer_or_organiser_pages(app, env):
    store, _ = env
    zawadi = store.contributor_by_pseudonym("demo-zawadi")
    at = app(zawadi.id, lang="en").run()
    at.session_state["roles"] = ["organiser"]  # tampering: ignored, roles come from the store
    for page, words in (("review", "for reviewers"), ("org_campaigns", "organisers only"),
                        ("org_people", "organisers only"), ("org_payouts", "organisers only"),
                        ("org_audit", "organisers only")):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception
        assert words in "\n".join(e.value for e in at.error), page
        assert not at.dataframe and not at.text_area
    # signed out entirely
    at.session_state["contributor_id"] = None
    at.switch_page("views/mine.py").run()
    assert "Sign in" in "\n".join(e.value for e in at.error)


def test_organiser_switched_to_contributor_is_refused(app, env):
    store, _ = env
    org = store.contributor_by_pseudonym("demo-mratibu")
    at = app(org.id).run()
    at.switch_page("views/org_people.py").run()
    assert not at.exception and at.title[0].value == "People"
    at.session_state["contributor_id"] = store.contributor_by_pseudonym("demo-baraka").id
    at.run()
    assert "organisers only" in "\n".join(e.value for e in at.error)


@pytest.mark.parametrize("page", ["org_campaigns", "org_people", "org_payouts", "org_privacy", "org_audit",
                                  "mine", "profile", "consent"])
def test_every_page_renders_for_an_organiser(app, env, page):
    store, _ = env
    org = store.contributor_by_pseudonym("demo-mratibu")
    at = app(org.id, lang="fr").run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, page
    assert not at.error, [e.value for e in at.error]


def test_organiser_actions_write_audit_events(app, env):
    store, _ = env
    org = store.contributor_by_pseudonym("demo-mratibu")
    camp = store.campaigns()[0]
    at = app(org.id).run()
    at.switch_page("views/org_people.py").run()
    at.multiselect(key="op_roles").set_value(["contributor", "reviewer"])
    at.button(key="FormSubmitter:op_invite_form-Create invite code").click().run()
    assert not at.exception and at.code  # the code is shown once
    at.switch_page("views/org_payouts.py").run()
    owed = store.ledger(camp.id, "owed")
    at.checkbox(key="po_all").check()
    at.button(key="FormSubmitter:po_move_form-Apply").click().run()
    assert not at.exception
    assert all(e.status == "approved" for e in store.ledger(camp.id) if e.id in {o.id for o in owed})
    actions = {e["action"] for e in store.audit_events()}
    assert {"contributor.add", "payout.approved"} <= actions
    assert "payout.export" not in actions  # opening the page reads no payment account
    at.button(key="po_prepare").click().run()
    assert not at.exception
    assert "payout.export" in {e["action"] for e in store.audit_events()}
    assert at.session_state["po_csv"][1].startswith("pseudonym,name,method")
    at.switch_page("views/org_campaigns.py").run()
    # the seeded campaign is in Swahili and Shona, with consent texts in English and Swahili
    assert any("No consent text of the current version in Shona" in w.value and "in English" in w.value
               for w in at.warning), [w.value for w in at.warning]
    at.text_input(key="oc_version").input("2")
    at.text_input(key="oc_language").input("sw")
    at.text_area(key="oc_text").input("   ")
    at.button(key="FormSubmitter:org_consent_form-Add consent text").click().run()
    assert "Paste the full consent text" in texts(at)
    assert store.campaign(camp.id).current_consent_version == "1"


def test_my_contributions_and_withdrawal(app, env):
    store, _ = env
    who, _ = person(store, consent=ALL_SCOPES)
    at = app(who.id).run()
    at.switch_page("views/mine.py").run()
    assert not at.exception and at.title[0].value == "My contributions"
    at.button(key="FormSubmitter:withdraw_form-Withdraw").click().run()
    assert "Tick the box" in texts(at)
    at.checkbox(key="withdraw_sure").check()
    at.button(key="FormSubmitter:withdraw_form-Withdraw").click().run()
    assert not at.exception
    assert store.contributor(who.id).withdrawn_at is not None
    at.switch_page("views/write.py").run()
    assert "withdrawn" in "\n".join(e.value for e in at.error)


def test_profile_saves_optional_fields(app, env):
    store, _ = env
    who, _ = person(store, consent=ALL_SCOPES)
    at = app(who.id).run()
    at.switch_page("views/profile.py").run()
    assert not at.exception
    at.text_input(key="pf_region").input("Kilifi")
    at.radio(key="pf_method").set_value("airtime")
    at.button(key="FormSubmitter:profile_form-Save").click().run()
    assert not at.exception
    p = store.contributor(who.id)
    assert p.region == "Kilifi" and p.compensation_method == "airtime" and p.gender is None
    at.text_input(key="pf_region").input("x\x07y")
    at.button(key="FormSubmitter:profile_form-Save").click().run()
    assert "control" in texts(at) and store.contributor(who.id).region == "Kilifi"


def test_organiser_clears_flagged_personal_data(app, env):
    store, _ = env
    camp = store.campaigns()[0]
    author = store.contributor_by_pseudonym("demo-baraka")
    item = store.submit_item(campaign_id=camp.id, author_id=author.id, kind="prompt_response",
                             language="sw", client_key="apptest-pii",
                             content={"prompt": "Nipigie nani kuhusu viwavijeshi?",
                                      "response": "Piga simu ya msaada wa wakulima 0712 345 678."}).item
    for reviewer in ("demo-mkaguzi", "demo-mratibu"):
        store.record_review(item.id, store.contributor_by_pseudonym(reviewer).id, "approve")
    org = store.contributor_by_pseudonym("demo-mratibu")
    at = app(org.id).run()
    at.switch_page("views/org_privacy.py").run()
    assert not at.exception and at.title[0].value == "Personal data"
    assert "0712 345 678" in "\n".join(t.value for t in at.text)
    at.multiselect(key="privacy_items").select(item.id)
    at.button(key="FormSubmitter:privacy_form-Clear for release").click().run()
    assert "Say why" in texts(at) and store.item(item.id).pii_cleared_by is None  # note required
    at.text_input(key="privacy_note").input("a public hotline of the ministry")
    at.button(key="FormSubmitter:privacy_form-Clear for release").click().run()
    assert not at.exception
    assert store.item(item.id).pii_cleared_by == org.id
    assert item.id not in {f.item.id for f in store.flagged_items(camp.id)}
