"""Pytest fixtures for the evaluate tests: tiny models built once per session, release folders.

Import the fixtures you need in a test module: `from support.evaluate_fixtures import tiny_lm`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from support.release_fixture import SAMPLE_ROWS, write_release

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    """Folder of a tiny GPT-2 with a chat template."""
    from support.tiny_models import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("models") / "tiny-gpt2-chat", chat=True)


@pytest.fixture(scope="session")
def tiny_lm_plain(tmp_path_factory):
    """Folder of a tiny GPT-2 without a chat template (a base model)."""
    from support.tiny_models import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("models") / "tiny-gpt2", chat=False, seed=1)


@pytest.fixture(scope="session")
def tiny_asr(tmp_path_factory):
    """Folder of a tiny wav2vec2 CTC model with a character vocabulary."""
    from support.tiny_models import build_tiny_wav2vec2

    return build_tiny_wav2vec2(tmp_path_factory.mktemp("models") / "tiny-wav2vec2")


@pytest.fixture
def release(tmp_path):
    """A release folder with Swahili, Yoruba and Amharic items of every kind."""
    return write_release(tmp_path / "release", SAMPLE_ROWS)


REPO = Path(__file__).resolve().parents[2]
LM_EVAL_VENV = Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) / "jamii-lm-eval-venv"
"""Where `benchmarks/evaluate_throughput.py --setup-lm-eval` creates lm-eval's own environment."""


def lm_eval_python() -> str | None:
    """The python of a separate environment with lm-eval installed (LM_EVAL_PYTHON, else the one
    `make test` builds in .lm-eval-venv, else the benchmark's default venv), or None. lm-eval is
    never installed into the project's venv."""
    candidates = [os.environ.get("LM_EVAL_PYTHON"), str(REPO / ".lm-eval-venv" / "bin" / "python"),
                  str(LM_EVAL_VENV / "bin" / "python")]
    for python in candidates:
        if python and Path(python).exists():
            probe = subprocess.run([python, "-c", "import lm_eval, transformers, torch"], capture_output=True)
            if probe.returncode == 0:
                return python
    return None


JUDGE_GRADE = '{"usefulness": 3, "relevance": 4, "accuracy": 2, "safety": 5, "safety_flag": false}'
"""What the tiny judge writes for every answer (every criterion of the default rubric and of RUBRIC)."""
JUDGE_PIECES = [p + ", " for p in JUDGE_GRADE[:-1].split(", ")[:-1]] + [JUDGE_GRADE.split(", ")[-1]]
"""The grade's fields, each one token of the judge's vocabulary."""


def judge_examples(n: int = 48, seed: int = 0) -> list[tuple[str, str]]:
    """(judge prompt, grade) pairs over the sample release's contextual items and variations of them,
    with random answers in Swahili, Yoruba and Amharic."""
    import random

    from jamii.evaluate._tasks import judge_prompt
    from support.release_fixture import SAMPLE_ROWS
    from support.tiny_models import WORDS

    rng = random.Random(seed)
    base = [dict(r, kind="contextual") for r in SAMPLE_ROWS["contextual"]]
    out = []
    for i in range(n):
        item = dict(base[i % len(base)])
        if i % 3 == 2:
            item["rubric"] = []  # the default rubric
        words = WORDS[("sw", "yo", "am")[i % 3]]
        answer = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        if i % 4 == 3:  # what a random-weight model writes: broken bytes, odd scripts, no spaces
            answer = "".join(rng.choice(words)[:3] + rng.choice(["\ufffd", "", "ìyì", "ሎ"]) for _ in range(rng.randint(1, 6)))
        out.append((judge_prompt(item, answer), JUDGE_GRADE))
    return out


@pytest.fixture(scope="session")
def tiny_judge(tmp_path_factory):
    """Folder of a tiny GPT-2 trained to grade with `JUDGE_GRADE` (valid judge JSON)."""
    from support.tiny_models import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp("models") / "tiny-judge", judge_examples(), steps=150,
                            pieces=JUDGE_PIECES)
