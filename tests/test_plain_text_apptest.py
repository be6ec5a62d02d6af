"""Contributor text is never Markdown (issue 10, item 5), checked without a browser.

A store is seeded with a link, a remote image and a bare link in every field a contributor
(or an organiser, or a researcher's results folder) can write: every item field, the rubric's
names, descriptions and anchors, dialect "other: ...", a domain of the campaign's own choosing
(the campaign lists none), profile answers, a reviewer's suggested edit, a withdrawal reason,
dialect and unit names of the campaign, run and model names. Every collector and dashboard
page that shows them is opened with AppTest, and every string Streamlit would read as
Markdown (labels, captions, alerts, tabs, help, radio options, progress texts) is checked:
none may still hold a link, an image or a bare address, while the words stay readable.

`seed_hostile` and the planted texts are shared with the browser tests
(tests/browser/test_plain_text.py), which look at the rendered page itself.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import streamlit as st
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.collector_fixtures import wav  # noqa: E402

from jamii.web.ui import plain  # noqa: E402
from jamii.core.store import OPERATOR, Forbidden, Store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COLLECTOR = REPO / "collector" / "app.py"
DASHBOARD = REPO / "dashboard" / "app.py"

HOST = "203.0.113.9"  # TEST-NET-3: never answers
LINK = f"[x](http://{HOST}/a)"
IMAGE = f"![i](http://{HOST}/i.png)"
BARE = f"http://{HOST}/b"
DIALECT = f"other: {LINK} {IMAGE}"


def hostile(word: str) -> str:
    """A one-line text a contributor may store (the checks refuse HTML, not Markdown)."""
    return f"{word} {LINK} {IMAGE} {BARE} www.{HOST}.example mtu@{HOST}.example :material/home: **b**"


UNIT = f"[u](http://{HOST})"  # a rate card unit is at most 24 characters
GOOD = f"mbegu {LINK}"


def seed_hostile(store, audio: bytes | None = None) -> dict:
    """A campaign and people whose every free text carries Markdown aimed at reviewers.

    Returns ids: campaign, organiser, author, reviewer (has reviewed), fresh (a reviewer
    who has reviewed nothing yet), withdrawn, and the items by kind.
    """
    camp = store.create_campaign(
        "plain-text", "Maswali ya mtihani", languages=["sw"], actor_id=OPERATOR,
        dialects={"sw": ["Kiunguja", f"Kimvita {LINK}"]}, domains=[],
        targets={"items": {"sw": 10}, "representation": {f"region:{hostile('Pwani')}": 0.5}},
        consent_scopes=["open_publication", "model_evaluation", "voice"],
        compensation_options={"methods": ["mobile_money", "in_kind", "volunteer"], "in_kind": [GOOD]},
        acceptance_rule={"min_votes": 2, "tie_reject_at": 3})
    texts = {lang: store.add_consent_text(camp.id, "1", lang, f"# Ridhaa\n\nOrganiser text ({lang}).",
                                          actor_id=OPERATOR)
             for lang in ("sw", "en")}
    store.set_rate_card(camp.id, {"item_accepted": {"amount": 50, "unit": UNIT, "in_kind": {GOOD: 0.25}},
                                  "review": {"amount": 10, "unit": UNIT}}, actor_id=OPERATOR)
    scopes = {"open_publication": True, "model_evaluation": True, "voice": True}

    def someone(roles, **profile):
        who, code = store.add_contributor(roles=list(roles), actor_id=OPERATOR, **profile)
        store.accept_consent(who.id, texts["en"].id, scopes)
        return who, code

    org, org_code = someone(("contributor", "reviewer", "organiser"))
    author, author_code = someone(
        ("contributor",), region=hostile("Pwani")[:120], gender=hostile("mwanamke")[:60],
        dialect=DIALECT, compensation_method="in_kind", compensation_choice=GOOD)
    reviewer, reviewer_code = someone(("contributor", "reviewer"))
    fresh, fresh_code = someone(("contributor", "reviewer"), region=hostile("Pwani")[:120])
    withdrawn, _ = someone(("contributor",))
    store.withdraw(withdrawn.id, actor_id=withdrawn.id, reason=hostile("sababu"))

    rubric = [{"name": hostile("manufaa")[:80], "description": hostile("maelezo"),
               "anchors": [hostile(f"alama {s}") for s in range(1, 6)]}]
    contextual = {"scenario": hostile("hali"), "persona": hostile("mtu"), "question": hostile("swali"),
                  "reference_answers": [hostile("jibu la kwanza"), hostile("jibu la pili")],
                  "red_flags": [hostile("hatari")], "rubric": rubric}
    common = dict(campaign_id=camp.id, author_id=author.id, language="sw", dialect=DIALECT,
                  domain=hostile("kilimo"))
    accepted = store.submit_item(kind="contextual", client_key="plain-accepted", accepted=True,
                                 actor_id=OPERATOR, **common,
                                 content={**contextual, "scenario": hostile("hali iliyokubaliwa")})
    items = {"contextual": store.submit_item(kind="contextual", client_key="plain-cx", **common,
                                             content=contextual)}
    items["prompt_response"] = store.submit_item(
        kind="prompt_response", client_key="plain-pr", **common,
        content={"prompt": hostile("swali"), "response": hostile("jibu"), "task_type": "instruction"})
    digest = store.save_audio(audio or wav(2.0))
    items["speech"] = store.submit_item(
        kind="speech", client_key="plain-sp", **common,
        content={"transcript": hostile("nakala"), "prompt_text": hostile("mada"),
                 "audio_sha256": digest, "duration_s": 2.0, "sample_rate": 16000})
    edited = store.submit_item(
        kind="prompt_response", client_key="plain-edited", **common,
        content={"prompt": hostile("swali jingine"), "response": hostile("jibu jingine")})
    ids = {k: _item_id(v) for k, v in items.items()}
    # a suggested edit sends its item back to the author (needs edit), with the new wording
    store.record_review(_item_id(edited), reviewer.id, "edit",
                        suggested_edit={"prompt": hostile("pendekezo")})
    store.record_review(ids["contextual"], reviewer.id, "approve")
    return {"campaign": camp.id, "organiser": org.id, "author": author.id, "reviewer": reviewer.id,
            "fresh": fresh.id, "withdrawn": withdrawn.id, "items": ids, "accepted": _item_id(accepted),
            "codes": {"organiser": org_code, "author": author_code, "fresh": fresh_code,
                      "reviewer": reviewer_code}}


def _item_id(submitted) -> int:
    item = getattr(submitted, "item", submitted)
    return item.id


RUN = "run [x](evil) ![i](evil.png)"  # a results folder's name (no slash in a file name)


def write_results(folder: Path) -> None:
    """A finished results folder whose run, model, dataset and subgroup names carry Markdown."""
    folder.mkdir(parents=True)
    model = f"org/{LINK}"
    dataset = {"name": f"mtihani {LINK}", "version": "1.0.0", "hub_revision": None, "split": "test"}
    info = {"id": model, "spec": f"hf:{model}", "revision": "r1"}
    sig = {"chrf": f"chrF2++|nrefs:1|dataset:{LINK}|model:{model}"}

    def block(n):
        return {"n": n, "metrics": {"chrf": {"value": 40.0, "ci95": [37.0, 43.0], "n": n}},
                **({"warning": f"only {n} items (fewer than 30) {LINK}"} if n < 30 else {})}

    summary = {"model": info, "dataset": dataset, "signatures": sig, "overall": block(40),
               "by": {"language": {"sw": block(12)}, "dialect": {DIALECT: block(12)},
                      "domain": {hostile("kilimo"): block(12)}, "kind": {}},
               "warnings": [f"dialect={DIALECT}: only 12 items (fewer than 30)"],
               "metric_info": {"chrf": {"label": f"chrF++ {LINK}", "scale": "0-100",
                                        "higher_is_better": True}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "config.json").write_text(json.dumps({"status": "complete", "model": info,
                                                    "dataset": dataset, "metrics": sig}))


# --------------------------------------------------------------------------- what is Markdown
# Fields of an element's message that Streamlit's frontend renders as Markdown: bodies of
# markdown/caption/alert/heading elements, every label, help and progress text, and the
# options of radio buttons, pills and segmented controls. The options of a selectbox or a
# multiselect, a text input's value, st.text, st.code, tables and charts are plain already.
MARKDOWN_FIELDS = {"body", "label", "help", "text"}
MARKDOWN_OPTIONS = {"radio", "button_group"}
PLAIN_TYPES = {"text", "code", "json", "arrow_data_frame", "arrow_table", "vega_lite_chart",
               "arrow_vega_lite_chart", "audio"}

LIVE = [
    ("a link or an image", re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\(")),
    ("a bare link", re.compile(r"(?i)(?:https?://|www\.)")),
    ("an e-mail link", re.compile(r"[\w.+-]@[\w-]+\.")),
    ("a Material icon", re.compile(r"(?<!\\):material[/_]")),
]


def live_markdown(source: str) -> list[str]:
    """What in this Markdown source would render as more than its words."""
    return [what for what, pattern in LIVE if pattern.search(source)]


def _strings(value, key="", in_options=False):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k, in_options or k == "options")
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key, in_options)
    elif isinstance(value, str):
        yield key, in_options, value


def markdown_sources(at: AppTest) -> list[tuple[str, str]]:
    """(element type, text) for every string of the page that Streamlit reads as Markdown."""
    found = []

    def walk(node):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if proto is not None and kind not in PLAIN_TYPES:
            for key, in_options, text in _strings(MessageToDict(proto)):
                if key in MARKDOWN_FIELDS and not in_options or in_options and kind in MARKDOWN_OPTIONS:
                    found.append((kind, text))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def words(source: str) -> str:
    """The text a reader sees for an escaped source: escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", source).replace("\u2060", "")


def assert_plain(at: AppTest, where: str) -> list[str]:
    assert not at.exception, (where, [e.value for e in at.exception])
    sources = markdown_sources(at)
    live = [(kind, text[:120], live_markdown(text)) for kind, text in sources if live_markdown(text)]
    assert not live, f"{where}: Markdown that would render as links, images or icons: {live}"
    return [words(text) for _, text in sources]


# --------------------------------------------------------------------------- the helper itself
@pytest.mark.parametrize("text", [
    hostile("neno"), DIALECT, UNIT, "# kichwa", "- orodha", "1. moja", "> nukuu", "| a | b |",
    "a -> b <- c -- d", ":red[nyekundu] :smile: :streamlit: $x^2$ `code` *i* _i_ ~s~",
    "[ref]: http://203.0.113.9/r", "mtu@example.org", "HTTPS://EXAMPLE.ORG", "a\\b & c &amp; d",
])
def test_plain_keeps_the_words_and_drops_the_markup(text):
    escaped = plain(text)
    assert words(escaped) == text  # the reader sees exactly what was typed
    assert not live_markdown(escaped)


def test_the_check_itself_sees_live_markdown():
    # the page checks below would pass vacuously if this found nothing
    assert live_markdown(hostile("neno")) == ["a link or an image", "a bare link", "an e-mail link",
                                              "a Material icon"]
    assert live_markdown(f"Criterion 1: {LINK}") == ["a link or an image", "a bare link"]


# --------------------------------------------------------------------------- the pages
@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    store = Store.open(data_dir=root / "data")
    ids = seed_hostile(store)
    write_results(root / "results" / RUN)
    yield store, root, ids
    store.close()


@pytest.fixture
def app(env, monkeypatch):
    store, root, _ = env
    monkeypatch.setenv("JAMII_DATA", str(root / "data"))
    monkeypatch.setenv("JAMII_RESULTS", str(root / "results"))
    monkeypatch.delenv("JAMII_DB", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()

    def make(script: Path, person_id: int, page: str) -> AppTest:
        at = AppTest.from_file(str(script), default_timeout=30)
        at.session_state["contributor_id"] = person_id
        at.query_params["lang"] = "en"
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        at.switch_page(page).run()
        return at

    return make


def test_review_page_shows_every_field_plainly(app, env):
    store, _, ids = env
    at = app(COLLECTOR, ids["fresh"], "views/review.py")
    seen = []
    for kind in ("contextual", "prompt_response", "speech"):  # oldest first; skip to the next
        shown = assert_plain(at, f"review of the {kind} item")
        seen.append("\n".join(shown))
        item_id = at.session_state["rv_item_id"]
        assert item_id == ids["items"][kind]
        seen.append("\n".join(t.value for t in at.get("text")))
        at.button(key=f"rv{item_id}_skip").click().run()
    everything = "\n".join(seen)
    # the dialect and rubric are readable, word for word, where they are labels
    assert DIALECT in everything and hostile("kilimo") in everything
    for text in (hostile("swali"), hostile("jibu"), hostile("nakala"), hostile("mada")):
        assert text in everything, text  # st.text: shown as typed
    assert f"Rubric: {hostile('manufaa')[:80]}" in everything


def test_review_shows_rubric_description_and_anchors_as_text(app, env):
    _, _, ids = env
    at = app(COLLECTOR, ids["fresh"], "views/review.py")
    assert at.session_state["rv_item_id"] == ids["items"]["contextual"]
    shown = [t.value for t in at.get("text")]
    for text in (hostile("hali"), hostile("jibu la pili"), hostile("hatari"), hostile("maelezo"),
                 hostile("alama 5")):
        assert text in shown, text


def test_own_items_and_suggested_edits_are_plain(app, env):
    _, _, ids = env
    at = app(COLLECTOR, ids["author"], "views/mine.py")
    shown = "\n".join(assert_plain(at, "mine"))
    assert hostile("pendekezo") in shown  # the reviewer's suggestion, word for word
    assert hostile("swali")[:40] in shown  # the item's first words title its box


def test_earnings_name_the_unit_as_the_organisers_wrote_it(app, env):
    _, _, ids = env
    at = app(COLLECTOR, ids["reviewer"], "views/mine.py")  # paid for two reviews
    shown = "\n".join(assert_plain(at, "mine"))
    assert UNIT in shown


def test_rubric_prefill_goes_into_inputs_as_typed(app, env):
    _, _, ids = env
    at = app(COLLECTOR, ids["fresh"], "views/contextual.py")
    shown = "\n".join(assert_plain(at, "contextual"))
    name = hostile("manufaa")[:80]
    assert at.text_input(key="cx_c0_name").value == name  # the accepted item's name, plain
    assert at.text_input(key="cx_c0_a5").value == hostile("alama 5")
    assert f"Criterion 1: {name}" in shown


@pytest.mark.parametrize(("who", "page"), [
    ("author", "views/profile.py"), ("author", "views/consent.py"), ("author", "views/write.py"),
    ("author", "views/speech.py"), ("organiser", "views/org_privacy.py"),
    ("organiser", "views/org_people.py"), ("organiser", "views/org_campaigns.py"),
    ("organiser", "views/org_payouts.py"), ("organiser", "views/org_audit.py")])
def test_other_collector_pages_are_plain(app, env, who, page):
    _, _, ids = env
    assert_plain(app(COLLECTOR, ids[who], page), page)


def test_profile_answers_stay_in_their_boxes_as_typed(app, env):
    _, _, ids = env
    at = app(COLLECTOR, ids["author"], "views/profile.py")
    assert at.text_input(key="pf_region").value == hostile("Pwani")[:120]
    assert at.text_input(key="pf_gender_self").value == hostile("mwanamke")[:60]
    assert at.text_input(key="pf_dialect_other").value == DIALECT.removeprefix("other:").strip()


def test_privacy_page_quotes_the_found_address_as_text(app, env):
    _, _, ids = env
    at = app(COLLECTOR, ids["organiser"], "views/org_privacy.py")
    assert_plain(at, "org_privacy")
    assert any(f"mtu@{HOST}.example" in t.value for t in at.get("text"))


@pytest.mark.parametrize("page", ["views/leaderboard.py", "views/coverage.py",
                                  "views/representation.py", "views/agreement.py",
                                  "views/compensation.py"])
def test_dashboard_pages_are_plain(app, env, page):
    _, _, ids = env
    at = app(DASHBOARD, ids["organiser"], page)
    shown = "\n".join(assert_plain(at, page))
    if page == "views/leaderboard.py":
        # the chart's choice of score names it as written (a select box's options are text)
        options = at.selectbox(key="lb_metric").options
        assert any(f"chrF++ {LINK}" in o for o in options), options
        assert RUN in shown  # the run's signatures box
    if page == "views/compensation.py":
        assert UNIT in shown
    if page == "views/coverage.py":
        assert not at.warning or all(not live_markdown(w.value) for w in at.warning)


@pytest.mark.parametrize("script, page", [(DASHBOARD, "views/coverage.py"),
                                          (COLLECTOR, "views/mine.py")])
def test_sidebar_shows_a_campaign_name_plainly(app, env, script, page):
    store, _, ids = env
    store.update_campaign(ids["campaign"], actor_id=OPERATOR, name=f"Maswali {LINK}")
    try:
        at = app(script, ids["organiser"], page)
        shown = "\n".join(assert_plain(at, f"{script.parent.name} sidebar"))
        assert f"Maswali {LINK}" in shown
    finally:
        store.update_campaign(ids["campaign"], actor_id=OPERATOR, name="Maswali ya mtihani")


def test_consent_text_is_markdown_only_because_only_organisers_write_it(app, env):
    """The consent page renders the organisers' Markdown by design; nobody else can write it."""
    store, _, ids = env
    camp = ids["campaign"]
    for who in ("author", "fresh"):  # a contributor, a reviewer
        with pytest.raises(Forbidden):
            store.add_consent_text(camp, "2", "sw", f"Ridhaa {LINK}", actor_id=ids[who])
        at = app(COLLECTOR, ids[who], "views/org_campaigns.py")  # where texts are written
        assert at.error and not at.get("text_area"), who
    assert store.campaign(camp).current_consent_version == "1"
    at = app(COLLECTOR, ids["author"], "views/consent.py")
    assert any(m.value.startswith("### Ridhaa") for m in at.markdown)  # the organisers' heading
