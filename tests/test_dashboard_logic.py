"""The dashboard's pure modules on a seeded store and on results folders (no Streamlit).

Hand-written results folders follow the format `jamii.evaluate` writes (config.json with the
signatures, summary.json with overall/by blocks, intervals and warnings); the `models` test at
the end builds real ones by running `jamii.evaluate` on two tiny local models.
"""

from __future__ import annotations

import json
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest

from jamii.core.disclosure import FEWER
from jamii.dashboard import agreement, compensation, coverage, representation
from jamii.dashboard.leaderboard import datasets, group_values, leaderboard, load_runs, metrics_of
from support.collector_fixtures import ALL_SCOPES, person, seeded_store
from support.evaluate_fixtures import release, tiny_lm, tiny_lm_plain  # noqa: F401 - fixtures

# ------------------------------------------------------------------ hand-written results folders


def _block(values: dict[str, float], n: int, width: float = 2.0) -> dict:
    out = {"n": n, "metrics": {m: {"value": v, "ci95": [v - width, v + width], "n": n}
                               for m, v in values.items()}}
    if n < 30:
        out["warning"] = f"only {n} items (fewer than 30): treat this value with caution"
    return out


def write_results(folder: Path, *, model: str, version: str = "1.0.0", overall: dict,
                  by_language: dict[str, dict] | None = None, n: int = 40) -> Path:
    """A finished results folder as `jamii evaluate` writes it (only what the dashboard reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics = sorted({*overall, *(m for v in (by_language or {}).values() for m in v)})
    dataset = {"source": "/data/rel", "name": "mazao", "version": version, "hub_revision": None,
               "split": "test", "kinds": ["prompt_response"], "items": n}
    model_info = {"spec": f"hf:{model}", "id": model, "revision": "abc123"}
    sigs = {m: f"{m}|nrefs:1|norm:NFC|dataset:mazao@{version}|model:hf:{model}@abc123" for m in metrics}
    info = {"chrf": ("chrF++", "0-100", True), "bleu": ("BLEU", "0-100", True),
            "wer": ("WER", "0-1", False), "cer": ("CER", "0-1", False)}
    summary = {
        "model": model_info, "dataset": dataset, "n_samples": n, "signatures": sigs,
        "overall": _block(overall, n),
        "by": {"language": {lang: _block(v, 10) for lang, v in (by_language or {}).items()},
               "dialect": {}, "domain": {}, "kind": {"prompt_response": _block(overall, n)}},
        "warnings": [f"language={lang}: only 10 items (fewer than 30): treat this value with caution"
                     for lang in (by_language or {})],
        "metric_info": {m: dict(zip(("label", "scale", "higher_is_better"), info.get(m, (m, "1-5", True))))
                        for m in metrics},
    }
    config = {"status": "complete", "model": model_info, "dataset": dataset, "metrics": sigs,
              "libraries": {"sacrebleu": "2.6.0"}}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    write_results(root / "alpha-v1", model="org/alpha", overall={"chrf": 40.0, "wer": 0.6},
                  by_language={"sw": {"chrf": 45.0, "wer": 0.5}, "sn": {"chrf": 30.0}})
    write_results(root / "beta-v1", model="org/beta", overall={"chrf": 50.0, "wer": 0.4},
                  by_language={"sw": {"chrf": 35.0, "wer": 0.7}})
    write_results(root / "gamma-v2", model="org/gamma", version="2.0.0",
                  overall={"chrf": 99.0, "wer": 0.9, "judge:usefulness": 3.5})
    running = root / "interrupted"
    running.mkdir()
    (running / "config.json").write_text(json.dumps({"status": "running"}))
    (root / "broken").mkdir()
    (root / "broken" / "summary.json").write_text("{not json")
    (root / "model-cache").mkdir()  # not a results folder: ignored quietly
    return root


def test_runs_load_and_unfinished_or_broken_folders_are_reported(results):
    runs, skipped = load_runs(results)
    assert [r.name for r in runs] == ["alpha-v1", "beta-v1", "gamma-v2"]
    reasons = {s.name: s.reason for s in skipped}
    assert set(reasons) == {"interrupted", "broken"}
    assert "status: running" in reasons["interrupted"]
    assert "cannot be read" in reasons["broken"]
    assert load_runs(results / "nothing-here") == ([], [])
    assert datasets(runs) == ["mazao@1.0.0", "mazao@2.0.0"]
    assert metrics_of(runs) == ["chrf", "wer", "judge:usefulness"]
    assert group_values(runs, "language") == ["sn", "sw"]


def test_versions_are_never_ranked_together(results):
    runs, _ = load_runs(results)
    board = leaderboard(runs)
    assert board.mixed_datasets and board.datasets == ["mazao@1.0.0", "mazao@2.0.0"]
    chrf = board.metric("chrf")
    ranks = {r.model: (r.dataset, r.rank) for r in chrf.itertuples()}
    # gamma's 99 is on another dataset version: first there, and it does not push beta down
    assert ranks == {"org/beta": ("mazao@1.0.0", 1), "org/alpha": ("mazao@1.0.0", 2),
                     "org/gamma": ("mazao@2.0.0", 1)}
    one = leaderboard(runs, dataset="mazao@1.0.0")
    assert not one.mixed_datasets and set(one.table["model"]) == {"org/alpha", "org/beta"}


def test_lower_is_better_metrics_rank_ascending_with_intervals_and_signatures(results):
    runs, _ = load_runs(results)
    wer = leaderboard(runs, dataset="mazao@1.0.0").metric("wer")
    assert list(wer["model"]) == ["org/beta", "org/alpha"] and list(wer["rank"]) == [1, 2]
    row = wer.iloc[0]
    assert row["ci_low"] <= row["value"] <= row["ci_high"]
    assert row["label"] == "WER" and not row["higher_is_better"]
    assert row["signature"].startswith("wer|") and "dataset:mazao@1.0.0" in row["signature"]
    judge = leaderboard(runs).metric("judge:usefulness")
    assert len(judge) == 1 and judge.iloc[0]["scale"] == "1-5"


def test_subgroup_boards_carry_small_group_warnings_and_name_missing_runs(results):
    runs, _ = load_runs(results)
    sw = leaderboard(runs, group=("language", "sw"), dataset="mazao@1.0.0")
    chrf = sw.metric("chrf")
    assert list(chrf["model"]) == ["org/alpha", "org/beta"]  # alpha is better in Swahili
    assert all("fewer than 30" in w for w in chrf["warning"])
    sn = leaderboard(runs, group=("language", "sn"))
    assert set(sn.table["model"]) == {"org/alpha"} and set(sn.missing) == {"beta-v1", "gamma-v2"}
    with pytest.raises(ValueError, match="unknown group"):
        leaderboard(runs, group=("gender", "woman"))


def test_an_empty_group_value_shows_as_missing_not_as_a_score(tmp_path):
    folder = write_results(tmp_path / "r" / "x", model="m", overall={"chrf": 1.0})
    summary = json.loads((folder / "summary.json").read_text())
    summary["overall"]["metrics"]["chrf"]["value"] = float("nan")
    (folder / "summary.json").write_text(json.dumps(summary))
    runs, _ = load_runs(tmp_path / "r")
    assert leaderboard(runs).table["value"].isna().all()


# ------------------------------------------------------------------------------- seeded store


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    store = seeded_store(tmp_path_factory.mktemp("dash") / "data")
    yield store, store.campaigns()[0]
    store.close()


def test_coverage_counts_and_target_progress_on_the_seeds(seeded):
    store, campaign = seeded
    counts = coverage.item_frame(store.item_counts(campaign.id))
    items = store.items(campaign.id)
    assert counts["n"].sum() == len(items)
    table = coverage.by_status(counts, "language")
    assert dict(zip(table["language"], table["total"])) == {
        lang: sum(i.language == lang for i in items) for lang in ("sw", "sn")}
    assert coverage.status_totals(counts)["accepted"] == sum(i.status == "accepted" for i in items)
    progress = coverage.progress(campaign, counts).set_index("target")
    assert set(progress.index) == {"sw/agriculture", "sw/health", "sn/agriculture", "sn/health"}
    sw_agri = [i for i in items if i.language == "sw" and i.domain == "agriculture"]
    row = progress.loc["sw/agriculture"]
    assert row["goal"] == 200 and row["problem"] == ""
    assert row["accepted"] == sum(i.status == "accepted" for i in sw_agri)
    assert row["in_review"] == sum(i.status in ("submitted", "needs_edit") for i in sw_agri)
    assert row["progress"] == pytest.approx(row["accepted"] / 200)


def test_targets_with_dialects_and_kinds_and_bad_targets(seeded):
    store, campaign = seeded
    assert coverage.parse_target("sw/Kimvita/health", campaign) == {
        "language": "sw", "dialect": "Kimvita", "domain": "health"}
    assert coverage.parse_target("sn/speech", campaign) == {"language": "sn", "kind": "speech"}

    class Camp:  # the campaign with extra targets, one of them wrong
        dialects, domains, item_kinds = campaign.dialects, campaign.domains, campaign.item_kinds
        targets = {"items": {"sw/Kiunguja": 10, "sw/fishing": 5, "sn/health": 0}}

    counts = coverage.item_frame(store.item_counts(campaign.id))
    progress = coverage.progress(Camp, counts).set_index("target")
    assert progress.loc["sw/Kiunguja", "accepted"] == sum(
        i.dialect == "Kiunguja" and i.status == "accepted" for i in store.items(campaign.id))
    assert "'fishing'" in progress.loc["sw/fishing", "problem"]
    assert "positive" in progress.loc["sn/health", "problem"]


def test_seeded_representation_is_all_fewer_than_five(seeded):
    store, campaign = seeded
    counts = store.profile_counts(campaign.id)
    rep = representation.representation(campaign, counts)
    assert rep.people == FEWER  # four people have items
    for table in rep.groups.values():
        assert set(table["people"]) == {FEWER}
        assert table["share"].isna().all()
    target = rep.targets.iloc[0]
    assert target["target"] == "gender:woman" and pd.isna(target["share"])
    assert target["status"] == "unknown"


def test_rule_of_five_hides_small_groups_and_the_one_that_would_give_them_away():
    counts = {"people": 14, "by": {
        "gender": [{"value": "woman", "people": 8, "items": 30},
                   {"value": "man", "people": 5, "items": 9},
                   {"value": "non_binary", "people": 1, "items": 2}],
        "age_band": [{"value": "25-34", "people": 7, "items": 20},
                     {"value": "35-44", "people": 6, "items": 18},
                     {"value": None, "people": 1, "items": 3}],
        "region": [{"value": "Mombasa", "people": 10, "items": 10},
                   {"value": "", "people": 2, "items": 2}, {"value": None, "people": 2, "items": 1}]}}

    class Camp:
        targets = {"representation": {"gender:woman": 0.5, "gender:man": 0.5, "region:Lamu": 0.1,
                                      "shoe:size": 0.2}}

    rep = representation.representation(Camp, counts)
    gender = rep.groups["gender"].set_index("value")
    assert gender.loc["woman", "people"] == "8" and gender.loc["woman", "share"] == pytest.approx(8 / 14)
    # non_binary (1) is small; man (5) is hidden too, else 14 - 8 would give non_binary away
    assert gender.loc["non_binary", "people"] == gender.loc["man", "people"] == "fewer than 5"
    assert gender.loc["man", "items"] == "fewer than 5"
    # not said (None and "") merge into one group of 4: small, so the next smallest hides too
    region = rep.groups["region"].set_index("value")
    assert region.loc["(not said)", "people"] == "fewer than 5"
    assert region.loc["Mombasa", "people"] == "fewer than 5"
    shown = [v for t in rep.groups.values() for v in t["people"] if v != "fewer than 5"]
    assert all(int(v) >= 5 for v in shown)
    targets = rep.targets.set_index("target")
    assert targets.loc["gender:woman", "status"] == "met"
    assert pd.isna(targets.loc["gender:man", "share"])  # hidden, yet 5/14 < 0.5 says nothing small
    assert targets.loc["gender:man", "status"] == "below"
    assert targets.loc["region:Lamu", "share"] == 0.0 and targets.loc["region:Lamu", "status"] == "below"
    assert "field:value" in targets.loc["shoe:size", "problem"]


def test_profile_counts_leave_out_withdrawn_people_and_name_nobody(tmp_path):
    store = seeded_store(tmp_path / "data")
    try:
        camp = store.campaigns()[0]
        before = store.profile_counts(camp.id)
        women = []
        for i, gender in enumerate(["woman"] * 6 + ["man"] * 5):
            who, _ = person(store, consent=ALL_SCOPES, gender=gender)
            store.submit_item(campaign_id=camp.id, author_id=who.id, kind="prompt_response",
                              language="sw", domain="health", client_key=f"k-{i}",
                              content={"prompt": f"Swali la afya namba {i} kuhusu homa ya mtoto?",
                                       "response": f"Jibu la kina namba {i}: mpeleke kliniki mapema."})
            if gender == "woman":
                women.append(who)
        store.withdraw(women[0].id, actor_id=women[0].id)
        after = store.profile_counts(camp.id)
        assert after["people"] == before["people"] + 10
        gender = {r["value"]: r for r in after["by"]["gender"]}
        old = {r["value"]: r for r in before["by"]["gender"]}
        assert gender["woman"]["people"] == old["woman"]["people"] + 5
        assert gender["man"]["people"] == 5 and gender[None]["people"] < 5
        rep = representation.representation(camp, after)
        shown = rep.groups["gender"].set_index("value")["people"]
        # "not said" is under five, so the next smallest group (men, exactly 5) hides with it
        assert shown.to_dict() == {"woman": str(gender["woman"]["people"]),
                                   "man": "fewer than 5", "(not said)": "fewer than 5"}
        assert rep.people == after["people"]
        text = json.dumps(after) + json.dumps(store.compensation_totals(camp.id), default=str)
        assert not any(p.pseudonym in text for p in store.contributors())
    finally:
        store.close()


def test_agreement_on_the_seeds_matches_krippendorff_directly(seeded):
    store, campaign = seeded
    votes = store.review_votes(campaign.id)
    table = agreement.agreement(votes).set_index("language")
    reviews = [r for i in store.items(campaign.id) for r in store.reviews_of(i.id)]
    assert table.loc["all", "votes"] == len(reviews)
    assert table.loc["all", "approval_rate"] == pytest.approx(
        sum(r.verdict == "approve" for r in reviews) / len(reviews))
    # one row per verdict pattern: as many units as item versions had it
    units = [[v["approve"], v["reject"], v["edit"]] for v in votes for _ in range(v["item_versions"])]
    assert len(units) == len({(r.item_id, r.item_version) for r in reviews})
    multi = np.array([u for u in units if sum(u) >= 2], dtype=float)
    used = multi.sum(axis=0) > 0
    expected = krippendorff.alpha(value_counts=multi[:, used], level_of_measurement="nominal")
    assert table.loc["all", "alpha"] == pytest.approx(expected)
    assert table.loc["all", "units"] == len(multi)
    # in the seeds every Shona vote approves: alpha is undefined and said so, never a number
    assert pd.isna(table.loc["sn", "alpha"]) and "same verdict" in table.loc["sn", "note"]


def test_agreement_alpha_matches_reliability_data_and_handles_no_reviews():
    # five item versions (item 3 twice), as `Store.review_votes` counts them: per pattern
    rows = [{"language": "sw", "approve": 2, "reject": 0, "edit": 0, "item_versions": 1},
            {"language": "sw", "approve": 1, "reject": 1, "edit": 0, "item_versions": 1},
            {"language": "sw", "approve": 0, "reject": 2, "edit": 0, "item_versions": 1},
            {"language": "sw", "approve": 1, "reject": 0, "edit": 1, "item_versions": 1},
            {"language": "sw", "approve": 1, "reject": 0, "edit": 0, "item_versions": 1}]
    table = agreement.agreement(rows).set_index("language")
    # the same votes as coders x units (nan = no vote): 0 approve, 1 reject, 2 edit
    data = np.array([[0, 0, 1, 0, 0], [0, 1, 1, 2, np.nan]], dtype=float)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert table.loc["sw", "alpha"] == pytest.approx(expected)
    assert table.loc["sw", "units"] == 4 and table.loc["sw", "item_versions"] == 5
    assert "read with caution" in table.loc["sw", "note"]
    # each pattern counted twice: the same votes on ten item versions
    doubled = agreement.agreement([{**r, "item_versions": 2} for r in rows]).set_index("language")
    assert doubled.loc["sw", "alpha"] == pytest.approx(krippendorff.alpha(
        reliability_data=np.hstack([data, data]), level_of_measurement="nominal"))
    assert doubled.loc["sw", "units"] == 8 and doubled.loc["sw", "votes"] == 18
    empty = agreement.agreement([])
    assert empty.iloc[0]["votes"] == 0 and empty.iloc[0]["note"] == "no reviews yet"


def test_compensation_totals_by_unit_never_per_person(seeded):
    store, campaign = seeded
    rows = store.compensation_totals(campaign.id)
    ledger = store.ledger(campaign.id)
    by_activity = compensation.totals(rows, by=("activity",))
    assert "contributor_id" not in by_activity.columns and "pseudonym" not in by_activity.columns
    for unit in {e.unit for e in ledger}:
        expected = float(sum(e.amount for e in ledger if e.unit == unit))
        assert by_activity.loc[by_activity["unit"] == unit, "total"].sum() == pytest.approx(expected, abs=0.01)
        assert by_activity.loc[by_activity["unit"] == unit, "owed"].sum() == pytest.approx(expected, abs=0.01)
    assert by_activity["entries"].sum() == len(ledger)
    by_language = compensation.totals(rows, by=("language",))
    assert set(by_language["language"]) == {e.language or "(none)" for e in ledger}
    with pytest.raises(ValueError, match="cannot group by"):
        compensation.totals(rows, by=("contributor_id",))


def test_compensation_status_moves_show_in_the_totals(tmp_path):
    store = seeded_store(tmp_path / "data")
    try:
        camp = store.campaigns()[0]
        org = store.contributor_by_pseudonym("demo-mratibu")
        kes = [e for e in store.ledger(camp.id) if e.unit == "KES"]
        store.move_payments([e.id for e in kes], "approved", actor_id=org.id)
        store.move_payments([kes[0].id], "paid", actor_id=org.id, reference="MPESA-1")
        status = compensation.by_status(store.compensation_totals(camp.id))
        kes_rows = status[status["unit"] == "KES"].set_index("status")["amount"]
        assert kes_rows["paid"] == pytest.approx(float(kes[0].amount))
        assert kes_rows["approved"] == pytest.approx(float(sum(e.amount for e in kes[1:])), abs=0.01)
        assert "owed" not in kes_rows
    finally:
        store.close()


# ------------------------------------------------------------------- real results, tiny models


@pytest.mark.models
@pytest.mark.slow
def test_leaderboard_from_real_evaluate_runs(tmp_path, release, tiny_lm, tiny_lm_plain):  # noqa: F811
    from jamii.evaluate import evaluate

    root = tmp_path / "results"
    for name, model in (("chat", tiny_lm), ("plain", tiny_lm_plain)):
        evaluate(str(release), f"hf:{model}", str(root / name), n_bootstrap=100, progress=False,
                 max_new_tokens=16, kinds=["prompt_response", "contextual"])
    runs, skipped = load_runs(root)
    assert [r.name for r in runs] == ["chat", "plain"] and not skipped
    board = leaderboard(runs)
    assert not board.mixed_datasets
    chrf = board.metric("chrf")
    assert len(chrf) == 2 and sorted(chrf["rank"]) in ([1, 2], [1, 1])
    config = json.loads((root / "chat" / "config.json").read_text())
    for row in chrf.itertuples():
        assert row.ci_low <= row.value <= row.ci_high
        assert row.label == "chrF++" and row.warning  # the fixture release is small
    chat = chrf[chrf["run"] == "chat"].iloc[0]
    assert chat["signature"] == config["metrics"]["chrf"]
    assert chat["revision"] == config["model"]["revision"]
    sw = leaderboard(runs, group=("language", "sw")).metric("chrf")
    assert len(sw) == 2 and (sw["n"] < chrf["n"].max()).all()


def test_a_self_described_group_that_may_hold_personal_data_is_shown_as_withheld():
    """The dashboard prints group names as the release does: never a phone number, even for
    a group of five."""
    from jamii.core.disclosure import WITHHELD
    from jamii.dashboard.representation import group_table

    table = group_table([{"value": "Mutare, piga 0712 345 678", "people": 5, "items": 9},
                         {"value": "Pwani", "people": 7, "items": 12}], total=12)
    assert list(table["value"]) == ["Pwani", WITHHELD]
    assert "0712" not in table.to_csv()
