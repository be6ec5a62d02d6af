"""Export a release's generation items as an inspect-ai task (JSONL data plus task.py).

    TASKDIR/task.py               `@task` over the data, `generate()`, jamii's chrF++ scorer
    TASKDIR/data/<split>.jsonl    {"id", "input", "target": [references], "metadata": {...}}
    TASKDIR/README.md             how to run it

Run with `cd TASKDIR && inspect eval task.py --model openai-api/local/MODEL` (inspect 0.3.285
refuses an absolute path to the task file) and `LOCAL_BASE_URL`,
`LOCAL_API_KEY` set (any OpenAI-compatible server: `transformers serve`, vLLM, llama.cpp), or
with inspect's own `hf/`, `vllm/`, `ollama/` providers; `-T split=validation -T language=yo`
choose a split and a language. The rows are the fields inspect's `json_dataset` reads by
default (inspect.aisi.org.uk, "Datasets"), so lighteval's inspect-style loaders read them too.

The inputs are the prompts `jamii evaluate` sends (`jamii.evaluate._tasks.prompt_of`) and the
targets the references it scores against (`task_of`). The scorer computes chrF++ as jamii does:
sacrebleu `CHRF(word_order=2)` after Unicode NFC. Each sample's score is its sentence chrF++,
but the task's metric `chrf_pp` is the corpus chrF++ over all samples (sacrebleu's
`corpus_score`: character and word n-gram statistics summed over the samples, then one F-score),
which is the number jamii's summary reports and sacrebleu defines. A mean of sentence scores would
be another metric: it weighs a two-word answer as much as a paragraph and moves with segment
length, so it is not comparable with published chrF++ values.

Item text only ever goes into the JSONL files (`json.dumps`); task.py holds fixed code and
Python literals written with `repr`, so quotes, newlines or `\"\"\"` in an item stay data.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from jamii.core.schema import SPLITS
from jamii.evaluate._release import ReleaseError, open_release
from jamii.evaluate._tasks import GENERATION_KINDS, task_of

TASK_PY = '''"""inspect-ai task written by `jamii export-task --to inspect` (see README.md beside it).

chrF++ is computed as `jamii evaluate` computes it: sacrebleu CHRF(word_order=2) after Unicode
NFC; the metric `chrf_pp` is the corpus score over all samples, each sample's value its sentence
score.
"""

import os
import unicodedata

import sacrebleu
from inspect_ai import Task, task
from inspect_ai.dataset import json_dataset
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import SampleScore, Score, Target, Value, metric, scorer
from inspect_ai.solver import TaskState, generate

HERE = os.path.dirname(os.path.abspath(__file__))
SPLITS = {splits!r}
DEFAULT_SPLIT = {default_split!r}
DATASET = {dataset!r}
MAX_NEW_TOKENS = {max_new_tokens!r}
CHRF = sacrebleu.CHRF(word_order=2)


def nfc(text):
    return unicodedata.normalize("NFC", text or "")


def corpus_chrf(predictions, references):
    """Corpus chrF++ of predictions against their lists of references (None pads short lists)."""
    width = max([len(refs) for refs in references] + [1])
    streams = [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]
    return CHRF.corpus_score([nfc(p) for p in predictions],
                             [[None if r is None else nfc(r) for r in s] for s in streams]).score


@metric
def chrf_pp():
    """Corpus chrF++ over every scored sample (not a mean of sentence scores)."""

    def compute(scores: list[SampleScore]) -> Value:  # the annotation selects inspect's current protocol
        done = [s.score for s in scores]
        return corpus_chrf([s.answer for s in done], [s.metadata["references"] for s in done])

    return compute


@scorer(metrics=[chrf_pp()])
def chrf_plus_plus():
    """Each sample's sentence chrF++; the answer and references are kept for the corpus metric."""

    async def score(state: TaskState, target: Target) -> Score:
        answer = nfc(state.output.completion)
        references = [nfc(t) for t in target.target] or [""]
        value = CHRF.sentence_score(answer, references).score
        return Score(value=value, answer=answer, metadata={{"references": references}})

    return score


@task
def {name}(split: str = DEFAULT_SPLIT, language: str = ""):
    """The release's generation items of one split; `language` keeps one BCP-47 language."""
    if split not in SPLITS:
        raise ValueError(f"no split {{split!r}} in this task; choose one of {{', '.join(SPLITS)}}")
    dataset = json_dataset(os.path.join(HERE, "data", split + ".jsonl"))
    if language:
        dataset = dataset.filter(lambda s: s.metadata["language"] == language
                                 or s.metadata["language"].startswith(language + "-"))
    return Task(
        dataset=dataset,
        solver=generate(),
        scorer=chrf_plus_plus(),
        config=GenerateConfig(temperature=0.0, max_tokens=MAX_NEW_TOKENS),
        metadata=dict(DATASET, split=split),
    )
'''


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "release"


def check_out(out: Path, replaceable: Callable[[Path], bool] | None = None) -> str | None:
    """Why `out` cannot take a new export (None when it can): it must be absent or an empty
    folder, or a folder `replaceable` recognises as an earlier export."""
    if out.exists() and not out.is_dir():
        return f"{out} is a file; choose a folder"
    if out.is_dir() and any(out.iterdir()) and not (replaceable and replaceable(out)):
        return f"{out} exists and is not empty; choose a new folder"
    return None


def write_folder(out: Path, files: dict[str, str]) -> None:
    """Create the folder `out` holding `files` (relative path -> text) all at once.

    Everything is written into a temporary folder beside `out` first and renamed into place at
    the end, so a failure leaves nothing half-written; an earlier folder at `out` (which the
    caller has checked with `check_out`) is replaced only once the new one is complete.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))  # beside `out`: one rename
    old = out.with_name(f".{out.name}.old-{tmp.name}")
    try:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, encoding="utf-8")
        if out.exists():
            out.rename(old)
        shutil.move(str(tmp), str(out))
    except BaseException:
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _samples(release) -> dict[str, list[dict]]:
    """The release's generation items by split, as inspect samples; refused when there are none."""
    rows: dict[str, list[dict]] = {}
    for kind in GENERATION_KINDS:
        for split in release.data_files.get(kind, {}):
            for item in release.items(kind, split):
                t = task_of(item)
                meta = {k: item.get(k) for k in ("language", "dialect", "domain", "version")}
                rows.setdefault(split, []).append({
                    "id": t.id, "input": t.prompt, "target": t.references,
                    "metadata": {**meta, "kind": kind, "split": split},
                })
    if not rows:
        raise ReleaseError(
            f"the release {release.source} has no generation items (prompt_response or contextual) to "
            f"export; it has: {', '.join(release.kinds) or 'none'}"
        )
    return rows


def export_inspect_task(
    data: str | Path,
    out: str | Path,
    *,
    task_name: str | None = None,
    max_new_tokens: int = 256,
) -> list[str]:
    """Write an inspect-ai task for the release's generation items into `out`.

    Args:
        data: A release folder or Hub id.
        out: The task folder to write (must be empty or absent).
        task_name: Name of the `@task` function; default `jamii_<dataset name>`.
        max_new_tokens: `max_tokens` of the task's generation (decoding is greedy).

    Returns:
        The task name, then the splits written.

    Raises:
        ReleaseError: the release is unreadable or has no generation items; `out` is not empty.
    """
    release = open_release(data)
    out = Path(out)
    problem = check_out(out)
    if problem:
        raise ReleaseError(f"{problem} for the task")
    rows = _samples(release)
    kinds = sorted({r["metadata"]["kind"] for split_rows in rows.values() for r in split_rows},
                   key=GENERATION_KINDS.index)
    name = _slug(task_name or f"jamii_{release.name}")
    if not name[0].isalpha():
        name = f"jamii_{name}"
    splits = [s for s in SPLITS if rows.get(s)] + sorted(s for s in rows if s not in SPLITS and rows[s])
    code = TASK_PY.format(
        splits=splits, default_split="test" if "test" in splits else splits[0], name=name,
        dataset={"dataset": release.name, "dataset_version": release.version, "exported_by": "jamii export-task"},
        max_new_tokens=int(max_new_tokens),
    )
    compile(code, "task.py", "exec")  # a broken template fails here, before anything is written
    files = {
        f"data/{split}.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                       for r in sorted(rows[split], key=lambda r: r["id"]))
        for split in splits
    }
    files["task.py"] = code
    files["README.md"] = (
        f"# {name}\n\ninspect-ai task exported by `jamii export-task --to inspect` from "
        f"{release.name} {release.version} ({', '.join(kinds)} items; splits: {', '.join(splits)}).\n\n"
        "Against any OpenAI-compatible server (`transformers serve`, vLLM, llama.cpp):\n\n"
        f"    cd {out}\n    LOCAL_BASE_URL=http://127.0.0.1:8000/v1 LOCAL_API_KEY=none \\\n"
        "      inspect eval task.py --model openai-api/local/MODEL\n\n"
        "(inspect 0.3.285 refuses an absolute path to task.py: run it from this folder or a relative path.)\n\n"
        "`-T split=validation` and `-T language=yo` choose a split and a language. The metric "
        "`chrf_pp` is corpus chrF++ (sacrebleu word_order=2, after Unicode NFC), as `jamii evaluate` "
        "reports it; each sample's score is its sentence chrF++.\n"
    )
    write_folder(out, files)
    return [name, *splits]
