"""`jamii evaluate` with the real `hf` backend on tiny local models (no downloads)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from jamii.evaluate import EvaluationError, evaluate
from jamii.cli._evaluate import evaluate_command
from support.evaluate_fixtures import release, tiny_lm, tiny_lm_plain  # noqa: F401
from support.release_fixture import write_release

pytestmark = pytest.mark.models


def read_samples(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def direct_greedy(model_dir: Path, prompts: list[str], max_new_tokens: int) -> list[str]:
    """One prompt at a time, no padding: what each answer must be."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    out = []
    for p in prompts:
        if tok.chat_template:
            text = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False)
            ids = tok(text, add_special_tokens=False, return_tensors="pt")
        else:
            ids = tok(p, return_tensors="pt")
        with torch.inference_mode():
            gen = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        out.append(tok.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=True))
    return out


def test_results_folder_describes_itself(release, tiny_lm, tmp_path):
    out = tmp_path / "results"
    res = evaluate(release, f"hf:{tiny_lm}", out, max_new_tokens=12, progress=False)

    samples = read_samples(out)
    # 7 generation items in the test split (one Amharic item is in validation); speech skipped
    assert len(samples) == 7 and {s["kind"] for s in samples} == {"prompt_response", "contextual"}
    yo = next(s for s in samples if s["id"] == "pr-yo-1")
    assert yo["prompt"] == "Ìgbà wo ni a máa ń gbin àgbàdo?"
    assert yo["reference"] == "A máa ń gbin àgbàdo nígbà òjò."
    assert set(yo["scores"]) == {"chrf", "bleu", "exact_match"} and yo["version"] == 1
    ctx = next(s for s in samples if s["id"] == "cx-yo-1")
    assert ctx["prompt"].endswith("Ṣé kí n gbin àgbàdo báyìí?") and len(ctx["references"]) == 2

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary == res.summary
    chrf = summary["overall"]["metrics"]["chrf"]
    assert chrf["ci95"][0] <= chrf["value"] <= chrf["ci95"][1] and chrf["n"] == 7
    assert set(summary["by"]["language"]) == {"am", "sw", "yo"}
    assert set(summary["by"]["dialect"]) == {"(none)", "kimvita", "kiunguja"}
    assert set(summary["by"]["kind"]) == {"prompt_response", "contextual"}
    assert "fewer than 30" in summary["by"]["language"]["am"]["warning"]
    assert summary["signatures"]["chrf"].startswith("chrF2++|")
    assert "dataset:jamii-test@1.0.0" in summary["signatures"]["chrf"]

    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["status"] == "complete"
    assert config["model"]["revision"].startswith("sha256:") and config["model"]["chat_template"] is True
    assert config["generation"] == {"max_new_tokens": 12, "min_new_tokens": 0, "do_sample": False}
    assert config["dataset"]["version"] == "1.0.0" and config["dataset"]["split"] == "test"
    assert {"torch", "transformers", "sacrebleu", "jiwer"} <= set(config["libraries"])

    rating = [json.loads(x) for x in (out / "answers_for_rating.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["item_id"] for r in rating} == {"cx-sw-1", "cx-yo-1"}
    assert all({"item_version", "model_id", "answer"} <= set(r) for r in rating)


@pytest.mark.parametrize("fixture", ["tiny_lm", "tiny_lm_plain"])
def test_batched_left_padded_answers_equal_one_at_a_time_generation(fixture, request, release, tmp_path):
    model_dir = request.getfixturevalue(fixture)
    evaluate(release, f"hf:{model_dir}", tmp_path / "r", batch_size=4, max_new_tokens=16, progress=False,
             kinds=["prompt_response"])
    samples = sorted(read_samples(tmp_path / "r"), key=lambda s: s["id"])
    expected = direct_greedy(model_dir, [s["prompt"] for s in samples], 16)
    assert [s["prediction"] for s in samples] == expected


def test_repeated_run_computes_nothing_and_gives_the_same_answers(release, tiny_lm, tmp_path):
    first = evaluate(release, f"hf:{tiny_lm}", tmp_path / "r", max_new_tokens=8, progress=False)
    before = {s["id"]: s["prediction"] for s in read_samples(tmp_path / "r")}
    again = evaluate(release, f"hf:{tiny_lm}", tmp_path / "r", max_new_tokens=8, progress=False)
    assert first.computed == 7 and again.computed == 0 and again.cached == 7
    assert {s["id"]: s["prediction"] for s in read_samples(tmp_path / "r")} == before
    assert all(s["cached"] for s in read_samples(tmp_path / "r"))
    # a changed generation parameter is a new request
    third = evaluate(release, f"hf:{tiny_lm}", tmp_path / "r", max_new_tokens=9, progress=False)
    assert third.computed == 7


def test_a_new_item_version_is_computed_again_and_nothing_else(tmp_path, tiny_lm):
    rows = {"prompt_response": [
        {"id": "a", "language": "sw", "prompt": "Habari?", "response": "Nzuri."},
        {"id": "b", "language": "yo", "prompt": "Ṣé àlàáfíà ni?", "response": "Àlàáfíà ni."},
    ]}
    write_release(tmp_path / "v1", rows, version="1.0.0")
    rows["prompt_response"][1]["version"] = 2
    write_release(tmp_path / "v2", rows, version="1.1.0")
    cache = tmp_path / "cache.sqlite3"
    evaluate(tmp_path / "v1", f"hf:{tiny_lm}", tmp_path / "r1", max_new_tokens=4, cache=cache, progress=False)
    res = evaluate(tmp_path / "v2", f"hf:{tiny_lm}", tmp_path / "r2", max_new_tokens=4, cache=cache, progress=False)
    assert (res.computed, res.cached) == (1, 1)


def test_filters_languages_kinds_and_limit(release, tiny_lm, tmp_path):
    evaluate(release, f"hf:{tiny_lm}", tmp_path / "yo", languages=["yo"], max_new_tokens=4, progress=False)
    assert {s["language"] for s in read_samples(tmp_path / "yo")} == {"yo"}
    evaluate(release, f"hf:{tiny_lm}", tmp_path / "lim", limit=1, max_new_tokens=4, progress=False)
    assert sorted(s["kind"] for s in read_samples(tmp_path / "lim")) == ["contextual", "prompt_response"]
    evaluate(release, f"hf:{tiny_lm}", tmp_path / "val", split="validation", max_new_tokens=4, progress=False)
    assert [s["id"] for s in read_samples(tmp_path / "val")] == ["pr-am-2"]


def test_judge_outputs_that_cannot_be_parsed_are_counted_and_reported(release, tiny_lm, tmp_path):
    # a random-weight judge cannot write the JSON asked for: every grade is a parse failure
    res = evaluate(release, f"hf:{tiny_lm}", tmp_path / "r", judge=f"hf:{tiny_lm}", max_new_tokens=4,
                   progress=False)
    judge = res.summary["judge"]
    assert (judge["judged"], judge["parse_failures"]) == (2, 2)
    assert any("could not be parsed" in w for w in res.summary["warnings"])
    assert res.summary["by"]["kind"]["contextual"]["judge_parse_failures"] == 2
    ctx = [s for s in read_samples(tmp_path / "r") if s["kind"] == "contextual"]
    assert len(ctx) == 2 and all(s["judge"]["parsed"] is False and s["judge"]["raw"] is not None for s in ctx)
    # the judge's outputs are cached too
    assert evaluate(release, f"hf:{tiny_lm}", tmp_path / "r", judge=f"hf:{tiny_lm}", max_new_tokens=4,
                    progress=False).computed == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "gguf:model.gguf"}, "unknown model spec"),
        ({"data": "does/not/exist/here"}, "no release folder"),
        ({"data": "jamii-org/missing-release"}, "not in the local cache"),
        ({"kinds": ["speech"]}, "cannot do speech items"),
        ({"languages": ["zu"]}, "languages present: am, sw, yo"),
        ({"model": "hf:/no/such/model"}, "no model folder"),
        ({"judge": "asr:x"}, "judge must be a text model"),
    ],
)
def test_bad_input_is_refused_with_the_fix_and_nothing_written(kwargs, message, release, tiny_lm, tmp_path):
    args = {"data": release, "model": f"hf:{tiny_lm}", "out": tmp_path / "r"} | kwargs
    with pytest.raises(EvaluationError, match=message):
        evaluate(args.pop("data"), args.pop("model"), args.pop("out"), progress=False, **args)
    assert not (tmp_path / "r").exists()


def test_a_kind_missing_from_the_release_is_named(tmp_path, tiny_lm):
    write_release(tmp_path / "rel", {"prompt_response": [{"language": "sw", "prompt": "a", "response": "b"}]})
    with pytest.raises(EvaluationError, match="has no contextual items; it has: prompt_response"):
        evaluate(tmp_path / "rel", f"hf:{tiny_lm}", tmp_path / "r", kinds=["contextual"])
    assert not (tmp_path / "r").exists()


def test_cli_prints_a_table_and_refuses_bad_input(release, tiny_lm, tmp_path):
    runner = CliRunner()
    result = runner.invoke(evaluate_command, ["--data", str(release), "--model", f"hf:{tiny_lm}",
                                              "--out", str(tmp_path / "r"), "--max-new-tokens", "4",
                                              "--kinds", "prompt_response", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "chrF++" in result.output and "language  yo" in result.output
    assert "5 requests computed" in result.output
    bad = runner.invoke(evaluate_command, ["--data", str(release), "--model", "vllm:x", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 1 and "hf:PATH_OR_ID" in bad.output and not (tmp_path / "b").exists()
    bad = runner.invoke(evaluate_command, ["--data", str(release), "--model", f"hf:{tiny_lm}",
                                           "--out", str(tmp_path / "b"), "--batch-size", "many"])
    assert bad.exit_code == 2 and "auto or a positive number" in bad.output


def test_a_run_killed_with_sigkill_resumes_where_it_stopped(tmp_path, tiny_lm):
    rows = {"prompt_response": [
        {"id": f"p{i:03d}", "language": "sw", "prompt": f"Habari ya {i} shamba mahindi mvua?" * (1 + i % 3),
         "response": "Nzuri sana."} for i in range(48)
    ]}
    rel = write_release(tmp_path / "rel", rows)
    out = tmp_path / "r"
    cmd = [sys.executable, "-c", "from jamii.cli._evaluate import evaluate_command; evaluate_command()",
           "--data", str(rel), "--model", f"hf:{tiny_lm}", "--out", str(out), "--batch-size", "2",
           "--max-new-tokens", "48", "--no-progress"]
    proc = subprocess.Popen(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    done = 0
    try:
        while time.time() < deadline and proc.poll() is None:
            if (out / "cache.sqlite3").exists():
                try:
                    with sqlite3.connect(out / "cache.sqlite3") as conn:
                        done = conn.execute("select count(*) from requests").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
                if done >= 6:
                    break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    with sqlite3.connect(out / "cache.sqlite3") as conn:
        committed = conn.execute("select count(*) from requests").fetchone()[0]
    assert 6 <= committed < 48
    assert not (out / "summary.json").exists()
    assert json.loads((out / "config.json").read_text())["status"] == "running"

    resumed = evaluate(rel, f"hf:{tiny_lm}", out, batch_size=2, max_new_tokens=48, progress=False)
    assert resumed.computed == 48 - committed and resumed.cached == committed
    fresh = evaluate(rel, f"hf:{tiny_lm}", tmp_path / "fresh", batch_size=2, max_new_tokens=48, progress=False)
    assert fresh.computed == 48
    preds = lambda d: {s["id"]: s["prediction"] for s in read_samples(d)}  # noqa: E731
    assert preds(out) == preds(tmp_path / "fresh")


def test_batch_size_auto_halves_on_out_of_memory_and_gives_the_fixed_size_answers(tmp_path, tiny_lm_plain):
    """The real halving path: the real model, with a forward hook that runs out of memory (as a
    GPU would) for batches above 10 rows. 40 items: 40 fails, 20 fails, 10 runs."""
    import torch

    from jamii.evaluate import load_backend

    rows = {"prompt_response": [
        {"id": f"p{i:03d}", "language": "sw", "prompt": " ".join(["mahindi mvua shamba"] * (1 + i % 5)),
         "response": "Nzuri sana."} for i in range(40)
    ]}
    rel = write_release(tmp_path / "rel", rows)
    backend = load_backend(f"hf:{tiny_lm_plain}", batch_size="auto")
    seen = []

    def small_memory(module, args, kwargs):
        rows = kwargs["input_ids"].shape[0]
        seen.append(rows)
        if rows > 10:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate a batch of {rows}")

    hook = backend.model.register_forward_pre_hook(small_memory, with_kwargs=True)
    try:
        auto = evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "auto", batch_size="auto", max_new_tokens=6,
                        progress=False, backend=backend)
    finally:
        hook.remove()
        backend.close()
    assert seen[:2] == [40, 20] and set(seen[2:]) == {10}  # every later forward pass ran 10 rows
    assert auto.summary["run"]["batch_size"] == 10 and auto.computed == 40

    fixed = evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "fixed", batch_size=10, max_new_tokens=6,
                     progress=False)
    preds = lambda d: {s["id"]: s["prediction"] for s in read_samples(d)}  # noqa: E731
    assert preds(tmp_path / "auto") == preds(tmp_path / "fixed")
    assert auto.summary["overall"]["metrics"] == fixed.summary["overall"]["metrics"]

    # a fixed size that does not fit says what to do instead of halving
    backend = load_backend(f"hf:{tiny_lm_plain}", batch_size=20)
    backend.model.register_forward_pre_hook(small_memory, with_kwargs=True)
    try:
        with pytest.raises(Exception, match="pass a smaller --batch-size"):
            evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "too-big", batch_size=20, max_new_tokens=6,
                     progress=False, backend=backend)
    finally:
        backend.close()


def _forty_items(tmp_path):
    rows = {"prompt_response": [
        {"id": f"p{i:03d}", "language": "sw", "prompt": " ".join(["mahindi mvua shamba"] * (1 + i % 5)),
         "response": "Nzuri sana."} for i in range(40)
    ]}
    return write_release(tmp_path / "rel", rows)


def test_two_cpu_streams_give_the_answers_of_one(tmp_path, tiny_lm_plain, monkeypatch):
    """On a CPU two batches generate side by side, one thread each; the answers are those of one
    batch at a time on both threads."""
    import torch

    from jamii.evaluate import load_backend

    rel = _forty_items(tmp_path)
    torch.set_num_threads(2)
    backend = load_backend(f"hf:{tiny_lm_plain}", batch_size=8)
    assert (backend.streams, backend.threads_per_stream) == (2, 1)
    both = evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "two", batch_size=8, max_new_tokens=10,
                    progress=False, backend=backend)
    backend.close()
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["model"]["streams"] == 2 and both.computed == 40
    assert torch.get_num_threads() == 2  # the streams' one thread each does not outlive them

    monkeypatch.setenv("JAMII_CPU_STREAMS", "two")
    with pytest.raises(EvaluationError, match="JAMII_CPU_STREAMS must be a whole number"):
        evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "bad", batch_size=8, max_new_tokens=10, progress=False)
    assert not (tmp_path / "bad").exists()
    monkeypatch.setenv("JAMII_CPU_STREAMS", "1")
    one = evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "one", batch_size=8, max_new_tokens=10, progress=False)
    assert json.loads((tmp_path / "one" / "config.json").read_text())["model"]["streams"] == 1
    preds = lambda d: {s["id"]: s["prediction"] for s in read_samples(d)}  # noqa: E731
    assert preds(tmp_path / "two") == preds(tmp_path / "one")
    assert both.summary["overall"]["metrics"] == one.summary["overall"]["metrics"]


def test_auto_batches_go_one_at_a_time_when_two_at_once_run_out_of_memory(tmp_path, tiny_lm_plain):
    """Memory for one batch of 10 rows, not for two batches side by side: auto mode halves
    40 -> 20 -> 10, starts two streams, and when they run out of memory together it reruns the
    batch alone and finishes one batch at a time, with every answer."""
    import threading

    import torch

    from jamii.evaluate import load_backend

    rel = _forty_items(tmp_path)
    torch.set_num_threads(2)
    backend = load_backend(f"hf:{tiny_lm_plain}", batch_size="auto")
    running, lock, overlaps = [0], threading.Lock(), []

    def enter(module, args, kwargs):
        rows = kwargs["input_ids"].shape[0]
        with lock:
            if rows > 10 or running[0] > 0:
                overlaps.append(rows)
                raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate a batch of {rows}")
            running[0] += 1

    def leave(module, args, kwargs, output):
        with lock:
            running[0] -= 1

    hooks = [backend.model.register_forward_pre_hook(enter, with_kwargs=True),
             backend.model.register_forward_hook(leave, with_kwargs=True)]
    try:
        auto = evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "auto", batch_size="auto", max_new_tokens=6,
                        progress=False, backend=backend)
    finally:
        for h in hooks:
            h.remove()
        backend.close()
    assert auto.computed == 40 and auto.summary["run"]["batch_size"] == 10
    assert 10 in overlaps  # two batches of 10 did overlap and were refused

    evaluate(rel, f"hf:{tiny_lm_plain}", tmp_path / "fixed", batch_size=10, max_new_tokens=6,
                     progress=False)
    preds = lambda d: {s["id"]: s["prediction"] for s in read_samples(d)}  # noqa: E731
    assert preds(tmp_path / "auto") == preds(tmp_path / "fixed")
