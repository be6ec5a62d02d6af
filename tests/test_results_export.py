"""`jamii results export --format hf-eval-results`: real `jamii evaluate` results folders (tiny
local models) turned into the Hub's `.eval_results/*.yaml` entries and a `model-index` block."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
import yaml
from click.testing import CliRunner

from jamii.cli import cli
from jamii.evaluate import evaluate
from support.evaluate_fixtures import tiny_asr, tiny_judge, tiny_lm  # noqa: F401
from support.release_fixture import SAMPLE_ROWS, write_release

pytestmark = pytest.mark.models

REPO = "jamii-org/sw-benchmark"
HOSTILE = "evil\n!!python/object/apply:os.system ['echo pwned']\n- name: x\n\"\"\" '; key: [&a, *a]"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_lm, tiny_judge, tiny_asr):
    """Two finished results folders: a text model graded by a judge, and a speech model."""
    base = tmp_path_factory.mktemp("results")
    release = write_release(base / "release", SAMPLE_ROWS)
    evaluate(release, f"hf:{tiny_lm}", base / "text", judge=f"hf:{tiny_judge}", max_new_tokens=6,
             n_bootstrap=50, progress=False)
    evaluate(release, f"asr:{tiny_asr}", base / "speech", n_bootstrap=50, progress=False)
    return {"text": base / "text", "speech": base / "speech", "release": release}


def run(*args):
    result = CliRunner().invoke(cli, ["results", "export", *map(str, args)])
    return result


def copy_results(src, dst, **dataset):
    """A copy of a results folder whose summary's dataset block gets `dataset` merged in."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("cache.sqlite3", "hf-eval-results"))
    summary = json.loads((dst / "summary.json").read_text(encoding="utf-8"))
    summary["dataset"].update(dataset)
    (dst / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return dst


def load_entries(out):
    return {f.name: yaml.safe_load(f.read_text(encoding="utf-8")) for f in (out / ".eval_results").glob("*.yaml")}


@pytest.mark.parametrize("which", ["text", "speech"])
def test_every_overall_metric_becomes_an_entry_with_its_value_and_signature(runs, which, tmp_path):
    from huggingface_hub import parse_eval_result_entries

    results, out = runs[which], tmp_path / "hf"
    result = run(results, "--format", "hf-eval-results", "--out", out, "--dataset-repo", REPO)
    assert result.exit_code == 0, result.output
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    config = json.loads((results / "config.json").read_text(encoding="utf-8"))
    overall = summary["overall"]["metrics"]
    expected = {"text": {"chrf", "bleu", "exact_match", "judge:usefulness", "judge:safety", "judge:safety_flag"},
                "speech": {"wer", "cer"}}[which]
    assert expected <= set(overall)

    entries = load_entries(out)
    by_task = {}
    for name, data in entries.items():
        assert isinstance(data, list) and len(data) == 1, name
        entry = data[0]
        # what the Hub requires of an entry, and what jamii sets
        assert entry["dataset"]["id"] == REPO and isinstance(entry["dataset"]["task_id"], str)
        assert isinstance(entry["value"], float)
        assert entry["dataset"]["revision"] == "v1.0.0"
        assert entry["source"] == {"url": f"https://huggingface.co/datasets/{REPO}/tree/v1.0.0",
                                   "name": "jamii evaluate on jamii-test 1.0.0"}
        assert datetime.fromisoformat(entry["date"]) == datetime.strptime(config["finished_at"], "%Y-%m-%dT%H:%M:%S%z")
        by_task[entry["dataset"]["task_id"]] = entry
    assert set(by_task) == {m.replace(":", "_") for m in overall}
    for metric, stats in overall.items():
        entry = by_task[metric.replace(":", "_")]
        assert entry["value"] == stats["value"]
        signature = summary["signatures"].get(metric) or f"{metric}|mean of parsed grades|judge:"
        assert signature in entry["notes"]
    if which == "text":
        assert by_task["chrf"]["notes"].startswith("chrF++, higher is better")
        assert "chrF2++|" in by_task["chrf"]["notes"] and "norm:NFC" in by_task["chrf"]["notes"]
        assert "parse_failures:0" in by_task["judge_usefulness"]["notes"]
    else:
        assert by_task["wer"]["notes"].startswith("WER, lower is better")
    # huggingface_hub's own parser reads every file
    parsed = [e for data in entries.values() for e in parse_eval_result_entries(data)]
    assert sorted(e.value for e in parsed) == sorted(s["value"] for s in overall.values())


def test_the_model_index_block_round_trips_through_a_model_card(runs, tmp_path):
    from huggingface_hub import ModelCard, metadata_load

    results, out = runs["text"], tmp_path / "hf"
    assert run(results, "--out", out, "--dataset-repo", REPO, "--revision", "v1.0.0-rc1",
               "--model-name", "jamii-org/tiny").exit_code == 0
    block = (out / "model-index.yaml").read_text(encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"---\nlicense: apache-2.0\n{block}---\n\n# tiny\n", encoding="utf-8")
    meta = metadata_load(readme)
    assert meta["model-index"][0]["name"] == "jamii-org/tiny"
    card = ModelCard.load(readme)
    overall = json.loads((results / "summary.json").read_text(encoding="utf-8"))["overall"]["metrics"]
    got = {r.metric_type: r for r in card.data.eval_results}
    assert set(got) == {m.replace(":", "_") for m in overall}
    for metric, stats in overall.items():
        r = got[metric.replace(":", "_")]
        assert r.metric_value == stats["value"]
        assert r.dataset_type == REPO and r.dataset_revision == "v1.0.0-rc1" and r.dataset_split == "test"
        assert r.task_type == "text-generation"
        assert r.source_url == f"https://huggingface.co/datasets/{REPO}/tree/v1.0.0-rc1"
    assert got["chrf"].metric_name == "chrF++" and got["chrf"].metric_args["signature"].startswith("chrF2++|")


def test_a_run_on_a_hub_release_names_its_repo_and_commit_without_options(runs, tmp_path):
    commit = "5503434ddd753f426f4b38109466949a1217c2bb"
    results = copy_results(runs["text"], tmp_path / "r", source=REPO, hub_revision=commit)
    result = run(results)
    assert result.exit_code == 0, result.output
    entry = next(iter(load_entries(results / "hf-eval-results").values()))[0]
    assert entry["dataset"] == {"id": REPO, "task_id": entry["dataset"]["task_id"], "revision": commit}
    assert entry["source"]["url"].endswith("/tree/v1.0.0")
    # exporting again replaces the earlier export
    assert run(results).exit_code == 0
    assert sorted(p.name for p in (results / "hf-eval-results").iterdir()) == [".eval_results", "model-index.yaml"]


def test_no_known_repo_id_and_bad_folders_are_refused_with_what_to_do(runs, tmp_path):
    results = runs["text"]
    out = tmp_path / "hf"
    result = run(results, "--out", out)
    assert result.exit_code == 1 and "pass --dataset-repo OWNER/NAME" in result.output
    result = run(results, "--out", out, "--dataset-repo", "a/b\n!!python/object:x")
    assert result.exit_code == 1 and "not a Hub repo id" in result.output
    assert run(tmp_path / "nowhere", "--dataset-repo", REPO).output.count("no results folder") == 1
    result = run(runs["release"], "--out", out, "--dataset-repo", REPO)
    assert result.exit_code == 1 and "not a jamii results folder" in result.output

    unfinished = copy_results(results, tmp_path / "unfinished")
    config = json.loads((unfinished / "config.json").read_text(encoding="utf-8"))
    (unfinished / "config.json").write_text(json.dumps(dict(config, status="running")), encoding="utf-8")
    result = run(unfinished, "--out", out, "--dataset-repo", REPO)
    assert result.exit_code == 1 and "has not finished (status: running)" in result.output
    assert "again: it resumes" in result.output
    (unfinished / "config.json").write_text("{not json", encoding="utf-8")
    result = run(unfinished, "--out", out, "--dataset-repo", REPO)
    assert result.exit_code == 1 and "cannot read" in result.output

    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine", encoding="utf-8")
    result = run(results, "--out", used, "--dataset-repo", REPO)
    assert result.exit_code == 1 and "exists and is not empty" in result.output
    assert [p.name for p in used.iterdir()] == ["notes.txt"]
    assert not out.exists() and not list(tmp_path.glob(".export-*"))


def test_a_hostile_model_id_stays_plain_text_in_every_file(runs, tmp_path):
    results = copy_results(runs["text"], tmp_path / "r")
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    summary["model"].update(id=HOSTILE, spec=f"hf:{HOSTILE}")
    summary["signatures"]["chrf"] += f"|model:{HOSTILE}"
    (results / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    out = tmp_path / "hf"
    result = run(results, "--out", out, "--dataset-repo", REPO)
    assert result.exit_code == 0, result.output
    # safe_load refuses a tag that was left unquoted; equality shows the text came back unchanged
    by_task = {d[0]["dataset"]["task_id"]: d[0] for d in load_entries(out).values()}
    assert by_task["chrf"]["notes"].endswith("; signature: " + summary["signatures"]["chrf"])
    assert f"|model:hf:{HOSTILE}@" in by_task["judge_usefulness"]["notes"]
    block = yaml.safe_load((out / "model-index.yaml").read_text(encoding="utf-8"))
    assert list(block) == ["model-index"] and block["model-index"][0]["name"] == HOSTILE
    text = (out / "model-index.yaml").read_text(encoding="utf-8")
    assert "- name: 'evil\n" in text  # one quoted scalar: its lines are never read as tags or keys
