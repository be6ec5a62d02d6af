"""AppTest for the dashboard's wiring on a temporary seeded SQLite store and results folders.

Session state is set as the sign-in sets it (only `contributor_id`); pages are opened with
`switch_page`. Access is checked by session tampering: extra keys such as `roles` must grant
nothing, since roles are read from the store on every run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from support.collector_fixtures import seeded_store

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
PAGES = ("views/leaderboard.py", "views/coverage.py", "views/representation.py",
         "views/agreement.py", "views/compensation.py")
CAMPAIGN_PAGES = PAGES[1:]
REVIEWER_PAGES = ("views/representation.py", "views/agreement.py", "views/compensation.py")


def _results(folder: Path, model: str, version: str, chrf: float) -> None:
    """A minimal finished results folder in the format `jamii evaluate` writes."""
    folder.mkdir(parents=True)
    dataset = {"name": "mazao", "version": version, "hub_revision": None, "split": "test"}
    info = {"id": model, "spec": f"hf:{model}", "revision": "r1"}
    sig = {"chrf": f"chrF2++|nrefs:1|norm:NFC|dataset:mazao@{version}|model:hf:{model}@r1"}

    def block(n):
        return {"n": n, "metrics": {"chrf": {"value": chrf, "ci95": [chrf - 3, chrf + 3], "n": n}},
                **({"warning": f"only {n} items (fewer than 30)"} if n < 30 else {})}

    summary = {"model": info, "dataset": dataset, "signatures": sig, "overall": block(40),
               "by": {"language": {"sw": block(12)}, "dialect": {}, "domain": {}, "kind": {}},
               "warnings": ["language=sw: only 12 items (fewer than 30)"],
               "metric_info": {"chrf": {"label": "chrF++", "scale": "0-100", "higher_is_better": True}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "config.json").write_text(json.dumps({"status": "complete", "model": info,
                                                    "dataset": dataset, "metrics": sig}))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboard")
    store = seeded_store(root / "data")
    results = root / "results"
    _results(results / "alpha", "org/alpha", "1.0.0", 42.0)
    _results(results / "beta", "org/beta", "1.0.0", 37.5)
    _results(results / "gamma", "org/gamma", "2.0.0", 60.0)
    ids = {p.pseudonym: p.id for p in store.contributors()}
    yield store, root / "data", results, ids
    store.close()


@pytest.fixture
def app(env, monkeypatch):
    store, data, results, _ = env
    monkeypatch.setenv("JAMII_DATA", str(data))
    monkeypatch.setenv("JAMII_RESULTS", str(results))
    monkeypatch.delenv("JAMII_DB", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()

    def make(person_id=None, lang=None, **state) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=30)
        if person_id is not None:
            at.session_state["contributor_id"] = person_id
        for key, value in state.items():
            at.session_state[key] = value
        if lang:
            at.query_params["lang"] = lang
        return at

    return make


def open_page(at: AppTest, page: str) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(page).run()
    return at


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [e.value for e in at.error]
    parts += [c.value for c in at.caption] + [w.value for w in at.warning] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def charts(at) -> list:
    return at.get("vega_lite_chart")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_an_organiser(app, env, page):
    at = open_page(app(env[3]["demo-mratibu"], lang="en"), page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.dataframe
    # with four people, every representation group is "fewer than 5": a table, no bar chart
    assert charts(at) or page == "views/representation.py"


def test_leaderboard_is_public_ranked_and_says_when_versions_differ(app):
    at = open_page(app(lang="en"), "views/leaderboard.py")
    assert not at.exception and at.title[0].value == "Leaderboard"
    # the seeds' own rated answers (mazao-na-afya) may add a version of their own
    assert any("dataset versions" in w.value and "mazao@1.0.0, mazao@2.0.0" in w.value.replace("\u2060", "")
               for w in at.warning)
    table = at.dataframe[0].value
    v1 = table[table["dataset"] == "mazao@1.0.0"].set_index("model")
    assert v1.loc["org/alpha", "rank"] == 1 and v1.loc["org/beta", "rank"] == 2
    assert table.set_index("model").loc["org/gamma", "rank"] == 1
    assert "chrF2++" in "\n".join(c.value for c in at.code)  # signatures are viewable
    at.selectbox(key="lb_dataset").set_value("mazao@1.0.0").run()
    assert not at.exception and not any("dataset versions" in w.value for w in at.warning)
    at.selectbox(key="lb_dim").set_value("language").run()
    at.selectbox(key="lb_value").set_value("sw").run()
    assert not at.exception
    assert at.dataframe[0].value["warning"].str.contains("fewer than 30").all()
    assert charts(at)


def test_leaderboard_without_results_says_how_to_make_them(app, env, tmp_path, monkeypatch):
    monkeypatch.setenv("JAMII_RESULTS", str(tmp_path / "none"))
    at = open_page(app(lang="en"), "views/leaderboard.py")
    assert not at.exception and "jamii evaluate" in texts(at)


@pytest.mark.parametrize("page", CAMPAIGN_PAGES)
def test_campaign_pages_need_sign_in(app, page):
    at = open_page(app(lang="en"), page)
    assert not at.exception and not charts(at)
    assert "Sign in with your invite code" in at.error[0].value


def test_contributor_sees_coverage_and_leaderboard_only_even_with_tampered_state(app, env):
    zawadi = env[3]["demo-zawadi"]
    at = open_page(app(zawadi, lang="en"), "views/coverage.py")
    assert not at.exception and at.title[0].value == "Coverage" and charts(at)
    links = [p.proto.page for p in at.get("page_link")] if at.get("page_link") else []
    assert links and not any("compensation" in link or "agreement" in link for link in links)
    tampered = {"roles": ["organiser", "reviewer"], "role": "organiser", "viewer": "organiser",
                "is_organiser": True}
    for page in REVIEWER_PAGES:
        at = open_page(app(zawadi, lang="en", **tampered), page)
        assert not at.exception
        assert at.error and "reviewers and organisers" in at.error[0].value
        assert not charts(at) and not at.dataframe and not at.title


def test_forged_or_unknown_ids_sign_nobody_in(app):
    for forged in (999999, "1 OR 1=1", None):
        at = open_page(app(forged, lang="en"), "views/compensation.py")
        assert not at.exception and "Sign in with your invite code" in at.error[0].value


def test_withdrawn_reviewer_loses_campaign_pages(tmp_path, monkeypatch):
    store = seeded_store(tmp_path / "data")
    try:
        who = store.contributor_by_pseudonym("demo-mkaguzi")
        store.withdraw(who.id, actor_id=who.id)
        monkeypatch.setenv("JAMII_DATA", str(tmp_path / "data"))
        monkeypatch.setenv("JAMII_RESULTS", str(tmp_path / "results"))
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.session_state["contributor_id"] = who.id
        at.query_params["lang"] = "en"
        at = open_page(at, "views/agreement.py")
        assert not at.exception and "withdrawn" in at.error[0].value
    finally:
        store.close()
        st.cache_resource.clear()


def test_sign_in_with_invite_code_then_reviewer_pages_open(app):
    at = open_page(app(lang="en"), "views/sign_in.py")
    assert at.title[0].value == "Sign in to the dashboard"
    at.text_input(key="dash_code").input("WRONG-CODE-0000")
    at.button[0].click().run()
    assert not at.exception and "contributor_id" not in at.session_state
    at.text_input(key="dash_code").input("demo-revi-ewer")
    at.button[0].click().run()
    assert not at.exception and at.session_state["contributor_id"]
    assert at.title[0].value == "Coverage"
    at.switch_page("views/agreement.py").run()
    assert not at.exception and at.title[0].value == "Review agreement"
    assert at.dataframe[0].value["votes"].iloc[0] > 0


def test_swahili_and_french_pages_and_rule_of_five(app, env):
    org = env[3]["demo-mratibu"]
    at = open_page(app(org, lang="sw"), "views/representation.py")
    assert not at.exception and at.title[0].value == "Uwakilishi"
    people = [v for df in at.dataframe for v in df.value["people"]]
    assert people and set(people) == {"chini ya 5"}  # four people with items: nothing exact
    at = open_page(app(org, lang="fr"), "views/compensation.py")
    assert not at.exception and at.title[0].value == "Rémunération"
    assert "pseudonym" not in at.dataframe[0].value.columns
