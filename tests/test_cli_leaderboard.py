"""`jamii leaderboard`: one table per dataset version, automatic and community scores side by
side; `--json` gives the same as one object. On a real SQLite store with rated tasks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from support.rating_fixtures import quick_bootstrap  # noqa: F401 - autouse fixture
from support.rating_fixtures import QUALITY, rated_copy, write_run

from jamii.cli import cli

ALPHA, BETA, GAMMA = QUALITY



@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-leaderboard")
    url, world = rated_copy(root / "store")
    world.store.close()
    results = root / "results"
    write_run(results / "alpha", ALPHA, chrf=45.0, judge={"sw": 4.5, "sn": 4.0})
    write_run(results / "beta", BETA, chrf=41.0, judge={"sw": 3.0, "sn": 3.5})
    write_run(results / "alpha-v2", ALPHA, version="2.0.0", chrf=50.0)
    other = write_run(root / "elsewhere" / "gamma", GAMMA, chrf=20.0, judge={"sw": 2.0, "sn": 2.5})
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["leaderboard", "--campaign", world.campaign.slug, *args, "--db", url,
                                   "--data-dir", str(root)], catch_exceptions=False)

    return run, results, other


def test_text_has_one_table_per_dataset_version_with_community_scores(env):
    run, results, other = env
    done = run("--results", str(results), str(other))  # a folder of runs, then one run
    assert done.exit_code == 0, done.output
    out = done.output
    assert out.count("== ") == 2
    v1, v2 = out.split("== ")[1:]
    assert v1.startswith("kilimo@1.0.0") and v2.startswith("kilimo@2.0.0")
    header = v1.splitlines()[1]
    for column in ("model", "chrF++", "judge: usefulness", "Community (pairwise, arena scale)", "votes",
                   "Community: usefulness", "Community: safety flags"):
        assert column in header, header
    lines = v1.splitlines()
    assert lines[3].startswith("models/alpha")  # best chrF++ first
    assert "[" in lines[3] and "]" in lines[3]  # values with intervals
    assert "judge vs community" in v1 and "sw: tau +1.00" in v1
    assert "pairwise signature: " in v1
    assert "community:arena" not in v2 and "Community" not in v2.splitlines()[1]


def test_json_is_one_object_with_the_same_tables(env):
    run, results, other = env
    done = run("--results", str(results), "--results", str(other), "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["campaign"] == "kilimo" and [d["dataset"] for d in out["datasets"]] == ["kilimo@1.0.0",
                                                                                       "kilimo@2.0.0"]
    v1 = out["datasets"][0]
    rows = {r["run"]: r for r in v1["rows"]}
    assert set(rows) == {"alpha", "beta", "gamma"}
    alpha = rows["alpha"]["scores"]
    assert alpha["chrf"]["source"] == "automatic" and alpha["community:arena"]["rank"] == 1
    assert alpha["community:arena"]["n"] > 0 and alpha["community:usefulness"]["ci_low"] is not None
    assert v1["pairwise"]["votes"] > 0 and v1["pairwise"]["signature"]
    (sw,) = [a for a in v1["judge_vs_community"] if a["language"] == "sw"]
    assert sw["n_models"] == 3 and sw["tau"] == pytest.approx(1.0)


def test_group_and_bad_group(env):
    run, results, _ = env
    done = run("--results", str(results), "--group", "language=sn", "--json")
    assert done.exit_code == 0, done.output
    v1 = json.loads(done.output)["datasets"][0]
    assert {a["language"] for a in v1["judge_vs_community"]} <= {"sn"}
    bad = CliRunner().invoke(cli, ["leaderboard", "--campaign", "kilimo", "--results", str(results),
                                   "--group", "colour=red"])
    assert bad.exit_code != 0 and "DIMENSION=VALUE" in bad.output


def test_no_results_and_no_ratings_says_so(env, tmp_path):
    run, _, _ = env
    done = run("--results", str(tmp_path / "none"), "--group", "kind=speech")
    assert done.exit_code == 0 and "No scores yet" in done.output
