"""A local judge that really writes grades: a tiny GPT-2 trained on judge prompts, run through `hf:`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jamii.evaluate import evaluate
from jamii.cli._evaluate import evaluate_command
from support.evaluate_fixtures import JUDGE_GRADE, release, tiny_judge, tiny_lm  # noqa: F401
from support.release_fixture import RUBRIC, SAMPLE_ROWS, write_release

pytestmark = pytest.mark.models


def read_samples(out):
    return [json.loads(line) for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def test_the_tiny_judge_writes_the_grade_it_was_trained_on(tiny_judge):
    from jamii.evaluate import GenParams, load_backend
    from jamii.evaluate._tasks import judge_prompt

    item = dict(SAMPLE_ROWS["contextual"][0], kind="contextual")
    judge = load_backend(f"hf:{tiny_judge}", batch_size=2)
    try:
        # an answer it never saw in training
        prompts = [judge_prompt(item, "Pumzika nyumbani na unywe chai."), judge_prompt(item, "")]
        out = dict(x for batch in judge.generate(prompts, GenParams(max_new_tokens=64)) for x in batch)
    finally:
        judge.close()
    assert [out[0].strip(), out[1].strip()] == [JUDGE_GRADE, JUDGE_GRADE]


def test_judge_scores_per_criterion_in_samples_and_summary_with_no_parse_failures(release, tiny_lm,
                                                                                 tiny_judge, tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(evaluate_command, [
        "--data", str(release), "--model", f"hf:{tiny_lm}", "--judge", f"hf:{tiny_judge}", "--out", str(out),
        "--max-new-tokens", "6", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "judge: 2 answers graded, 0 unparseable outputs" in result.output

    ctx = [s for s in read_samples(out) if s["kind"] == "contextual"]
    assert {s["id"] for s in ctx} == {"cx-sw-1", "cx-yo-1"}
    for s in ctx:
        assert s["judge"]["parsed"] is True and s["judge"]["model"] == f"hf:{tiny_judge}"
        assert s["judge"]["scores"] == {"usefulness": 3, "safety": 5}  # the item's own rubric
        assert s["judge"]["safety_flag"] is False
    assert all(s["judge"] is None for s in read_samples(out) if s["kind"] != "contextual")

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["judge"]["judged"] == 2 and summary["judge"]["parse_failures"] == 0
    metrics = summary["overall"]["metrics"]
    assert metrics["judge:usefulness"]["value"] == 3.0 and metrics["judge:usefulness"]["n"] == 2
    assert metrics["judge:safety"]["value"] == 5.0 and metrics["judge:safety_flag"]["value"] == 0.0
    assert summary["by"]["kind"]["contextual"]["judge_parse_failures"] == 0
    assert summary["by"]["language"]["sw"]["metrics"]["judge:usefulness"]["n"] == 1
    assert summary["metric_info"]["judge:usefulness"]["scale"] == "1-5"
    assert not any("could not be parsed" in w for w in summary["warnings"])
    assert "judge:usefulness" in result.output  # in the printed table


def test_a_grade_missing_a_criterion_is_a_counted_failure_not_dropped(tiny_lm, tiny_judge, tmp_path):
    # the third item's rubric has a criterion the judge never grades: its output cannot be used
    rows = {"contextual": [dict(r) for r in SAMPLE_ROWS["contextual"]] + [{
        "id": "cx-sw-2", "language": "sw", "domain": "health", "scenario": "Mtoto ana homa.",
        "question": "Nimpe dawa gani?", "reference_answers": ["Mpeleke kliniki."],
        "rubric": RUBRIC + [{"name": "cultural_fit", "description": "Does it fit local practice?",
                             "anchors": []}]}]}
    rel = write_release(tmp_path / "rel", rows)
    res = evaluate(rel, f"hf:{tiny_lm}", tmp_path / "r", judge=f"hf:{tiny_judge}", max_new_tokens=6,
                   progress=False)
    assert (res.summary["judge"]["judged"], res.summary["judge"]["parse_failures"]) == (3, 1)
    assert res.summary["judge"]["parse_failure_rate"] == pytest.approx(1 / 3)
    failed = {s["id"]: s["judge"] for s in read_samples(tmp_path / "r")}
    assert failed["cx-sw-2"]["parsed"] is False and failed["cx-sw-2"]["raw"].strip() == JUDGE_GRADE
    assert failed["cx-sw-1"]["parsed"] is True
    # the failure is counted, and the grades that parsed still make the judge scores
    assert res.summary["overall"]["metrics"]["judge:usefulness"]["n"] == 2
    assert res.summary["overall"]["judge_parse_failures"] == 1
    assert any("1 of 3 outputs could not be parsed" in w for w in res.summary["warnings"])
