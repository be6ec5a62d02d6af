"""The `openai` backend against a real `transformers serve` on loopback, and its error messages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from jamii.evaluate import EvaluationError, evaluate
from support.evaluate_fixtures import release, tiny_lm  # noqa: F401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_predictions(out: Path) -> dict[str, str]:
    lines = (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(x)["id"]: json.loads(x)["prediction"] for x in lines}


@pytest.fixture
def server(tiny_lm):
    """`transformers serve` with the tiny chat model, in its own process group."""
    port = free_port()
    exe = Path(sys.executable).with_name("transformers")
    proc = subprocess.Popen(
        [str(exe), "serve", str(tiny_lm), "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if requests.get(f"{base}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                pytest.fail("transformers serve did not answer /health within 120 s")
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.mark.models
@pytest.mark.slow
def test_server_answers_equal_in_process_answers_and_errors_are_clear(server, release, tiny_lm, tmp_path,
                                                                     monkeypatch):
    from jamii.evaluate import _runner

    spec = f"openai:{server}/v1#{tiny_lm}"
    res = evaluate(release, spec, tmp_path / "served", max_new_tokens=10, concurrency=4, progress=False)
    assert res.computed == 7
    config = json.loads((tmp_path / "served" / "config.json").read_text())
    assert config["model"]["backend"] == "openai" and config["model"]["api"] == "chat"
    # repeated with every answer cached: the server is asked for its model list, never to generate
    with monkeypatch.context() as m:
        m.setattr(_runner, "load_backend", lambda *a, **k: pytest.fail("a backend was built"))
        again = evaluate(release, spec, tmp_path / "served", max_new_tokens=10, concurrency=4, progress=False)
    assert again.computed == 0
    assert json.loads((tmp_path / "served" / "config.json").read_text())["model"] == config["model"]
    # greedy through the server's chat template == greedy in process with the same template
    evaluate(release, f"hf:{tiny_lm}", tmp_path / "local", max_new_tokens=10, progress=False)
    assert read_predictions(tmp_path / "served") == read_predictions(tmp_path / "local")
    assert evaluate(release, spec, tmp_path / "served", max_new_tokens=10, progress=False).computed == 0

    with pytest.raises(EvaluationError, match="does not serve the model 'qwen-7b'.*Check MODEL"):
        evaluate(release, f"openai:{server}/v1#qwen-7b", tmp_path / "bad")
    with pytest.raises(EvaluationError, match="need /v1"):
        evaluate(release, f"openai:{server}#{tiny_lm}", tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_unreachable_server_and_bad_spec_are_refused_before_writing(release, tmp_path):
    with pytest.raises(EvaluationError, match="cannot reach an OpenAI-compatible server.*Start it"):
        evaluate(release, f"openai:http://127.0.0.1:{free_port()}/v1#m", tmp_path / "r")
    with pytest.raises(EvaluationError, match="write openai:BASE_URL#MODEL"):
        evaluate(release, "openai:http://127.0.0.1:1/v1", tmp_path / "r")
    assert not (tmp_path / "r").exists()
