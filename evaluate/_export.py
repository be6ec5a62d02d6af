"""Export a release's generation items as an lm-evaluation-harness task (YAML plus data).

    TASKDIR/_<task>_template.yaml   shared settings: data loader, prompt, generation, metrics
    TASKDIR/<task>.yaml             every generation item
    TASKDIR/<task>_<lang>.yaml      one task per language (lm-eval has no per-language breakdown)
    TASKDIR/utils.py                loads data/ relative to itself; chrF++ as jamii computes it
    TASKDIR/data/<split>.parquet    id, version, kind, language, dialect, domain, prompt, references

Run with `lm_eval --model hf --model_args pretrained=... --include_path TASKDIR --tasks <task>`.
The prompts are the ones `jamii evaluate` sends (`jamii.evaluate._tasks.prompt_of`), and the
chrF++ aggregation uses sacrebleu with `word_order=2` after NFC, as jamii does: lm-eval's own
`chrf` is chrF2 (word_order=0).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from jamii.core.schema import SPLITS
from jamii.evaluate._release import ReleaseError, open_release
from jamii.evaluate._tasks import GENERATION_KINDS, prompt_of

DOC_SCHEMA = pa.schema([
    ("id", pa.string()), ("version", pa.int32()), ("kind", pa.string()), ("language", pa.string()),
    ("dialect", pa.string()), ("domain", pa.string()), ("prompt", pa.string()),
    ("references", pa.list_(pa.string())),
])
"""Columns of the exported documents (typed, so an all-null column in one split still loads)."""

UTILS_PY = '''"""Helpers of the jamii task: the data loader and chrF++ (written by `jamii export-task`)."""

import os
import unicodedata

import datasets
import sacrebleu

HERE = os.path.dirname(os.path.abspath(__file__))
SPLITS = {splits!r}


def load(language=None, **_):
    """The task's data, read from data/ beside this file; `language` keeps one language."""
    files = {{s: os.path.join(HERE, "data", s + ".parquet") for s in SPLITS}}
    ds = datasets.load_dataset("parquet", data_files=files)
    if language:
        ds = ds.filter(lambda d: d["language"] == language or d["language"].startswith(language + "-"))
    return ds


def _nfc(text):
    return unicodedata.normalize("NFC", text or "")


def process_results(doc, results):
    pred = _nfc(results[0])
    refs = [_nfc(r) for r in doc["references"]]
    item = (refs, pred)
    return {{"chrf_pp": item, "bleu": item, "exact_match": float(any(pred.strip() == r.strip() for r in refs))}}


def _streams(items):
    width = max(len(refs) for refs, _ in items)
    preds = [p for _, p in items]
    streams = [[refs[i] if i < len(refs) else None for refs, _ in items] for i in range(width)]
    return preds, streams


def chrf_pp(items):
    """Corpus chrF++ (sacrebleu CHRF, word_order=2)."""
    preds, streams = _streams(items)
    return sacrebleu.CHRF(word_order=2).corpus_score(preds, streams).score


def bleu(items):
    """Corpus BLEU (sacrebleu defaults)."""
    preds, streams = _streams(items)
    return sacrebleu.BLEU().corpus_score(preds, streams).score
'''


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "release"


def export_lm_eval_task(
    data: str | Path,
    out: str | Path,
    *,
    task_name: str | None = None,
    max_new_tokens: int = 256,
    generation_kwargs: dict | None = None,
) -> list[str]:
    """Write an lm-evaluation-harness task for the release's generation items into `out`.

    Args:
        data: A release folder or Hub id.
        out: The task folder to write (must be empty or absent).
        task_name: Name of the main task; default `jamii_<dataset name>`.
        max_new_tokens: `max_gen_toks` of the task.
        generation_kwargs: Extra generation settings (decoding stays greedy).

    Returns:
        The task names written, the main task first.

    Raises:
        ReleaseError: the release is unreadable or has no generation items; `out` is not empty.
    """
    release = open_release(data)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} exists and is not empty; choose a new folder for the task")
    kinds = [k for k in GENERATION_KINDS if k in release.data_files]
    if not kinds:
        raise ReleaseError(
            f"the release {release.source} has no generation items (prompt_response or contextual); "
            f"it has: {', '.join(release.kinds) or 'none'}"
        )
    docs: dict[str, list[dict]] = {}
    for kind in kinds:
        for split in release.data_files[kind]:
            for item in release.items(kind, split):
                refs = [item["response"]] if kind == "prompt_response" else list(item["reference_answers"] or [])
                docs.setdefault(split, []).append({
                    "id": item["id"], "version": item["version"], "kind": kind,
                    "language": item["language"], "dialect": item.get("dialect"),
                    "domain": item.get("domain"), "prompt": prompt_of(item), "references": refs or [""],
                })
    splits = [s for s in SPLITS if docs.get(s)] + sorted(s for s in docs if s not in SPLITS and docs[s])
    name = task_name or f"jamii_{_slug(release.name)}"
    languages = sorted({d["language"] for rows in docs.values() for d in rows})

    # write everything into a temporary folder first: a failure leaves nothing half-written
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent if out.parent.exists() else None))
    try:
        (tmp / "data").mkdir()
        for split in splits:
            rows = sorted(docs[split], key=lambda d: d["id"])
            pq.write_table(pa.Table.from_pylist(rows, schema=DOC_SCHEMA), tmp / "data" / f"{split}.parquet")
        (tmp / "utils.py").write_text(UTILS_PY.format(splits=splits), encoding="utf-8")
        gen = {"until": [], "max_gen_toks": int(max_new_tokens), "do_sample": False, "temperature": 0.0}
        gen.update(generation_kwargs or {})
        template = {
            "dataset_path": "parquet",
            "custom_dataset": "!function utils.load",
            "output_type": "generate_until",
            "test_split": "test" if "test" in splits else splits[0],
            **({"validation_split": "validation"} if "validation" in splits and "test" in splits else {}),
            "doc_to_text": "{{prompt}}",
            "doc_to_target": "{{references[0]}}",
            "process_results": "!function utils.process_results",
            "generation_kwargs": gen,
            "metric_list": [
                {"metric": "chrf_pp", "aggregation": "!function utils.chrf_pp", "higher_is_better": True},
                {"metric": "bleu", "aggregation": "!function utils.bleu", "higher_is_better": True},
                {"metric": "exact_match", "aggregation": "mean", "higher_is_better": True},
            ],
            "metadata": {"version": 1.0, "dataset": release.name, "dataset_version": release.version},
        }
        template_file = f"_{name}_template.yaml"
        (tmp / template_file).write_text(_dump(template), encoding="utf-8")
        names = [name]
        (tmp / f"{name}.yaml").write_text(_dump({"include": template_file, "task": name}), encoding="utf-8")
        for lang in languages:
            task = f"{name}_{_slug(lang)}"
            names.append(task)
            (tmp / f"{task}.yaml").write_text(
                _dump({"include": template_file, "task": task, "tag": f"{name}_languages",
                       "dataset_kwargs": {"language": lang}}),
                encoding="utf-8",
            )
        (tmp / "README.md").write_text(
            f"# {name}\n\nlm-evaluation-harness task exported by `jamii export-task` from "
            f"{release.name} {release.version} ({', '.join(kinds)} items; splits: {', '.join(splits)}).\n\n"
            f"    lm_eval --model hf --model_args pretrained=MODEL --include_path {out} --tasks {name}\n\n"
            f"Per-language tasks: {', '.join(names[1:])} (tag `{name}_languages`).\n"
            "`chrf_pp` is chrF++ (sacrebleu word_order=2, after Unicode NFC), as `jamii evaluate` reports it.\n",
            encoding="utf-8",
        )
        if out.exists():
            out.rmdir()
        shutil.move(str(tmp), str(out))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return names


def _dump(doc: dict) -> str:
    """YAML with lm-eval's `!function` tags left unquoted."""
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    return re.sub(r"'(!function [\w.]+)'", r"\1", text)
