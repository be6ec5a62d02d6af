"""The task `jamii export-task` writes runs in lm-evaluation-harness and gives jamii's answers and chrF++.

lm-eval lives in its own environment, never in the project's venv: create it with
`python benchmarks/evaluate_throughput.py --setup-lm-eval` (or point LM_EVAL_PYTHON at one).
The test skips when there is none.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from jamii.evaluate import evaluate, export_lm_eval_task, score
from support.evaluate_fixtures import lm_eval_python, release, tiny_lm_plain  # noqa: F401

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def lm_eval():
    python = lm_eval_python()
    if python is None:
        pytest.skip("no separate lm-eval environment (benchmarks/evaluate_throughput.py --setup-lm-eval)")
    return python


def test_lm_eval_runs_the_exported_task_with_jamii_answers_and_chrf_plus_plus(lm_eval, release, tiny_lm_plain,
                                                                              tmp_path):
    task_dir = tmp_path / "task"
    names = export_lm_eval_task(release, task_dir, max_new_tokens=8, generation_kwargs={"min_new_tokens": 8})
    out = tmp_path / "lm_eval_out"
    cmd = [lm_eval, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={tiny_lm_plain},dtype=float32",
           "--tasks", names[0], "--include_path", str(task_dir), "--batch_size", "4", "--device", "cpu",
           "--log_samples", "--output_path", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    assert proc.returncode == 0, proc.stderr[-3000:]

    samples = [json.loads(line) for f in out.rglob("samples_*.jsonl") for line in f.read_text().splitlines()]
    by_id = {s["doc"]["id"]: s for s in samples}
    assert len(by_id) == 7  # the test split's generation items, speech left out

    evaluate(release, f"hf:{tiny_lm_plain}", tmp_path / "jamii", max_new_tokens=8, min_new_tokens=8,
             batch_size=4, progress=False)
    ours = {json.loads(x)["id"]: json.loads(x) for x in (tmp_path / "jamii" / "samples.jsonl").read_text().splitlines()}
    assert set(ours) == set(by_id)
    # same prompts, same greedy answers
    for item_id, s in by_id.items():
        assert s["arguments"]["gen_args_0"]["arg_0"] == ours[item_id]["prompt"]
        assert s["resps"][0][0] == ours[item_id]["prediction"], item_id

    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"][names[0]]
    chrf_key = next(k for k in results if k.startswith("chrf_pp"))
    ids = sorted(by_id)
    expected = score("chrf", [by_id[i]["resps"][0][0] for i in ids], [by_id[i]["doc"]["references"] for i in ids])
    assert results[chrf_key] == pytest.approx(expected.value)
    summary = json.loads((tmp_path / "jamii" / "summary.json").read_text())
    assert summary["overall"]["metrics"]["chrf"]["value"] == pytest.approx(expected.value)
