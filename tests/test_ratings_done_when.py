"""Issue 12's "done when", end to end on the seeded campaign `make run` creates: an organiser
queues the two tiny models' answers, three raters rate them (through the store calls the
collector's rating page makes; tests/browser/test_rating_mobile.py clicks the same page on a
phone), a fourth fills a paper sheet that is imported back, each rating earns a ledger entry,
and `jamii leaderboard --json` shows both models' community scores with intervals beside chrF++
and the judge's grades."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from jamii.cli import cli
from jamii.core.store import Store
from tests.support.store_world import ledger_entries

CAMPAIGN = "mazao-na-afya"
MODELS = {"hf:tiny-swahili-short", "hf:tiny-swahili-long"}
CHOICE = "choice (A / B / tie / both bad)"


def test_seeded_campaign_rated_in_the_collector_and_on_paper_reaches_the_leaderboard(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("JAMII_DATA", str(data))
    monkeypatch.delenv("JAMII_DB", raising=False)
    monkeypatch.delenv("JAMII_RESULTS", raising=False)
    runner = CliRunner()

    def run(*args):
        done = runner.invoke(cli, list(args), catch_exceptions=False)
        assert done.exit_code == 0, done.output
        return done.output

    run("init")
    results = data / "results"
    folders = sorted(str(p) for p in results.iterdir() if p.is_dir())
    assert len(folders) == 2
    store = Store(f"sqlite:///{data / 'jamii.sqlite3'}", data / "audio")
    try:
        campaign = store.campaign(CAMPAIGN)
        organiser = store.contributor_by_pseudonym("demo-mratibu")
        # the organiser queues both models' answers (init queued them once: nothing is doubled)
        before = len(store.open_rating_tasks(campaign.id))
        run("ratings", "settings", "-c", CAMPAIGN, "--per-task", "4", "--raters", "consented",
            "--as", organiser.pseudonym)
        run("ratings", "queue", "-c", CAMPAIGN, "--mode", "both", "--results", *folders,
            "--as", organiser.pseudonym)
        assert len(store.open_rating_tasks(campaign.id)) == before > 0

        # three raters rate every task they are offered, as the rating page submits them
        raters = [store.contributor_by_pseudonym(p) for p in ("demo-mkaguzi", "demo-muongorori", "demo-baraka")]
        rated = 0
        for rater in raters:
            for task in store.rating_queue_for(campaign.id, rater.id, limit=50):
                if task.mode == "pair":
                    store.record_rating(task.task_id, rater.id, choice="a", actor_id=rater.id)
                else:
                    scores = {c["name"]: 4 for c in task.rubric}
                    store.record_rating(task.task_id, rater.id, scores=scores, actor_id=rater.id)
                rated += 1
            assert len(ledger_entries(store, activity="rating", contributor_id=rater.id)) >= 1
        assert rated > 0

        # a fourth person fills the printed sheet; the organiser types it in and imports it
        fourth = store.contributor_by_pseudonym("demo-mwanajumuiya")
        sheet = tmp_path / "paper.csv"
        run("ratings", "export", "-c", CAMPAIGN, "--out", str(sheet))
        rows = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8-sig"), newline="")))
        pairs = [r for r in rows if r["mode (pair = choose / direct = score)"] == "pair"]
        assert pairs
        for row in pairs:
            row[CHOICE] = "B"
        with open(sheet, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(pairs)
        paid_before = len(ledger_entries(store, activity="rating", contributor_id=fourth.id))
        run("ratings", "import", str(sheet), "-c", CAMPAIGN, "--rater", fourth.pseudonym,
            "--as", organiser.pseudonym)
        paid = len(ledger_entries(store, activity="rating", contributor_id=fourth.id)) - paid_before
        assert paid == len(pairs)
    finally:
        store.close()

    board = json.loads(run("leaderboard", "--campaign", CAMPAIGN, "--results", str(results), "--json"))
    [table] = board["datasets"]
    by_spec = {row["spec"]: row["scores"] for row in table["rows"]}
    assert set(by_spec) == MODELS
    for scores in by_spec.values():
        arena = scores["community:arena"]
        assert arena["ci_low"] < arena["value"] < arena["ci_high"] and arena["n"] > 0
        assert scores["chrf"]["value"] is not None  # chrF++ beside it
        assert any(m.startswith("judge:") for m in scores)
        assert any(m.startswith("community:") and m not in ("community:arena", "community:safety_flag_rate")
                   for m in scores)
