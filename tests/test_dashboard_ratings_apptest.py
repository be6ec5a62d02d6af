"""AppTest for community scores on the dashboard: the public leaderboard beside automatic
scores (never who rated), and the organisers' ratings page (progress, gold accuracy per rater,
agreement), which everyone else is refused, session tampering included."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from support.rating_fixtures import quick_bootstrap  # noqa: F401 - autouse fixture
from support.rating_fixtures import QUALITY, rated_copy, write_run
from test_dashboard_apptest import open_page as opened

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
ALPHA, BETA, GAMMA = QUALITY



@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash-ratings")
    url, world = rated_copy(root / "data")
    results = root / "results"
    write_run(results / "alpha", ALPHA, chrf=45.0, judge={"sw": 4.5, "sn": 4.0})
    write_run(results / "beta", BETA, chrf=41.0, judge={"sw": 3.0, "sn": 3.5})
    write_run(results / "gamma", GAMMA, chrf=20.0, judge={"sw": 2.0, "sn": 2.5})
    yield world, root / "data", results, url
    world.store.close()


@pytest.fixture
def app(env, monkeypatch):
    _, data, results, url = env
    monkeypatch.setenv("JAMII_DATA", str(data))
    monkeypatch.setenv("JAMII_RESULTS", str(results))
    monkeypatch.setenv("JAMII_DB", url)
    st.cache_data.clear()
    st.cache_resource.clear()

    def make(person_id=None, lang="en", **state) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=600)  # the first run fits Bradley-Terry with 1000 bootstrap rounds
        if person_id is not None:
            at.session_state["contributor_id"] = person_id
        for key, value in state.items():
            at.session_state[key] = value
        at.query_params["lang"] = lang
        return at

    return make


def open_page(at: AppTest, page: str) -> AppTest:
    at = opened(at, page)
    assert not at.exception, [e.value for e in at.exception]
    return at


def everything(at) -> str:
    """Every text the page shows, tables included."""
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [c.value for c in at.code] + [t.value for t in at.text] + [s.value for s in at.subheader]
    parts += [df.value.to_csv() for df in at.dataframe]
    parts += [str(o) for sb in at.selectbox for o in sb.options]
    return "\n".join(str(p) for p in parts)


def test_public_leaderboard_shows_community_scores_beside_automatic_ones(app, env):
    world = env[0]
    at = open_page(app(), "views/leaderboard.py")
    table = at.dataframe[0].value
    sources = set(table["source"])
    assert {"automatic", "judge model", "community"} <= sources
    arena = table[table["label"] == "Community: pairwise strength"].set_index("model")
    assert arena.loc["models/alpha", "rank"] == 1 and arena.loc["models/gamma", "rank"] == 3
    assert (arena["n"] > 0).all() and (arena["ci_low"] <= arena["value"]).all()
    assert at.get("vega_lite_chart")  # the chart of the first score
    at.selectbox(key="lb_metric").select("community:arena").run()
    assert not at.exception and at.get("vega_lite_chart")  # and of the community's, when chosen
    text = everything(at)
    assert "pairwise votes" in text and "Judge vs community" in text
    # aggregate scores only: nobody who rated is named, and no comment is shown
    for person in [*world.raters, world.world.org]:
        assert person.pseudonym not in text


def test_every_number_opens_its_signature_and_answers(app):
    at = open_page(app(), "views/leaderboard.py")
    pick = at.selectbox(key="lb_detail")
    options = list(pick.options)
    community = next(i for i, o in enumerate(options) if "pairwise strength" in o and "alpha" in o)
    pick.set_value(community).run()
    assert not at.exception
    codes = "\n".join(c.value for c in at.code)
    assert "bradley" in codes.lower() or "community" in codes.lower() or "arena" in codes.lower()
    texts = "\n".join(t.value for t in at.text)
    assert "Jibu la models/alpha" in texts  # one of the answers given to the community
    automatic = next(i for i, o in enumerate(options) if "chrF++" in o and "alpha" in o)
    at.selectbox(key="lb_detail").set_value(automatic).run()
    assert "chrF2++" in "\n".join(c.value for c in at.code)


def test_leaderboard_filters_by_language_and_kind(app):
    at = open_page(app(), "views/leaderboard.py")
    at.selectbox(key="lb_dim").set_value("language").run()
    at.selectbox(key="lb_value").set_value("sn").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "community" in set(table["source"])
    at.selectbox(key="lb_dim").set_value("kind").run()
    assert "contextual" in at.selectbox(key="lb_value").options
    assert not at.exception


def test_ratings_page_for_organisers(app, env):
    world = env[0]
    at = open_page(app(world.world.org.id), "views/ratings.py")
    assert at.title[0].value == "Community ratings"
    progress, gold, agreement = (df.value for df in at.dataframe)
    assert set(progress["mode"]) == {"one answer", "pair of answers", "gold (pair)"}
    flagged = gold.set_index("rater")["flagged"]
    assert bool(flagged[world.careless.pseudonym]) and flagged.sum() == 1
    assert any("1 rater(s) below the threshold" in w.value for w in at.warning)
    assert "70%" in "\n".join(c.value for c in at.caption)
    assert "Pair choices" in set(agreement["what"]) and "Criterion: usefulness" in set(agreement["what"])
    assert at.get("vega_lite_chart")
    for lang, title in (("sw", "Upimaji wa jamii"), ("fr", "Évaluations de la communauté")):
        at = open_page(app(world.world.org.id, lang=lang), "views/ratings.py")
        assert at.title[0].value == title


def test_ratings_page_refuses_everyone_else_even_with_tampered_state(app, env):
    world = env[0]
    tampered = {"roles": ["organiser"], "role": "organiser", "is_organiser": True}
    at = open_page(app(**tampered), "views/ratings.py")
    assert "Sign in with your invite code" in at.error[0].value and not at.dataframe
    for person in (world.raters[0], world.world.author):
        at = open_page(app(person.id, **tampered), "views/ratings.py")
        assert at.error and not at.dataframe and not at.title
        assert "organisers" in at.error[0].value
    links = [p.proto.page for p in at.get("page_link")] if at.get("page_link") else []
    assert not any("ratings" in link for link in links)
    at = open_page(app(world.raters[0].id), "views/coverage.py")
    assert not any("ratings" in p.proto.page for p in at.get("page_link"))
    at = open_page(app(world.world.org.id), "views/coverage.py")
    assert any("ratings" in p.proto.page for p in at.get("page_link"))
