"""`jamii ratings`: queue answers from results folders, settings, rating sheets out and back in.

On a real SQLite store through the command line (`--db`), as an organiser uses it. The results
folders are written here as `jamii evaluate` writes them (config.json, summary.json,
answers_for_rating.jsonl); the evaluator itself is tested in test_evaluate_runner.py.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from jamii.cli import cli
from jamii.core.rating_sheet import FORMULA_STARTS
from jamii.core.records import ModelAnswer, Rating, RatingTask
from jamii.evaluate import RatingAnswersError, read_rating_answers
from tests.support.store_world import count, ledger_entries
from test_store_ratings import RatingWorld

DATASET = ("kilimo", "1.0.0")


@pytest.fixture
def cw(sqlite_store, tmp_path):
    """A RatingWorld (three accepted contextual items, three reviewers) and `run` for the CLI."""
    world = RatingWorld(sqlite_store)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, [*args, "--db", sqlite_store.url, "--data-dir", str(tmp_path)],
                             catch_exceptions=False)

    world.run = run
    world.tmp = tmp_path
    return world


def results_folder(w, name, model, text=lambda i: f"Jibu la {i}", dataset=DATASET, rows=None):
    """A results folder as `jamii evaluate` writes it, with one answer per item of `w` (or
    `rows`: dicts or raw lines), under `w.tmp` (or `w`, a folder)."""
    folder = getattr(w, "tmp", w) / "results" / name
    folder.mkdir(parents=True)
    block = {"source": "releases/kilimo", "name": dataset[0], "version": dataset[1],
             "hub_revision": None, "split": "test", "kinds": ["contextual"], "items": 3}
    (folder / "config.json").write_text(json.dumps({"status": "complete", "dataset": block,
                                                    "model": {"spec": model, "revision": "abc"}}))
    (folder / "summary.json").write_text(json.dumps({"dataset": block, "n_samples": 3}))
    if rows is None:
        rows = [{"item_id": it.public_id, "item_version": it.version, "model_id": model,
                 "model_revision": "abc", "answer": text(it.public_id), "language": it.language,
                 "dialect": it.dialect, "domain": it.domain, "question": it.content["question"],
                 "dataset": "@".join(dataset)} for it in w.items]
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    (folder / "answers_for_rating.jsonl").write_text("".join(f"{line}\n" for line in lines),
                                                     encoding="utf-8")
    return str(folder)


def two_models(w, **kw):
    return [results_folder(w, "alpha", "hf:models/alpha-sw", **kw),
            results_folder(w, "beta", "hf:models/beta-sw", text=lambda i: f"Jibu jingine {i}")]


def number(output, label):
    """The count a report prints after `label` ("tasks added   9" -> 9)."""
    found = re.search(rf"^\s*{re.escape(label)}\s+(\d+)", output, re.MULTILINE)
    assert found, (label, output)
    return int(found.group(1))


def read_csv(path):
    raw = path.read_bytes()
    return raw, list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fill(rows, rater, choice="A", score="4"):
    """Fill every row of an exported sheet as a careful rater would."""
    for row in rows:
        row["rater pseudonym"] = rater
        if row["mode (pair = choose / direct = score)"] == "pair":
            row["choice (A / B / tie / both bad)"] = choice
        else:
            for key in row:
                if key.startswith("score: ") and row[key] == "":
                    row[key] = score
    return rows


# --------------------------------------------------------------------------- queue


def test_queue_makes_tasks_and_queuing_again_adds_nothing(cw):
    folders = two_models(cw)
    out = cw.run("ratings", "queue", "-c", "kilimo", "--results", *folders, "--gold", "1")
    assert out.exit_code == 0, out.output
    assert "6 answers from 2 results folder(s) (alpha, beta) on kilimo@1.0.0" in out.output
    assert number(out.output, "tasks added") == 9  # 6 single answers, 3 pairs
    assert number(out.output, "gold tasks added") == 1
    again = cw.run("ratings", "queue", "-c", "kilimo", "--results", *folders, "--gold", "1")
    assert again.exit_code == 0, again.output
    assert number(again.output, "tasks added") == 0
    assert "0  (the campaign has 1)" in again.output
    assert count(cw.store, RatingTask) == 10 and count(cw.store, ModelAnswer) == 8


def test_folders_on_different_dataset_versions_are_refused_naming_each(cw):
    old = results_folder(cw, "alpha", "hf:models/alpha-sw")
    new = results_folder(cw, "beta", "hf:models/beta-sw", dataset=("kilimo", "1.1.0"))
    out = cw.run("ratings", "queue", "-c", "kilimo", "--results", old, "--results", new)
    assert out.exit_code == 1
    text = " ".join(out.output.split())
    assert f"{old} is on kilimo@1.0.0" in text and f"{new} is on kilimo@1.1.0" in text
    assert "Nothing was queued" in text
    assert count(cw.store, ModelAnswer) == 0


ANSWER = {"item_id": "itm_1", "item_version": 1, "model_id": "hf:models/beta-sw", "answer": "Jibu",
          "dataset": "kilimo@1.0.0"}


@pytest.mark.parametrize("line, expected", [
    ('{"item_id": "itm_1", "item_version": 1, "model_id": "hf:x", "answer": "ok"',
     "line 2 is not valid JSON"),
    ('{"item_id": "itm_1", "item_version": "1", "model_id": "hf:x", "answer": "ok", "dataset": "kilimo@1.0.0"}',
     "line 2: item_version must be a whole number, not a text"),
    ('{"item_id": "itm_1", "item_version": 1, "model_id": "hf:x", "answer": "o\\u0000k", "dataset": "kilimo@1.0.0"}',
     "line 2: answer contains a NUL character"),
    ('{"item_id": "itm_1", "item_version": 1, "model_id": "hf:x", "answer": "' + "x" * 1_100_000 + '"}',
     "line 2 is longer than 1,048,576 bytes"),
    ("[1, 2]", "line 2 is not a JSON object"),
    ('{"item_id": "itm_1", "item_version": 1, "model_id": "hf:x", "answer": "ok", "dataset": "other@2"}',
     "line 2 is an answer on 'other@2'"),
    ('{"item_id": "itm_1", "item_version": 1, "model_id": "hf:x", "answer": "\\ud800", "dataset": "kilimo@1.0.0"}',
     "line 2: answer contains a lone surrogate"),
    ("[" * 100_000 + "]" * 100_000, "line 2 nests JSON too deeply"),
])
def test_a_hostile_line_refuses_every_folder_naming_file_and_line(tmp_path, line, expected):
    good = results_folder(tmp_path, "alpha", "hf:models/alpha-sw", rows=[ANSWER])
    bad = results_folder(tmp_path, "beta", "hf:models/beta-sw", rows=[ANSWER, line])
    with pytest.raises(RatingAnswersError) as err:
        read_rating_answers([good, bad])
    assert f"beta/answers_for_rating.jsonl, {expected}" in str(err.value)


def test_the_command_refuses_a_hostile_line_and_queues_nothing(cw):
    good = results_folder(cw, "alpha", "hf:models/alpha-sw")
    bad = results_folder(cw, "beta", "hf:models/beta-sw", rows=[ANSWER, '{"item_id": 1'])
    out = cw.run("ratings", "queue", "-c", "kilimo", "--results", good, bad)
    assert out.exit_code == 1 and "Traceback" not in out.output
    text = " ".join(out.output.split())
    assert "beta/answers_for_rating.jsonl, line 2 is not valid JSON" in text
    assert "Nothing was queued" in text and count(cw.store, ModelAnswer) == 0


def test_a_folder_without_answers_is_refused(cw):
    good = results_folder(cw, "alpha", "hf:models/alpha-sw")
    empty = cw.tmp / "results" / "speech-only"
    empty.mkdir()
    out = cw.run("ratings", "queue", "-c", "kilimo", "--results", good, str(empty))
    assert out.exit_code == 1 and "speech-only has no answers_for_rating.jsonl" in out.output
    assert count(cw.store, ModelAnswer) == 0


def test_answers_that_name_their_model_are_left_out_unless_kept(cw):
    folder = results_folder(cw, "alpha", "hf:models/alpha-sw", text=lambda i: f"Mimi ni Alpha-SW: {i}")
    out = cw.run("ratings", "queue", "-c", "kilimo", "--results", folder, "--mode", "direct")
    assert number(out.output, "left out, they name their model") == 3
    assert number(out.output, "tasks added") == 0
    kept = cw.run("ratings", "queue", "-c", "kilimo", "--results", folder, "--mode", "direct",
                  "--keep-revealing")
    assert number(kept.output, "tasks added") == 3


def test_skipped_answers_are_listed_with_their_reason(cw):
    rows = [{"item_id": "itm_nothere", "item_version": 1, "model_id": "hf:x", "answer": "a",
             "dataset": "kilimo@1.0.0"}]
    out = cw.run("ratings", "queue", "-c", "kilimo", "--results",
                 results_folder(cw, "x", "hf:x", rows=rows))
    assert out.exit_code == 0
    assert number(out.output, "skipped") == 1
    assert "itm_nothere: no item with this id in this campaign" in out.output


# --------------------------------------------------------------------------- settings


def test_settings_show_and_change_and_only_organisers_change_them(cw):
    shown = cw.run("ratings", "settings", "-c", "kilimo")
    assert "who may rate       reviewers and organisers" in shown.output
    assert "daily cap          none" in shown.output
    out = cw.run("ratings", "settings", "-c", "kilimo", "--raters", "consented",
                 "--daily-cap", "40", "--per-task", "4")
    assert out.exit_code == 0 and "daily cap          40" in out.output
    assert cw.store.rating_settings(cw.campaign.id) == {"raters": "consented", "daily_cap": 40,
                                                         "ratings_per_task": 4}
    assert cw.run("ratings", "settings", "-c", "kilimo", "--daily-cap", "none").exit_code == 0
    assert cw.store.rating_settings(cw.campaign.id)["daily_cap"] is None
    assert cw.store.rating_settings(cw.campaign.id)["ratings_per_task"] == 4
    bad = cw.run("ratings", "settings", "-c", "kilimo", "--daily-cap", "lots")
    assert bad.exit_code == 2 and "whole number of ratings per day" in bad.output
    refused = cw.run("ratings", "settings", "-c", "kilimo", "--per-task", "1", "--as",
                     cw.reviewers[0].pseudonym)
    assert refused.exit_code == 1
    assert cw.store.rating_settings(cw.campaign.id)["ratings_per_task"] == 4


# --------------------------------------------------------------------------- sheets


def test_export_is_blind_and_neutralises_formulas(cw):
    hostile = ["=HYPERLINK(\"http://evil.example\",\"bonyeza\")", "+254 712", "-1+1", "@SUM(A1)",
               "\tTAB", "\rCR"]
    folders = [results_folder(cw, "alpha", "hf:models/alpha-sw",
                              text=lambda i: hostile[[it.public_id for it in cw.items].index(i)]),
               results_folder(cw, "beta", "hf:models/beta-sw",
                              text=lambda i: hostile[3 + [it.public_id for it in cw.items].index(i)])]
    assert cw.run("ratings", "queue", "-c", "kilimo", "--results", *folders).exit_code == 0
    sheet = cw.tmp / "sheet.csv"
    out = cw.run("ratings", "export", "-c", "kilimo", "--out", str(sheet))
    assert out.exit_code == 0 and "Wrote 9 tasks (3 pairs, 6 single answers)" in out.output
    raw, rows = read_csv(sheet)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    text = raw.decode("utf-8-sig")
    for secret in ("alpha", "beta", "hf:", "models/"):
        assert secret not in text
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    answers = {row["answer A"] for row in rows} | {row["answer B"] for row in rows}
    assert {"'" + h for h in hostile} <= answers
    assert {row["task"][:3] for row in rows} == {"rt-"}
    assert rows[0]["criteria (1 to 5)"].startswith("usefulness: 1 = haifai / 2 = kidogo")


def _queued_sheet(cw, name="sheet.csv"):
    assert cw.run("ratings", "queue", "-c", "kilimo", "--results", *two_models(cw)).exit_code == 0
    sheet = cw.tmp / name
    assert cw.run("ratings", "export", "-c", "kilimo", "--out", str(sheet)).exit_code == 0
    return sheet, read_csv(sheet)[1]


def test_a_filled_sheet_imports_once_with_ledger_entries(cw):
    sheet, rows = _queued_sheet(cw)
    rater = cw.reviewers[0].pseudonym
    filled = fill(rows[:7], rater) + rows[7:]  # two rows nobody filled in
    filled[0]["safety flag (yes / no)"] = "ndiyo"
    filled[0]["comment"] = "Jibu hili ni hatari kidogo"
    write_csv(sheet, filled)
    out = cw.run("ratings", "import", str(sheet), "-c", "kilimo")
    assert out.exit_code == 0, out.output
    assert "7 rated row(s), 2 left blank (ignored)" in out.output
    assert number(out.output, "added") == 7
    assert count(cw.store, Rating) == 7
    assert len(ledger_entries(cw.store, activity="rating")) == 7
    with cw.store.read() as s:
        from sqlalchemy import select
        sources = set(s.scalars(select(Rating.source)))
        flagged = s.scalar(select(Rating).where(Rating.safety_flag.is_(True)))
    assert sources == {"sheet"} and flagged.comment == "Jibu hili ni hatari kidogo"
    again = cw.run("ratings", "import", str(sheet), "-c", "kilimo")
    assert again.exit_code == 0, again.output
    assert number(again.output, "added") == 0 and number(again.output, "already imported") == 7
    assert count(cw.store, Rating) == 7 and len(ledger_entries(cw.store, activity="rating")) == 7


def test_a_bad_row_refuses_the_whole_file_naming_each_row(cw):
    sheet, rows = _queued_sheet(cw)
    rows = fill(rows, cw.reviewers[0].pseudonym)
    pair = next(i for i, r in enumerate(rows) if r["choice (A / B / tie / both bad)"] == "A")
    rows[pair]["choice (A / B / tie / both bad)"] = "maybe"
    rows[-1]["rater pseudonym"] = "nobody-here"
    rows[0]["task"] = "rt-0000000000"
    write_csv(sheet, rows)
    out = cw.run("ratings", "import", str(sheet), "-c", "kilimo")
    assert out.exit_code == 1
    assert "Nothing was imported: fix the 3 row(s) below" in out.output
    task = rows[pair]["task"]
    assert f"row {pair + 2} (task {task}): the choice 'maybe' is not A, B, tie or both bad" in out.output
    assert f"row {len(rows) + 1} (task {rows[-1]['task']}): no rater with the pseudonym 'nobody-here'" in out.output
    assert "row 2 (task rt-0000000000): no task rt-0000000000 in this campaign" in out.output
    assert count(cw.store, Rating) == 0 and ledger_entries(cw.store, activity="rating") == []
    skipped = cw.run("ratings", "import", str(sheet), "-c", "kilimo", "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert number(skipped.output, "added") == 6
    assert number(skipped.output, "invalid, skipped") == 3 and "nobody-here" in skipped.output
    assert count(cw.store, Rating) == 6


def test_the_store_refusal_of_a_row_refuses_the_file(cw):
    """A row the sheet reads but the store refuses: a comment with a phone number (a rating
    comment is kept with the rating and read by organisers)."""
    sheet, rows = _queued_sheet(cw)
    rows = fill(rows, cw.reviewers[0].pseudonym)
    rows[4]["comment"] = "Nipigie 0712 345 678"
    write_csv(sheet, rows)
    out = cw.run("ratings", "import", str(sheet), "-c", "kilimo")
    assert out.exit_code == 1
    assert "nothing was saved): row 6: " in out.output and "phone" in out.output
    assert count(cw.store, Rating) == 0
    skipped = cw.run("ratings", "import", str(sheet), "-c", "kilimo", "--skip-invalid")
    assert number(skipped.output, "added") == 8 and number(skipped.output, "invalid, skipped") == 1


def test_three_rate_in_the_collector_and_a_fourth_on_paper(cw):
    """The flow of a field day: three reviewers rate on their phones, a fourth person (a
    contributor who consented to rating) fills a printed sheet, which an organiser types into
    a spreadsheet and imports."""
    assert cw.run("ratings", "settings", "-c", "kilimo", "--per-task", "4",
                  "--raters", "consented").exit_code == 0
    assert cw.run("ratings", "queue", "-c", "kilimo", "--mode", "pairwise", "--results",
                  *two_models(cw)).exit_code == 0
    for rater in cw.reviewers:
        for task in cw.store.rating_queue_for(cw.campaign.id, rater.id, limit=10):
            cw.store.record_rating(task.task_id, rater.id, choice="a", actor_id=rater.id)
    fourth = cw.person(["contributor"], scopes={"open_publication": True, "rating": True})
    sheet = cw.tmp / "paper.csv"
    assert "Wrote 3 tasks (3 pairs" in cw.run("ratings", "export", "-c", "kilimo", "--out",
                                                str(sheet)).output
    _, rows = read_csv(sheet)
    for row, choice in zip(rows, ["b", "Jibu B", "sawa"]):
        row["choice (A / B / tie / both bad)"] = choice
    write_csv(sheet, rows)
    out = cw.run("ratings", "import", str(sheet), "-c", "kilimo", "--rater", fourth.pseudonym,
                 "--as", cw.org.pseudonym)
    assert out.exit_code == 0, out.output
    votes = cw.store.pairwise_votes(cw.campaign.id)
    assert len(votes) == 12 and sorted(votes[votes.rater == fourth.id].preferred) == ["b", "b", "tie"]
    assert len(ledger_entries(cw.store, activity="rating", contributor_id=fourth.id)) == 3
    assert cw.store.open_rating_tasks(cw.campaign.id) == []
    done = cw.run("ratings", "export", "-c", "kilimo", "--out", str(cw.tmp / "more.csv"))
    assert "No task of kilimo wants ratings" in done.output
    [event] = cw.store.audit_events(action_prefix="ratings.import")
    assert event["actor"] == cw.org.pseudonym


def test_a_sheet_that_is_not_a_rating_sheet_gets_one_message(cw):
    other = cw.tmp / "payout.csv"
    other.write_text("pseudonym,amount\nr1,50\n", encoding="utf-8")
    out = cw.run("ratings", "import", str(other), "-c", "kilimo")
    assert out.exit_code == 1 and "has no 'task' column in its first line" in out.output
    assert cw.run("ratings", "import", str(cw.tmp / "nothing.csv"), "-c", "kilimo").exit_code == 1


def test_ratings_help_lists_its_commands():
    out = CliRunner().invoke(cli, ["ratings", "--help"])
    assert out.exit_code == 0
    for name in ("queue", "settings", "export", "import"):
        assert name in out.output
    assert cli.get_command(None, "ratings") is not None
