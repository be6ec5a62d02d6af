"""AppTest for the rating page (`collector/views/rate.py`) and the organiser's rating settings.

Each test makes its own campaign (tests/support/rate_page_fixtures.py) on one seeded SQLite store
and opens it by choosing that campaign in session state, as the sidebar's campaign menu does:
accepted contextual items with two models' answers queued as direct and pair tasks. Raters
rate by setting widgets and pressing the form's button; the store then holds the ratings and
the ledger their pay, and no page shows which model wrote an answer.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_collector_apptest import app, env  # noqa: E402,F401 - the seeded store and AppTest factory
from support.rate_page_fixtures import MODEL_WORDS, MODELS, rating_campaign  # noqa: E402
from test_plain_text_apptest import IMAGE, LINK, assert_plain, hostile, words  # noqa: E402

from jamii.collector.i18n import Translator  # noqa: E402
from jamii.core.store import OPERATOR  # noqa: E402

EN, SW = Translator("en"), Translator("sw")


@pytest.fixture
def rate_app(app):
    """Factory: the collector as `person_id`, in the campaign `campaign_id`, on `page`."""

    def make(person_id, campaign_id, lang="en", page="views/rate.py") -> AppTest:
        at = app(person_id, lang=lang)
        at.session_state["campaign_id"] = campaign_id
        at.run()
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make


def open_task(rate_app, env, slug, *, lang="en", **campaign):
    """A new campaign (`rating_campaign` options), its first reviewer on the rating page, and
    the task on their screen."""
    store, _ = env
    w = rating_campaign(store, slug, **campaign)
    rater = w.reviewers[0]
    at = rate_app(rater.id, w.campaign.id, lang=lang)
    return store, w, rater, at, held(at)


def page_text(at) -> str:
    """Every string of the page's element tree: labels, options, values, help, alerts."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(MessageToDict(proto)))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def messages(at) -> str:
    """The page's messages as a reader sees them (escapes of plain() removed)."""
    parts = [*at.error, *at.warning, *at.info, *at.success, *at.caption, *at.title]
    return words("\n".join(str(p.value) for p in parts))


def held(at):
    return at.session_state["rt_held"].task


def send(at, task_id):
    """Press the task's form button (its key ends with the label, in the page's language)."""
    at.button(key=next(b.key for b in at.button
                       if b.key.startswith(f"FormSubmitter:rt{task_id}_form-"))).click().run()
    assert not at.exception, [e.value for e in at.exception]


def rate_direct(at, task, score=4, **extra):
    for n, _ in enumerate(task.rubric):
        at.radio(key=f"rt{task.task_id}_c{n}").set_value(score)
    fill_extra(at, task, **extra)
    send(at, task.task_id)


def fill_extra(at, task, safety=False, comment=None):
    if safety:
        at.checkbox(key=f"rt{task.task_id}_safety").check()
    if comment is not None:
        at.text_area(key=f"rt{task.task_id}_comment").input(comment)


def ratings_by(store, campaign_id, rater_id) -> tuple[list, list]:
    scores, _ = store.direct_ratings(campaign_id)
    pairs = store.pairwise_votes(campaign_id)
    return (sorted(set(scores[scores.rater == rater_id].task)),
            list(pairs[pairs.rater == rater_id].preferred))


def paid(store, campaign_id, rater_id) -> list:
    return [e for e in store.ledger(campaign_id)
            if e.contributor_id == rater_id and e.activity == "rating"]


def assert_blind(at):
    text = page_text(at)
    for word in (*MODELS, *MODEL_WORDS):
        assert word not in text, word


def test_direct_and_pair_tasks_are_rated_and_paid(rate_app, env):
    store, _ = env
    w = rating_campaign(store, "rate-both")  # one item: two direct tasks, one pair
    rater = w.reviewers[0]
    at = rate_app(rater.id, w.campaign.id)
    assert at.title[0].value == EN("nav.rate")
    assert "3 tasks waiting" in messages(at)
    modes = []
    for n in range(3):
        task = held(at)
        modes.append(task.mode)
        assert_blind(at)
        texts = [t.value for t in at.get("text")]
        assert task.scenario in texts and task.question in texts and task.answer_a in texts
        if task.mode == "pair":
            assert task.answer_b in texts
            assert [o for o in at.radio(key=f"rt{task.task_id}_choice").options] == [
                "A is better", "B is better", "Both equally good", "Both are bad"]
            at.radio(key=f"rt{task.task_id}_choice").set_value("b")
            fill_extra(at, task, safety=True, comment="Jibu A linasema kusubiri tu.")
            send(at, task.task_id)
        else:
            # the community's own anchors label each score
            options = at.radio(key=f"rt{task.task_id}_c0").options
            assert options[0] == "1 · Halimsaidii kabisa" and options[4] == "5 · Linafaa sana"
            rate_direct(at, task, score=2 + n)
        assert "Thank you, your rating is recorded." in messages(at)
        assert len(paid(store, w.campaign.id, rater.id)) == n + 1  # one ledger entry each
    assert sorted(modes) == ["direct", "direct", "pair"]
    direct, pair = ratings_by(store, w.campaign.id, rater.id)
    assert len(direct) == 2 and pair == ["b"]
    scores, safety = store.direct_ratings(w.campaign.id)
    assert set(scores[scores.rater == rater.id].criterion) == {"usefulness", "safety"}
    entries = paid(store, w.campaign.id, rater.id)
    assert {e.amount for e in entries} == {Decimal(10)} and {e.unit for e in entries} == {"KES"}
    # a rater never rates the same task twice: the queue is now empty for them
    assert EN("rate.empty") in messages(at)
    assert "rt_held" not in at.session_state


def test_a_form_with_something_missing_says_what_and_saves_nothing(rate_app, env):
    store, w, rater, at, task = open_task(rate_app, env, "rate-missing", mode="direct")
    at.radio(key=f"rt{task.task_id}_c0").set_value(3)
    send(at, task.task_id)
    assert "Choose a score for: Safety." in messages(at)
    # a comment goes through the same checks as item text: no HTML, no personal data
    at.radio(key=f"rt{task.task_id}_c1").set_value(5)
    at.text_area(key=f"rt{task.task_id}_comment").input("<b>hatari</b>")
    send(at, task.task_id)
    assert "remove the HTML code" in messages(at)
    at.text_area(key=f"rt{task.task_id}_comment").input("Nipigie 0712 345 678 kwa maelezo")
    send(at, task.task_id)
    assert "personal data" in messages(at) and "0712 345 678" in messages(at)
    assert not paid(store, w.campaign.id, rater.id)
    assert held(at).task_id == task.task_id  # the same task stays on screen to fix
    at.text_area(key=f"rt{task.task_id}_comment").input("Jibu zuri lakini fupi.")
    send(at, task.task_id)
    assert len(paid(store, w.campaign.id, rater.id)) == 1
    scores, _ = store.direct_ratings(w.campaign.id)
    assert dict(zip(scores.criterion, scores.score)) == {"usefulness": 3, "safety": 5}


def test_pair_without_a_choice_is_not_sent(rate_app, env):
    store, w, rater, at, task = open_task(rate_app, env, "rate-pair", lang="sw", mode="pairwise")
    assert task.mode == "pair"
    send(at, task.task_id)
    assert SW("rate.need_choice") in messages(at)
    at.radio(key=f"rt{task.task_id}_choice").set_value("tie")
    send(at, task.task_id)
    assert SW("rate.recorded") in messages(at)
    assert ratings_by(store, w.campaign.id, rater.id)[1] == ["tie"]


def test_skip_and_show_skipped_again(rate_app, env):
    _, _, _, at, task = open_task(rate_app, env, "rate-skip", items=2, mode="direct")
    first = task.task_id
    at.button(key=f"rt{first}_skip").click().run()
    second = held(at).task_id
    assert second != first and first in at.session_state["rt_skipped"]
    at.run()  # a rerun keeps the task on screen
    assert held(at).task_id == second
    for _ in range(3):
        task = held(at)
        assert task.task_id != first
        rate_direct(at, task)
    assert EN("rate.empty") in messages(at)
    at.button(key="rt_unskip").click().run()
    assert held(at).task_id == first


def test_empty_queue_says_so(rate_app, env):
    store, _ = env
    w = rating_campaign(store, "rate-empty", items=0)
    at = rate_app(w.reviewers[0].id, w.campaign.id, lang="sw")
    assert SW("rate.empty") in messages(at)
    assert not at.radio and not at.text_area


def test_refused_raters_see_why(rate_app, env):
    store, _ = env
    only_reviewers = rating_campaign(store, "rate-reviewers", raters="reviewers")
    contributor, _ = only_reviewers.person()
    at = rate_app(contributor.id, only_reviewers.campaign.id)
    assert EN("rate.reviewers_only") in messages(at)
    assert not at.radio and not at.text
    # every contributor who said yes to rating may rate here; one who said no is told how
    consented = rating_campaign(store, "rate-consented", raters="consented")
    said_no, _ = consented.person(scopes={"open_publication": True, "rating": False})
    at = rate_app(said_no.id, consented.campaign.id, lang="sw")
    assert SW("rate.needs_consent") in messages(at)
    assert not at.radio and "consent" in page_text(at)  # the link to the consent page
    said_yes, _ = consented.person(scopes={"rating": True})
    at = rate_app(said_yes.id, consented.campaign.id, lang="sw")
    rate_direct_or_pair(at)
    assert len(paid(store, consented.campaign.id, said_yes.id)) == 1
    # the store decides again when the rating is sent: an organiser changed the setting meanwhile
    task = held(at)
    store.set_rating_settings(consented.campaign.id, raters="reviewers", actor_id=OPERATOR)
    rate_direct_or_pair(at)
    assert SW("rate.reviewers_only") in messages(at)
    assert len(paid(store, consented.campaign.id, said_yes.id)) == 1
    assert task.task_id not in ratings_by(store, consented.campaign.id, said_yes.id)[0]


def rate_direct_or_pair(at):
    task = held(at)
    if task.mode == "pair":
        at.radio(key=f"rt{task.task_id}_choice").set_value("a")
        send(at, task.task_id)
    else:
        rate_direct(at, task)


def test_hostile_texts_show_as_plain_text(rate_app, env):
    store, _ = env
    rubric = [{"name": f"usefulness {LINK}", "description": hostile("maelezo"),
               "anchors": [hostile(f"alama {s}") for s in range(1, 6)]}]
    w = rating_campaign(store, "rate-hostile", items=1, queue=False, scenario=hostile("hali"),
                        persona=hostile("mtu"), question=hostile("swali"), rubric=rubric)
    html = '<img src="http://203.0.113.9/x.png" onerror="alert(1)"> <a href="http://203.0.113.9">bofya</a>'
    w.queue(text=lambda n, m: f"{hostile('jibu')} {html}" if m == MODELS[0] else f"{IMAGE} jibu la pili")
    at = rate_app(w.reviewers[0].id, w.campaign.id)
    seen = []
    for _ in range(3):
        shown = assert_plain(at, f"rating a {held(at).mode} task")
        seen += shown + [t.value for t in at.get("text")]
        assert not at.get("html") or all("203.0.113.9" not in h.proto.body for h in at.get("html"))
        assert_blind(at)
        rate_direct_or_pair(at)
    everything = "\n".join(seen)
    for text in (hostile("hali"), hostile("mtu"), hostile("swali"), f"{hostile('jibu')} {html}",
                 f"{IMAGE} jibu la pili"):
        assert text in everything, text  # st.text: shown exactly as written
    assert f"1 · {hostile('alama 1')}" in everything and hostile("maelezo") in everything


def test_double_send_counts_once(rate_app, env):
    store, w, rater, at, task = open_task(rate_app, env, "rate-double", mode="pairwise")
    at.radio(key=f"rt{task.task_id}_choice").set_value("a")
    at.session_state["_rt_send"] = task.task_id  # what a second click on the same button does
    send(at, task.task_id)
    at.session_state["_rt_send"] = task.task_id
    at.run()
    assert EN("rate.already") in messages(at)
    assert len(paid(store, w.campaign.id, rater.id)) == 1


def test_daily_cap_stops_for_today(rate_app, env):
    store, w, rater, at, _ = open_task(rate_app, env, "rate-cap", lang="fr", mode="direct",
                                       daily_cap=1)
    rate_direct_or_pair(at)
    assert Translator("fr")("rate.recorded") in messages(at)
    rate_direct_or_pair(at)
    assert Translator("fr")("rate.daily_cap") in messages(at)
    assert len(paid(store, w.campaign.id, rater.id)) == 1


def test_menu_links_the_page_only_where_the_viewer_could_rate(rate_app, env):
    store, _ = env
    w = rating_campaign(store, "rate-menu", raters="reviewers", items=0)
    contributor, _ = w.person()

    def links(at):
        return [MessageToDict(el.proto).get("label") for el in at.sidebar.get("page_link")]

    assert EN("nav.rate") in links(rate_app(w.reviewers[0].id, w.campaign.id))
    assert EN("nav.rate") not in links(rate_app(contributor.id, w.campaign.id))


def test_organiser_sets_who_rates_and_the_consent_page_asks_for_rating(rate_app, env):
    store, _ = env
    w = rating_campaign(store, "rate-settings", items=0)
    org, _ = w.person(("contributor", "organiser"))
    at = rate_app(org.id, w.campaign.id, page="views/org_campaigns.py")
    assert not at.error
    k = f"rs{w.campaign.id}"
    at.radio(key=f"{k}_raters").set_value("consented")
    at.number_input(key=f"{k}_cap").set_value(20)
    at.number_input(key=f"{k}_wanted").set_value(5)
    at.button(key="FormSubmitter:org_rating_form-Save rating settings").click().run()
    assert not at.exception and "Rating settings saved." in messages(at)
    assert store.rating_settings(w.campaign.id) == {"raters": "consented", "daily_cap": 20,
                                                    "ratings_per_task": 5}
    assert any(e["action"] == "ratings.settings" and e["actor"] == org.pseudonym
               and e["details"]["raters"] == "consented" for e in store.audit_events())
    at.number_input(key=f"{k}_cap").set_value(0)  # 0 is no cap
    at.button(key="FormSubmitter:org_rating_form-Save rating settings").click().run()
    assert store.rating_settings(w.campaign.id)["daily_cap"] is None
    # the consent page offers the rating scope, in the reader's language
    newcomer, _ = w.person(scopes=None)
    at = rate_app(newcomer.id, w.campaign.id, lang="sw", page="views/consent.py")
    box = at.checkbox(key="consent_rating")
    assert box.label == SW("scope.rating") and box.help == SW("scope.rating_help")
    box.check()
    at.button(key=next(b.key for b in at.button if b.key.startswith("FormSubmitter:consent_form"))).click().run()
    assert store.active_consent(newcomer.id, w.campaign.id).scopes["rating"] is True
    assert store.may_rate(w.campaign.id, newcomer.id) is None


@pytest.mark.parametrize("lang", ["en", "sw", "fr"])
def test_rating_page_renders_for_an_organiser_in_every_language(rate_app, env, lang):
    store, _ = env
    w = rating_campaign(store, f"rate-render-{lang}")
    org, _ = w.person(("contributor", "organiser"), language=lang)
    at = rate_app(org.id, w.campaign.id, lang=lang)
    assert not at.error and at.title[0].value == Translator(lang)("nav.rate")
    assert_blind(at)
