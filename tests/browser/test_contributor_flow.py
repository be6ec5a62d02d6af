"""The whole collector walk in a real browser, at a phone's size, in Swahili.

One newcomer (the seeded demo-mwanajumuiya, code DEMO-MWAN-AJUM) joins with `?lang=sw`, gives
consent, chooses how to be paid, writes one item of each kind (the speech item is recorded
with chromium's fake microphone playing a Swahili clip); a second contributor (demo-mkaguzi,
who also reviews) writes an item; the organiser (demo-mratibu) makes the newcomer a reviewer;
the newcomer reviews another contributor's item; the two reviewers accept the newcomer's
item; the newcomer sees it accepted and the earning appear, then withdraws; the organiser
approves the owed entries and exports the payout CSV.

The steps run in order inside one test (each step needs the previous one). Screenshots are
numbered in flow order (`01-join-sw.png` ...); see conftest.py for where they are written.
"""

from __future__ import annotations

import csv
import io

import pytest

from jamii.collector.i18n import Translator
from jamii.core.langtags import display_name

pytestmark = pytest.mark.browser

SW = Translator("sw")
EN = Translator("en")

NEWCOMER = ("DEMO-MWAN-AJUM", "demo-mwanajumuiya")
PEER = ("DEMO-REVI-EWER", "demo-mkaguzi")
ORGANISER = ("DEMO-ORGA-NISR", "demo-mratibu")

PROMPT = "Ni wakati gani mzuri wa kupanda maharagwe katika eneo lenye mvua za masika?"
RESPONSE = ("Panda maharagwe mwanzoni mwa mvua za masika, udongo ukiwa na unyevu wa kutosha. "
            "Acha nafasi ya sentimita hamsini kati ya mistari na ongeza mbolea ya samadi.")
SCENARIO = ("Mama mmoja anayelima mboga karibu na Morogoro ameona majani ya nyanya zake "
            "yakiwa na madoa ya kahawia baada ya mvua nyingi wiki hii.")
PERSONA = "Mkulima mdogo mwenye shamba la nusu ekari"
QUESTION = "Nifanye nini ili nyanya zangu zisiharibike zaidi kwa ugonjwa huu wa majani?"
ANSWER = ("Ondoa majani yenye madoa na uyachome mbali na shamba. Usimwagilie maji juu ya majani, "
          "mwagilia kwenye udongo asubuhi. Muulize afisa ugani kuhusu dawa inayofaa ya kuvu.")
RED_FLAG = "Kushauri kunyunyizia dawa yoyote bila kufuata maelekezo ya usalama"
TRANSCRIPT = "Habari za asubuhi. Mahindi yanahitaji mvua ya kutosha na mbolea nzuri."
PEER_PROMPT = "Ni dalili zipi za mtoto kukosa maji mwilini ambazo mzazi anapaswa kuziangalia?"
PEER_RESPONSE = ("Mdomo mkavu, kulia bila machozi, mkojo kidogo na uchovu mwingi. Mpe maji safi "
                 "na dawa ya ORS, na mpeleke kliniki haraka kama dalili zinaendelea.")


def sign_in(st, code: str, lang: str = "sw") -> None:
    tr = SW if lang == "sw" else EN
    st.goto("", lang=lang)
    st.fill(st.key("sign_in_code"), code)
    st.click(st.button(tr("sign_in.submit"), exact=True))
    st.wait_text(tr("write.intro"))  # consented people land on the writing page


def send_form(st, tr) -> None:
    """Press the form's submit; when the app asks to confirm warnings, confirm and send again.
    Each press is one script run: the form is emptied in it, with no st.rerun after saving."""
    wasted = st.cut_short
    st.click(st.button(tr("contribute.submit"), exact=True))
    if tr("contribute.check_warnings") in st.text():
        st.check(tr("contribute.confirm"), rerun=False)  # inside the form
        st.click(st.button(tr("contribute.submit"), exact=True))
    assert st.cut_short == wasted, "a submit ran the page twice"


def saved_message(st, tr) -> str:
    prefix = tr("contribute.saved", id="").split("!")[0]
    texts = st.page.locator("[data-testid='stAlertContentSuccess']").all_inner_texts()
    assert any(prefix in t for t in texts), f"no success message; errors: {st.errors()}; page: {st.text()[:1500]}"
    return next(t for t in texts if prefix in t)


def review_until(st, tr, wanted_text: str, limit: int = 30) -> None:
    """Approve the queue's items in order until the one showing wanted_text has been approved."""
    for _ in range(limit):
        item = st.key("review_item")
        assert item.count(), f"review queue ended before the item: {st.text()[:1200]}"
        found = wanted_text in item.inner_text()
        st.segment(tr("verdict.approve"))
        st.click(st.button(tr("review.submit"), exact=True))
        assert tr("review.recorded") in st.text() or tr("review.closed") in st.text(), st.errors()
        if found:
            return
    raise AssertionError(f"'{wanted_text[:40]}...' never reached the head of the review queue")


def test_two_contributors_and_an_organiser(jamii_app, new_st):
    store = jamii_app.store
    camp = jamii_app.campaign()
    newcomer = store.contributor_by_pseudonym(NEWCOMER[1])
    assert store.active_consent(newcomer.id, camp.id) is None  # the seeds leave the step to us

    # --- 1. the newcomer joins in Swahili ------------------------------------------------------
    a = new_st()
    a.goto("", lang="sw")
    assert SW("sign_in.title") in a.text()
    a.fill(a.key("sign_in_code"), NEWCOMER[0])
    a.shot("01-join-sw")
    a.click(a.button(SW("sign_in.submit"), exact=True))

    # --- 2. consent: the Swahili text, one explicit choice per scope -----------------------------
    a.wait_text(SW("consent.choices"))
    for scope in ("open_publication", "model_evaluation", "voice"):
        a.check(SW(f"scope.{scope}"), rerun=False)  # inside a form: no rerun until sent
    a.shot("02-consent-sw")
    a.click(a.button(SW("consent.accept"), exact=True))
    consent = store.active_consent(newcomer.id, camp.id)
    assert consent is not None, f"consent not stored; page: {a.text()[:800]}"
    a.wait_text(SW("write.intro"))  # the first page after consent is writing
    assert consent is not None and consent.scopes == {
        "open_publication": True, "model_evaluation": True, "voice": True}

    # --- 3. profile: how to be paid ----------------------------------------------------------------
    a.nav(SW("nav.profile"))
    a.choose(SW("profile.method"), SW("method.mobile_money"), rerun=False)
    a.shot("03-profile-payment-sw")
    a.click(a.button(SW("profile.save"), exact=True))
    assert store.contributor(newcomer.id).compensation_method == "mobile_money"

    # --- 4. one item of each kind -----------------------------------------------------------------
    a.nav(SW("nav.write"))
    a.fill(a.key("pr_prompt"), PROMPT)
    a.fill(a.key("pr_response"), RESPONSE)
    send_form(a, SW)
    saved_message(a, SW)
    assert a.key("pr_prompt").locator("textarea").input_value() == ""  # an empty form again
    a.shot("04-write-prompt-sw", top=True)

    a.nav(SW("nav.contextual"))
    a.fill(a.key("cx_scenario"), SCENARIO)
    a.fill(a.key("cx_persona"), PERSONA)
    a.fill(a.key("cx_question"), QUESTION)
    a.fill(a.key("cx_answer"), ANSWER)
    a.fill(a.key("cx_red_flags"), RED_FLAG)
    send_form(a, SW)
    saved_message(a, SW)
    a.shot("05-contextual-sw", top=True)

    a.nav(SW("nav.speech"))
    a.record_audio(3.0)
    assert not a.errors(), a.errors()
    assert SW("speech.listen_back", seconds="").split("{")[0][:10] in a.text()
    a.fill(a.key("sp_transcript"), TRANSCRIPT)
    send_form(a, SW)
    saved_message(a, SW)
    a.shot("06-speech-sw", top=True)

    mine = {i.kind: i for i in store.items(camp.id, author_id=newcomer.id)}
    assert set(mine) == {"prompt_response", "contextual", "speech"}
    assert all(i.status == "submitted" and i.language == "sw" for i in mine.values())
    speech = mine["speech"].content
    assert speech["sample_rate"] == 16000 and 2.0 <= speech["duration_s"] <= 4.5, speech
    assert store.audio_path(speech["audio_sha256"]).exists()
    assert mine["contextual"].content["rubric"], "the contextual item keeps its rubric"

    a.nav(SW("nav.mine"))
    assert PROMPT[:40] in a.text() and SW("status.submitted") in a.text()
    a.shot("07-my-items-submitted-sw")

    # without the reviewer role there is no review page (the seeds may already give it)
    newcomer = store.contributor(newcomer.id)
    assert (SW("nav.review") in a.menu_links()) == ("reviewer" in newcomer.roles)
    a.close_menu()

    # --- 5. a second contributor writes an item ------------------------------------------------------
    b = new_st()
    sign_in(b, PEER[0])
    b.nav(SW("nav.write"))
    b.fill(b.key("pr_prompt"), PEER_PROMPT)
    b.fill(b.key("pr_response"), PEER_RESPONSE)
    send_form(b, SW)
    saved_message(b, SW)

    # --- 6. the organiser makes the newcomer a reviewer ------------------------------------------------
    org = new_st()
    sign_in(org, ORGANISER[0], lang="en")
    org.nav(EN("nav.org_people"))
    org.select(EN("admin.person"), NEWCOMER[1])
    roles = org.key(f"op_roles_{newcomer.id}")
    if "reviewer" not in newcomer.roles:
        org.multiselect_add(roles, EN("role.reviewer"))
    roles.scroll_into_view_if_needed()
    org.shot("08-organiser-makes-reviewer")
    org.click(org.button(EN("admin.save_roles"), exact=True))
    assert set(store.contributor(newcomer.id).roles) == {"contributor", "reviewer"}

    # --- 7. the newcomer reviews another contributor's item -------------------------------------------
    assert SW("nav.review") in a.menu_links()  # roles are re-read from the store on every run
    a.nav(SW("nav.review"))
    # no languages in the newcomer's profile: every campaign language; they pick Swahili only
    sw_name, sn_name = display_name("sw", "sw"), display_name("sn", "sw")
    langs = a.key("rv_langs")
    assert langs.count() and sn_name in langs.inner_text(), a.text()[:1000]
    a.act(lambda: langs.locator("button").filter(has_text=sn_name).first.click())
    skipped = a.key("review_item").inner_text()
    assert sw_name in skipped and sn_name not in skipped, skipped
    # Skip: the next Swahili item; the skipped one is left for others
    a.click(a.button(SW("review.skip"), exact=True))
    first = a.key("review_item").inner_text()
    assert first.strip() and first != skipped and sw_name in first, a.text()[:1000]
    a.segment(SW("verdict.approve"))
    a.shot("09-review-sw")
    a.click(a.button(SW("review.submit"), exact=True))
    assert SW("review.recorded") in a.text(), a.errors()
    my_reviews = [e for e in store.earnings(newcomer.id) if e.activity == "review"]
    assert len(my_reviews) == 1 and str(my_reviews[0].amount).startswith("10")

    # --- 8. two reviewers accept the newcomer's prompt/response item ------------------------------------
    b.nav(SW("nav.review"))
    review_until(b, SW, PROMPT)
    org.nav(EN("nav.review"))
    review_until(org, EN, PROMPT)
    item = store.item(mine["prompt_response"].id)
    assert item.status == "accepted", item.status

    # --- 9. the newcomer sees it accepted, and the earning -------------------------------------------
    a.nav(SW("nav.mine"))
    assert SW("status.accepted") in a.text()
    a.page.get_by_role("tab", name=SW("mine.tab_items")).click()
    a.shot("10-my-item-accepted-sw", top=True)
    a.page.get_by_role("tab", name=SW("mine.tab_earnings")).click()
    a.page.wait_for_timeout(200)
    earned = a.main().inner_text()
    assert "KES" in earned and "60" in earned, earned  # 50 for the accepted item + 10 for a review
    a.shot("11-earnings-sw", top=True)
    entries = {e.activity: e for e in store.earnings(newcomer.id)}
    assert entries["item_accepted"].amount == 50 and entries["item_accepted"].status == "owed"

    # --- 10. the organiser approves what is owed and exports the payout -------------------------------
    org.nav(EN("nav.org_payouts"))
    owed = [e.id for e in store.ledger(camp.id, "owed")]
    assert owed
    org.check(EN("admin.all_entries", n=len(owed)), rerun=False)
    org.choose(EN("admin.move_to"), EN("payment.approved"), rerun=False)
    org.click(org.button(EN("admin.move"), exact=True))
    assert not store.ledger(camp.id, "owed")
    org.shot("12-organiser-approves-payouts", top=True)
    org.click(org.button(EN("admin.export_prepare"), exact=True))
    export = org.key("po_export").get_by_role("button")
    export.wait_for(state="visible")
    with org.page.expect_download(timeout=60_000) as dl:
        org.act(lambda: export.click(), rerun=False)  # the file is ready: no rerun
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path(), encoding="utf-8").read())))
    mine_row = [r for r in rows if r["pseudonym"] == NEWCOMER[1]]
    assert mine_row and mine_row[0]["amount"] == "60.00" and mine_row[0]["unit"] == "KES", rows
    assert mine_row[0]["method"] == "mobile_money"
    org.shot("13-organiser-export-payout")

    # --- 11. the newcomer withdraws ----------------------------------------------------------------
    a.nav(SW("nav.mine"))
    a.page.get_by_role("tab", name=SW("mine.tab_data")).click()
    a.check(SW("mine.withdraw_confirm"), rerun=False)
    a.click(a.button(SW("mine.withdraw_button"), exact=True))
    assert SW("mine.withdrawn_done") in a.text() or SW("mine.withdrawn_notice") in a.text()
    a.shot("14-withdrawn-sw", top=True)
    assert store.contributor(newcomer.id).withdrawn_at is not None
    assert store.active_consent(newcomer.id, camp.id) is None
    # withdrawn: the contribution pages are closed, earnings stay
    assert SW("nav.write") not in a.menu_links()
    a.close_menu()
    assert store.earnings(newcomer.id)
