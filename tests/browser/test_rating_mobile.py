"""Community rating in a real browser, on a phone-sized screen, in Swahili.

The seeded campaign lets every contributor who said yes to rating rate model answers (a new
consent version asks for it); two models' answers to the seeded Swahili contextual items are
queued as direct and pair tasks. Three raters each sign in with their invite code at 420 px,
open the rating page from the menu and rate tasks by clicking: a score for every criterion by
its community anchor, or which of two answers is better. The store then holds each rater's
ratings and the ledger their pay; no model id was ever on the page, and the page never
scrolls sideways.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.rate_page_fixtures import MODEL_WORDS, MODELS, answer_text  # noqa: E402

from jamii.collector.i18n import Translator  # noqa: E402
from jamii.core.records import CONSENT_SCOPES  # noqa: E402
from jamii.core.store import OPERATOR  # noqa: E402

pytestmark = pytest.mark.browser

SW = Translator("sw")
TASKS_EACH = 3
SLOW_MS = 90_000


@pytest.fixture(scope="module")
def rating_setup(jamii_app):
    store = jamii_app.store
    camp = jamii_app.campaign()
    for lang in ("sw", "en"):
        store.add_consent_text(camp.id, "2", lang, f"# Ridhaa 2\n\nSasa pia kupima majibu ({lang}).",
                               scopes=list(CONSENT_SCOPES), actor_id=OPERATOR)
    # two ratings per task: the second rater finds the tasks nobody rated yet, pairs among them
    store.set_rating_settings(camp.id, raters="consented", ratings_per_task=2, actor_id=OPERATOR)
    items = [i for i in store.items(camp.id, kind="contextual", status="accepted") if i.language == "sw"]
    assert items, "the seeds hold accepted Swahili contextual items"
    rows = [{"item_id": it.public_id, "item_version": it.version, "model_id": m,
             "answer": answer_text(n, m), "dataset": "mazao@1.0.0", "run": m}
            for n, it in enumerate(items) for m in MODELS]
    report = store.queue_rating_tasks(camp.id, rows, mode="both", actor_id=OPERATOR)
    assert report.tasks_added >= TASKS_EACH
    return camp


def rate_one(st, seen: list[str]) -> str:
    """Rate the task on screen by clicking, as a person would; returns its mode."""
    main = st.main()
    st.wait_text(SW("rate.submit"))
    seen.append(st.page.content())
    pair = SW("rate.answer_b") in main.inner_text()
    if pair:
        st.choose(SW("rate.which"), SW("rate.choice_a"), rerun=False)
    else:
        radios = main.locator("[data-testid='stRadio']")
        radios.first.wait_for(state="attached")
        assert radios.count() >= 1, main.inner_text()
        for n in range(radios.count()):  # every criterion, by its community anchor for 4
            st.choose(radios.nth(n), "4 · ", rerun=False)
        st.check(SW("rate.safety"), rerun=False)
    st.fill(st.page.get_by_label(SW("rate.comment")), "Jibu linaeleweka.")
    st.click(st.button(SW("rate.submit"), exact=True))
    st.wait_text(SW("rate.recorded"))
    seen.append(st.page.content())
    return "pair" if pair else "direct"


def test_three_raters_rate_on_a_phone_in_swahili(new_st, jamii_app, rating_setup):
    store, camp = jamii_app.store, rating_setup
    scopes = {s: True for s in CONSENT_SCOPES}
    raters = [jamii_app.person(consent=scopes, language="sw") for _ in range(3)]
    seen: list[str] = []
    overflow = []
    modes = []
    for n, (rater, code) in enumerate(raters):
        st = new_st()
        assert st.page.viewport_size["width"] == 420
        st.timeout = SLOW_MS  # a shared CI machine under load loads Streamlit slowly
        st.page.set_default_timeout(SLOW_MS)
        st.goto("", lang="sw")
        st.fill(st.key("sign_in_code"), code)
        st.click(st.button(SW("sign_in.submit"), exact=True))
        st.wait_text(SW("write.intro"))
        st.nav(SW("nav.rate"))
        assert st.errors() == []
        for k in range(TASKS_EACH):
            found = st.horizontal_overflow()
            if found["overflow"] > 0:
                overflow.append((n, k, found))
            modes.append(rate_one(st, seen))
            if n == 0 and k < 2:
                st.shot(f"30-rate-{k}-sw", top=True)
        assert st.exceptions() == []
    # every rater's ratings and pay are in the store
    scores, _ = store.direct_ratings(camp.id)
    votes = store.pairwise_votes(camp.id)
    for rater, _ in raters:
        rated = set(scores[scores.rater == rater.id].task) | set(votes[votes.rater == rater.id].task)
        assert len(rated) == TASKS_EACH, rater.pseudonym
        paid = [e for e in store.ledger(camp.id) if e.contributor_id == rater.id and e.activity == "rating"]
        assert len(paid) == TASKS_EACH, rater.pseudonym
    ours = {rater.id for rater, _ in raters}  # the seeds' demo raters have rated too
    assert set(votes[votes.rater.isin(ours)].preferred) <= {"a"}
    assert set(scores[scores.rater.isin(ours)].score) <= {4}
    assert set(modes) == {"direct", "pair"}, modes
    # blind: no model id, nor a word of one, was ever in the page
    html = "\n".join(seen)
    for word in (*MODELS, *MODEL_WORDS):
        assert not re.search(re.escape(word), html, re.IGNORECASE), word
    assert not overflow, overflow
