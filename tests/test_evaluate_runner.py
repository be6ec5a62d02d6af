"""A run's steps on real tiny models: a repeated run loads no model, a changed model or judge is
computed again, and a kind without the chosen split is skipped and named."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jamii.evaluate import EvaluationError, evaluate
from jamii.evaluate import _runner
from support.evaluate_fixtures import release, tiny_judge, tiny_lm  # noqa: F401
from support.release_fixture import SAMPLE_ROWS, write_release

pytestmark = pytest.mark.models

WITHOUT_TORCH = (
    "import sys\n"
    "class _Blocked:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('torch', 'transformers'):\n"
    "            raise ImportError(f'{name} is blocked in this test')\n"
    "sys.meta_path.insert(0, _Blocked())\n")
"""Makes `import torch` and `import transformers` fail in the process that runs it. A finder
that refuses them, not `sys.modules['torch'] = None`: libraries that look for torch in
`sys.modules` (scipy's array API check) would trip over the None."""


def jamii_evaluate(*args: str, without_torch: bool = False) -> subprocess.CompletedProcess:
    """`jamii evaluate ARGS` in a fresh process; `without_torch`: one that cannot import torch or
    transformers, so it cannot load a model."""
    code = "from jamii.cli._evaluate import evaluate_command; evaluate_command()"
    code = (WITHOUT_TORCH if without_torch else "") + code
    return subprocess.run([sys.executable, "-c", code, *args, "--no-progress"], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=600)


def files(out: Path) -> dict:
    """The results folder's files, less what differs between runs by design (times, cached flags)."""
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    for key in ("started_at", "finished_at"):
        config.pop(key)
    summary.pop("run")
    for s in samples:
        s.pop("cached")
    samples.sort(key=lambda s: s["id"])  # written as they finish: cached ones first
    rating = out / "answers_for_rating.jsonl"
    return {"config": config, "summary": summary, "samples": samples,
            "rating": rating.read_text(encoding="utf-8") if rating.exists() else None}


@pytest.fixture
def loads(monkeypatch):
    """The model specs the runner loads a backend for, in order."""
    seen: list[str] = []
    real = _runner.load_backend

    def counting(spec, **kwargs):
        seen.append(spec)
        return real(spec, **kwargs)

    monkeypatch.setattr(_runner, "load_backend", counting)
    return seen


def test_a_repeated_command_with_every_answer_cached_loads_no_model(release, tiny_lm, tiny_judge, tmp_path):
    out = tmp_path / "r"
    args = ["--data", str(release), "--model", f"hf:{tiny_lm}", "--judge", f"hf:{tiny_judge}",
            "--out", str(out), "--max-new-tokens", "6"]
    first = evaluate(release, f"hf:{tiny_lm}", out, judge=f"hf:{tiny_judge}", max_new_tokens=6, progress=False)
    assert first.computed == 7 + 2  # 7 answers, 2 grades
    before = files(out)

    # the same command again, in a process where torch and transformers cannot even be imported
    again = jamii_evaluate(*args, without_torch=True)
    assert again.returncode == 0, again.stderr
    assert "7 samples: 0 requests computed, 7 answers from the cache" in again.stdout
    assert "judge: 2 answers graded, 0 unparseable outputs" in again.stdout
    # config.json (model and judge described as when they were loaded), summary.json,
    # samples.jsonl and answers_for_rating.jsonl are those of the first run
    assert files(out) == before
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(s["cached"] for s in samples)


def test_a_changed_model_or_judge_is_computed_again_and_nothing_else(release, tiny_lm, tiny_judge, tmp_path,
                                                                    loads):
    from support.tiny_models import build_tiny_gpt2

    model, judge = shutil.copytree(tiny_lm, tmp_path / "model"), shutil.copytree(tiny_judge, tmp_path / "judge")
    spec, jspec = f"hf:{model}", f"hf:{judge}"
    out = tmp_path / "r"

    def run():
        return evaluate(release, spec, out, judge=jspec, max_new_tokens=6, progress=False)

    assert run().computed == 9 and loads == [spec, jspec]
    revision = json.loads((out / "config.json").read_text())["model"]["revision"]
    loads.clear()
    assert run().computed == 0 and loads == []

    # the judge's folder changes (a file added): its 2 grades again; the model stays unloaded
    (judge / "NOTES.md").write_text("graded again after more training\n", encoding="utf-8")
    res = run()
    assert (res.computed, res.cached, loads) == (2, 7, [jspec])
    loads.clear()

    # new weights saved into the model's folder: every answer and grade again, under a new revision
    build_tiny_gpt2(model, chat=True, seed=5)
    res = run()
    assert (res.computed, res.cached, loads) == (9, 0, [spec, jspec])
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["revision"].startswith("sha256:") and config["model"]["revision"] != revision


def test_a_cache_without_model_descriptions_loads_the_model_once(release, tiny_lm, tmp_path, loads):
    """Caches written before descriptions were stored still give the same results folder."""
    out = tmp_path / "r"
    evaluate(release, f"hf:{tiny_lm}", out, max_new_tokens=4, progress=False)
    before = files(out)
    with sqlite3.connect(out / "cache.sqlite3") as conn:
        conn.execute("DELETE FROM models")
    loads.clear()
    assert evaluate(release, f"hf:{tiny_lm}", out, max_new_tokens=4, progress=False).computed == 0
    assert loads == [f"hf:{tiny_lm}"] and files(out) == before
    loads.clear()
    # another batch size is another description: loaded once more, answers still cached
    assert evaluate(release, f"hf:{tiny_lm}", out, max_new_tokens=4, batch_size=2, progress=False).computed == 0
    assert loads == [f"hf:{tiny_lm}"]
    assert json.loads((out / "config.json").read_text())["model"]["batch_size"] == 2
    loads.clear()
    evaluate(release, f"hf:{tiny_lm}", out, max_new_tokens=4, progress=False)
    assert loads == [] and files(out) == before


def drop_split(folder: Path, kind: str, split: str) -> None:
    """Remove one kind's split from a release, as `jamii release` writes a split it has no rows for."""
    card = (folder / "README.md").read_text(encoding="utf-8")
    _, head, body = card.split("---\n", 2)
    meta = yaml.safe_load(head)
    for config in meta["configs"]:
        if config["config_name"] == kind:
            gone = [d["path"] for d in config["data_files"] if d["split"] == split]
            config["data_files"] = [d for d in config["data_files"] if d["split"] != split]
            for path in gone:
                (folder / path).unlink()
    (folder / "README.md").write_text(
        "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + body, encoding="utf-8")


def test_a_kind_without_the_split_is_skipped_and_named(tiny_lm, tmp_path):
    # a small campaign put all its contextual items in validation
    rows = {"prompt_response": [r for r in SAMPLE_ROWS["prompt_response"] if r.get("split") != "validation"],
            "contextual": [dict(r, split="validation") for r in SAMPLE_ROWS["contextual"]]}
    rel = write_release(tmp_path / "rel", rows)
    drop_split(rel, "contextual", "test")

    out = tmp_path / "r"
    run = jamii_evaluate("--data", str(rel), "--model", f"hf:{tiny_lm}", "--out", str(out), "--max-new-tokens", "4")
    assert run.returncode == 0, run.stderr
    assert "! contextual skipped: the release has no 'test' split for it (it has: validation)" in run.stdout
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {s["kind"] for s in samples} == {"prompt_response"} and len(samples) == 5
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "contextual skipped: the release has no 'test' split for it (it has: validation)" in summary["warnings"]
    assert summary["dataset"]["kinds"] == ["prompt_response"]
    assert summary["dataset"]["skipped"] == {"contextual": ["validation"]}
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["dataset"] == summary["dataset"]

    # asked for by name, the kind is still skipped and named, the others scored
    res = evaluate(rel, f"hf:{tiny_lm}", tmp_path / "named", kinds=["contextual", "prompt_response"],
                   max_new_tokens=4, progress=False)
    assert res.summary["n_samples"] == 5 and "contextual skipped" in res.table

    # the split that has them scores them, and nothing is skipped
    res = evaluate(rel, f"hf:{tiny_lm}", tmp_path / "val", split="validation", max_new_tokens=4, progress=False)
    assert res.summary["n_samples"] == 2 and "skipped" not in res.summary["dataset"]

    # when no kind has the split, the run is refused with the splits there are
    with pytest.raises(EvaluationError, match="no 'test' split for contextual; choose one of: validation"):
        evaluate(rel, f"hf:{tiny_lm}", tmp_path / "none", kinds=["contextual"], progress=False)
    assert not (tmp_path / "none").exists()


def test_a_model_folder_that_cannot_load_is_refused_before_anything_is_written(release, tiny_lm, tmp_path):
    model = shutil.copytree(tiny_lm, tmp_path / "model")
    (model / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EvaluationError, match="cannot load the model"):
        evaluate(release, f"hf:{model}", tmp_path / "r", max_new_tokens=4, progress=False)
    assert not (tmp_path / "r").exists()
