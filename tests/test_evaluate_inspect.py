"""`jamii export-task --to inspect`: the files it writes, and the task run by inspect-ai itself
against a tiny local model behind `transformers serve`, giving jamii's chrF++.

inspect-ai lives in its own environment, never in the project's venv: `make .inspect-venv/.done`
(part of `make setup-test`) builds it, or point INSPECT_PYTHON at one. The run test skips when
there is none.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from jamii.cli._evaluate import export_task_command
from jamii.evaluate import export_inspect_task, score
from jamii.evaluate._tasks import prompt_of
from support.evaluate_fixtures import REPO, release, tiny_lm  # noqa: F401
from support.release_fixture import SAMPLE_ROWS, write_release
from test_evaluate_openai import free_port

HOSTILE = 'x"""\n\'\'\'\nimport os; os.system("echo pwned")  # {name} {{}} \\ \x00"'


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def literals(code: str) -> dict:
    """The module-level constants of task.py (assignments of plain literals)."""
    out = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def test_export_writes_inspect_samples_with_jamii_prompts_and_a_task(release, tmp_path):
    out = tmp_path / "task"
    result = CliRunner().invoke(export_task_command, [str(release), "--to", "inspect", "--out", str(out),
                                                      "--max-new-tokens", "32"])
    assert result.exit_code == 0, result.output
    assert "inspect eval" in result.output and "openai-api/local/MODEL" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data", "task.py"]

    rows = read_jsonl(out / "data" / "test.jsonl")
    assert len(rows) == 7  # the test split's generation items, speech left out
    for row in rows:
        assert set(row) == {"id", "input", "target", "metadata"}
        assert set(row["metadata"]) == {"language", "dialect", "domain", "kind", "version", "split"}
        assert isinstance(row["target"], list) and row["target"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["pr-am-1"]["input"] == "በቆሎ መቼ ይዘራል?"
    items = {r["id"]: dict(r, kind=k) for k in ("prompt_response", "contextual") for r in SAMPLE_ROWS[k]}
    for item_id, row in by_id.items():
        assert row["input"] == prompt_of(items[item_id])
        assert row["metadata"]["kind"] == items[item_id]["kind"]
        assert row["metadata"]["language"] == items[item_id]["language"]

    code = (out / "task.py").read_text(encoding="utf-8")
    compile(code, "task.py", "exec")
    consts = literals(code)
    assert consts["MAX_NEW_TOKENS"] == 32 and consts["DEFAULT_SPLIT"] == "test"
    assert consts["DATASET"] == {"dataset": "jamii-test", "dataset_version": "1.0.0",
                                 "exported_by": "jamii export-task"}
    assert "CHRF(word_order=2)" in code and "@task\ndef jamii_jamii_test(" in code


def test_hostile_item_text_stays_data_and_never_becomes_code(tmp_path):
    rows = {"prompt_response": [{"id": "pr-x", "language": "sw", "prompt": HOSTILE, "response": HOSTILE + "\n"}],
            "contextual": [{"id": "cx-x", "language": "sw", "question": "q", "scenario": HOSTILE,
                            "reference_answers": [HOSTILE, "b"]}]}
    release = write_release(tmp_path / "rel", rows, name='evil"""\nimport os #', version="1'\n")
    out = tmp_path / "task"
    names = export_inspect_task(release, out)
    assert names == ["jamii_evil_import_os", "test"]
    code = (out / "task.py").read_text(encoding="utf-8")
    compile(code, "task.py", "exec")
    assert HOSTILE not in code and "pwned" not in code
    assert literals(code)["DATASET"]["dataset"] == 'evil"""\nimport os #'
    got = {r["id"]: r for r in read_jsonl(out / "data" / "test.jsonl")}
    assert got["pr-x"]["input"] == HOSTILE and got["pr-x"]["target"] == [HOSTILE + "\n"]
    assert got["cx-x"]["input"].startswith(HOSTILE) and got["cx-x"]["target"] == [HOSTILE, "b"]


def test_export_refuses_a_used_folder_and_a_release_without_generation_items(release, tmp_path):
    speech_only = write_release(tmp_path / "rel", {"speech": [{"language": "sw", "transcript": "habari"}]})
    runner = CliRunner()
    result = runner.invoke(export_task_command, [str(speech_only), "--to", "inspect", "--out", str(tmp_path / "t")])
    assert result.exit_code == 1 and "no generation items" in result.output
    assert not (tmp_path / "t").exists()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    result = runner.invoke(export_task_command, [str(release), "--to", "inspect", "--out", str(tmp_path / "used")])
    assert result.exit_code == 1 and "not empty" in result.output
    assert not list(tmp_path.glob(".export-*"))


# ---- inspect-ai itself ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inspect_env() -> str:
    """The python of a separate environment with inspect-ai (INSPECT_PYTHON, else .inspect-venv)."""
    for python in (os.environ.get("INSPECT_PYTHON"), str(REPO / ".inspect-venv" / "bin" / "python")):
        probe = python and Path(python).exists() and subprocess.run(
            [python, "-c", "import inspect_ai, openai, sacrebleu"], capture_output=True)
        if probe and probe.returncode == 0:
            return python
    pytest.skip("no separate inspect-ai environment: build it with `make .inspect-venv/.done`")


@pytest.fixture
def served(tiny_lm):
    """`transformers serve` with the tiny chat model on loopback, in its own process group; it is
    given 10 minutes to answer /health (a loaded CI machine takes minutes to import torch)."""
    base = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([str(Path(sys.executable).with_name("transformers")), "serve", str(tiny_lm),
                             "--host", "127.0.0.1", "--port", base.rsplit(":", 1)[1]],
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        for _ in range(1200):
            assert proc.poll() is None, f"transformers serve exited: {proc.stderr.read().decode()[-2000:]}"
            try:
                if requests.get(f"{base}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail("transformers serve did not answer /health within 10 minutes")
        yield base
    finally:  # end the server's whole group: politely, then for good
        for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            os.killpg(proc.pid, sig)
            try:
                proc.wait(grace)
                break
            except subprocess.TimeoutExpired:
                pass


@pytest.mark.models
@pytest.mark.slow
def test_inspect_runs_the_exported_task_and_its_chrf_is_jamii_chrf(inspect_env, served, release, tiny_lm,
                                                                   tmp_path):
    task_dir = tmp_path / "task"
    name, *_ = export_inspect_task(release, task_dir, max_new_tokens=8)
    logs = tmp_path / "logs"
    inspect = str(Path(inspect_env).with_name("inspect"))
    env = {**os.environ, "LOCAL_BASE_URL": f"{served}/v1", "LOCAL_API_KEY": "none", "HF_HUB_OFFLINE": "1"}
    # run from the task folder: inspect 0.3.285 cannot glob an absolute task path
    proc = subprocess.run([inspect, "eval", "task.py", "--model", f"openai-api/local/{tiny_lm}",
                           "--log-dir", str(logs), "--display", "none", "--max-connections", "4"],
                          capture_output=True, text=True, timeout=900, env=env, cwd=task_dir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (log_file,) = [p for p in logs.iterdir() if p.suffix in (".eval", ".json")]
    dump = subprocess.run([inspect, "log", "dump", str(log_file)], capture_output=True, text=True, timeout=300,
                          env=env)
    assert dump.returncode == 0, dump.stderr[-3000:]
    log = json.loads(dump.stdout)

    assert log["status"] == "success"
    assert log["eval"]["task"].endswith(name)
    samples = log["samples"]
    assert len(samples) == 7 and log["results"]["completed_samples"] == 7
    answers, references = [], []
    for sample in samples:
        (result,) = sample["scores"].values()
        content = sample["output"]["choices"][0]["message"]["content"]
        if isinstance(content, str):  # the answer scored is the model's text
            assert result["answer"] == unicodedata.normalize("NFC", content)
        answers.append(result["answer"])
        references.append(sample["target"])
        # each sample's value is its sentence chrF++ as jamii computes it
        assert result["value"] == pytest.approx(score("chrf", [result["answer"]], [sample["target"]]).value)
    (scored,) = log["results"]["scores"]
    expected = score("chrf", answers, references)
    assert scored["metrics"]["chrf_pp"]["value"] == pytest.approx(expected.value)
