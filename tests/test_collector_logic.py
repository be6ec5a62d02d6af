"""The collector's plain modules, without Streamlit: i18n, access, forms, review, earnings, admin."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.collector_fixtures import ALL_SCOPES, person, seeded_store, wav  # noqa: E402

from jamii.collector import access, admin, earnings, forms, review  # noqa: E402
from jamii.collector.i18n import (  # noqa: E402
    Translator, available_languages, catalogue, resolve_language)
from jamii.web import session  # noqa: E402
from jamii.web.i18n import direction_css, flatten, is_rtl  # noqa: E402
from jamii.core.store import OPERATOR  # noqa: E402

SW_PROMPT = "Ni lini ninapaswa kupanda mahindi katika msimu wa mvua za masika huko Pwani?"
SW_ANSWER = "Panda mahindi mara tu mvua za kwanza za kutosha zinaponyesha na udongo ukiwa na unyevu."


@pytest.fixture
def store(tmp_path):
    s = seeded_store(tmp_path / "data")
    yield s
    s.close()


def viewer_for(store, who, lang="sw"):
    return access.build_viewer(store, {session.SESSION_KEY: who.id}, lang)


# --- i18n -------------------------------------------------------------------------------------
def test_catalogues_ship_and_fall_back_to_english():
    assert {"en", "sw", "fr"} <= set(available_languages())
    sw = Translator("sw")
    assert sw("nav.review") == "Kagua"
    assert Translator("fr")("nav.review") == "Relire"
    # the shipped catalogues have every key (tests/test_catalogues_complete.py); a community
    # catalogue's gaps fall back to English there too
    assert sw.missing() == []
    assert sw("no.such.key") == "no.such.key"
    assert sw("no.such.key", default="x {n}", n=3) == "x 3"
    # placeholders survive a missing value instead of raising
    assert "{id}" in Translator("en")("contribute.saved")


def test_every_catalogue_keeps_english_placeholders():
    import re

    en = catalogue("en")
    for tag in ("sw", "fr"):
        for key, text in catalogue(tag).items():
            assert key in en, f"{tag}: unknown key {key}"
            want = set(re.findall(r"{(\w+)}", en[key]))
            assert set(re.findall(r"{(\w+)}", text)) <= want, f"{tag}:{key}"


def test_language_resolution_and_rtl(tmp_path, monkeypatch):
    assert resolve_language("sw-KE") == "sw"
    assert resolve_language("swh") == "sw"
    assert resolve_language("zz-bogus", None, "fr") == "fr"
    assert resolve_language("yo") == "en"
    assert is_rtl("ar") and is_rtl("he") and is_rtl("fa") and is_rtl("ur") and is_rtl("ps")
    assert not is_rtl("sw") and not is_rtl("am") and not is_rtl("en")
    # a community catalogue for an RTL language, added without touching the package
    (tmp_path / "ar.yaml").write_text("nav:\n  review: مراجعة\n", encoding="utf-8")
    monkeypatch.setenv("JAMII_LOCALES", str(tmp_path))
    tr = Translator("ar")
    assert tr.language == "ar" and tr.rtl and tr("nav.review") == "مراجعة"
    assert tr("nav.profile") == "My profile"  # partial catalogue: English fallback
    assert "direction: rtl" in direction_css(tr)
    assert "direction: rtl" not in direction_css(Translator("sw"))


def test_each_app_reads_the_shared_catalogues_under_its_own(tmp_path, monkeypatch):
    from jamii.dashboard.i18n import Translator as DashboardTranslator

    assert flatten({"a": {"b": 1, "c": None}, "d": "x"}) == {"a.b": "1", "d": "x"}
    # what both apps show (web/locales) reaches both; each app's own strings stay its own
    collector, dashboard = Translator("sw"), DashboardTranslator("sw")
    assert collector("sign_in.submit") == dashboard("sign_in.submit") == "Ingia"
    assert collector("status.accepted") == dashboard("status.accepted")
    assert dashboard.has("dash.nav.leaderboard") and not collector.has("dash.nav.leaderboard")
    # the dashboard's wording of a shared key wins over the shared one...
    assert dashboard("access.reviewers_only") != collector("access.reviewers_only")
    # ...and a community's own catalogue wins over both
    (tmp_path / "sw.yaml").write_text("access:\n  reviewers_only: X\n", encoding="utf-8")
    monkeypatch.setenv("JAMII_LOCALES", str(tmp_path))
    assert DashboardTranslator("sw")("access.reviewers_only") == Translator("sw")(
        "access.reviewers_only") == "X"


# --- access -----------------------------------------------------------------------------------
def test_access_is_read_from_the_store_not_the_session(store):
    newcomer = store.contributor_by_pseudonym("demo-mwanajumuiya")
    state = {session.SESSION_KEY: newcomer.id, "roles": ["organiser"], "is_organiser": True}
    v = access.build_viewer(store, state)
    assert v.signed_in and not v.consented
    assert access.home_page(v) == "consent"
    assert access.refusal("write", v) == "access.consent_first"
    assert access.refusal("org_people", v) == "access.organisers_only"
    assert access.refusal("review", v) == "access.consent_first"  # a reviewer, not yet consented
    assert access.visible_pages(v) == ["consent", "profile", "mine"]
    plain = store.contributor_by_pseudonym("demo-zawadi")  # consented, contributor role only
    tampered = {session.SESSION_KEY: plain.id, "roles": ["reviewer", "organiser"]}
    vp = access.build_viewer(store, tampered)
    assert access.refusal("review", vp) == "access.reviewers_only"
    assert access.refusal("org_payouts", vp) == "access.organisers_only"
    org = store.contributor_by_pseudonym("demo-mratibu")
    vo = viewer_for(store, org)
    assert access.refusal("org_payouts", vo) is None and access.refusal("review", vo) is None
    # a forged or stale id signs out
    state = {session.SESSION_KEY: 999999}
    assert not access.build_viewer(store, state).signed_in and session.SESSION_KEY not in state
    assert access.refusal("mine", access.build_viewer(store, {})) == "access.sign_in_first"


def test_new_consent_version_asks_again_and_withdrawal_closes_pages(store):
    who, _ = person(store, consent=ALL_SCOPES)
    v = viewer_for(store, who)
    assert v.consented and access.home_page(v) == "write"
    camp = store.campaigns()[0]
    store.add_consent_text(camp.id, "2", "sw", "Toleo jipya la ridhaa.", actor_id=OPERATOR)
    v = viewer_for(store, who)
    assert not v.consented and access.refusal("write", v) == "access.consent_first"
    store.withdraw(who.id, actor_id=who.id)
    v = viewer_for(store, who)
    assert access.refusal("consent", v) is None  # shown, but the page itself refuses
    assert access.refusal("write", v) == "access.withdrawn" and access.home_page(v) == "mine"


def test_sign_in_by_code_and_password(store):
    who, code = person(store)
    assert session.sign_in(store, code=code.lower()).id == who.id
    assert session.sign_in(store, code="   ") is None
    assert session.sign_in(store, code="NOPE-NOPE-NOPE") is None
    store.set_password(who.id, "amina", "a long enough secret", actor_id=OPERATOR)
    assert session.sign_in(store, login="amina", password="a long enough secret").id == who.id
    assert session.sign_in(store, login="amina", password="wrong") is None


# --- contributing -----------------------------------------------------------------------------
BAD_INPUTS = {
    "empty": "",
    "whitespace": "   \n\t ",
    "huge": "a" * 100_000,
    "control": "Habari\x07 yako",
    "html": "<b>Habari</b> yako",
    "script": "<script>alert(1)</script>",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_refused_with_a_message_and_stores_nothing(store, name):
    who, _ = person(store, consent=ALL_SCOPES)
    v = viewer_for(store, who)
    state: dict = {}
    before = len(store.items(v.campaign.id))
    out = forms.submit_item(store, state, "pr", viewer=v, kind="prompt_response", language="sw",
                            values={"prompt": SW_PROMPT, "response": BAD_INPUTS[name]})
    assert out.status == "blocked" and out.problems
    messages = forms.outcome_messages(v.tr, out)
    assert all(level == "error" for level, _ in messages)
    assert all("{" not in text for _, text in messages)  # every placeholder filled
    assert len(store.items(v.campaign.id)) == before


def test_text_is_stored_as_typed_in_nfc(store):
    who, _ = person(store, consent=ALL_SCOPES)
    v = viewer_for(store, who)
    decomposed = "Ọmọ " + SW_PROMPT  # O + combining dot below
    decomposed = decomposed.replace("Ọ", "O\u0323")
    out = forms.submit_item(store, {}, "pr", viewer=v, kind="prompt_response", language="sw",
                            values={"prompt": decomposed, "response": SW_ANSWER + " <jina>"})
    assert out.status == "stored"
    item = store.item(out.item.id)
    assert item.content["prompt"].startswith("Ọmọ ") and "\u0323" not in item.content["prompt"]
    assert item.content["response"].endswith("<jina>")


def test_double_submit_and_reload_store_one_item(store):
    who, _ = person(store, consent=ALL_SCOPES)
    v = viewer_for(store, who)
    state: dict = {}
    key = forms.submission_key(state, "pr")
    assert forms.submission_key(state, "pr") == key  # stable while the form is shown
    values = {"prompt": SW_PROMPT, "response": SW_ANSWER}
    # a double click: the second run still has the first run's key (it was interrupted)
    first = store.submit_item(campaign_id=v.campaign.id, author_id=v.id, kind="prompt_response",
                              language="sw", content=values, client_key=key)
    assert first.created
    again = forms.submit_item(store, state, "pr", viewer=v, kind="prompt_response", language="sw",
                              values=values)
    assert again.status == "already" and forms.submission_key(state, "pr") != key
    # a reload (new session, new key) and the same text: still one item, said kindly
    reload = forms.submit_item(store, {}, "pr", viewer=v, kind="prompt_response", language="sw",
                               values=values)
    assert reload.status == "already"
    assert len(store.items(v.campaign.id, author_id=v.id)) == 1
    # someone else's identical text is a duplicate
    other, _ = person(store, consent=ALL_SCOPES)
    dup = forms.submit_item(store, {}, "pr", viewer=viewer_for(store, other), kind="prompt_response",
                            language="sw", values=values)
    assert dup.status == "duplicate"


def test_pii_and_wrong_language_warn_then_need_confirmation(store):
    who, _ = person(store, consent=ALL_SCOPES)
    v = viewer_for(store, who)
    state: dict = {}
    values = {"prompt": SW_PROMPT, "response": SW_ANSWER + " Nipigie 0712 345 678."}
    out = forms.submit_item(store, state, "pr", viewer=v, kind="prompt_response", language="sw",
                            values=values)
    assert out.status == "confirm" and {p.code for p in out.problems} == {"pii_phone"}
    assert "0712 345 678" in forms.problem_text(v.tr, out.problems[0])
    assert not store.items(v.campaign.id, author_id=v.id)
    # confirming different content does not count
    other = dict(values, prompt=SW_PROMPT + " Tafadhali.")
    assert forms.submit_item(store, state, "pr", viewer=v, kind="prompt_response", language="sw",
                             values=other, confirmed=True).status == "confirm"
    assert forms.submit_item(store, state, "pr", viewer=v, kind="prompt_response", language="sw",
                             values=other, confirmed=True).status == "stored"
    english = {"prompt": "When should I plant maize during the long rains season on the coast?",
               "response": "Plant the maize as soon as the first good rains have soaked the soil."}
    out = forms.submit_item(store, {}, "pr", viewer=v, kind="prompt_response", language="sw",
                            values=english)
    assert out.status == "confirm" and {p.code for p in out.problems} == {"wrong_language"}
    assert "English" in forms.problem_text(Translator("en"), out.problems[0])


def test_contextual_item_from_form_values(store):
    who, _ = person(store, consent=ALL_SCOPES)
    v = viewer_for(store, who)
    anchors = ["Halisaidii.", "Kidogo.", "Wastani.", "Linasaidia.", "Linasaidia sana."]
    values = {
        "scenario": "Mama mmoja kijijini Kilifi, mtoto wake ana homa usiku.",
        "persona": "Mama wa watoto watatu, hana gari.",
        "question": "Mtoto wangu ana homa kali usiku huu, nifanye nini kabla ya asubuhi?",
        "reference_answer": "Mpe maji mengi na umpeleke kituo cha afya mara moja kama ana degedege.",
        "more_answers": "Jibu la pili.\n\nJibu la tatu\nla mistari miwili.",
        "rubric": [{"name": "usefulness", "description": "", "anchors": anchors},
                   {"name": "", "description": "", "anchors": [""] * 5}],
        "red_flags": "Kumpa dawa ya watu wazima\n\nKusubiri siku tatu",
    }
    out = forms.submit_item(store, {}, "cx", viewer=v, kind="contextual", language="sw", values=values,
                            confirmed=True)
    if out.status == "confirm":
        out = forms.submit_item(store, {"_warned:cx": None}, "cx", viewer=v, kind="contextual",
                                language="sw", values=values)
    item = store.items(v.campaign.id, author_id=v.id)[0]
    assert len(item.content["reference_answers"]) == 3
    assert item.content["red_flags"] == ["Kumpa dawa ya watu wazima", "Kusubiri siku tatu"]
    assert item.content["rubric"][0]["anchors"] == anchors and len(item.content["rubric"]) == 1
    half = dict(values, rubric=[{"name": "safety", "anchors": ["a", "", "", "", ""]}])
    bad = forms.submit_item(store, {}, "cx2", viewer=v, kind="contextual", language="sw", values=half)
    assert bad.status == "blocked" and any("anchors" in p.field for p in bad.problems)


def test_speech_clips_are_checked_before_anything_is_written(store, tmp_path):
    who, _ = person(store, consent=ALL_SCOPES)
    v = viewer_for(store, who)
    values = {"transcript": "Habari za asubuhi, mahindi yanahitaji mvua."}
    files_before = len(list(store.audio_dir.rglob("*.wav")))
    for data, code in ((wav(0.4), "audio_too_short"), (wav(31), "audio_too_long"),
                       (wav(2, amplitude=0), "audio_silent"), (b"not audio", "audio_unreadable")):
        clip = forms.check_clip(data)
        out = forms.submit_speech(store, {}, "sp", viewer=v, language="sw", clip=clip, values=values)
        assert out.status == "blocked" and code in {p.code for p in out.problems}
        assert "{" not in forms.problem_text(Translator("sw"), out.problems[0])
    assert len(list(store.audio_dir.rglob("*.wav"))) == files_before
    assert forms.submit_speech(store, {}, "sp", viewer=v, language="sw", clip=None,
                               values=values).status == "blocked"
    out = forms.submit_speech(store, {}, "sp", viewer=v, language="sw", clip=forms.check_clip(wav(2)),
                              values=values)
    assert out.status == "stored" and out.item.content["duration_s"] == pytest.approx(2, abs=0.01)
    assert store.audio_path(out.item.content["audio_sha256"]).exists()
    novoice, _ = person(store, consent=dict(ALL_SCOPES, voice=False))
    out = forms.submit_speech(store, {}, "sp", viewer=viewer_for(store, novoice), language="sw",
                              clip=forms.check_clip(wav(2.5)), values=values)
    assert out.status == "refused"


# --- review, earnings, own data -----------------------------------------------------------------
def test_review_flow_decides_and_pays(store):
    author, _ = person(store, consent=ALL_SCOPES, compensation_method="mobile_money")
    va = viewer_for(store, author)
    item = forms.submit_item(store, {}, "pr", viewer=va, kind="prompt_response", language="sw",
                             values={"prompt": SW_PROMPT, "response": SW_ANSWER}).item
    r1, _ = person(store, roles=["reviewer"], consent=ALL_SCOPES)
    r2, _ = person(store, roles=["reviewer"], consent=ALL_SCOPES)
    # never one's own item
    assert all(i.id != item.id for i in store.review_queue(va.campaign.id, author.id, limit=500))
    assert review.submit_review(store, item_id=item.id, reviewer_id=author.id,
                                verdict="approve").status == "refused"
    # reject needs a reason, edit needs text
    assert review.submit_review(store, item_id=item.id, reviewer_id=r1.id,
                                verdict="reject").status == "blocked"
    assert review.submit_review(store, item_id=item.id, reviewer_id=r1.id, verdict="edit",
                                edit_text="  ").status == "blocked"
    assert review.submit_review(store, item_id=item.id, reviewer_id=r1.id,
                                verdict="approve").status == "recorded"
    # a double click is not an error, and the queue never offers it again
    assert review.submit_review(store, item_id=item.id, reviewer_id=r1.id,
                                verdict="approve").status == "already"
    assert review.still_open(store, item.id, r1.id, va.campaign.id) is None
    assert review.submit_review(store, item_id=item.id, reviewer_id=r2.id,
                                verdict="approve").status == "recorded"
    assert store.item(item.id).status == "accepted"
    tr = Translator("en")
    lines = review.outcome_summary(tr, store.item(item.id), store.reviews_of(item.id))
    assert lines[0] == "Approvals: 2 · Rejections: 0"
    rows = earnings.earning_rows(store, author.id, tr)
    assert rows and rows[0]["Activity"] == "Accepted item" and rows[0]["Amount"] == "50 KES"
    assert rows[0]["Rate"] == "50 KES (v1)" and rows[0]["Status"] == "Owed"
    data = json.loads(earnings.own_data_json(store, author.id))
    assert data["items"][0]["public_id"] == item.public_id and data["earnings"]
    assert data["consents"][0]["scopes"]["voice"] is True


def _open_item(store, camp, author, lang: str, n: int):
    content = {"prompt": f"{SW_PROMPT} Swali {'abcdefghij'[n % 10]}{'klmnopqrst'[n // 10 % 10]}.",
               "response": SW_ANSWER, "task_type": "instruction"}
    return store.submit_item(campaign_id=camp.id, author_id=author.id, kind="prompt_response",
                             language=lang, content=content, client_key=f"queue-test-{n}").item


def test_review_queue_by_language_with_skips_and_a_capped_count(store):
    camp = store.campaigns()[0]
    author, _ = person(store, consent=ALL_SCOPES)
    rev, _ = person(store, roles=["reviewer"], consent=ALL_SCOPES, languages_spoken=["sw", "en"])
    made = [_open_item(store, camp, author, lang, n) for n, lang in enumerate(["sn", "sw", "sw", "sn"])]
    everything = store.open_review_count(camp.id, rev.id, cap=None)
    assert everything >= 4
    # the reviewer's profile picks the filter's first choice; all languages means no filter
    assert review.default_languages(camp.languages, rev.languages_spoken) == ["sw"]
    assert review.default_languages(camp.languages, None) == list(camp.languages)
    assert review.chosen_languages(camp.languages, ["sw"]) == ["sw"]
    assert review.chosen_languages(camp.languages, list(camp.languages)) is None
    assert review.chosen_languages(camp.languages, []) is None
    sw_queue = store.review_queue_for(camp.id, rev.id, languages=["sw"], limit=500)
    assert sw_queue and all(i.language == "sw" for i in sw_queue)
    first = review.next_item(store, camp.id, rev.id, languages=["sw"])
    assert first.id == sw_queue[0].id
    # skipping: the next one comes, the skipped one is neither shown nor counted
    second = review.next_item(store, camp.id, rev.id, languages=["sw"], skipped=[first.id])
    assert second.id != first.id and second.language == "sw"
    assert review.still_open(store, first.id, rev.id, camp.id, skipped=[first.id]) is None
    assert review.still_open(store, made[0].id, rev.id, camp.id, languages=["sw"]) is None
    assert review.still_open(store, made[1].id, rev.id, camp.id, languages=["sw"]).id == made[1].id
    n_sw = store.open_review_count(camp.id, rev.id, languages=["sw"], cap=None)
    assert store.open_review_count(camp.id, rev.id, languages=["sw"], exclude=[first.id],
                                   cap=None) == n_sw - 1
    # the count stops at the cap, and the page says "99+"
    assert store.open_review_count(camp.id, rev.id, cap=2) == 2
    assert store.open_review_count(camp.id, rev.id, cap=everything + 5) == everything
    assert review.count_text(100) == "99+" and review.count_text(7) == "7"
    # a review removes the item from the queue and from the count
    review.submit_review(store, item_id=first.id, reviewer_id=rev.id, verdict="approve")
    assert store.open_review_count(camp.id, rev.id, cap=None) == everything - 1


def test_ledger_totals_and_pages(store):
    camp = store.campaigns()[0]
    owed = store.ledger(camp.id, "owed")
    n = store.ledger_count(camp.id, "owed")
    assert n == len(owed) and n >= 1
    assert store.ledger_ids(camp.id, "owed") == sorted(e.id for e in owed)
    totals = store.ledger_totals(camp.id, "owed")
    assert sum(t["entries"] for t in totals) == n
    assert sum(t["amount"] for t in totals) == sum(e.amount for e in owed)
    one = store.ledger_rows(camp.id, "owed", limit=1)
    rest = store.ledger_rows(camp.id, "owed", limit=1000, offset=1)
    assert [r["id"] for r in one + rest] == sorted(e.id for e in owed)
    assert store.ledger_rows(camp.id, "owed", limit=5, offset=n) == []


# --- organiser ---------------------------------------------------------------------------------
def test_campaign_form_parsing():
    fields, problems = admin.campaign_fields({
        "name": "Ede wa", "languages": "yo, swh", "dialects": "yo = Ọ̀yọ́, Ìjẹ̀ṣà\nsw = Kiunguja",
        "domains": "health, agriculture", "item_kinds": ["prompt_response"],
        "targets_items": "yo/health = 100", "targets_representation": "gender:woman = 0.5",
        "min_votes": 2, "tie_reject_at": 3, "consent_scopes": ["open_publication"]})
    assert not problems
    assert fields["languages"] == ["yo", "sw"] and fields["dialects"]["yo"] == ["Ọ̀yọ́", "Ìjẹ̀ṣà"]
    assert fields["targets"] == {"items": {"yo/health": 100}, "representation": {"gender:woman": 0.5}}
    _, problems = admin.campaign_fields({"name": " ", "languages": "klingonese", "item_kinds": [],
                                         "targets_items": "x = many", "min_votes": 3, "tie_reject_at": 2})
    keys = {k for k, _ in problems}
    assert {"admin.need_name", "admin.bad_language", "admin.need_kind", "admin.bad_number",
            "admin.bad_rule"} <= keys
    tr = Translator("en")
    assert all("{" not in tr(k, **v) for k, v in problems)


def test_rate_card_parsing_and_change_applies_later_only(store):
    rates, problems = admin.rate_card({"item_accepted": {"amount": "60", "unit": "KES",
                                                         "in_kind_good": "seed pack", "in_kind_qty": "0.2"},
                                       "review": {"amount": "abc", "unit": "KES"}})
    assert problems == [("admin.bad_amount", {"activity": "review", "value": "abc"})]
    rates, problems = admin.rate_card({"item_accepted": {"amount": "60", "unit": "KES"}})
    assert not problems
    camp = store.campaigns()[0]
    before = {e.id: e.amount for e in store.ledger(camp.id)}
    card = store.set_rate_card(camp.id, rates, actor_id=OPERATOR)
    assert card.version == 2
    assert {e.id: e.amount for e in store.ledger(camp.id)} == before
    assert any(e["action"] == "rate_card.set" for e in store.audit_events())


def test_author_takes_a_suggested_edit_and_the_new_version_goes_back_to_review(store):
    author, _ = person(store, consent=ALL_SCOPES)
    camp = store.campaigns()[0]
    item = store.submit_item(campaign_id=camp.id, author_id=author.id, kind="prompt_response",
                             language="sw", client_key="edit-me",
                             content={"prompt": SW_PROMPT, "response": "Panda mahindi."}).item
    reviewer = store.contributor_by_pseudonym("demo-mkaguzi")
    out = review.submit_review(store, item_id=item.id, reviewer_id=reviewer.id, verdict="edit",
                               edit_field="response", edit_text=SW_ANSWER, item_kind=item.kind)
    assert out.status == "recorded" and store.item(item.id).status == "needs_edit"
    level, key = review.apply_suggested_edit(store, item.id, author.id, out.review)
    assert (level, key) == ("success", "mine.edit_applied")
    updated = store.item(item.id)
    assert updated.version == 2 and updated.status == "submitted"
    assert updated.content["response"] == SW_ANSWER
    assert item.id in {i.id for i in store.review_queue(camp.id, store.contributor_by_pseudonym(
        "demo-baraka").id, limit=100)}
    # someone else cannot apply it, and an item already decided cannot be edited
    intruder, _ = person(store, consent=ALL_SCOPES)
    assert review.apply_suggested_edit(store, item.id, intruder.id, out.review)[0] == "error"


def test_organisers_see_which_campaign_languages_lack_a_consent_text(store):
    """A Shona speaker with no Shona consent text reads the English one: the organiser's page
    names Shona as missing and English as what they read instead, as the store picks it."""
    c = store.create_campaign("c9", "C9", languages=["sw-KE", "sn"], actor_id=OPERATOR)
    store.add_consent_text(c.id, "1", "en", "I agree.", actor_id=OPERATOR)
    store.add_consent_text(c.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    store.add_consent_text(c.id, "2", "sn", "Ndinobvuma.", make_current=False, actor_id=OPERATOR)
    campaign = store.campaign(c.id)
    covered, missing, fallback = admin.consent_languages(
        campaign.languages, campaign.current_consent_version, store.consent_texts(c.id))
    assert (covered, missing, fallback) == (["sw-KE"], ["sn"], "en")  # v2's Shona is not current
    assert store.consent_text(c.id, "sn").language == fallback
    assert admin.consent_languages(["sn"], None, []) == ([], ["sn"], None)


def test_form_problems_name_the_field_and_activity_in_the_readers_language():
    """A Swahili organiser's rate-card or targets mistake names the field and the activity in
    Swahili, not by the code's English keys (item_accepted, targets)."""
    sw = Translator("sw")
    _, problems = admin.rate_card({"item_accepted": {"amount": "abc", "unit": "KES"}})
    key, values = problems[0]
    shown = sw(key, **admin.problem_values(sw, values))
    assert sw("activity.item_accepted") in shown and "item_accepted" not in shown
    found: list = []
    admin.parse_targets("sw/agriculture 200", "", found)
    key, values = found[0]
    shown = sw(key, **admin.problem_values(sw, values))
    assert sw("admin.targets_items") in shown and "targets," not in shown


def test_an_invite_link_is_the_short_path_on_the_organisers_own_host():
    from jamii.collector.admin import invite_link, invite_qr_png

    assert invite_link("https://jamii.example.org/org-people", "", "ABCD-EFGH-JKLM") == \
        "https://jamii.example.org/j/ABCD-EFGH-JKLM"
    assert invite_link("http://10.0.0.2:8501/jamii/org-people", "/jamii/", "ABCD") == \
        "http://10.0.0.2:8501/jamii/j/ABCD"
    for bad in (None, "", "javascript:alert(1)", "file:///etc/passwd", "/relative"):
        assert invite_link(bad, "", "ABCD") is None
    assert invite_qr_png("https://jamii.example.org/j/ABCD").startswith(b"\x89PNG\r\n\x1a\n")
