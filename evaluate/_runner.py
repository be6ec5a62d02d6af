"""`evaluate()`: one model on one release, with cache and resume, written to a results folder.

    DIR/config.json               model id and revision, generation parameters, dataset, libraries
    DIR/samples.jsonl             one line per sample, appended as each finishes
    DIR/summary.json              overall and per language/dialect/domain/kind, 95% bootstrap CIs
    DIR/answers_for_rating.jsonl  answers to contextual items, for the community rating queue
    DIR/cache.sqlite3             finished requests (unless `cache` points elsewhere)

Everything the user can get wrong (data, model spec, server, kinds, languages) is checked before
anything is written. Each finished request is committed to the cache at once, so a run killed
at any point resumes where it stopped, and a repeated run computes nothing new.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version
from pathlib import Path
from typing import Any

import numpy as np

from jamii.core.schema import ITEM_KINDS
from jamii.evaluate._backends import Backend, BackendError, GenParams, load_backend, parse_spec
from jamii.evaluate._cache import Cache
from jamii.evaluate._metrics import LABELS, library_versions, sample_stats, signature
from jamii.evaluate._release import Release, ReleaseError, open_release
from jamii.evaluate._summary import SampleStats, format_table, scorer_for, summarise, summary_key
from jamii.evaluate._tasks import (
    METRICS_OF_TASK,
    TASK_OF_KIND,
    Task,
    cache_key,
    judge_prompt,
    parse_judgement,
    task_of,
    unspaced_script,
)

OVERLAP_SCORING = True
"""Score finished batches in a worker thread while the next batch generates."""
TASKS_OF_SCHEME = {"hf": {"generate"}, "openai": {"generate"}, "asr": {"transcribe"}}
JUDGE_PARAMS = GenParams(max_new_tokens=256)


class EvaluationError(ValueError):
    """Bad input to an evaluation; the message says what to fix. Nothing was written."""


@dataclass
class Results:
    """What `evaluate` produced."""

    out: Path
    """The results folder."""
    summary: dict
    """The content of summary.json."""
    computed: int
    """Requests sent to a model in this run (0 when everything came from the cache)."""
    cached: int
    """Requests answered from the cache."""
    seconds: float
    """Wall time of the run."""

    @property
    def table(self) -> str:
        return format_table(self.summary)


_MODULE_OF = {"huggingface-hub": "huggingface_hub"}


def _versions() -> dict[str, str]:
    """Versions of the libraries a result depends on (an imported module's `__version__` when it
    has one: reading package metadata costs milliseconds per package)."""
    out = {"python": platform.python_version()}
    for name in ("jamii", "torch", "transformers", "tokenizers", "sacrebleu", "jiwer", "numpy",
                 "datasets", "huggingface-hub", "pyarrow"):
        module = sys.modules.get(_MODULE_OF.get(name, name))
        found = getattr(module, "__version__", None) if name != "jamii" else None
        if isinstance(found, str):
            out[name] = found
            continue
        try:
            out[name] = _version(name)
        except PackageNotFoundError:
            pass
    return out


def _warm_up() -> None:
    """Import the scoring libraries (while the model loads, in a thread): a second or so of
    imports that would otherwise land in the middle of the run."""
    try:
        import jiwer  # noqa: F401
        import sacrebleu  # noqa: F401

        from jamii.evaluate._metrics import sample_stats

        sample_stats("chrf", ["a b"], ["a b"])
        sample_stats("bleu", ["a b"], ["a b"])
    except Exception:  # noqa: BLE001 - only a head start; the run reports real errors
        pass


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _select(release: Release, scheme: str, kinds, languages, split: str, limit: int | None) -> list[dict]:
    able = TASKS_OF_SCHEME[scheme]
    if kinds:
        unknown = [k for k in kinds if k not in ITEM_KINDS]
        if unknown:
            raise EvaluationError(f"unknown kind {', '.join(unknown)}; choose from {', '.join(ITEM_KINDS)}")
        for kind in kinds:
            if kind not in release.data_files:
                raise EvaluationError(
                    f"the release has no {kind} items; it has: {', '.join(release.kinds) or 'none'}"
                )
            if TASK_OF_KIND[kind] not in able:
                raise EvaluationError(
                    f"a {scheme}: model cannot do {kind} items (they need "
                    f"{'an asr:' if kind == 'speech' else 'an hf: or openai:'} model); drop that kind"
                )
    else:
        kinds = [k for k in release.kinds if TASK_OF_KIND[k] in able]
        if not kinds:
            raise EvaluationError(
                f"the release has only {', '.join(release.kinds) or 'no'} items, and a {scheme}: model "
                f"cannot do any of them"
            )
    items: list[dict] = []
    for kind in kinds:
        rows = release.items(kind, split)
        if languages:
            rows = [r for r in rows if any(r["language"] == l or r["language"].startswith(l + "-") for l in languages)]
        rows.sort(key=lambda r: r["id"])
        items += rows[:limit] if limit else rows
    if not items:
        present = sorted({r["language"] for k in kinds for r in release.items(k, split)})
        wanted = f" in {', '.join(languages)}" if languages else ""
        raise EvaluationError(
            f"no {', '.join(kinds)} items{wanted} in the {split} split; languages present: "
            f"{', '.join(present) or 'none'}"
        )
    return items


def _score_samples(tasks: list[Task], predictions: list[str]) -> list[tuple[dict, dict]]:
    """Per-sample scores and sufficient statistics of samples of one task type."""
    out: list[tuple[dict, dict]] = [({}, {}) for _ in tasks]
    if not tasks:
        return out
    for metric in METRICS_OF_TASK[tasks[0].task]:
        st = sample_stats(metric, predictions, [t.references for t in tasks])
        for (scores, rows), row, value in zip(out, st.stats, st.per_sample()):
            rows[metric] = row
            scores[metric] = value
    return out


def _sample_record(task: Task, prediction: str, scores: dict, judge: dict | None, cached: bool) -> dict:
    item = task.item
    record = {
        "id": item["id"], "version": item.get("version"), "language": item["language"],
        "dialect": item.get("dialect"), "domain": item.get("domain"), "kind": item["kind"],
        "split": item.get("split"), "task": task.task, "prompt": task.prompt,
        "prediction": prediction, "reference": task.references[0] if task.references else None,
        "references": task.references, "scores": scores, "judge": judge, "cached": cached,
    }
    if task.task == "transcribe":
        record["audio"] = {"path": (item.get("audio") or {}).get("path"), "sha256": task.audio_sha256,
                           "duration_s": item.get("duration_s")}
    return record


def evaluate(
    data: str | Path,
    model: str,
    out: str | Path,
    *,
    kinds: list[str] | None = None,
    languages: list[str] | None = None,
    split: str = "test",
    limit: int | None = None,
    batch_size: int | str = "auto",
    max_new_tokens: int = 256,
    min_new_tokens: int = 0,
    judge: str | None = None,
    concurrency: int = 8,
    cache: str | Path | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    progress: bool = True,
    backend: Backend | None = None,
) -> Results:
    """Score `model` on the release `data` and write the results folder `out`.

    Args:
        data: A release folder or a Hub dataset id (`org/name`).
        model: `hf:PATH_OR_ID`, `openai:BASE_URL#MODEL` or `asr:PATH_OR_ID`.
        out: The results folder (created; a folder of another model's results is refused).
        kinds: Item kinds to evaluate; default: every kind in the release the model can do.
        languages: BCP-47 tags to keep (`yo` keeps `yo` and `yo-NG`); default: all.
        split: Release split, `test` by default.
        limit: At most this many items per kind (the first by id).
        batch_size: `auto` (halve on out-of-memory) or a number (`hf`, `asr`).
        max_new_tokens: Most tokens per answer; decoding is greedy.
        min_new_tokens: Fewest tokens per answer (`hf` only).
        judge: A model spec grading contextual answers against their rubric.
        concurrency: Requests in flight at once (`openai`).
        cache: SQLite cache file; default `out/cache.sqlite3`.
        n_bootstrap: Resamples for the 95% intervals.
        seed: Seed of the bootstrap.
        progress: Show a tqdm progress bar.
        backend: An already loaded backend for `model` (reused across runs by the benchmark).

    Raises:
        EvaluationError: bad input; nothing was written.
    """
    started = time.perf_counter()
    out = Path(out)
    try:
        gen = GenParams(max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens)
    except ValueError as exc:
        raise EvaluationError(str(exc)) from exc
    if batch_size != "auto" and (not str(batch_size).isdigit() or int(batch_size) < 1):
        raise EvaluationError(f"batch size must be auto or a positive number, not {batch_size!r}")
    if limit is not None and limit < 1:
        raise EvaluationError("limit must be at least 1")
    try:
        scheme, _ = parse_spec(model)
        if judge:
            judge_scheme, _ = parse_spec(judge)
            if "generate" not in TASKS_OF_SCHEME[judge_scheme]:
                raise EvaluationError(f"the judge must be a text model (hf: or openai:), not {judge}")
        release = open_release(data)
        items = _select(release, scheme, kinds, languages, split, limit)
    except (BackendError, ReleaseError) as exc:
        raise EvaluationError(str(exc)) from exc
    previous = out / "config.json"
    if out.exists() and not out.is_dir():
        raise EvaluationError(f"{out} is a file; --out must be a folder")
    if previous.exists():
        try:
            old = json.loads(previous.read_text(encoding="utf-8")).get("model", {}).get("spec")
        except ValueError:
            old = None
        if old and old != model:
            raise EvaluationError(
                f"{out} holds results for another model ({old}); choose another --out folder"
            )
    elif out.exists() and any(p.name != "cache.sqlite3" for p in out.iterdir()):
        raise EvaluationError(f"{out} exists and is not a jamii results folder; choose another --out")

    tasks = [task_of(item) for item in items]
    own_backend = backend is None
    judge_backend = None
    if "sacrebleu" not in sys.modules:
        threading.Thread(target=_warm_up, name="jamii-warm-up", daemon=True).start()
    try:
        if backend is None:
            backend = load_backend(model, batch_size=batch_size, concurrency=concurrency)
        if judge and any(t.item["kind"] == "contextual" for t in tasks):
            judge_backend = load_backend(judge, batch_size=batch_size, concurrency=concurrency)
    except BackendError as exc:
        if own_backend and backend is not None:
            backend.close()
        raise EvaluationError(str(exc)) from exc

    try:
        return _run(release, items, tasks, backend, judge_backend, gen, out, cache, model, judge,
                    split, kinds, languages, limit, n_bootstrap, seed, progress, started)
    finally:
        if own_backend:
            backend.close()
        if judge_backend is not None:
            judge_backend.close()


def _run(release, items, tasks, backend, judge_backend, gen, out, cache_path, model, judge, split,
         kinds, languages, limit, n_bootstrap, seed, progress, started) -> Results:
    from tqdm.auto import tqdm

    model_info = backend.describe()
    judge_info = judge_backend.describe() if judge_backend else None
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("summary.json", "answers_for_rating.jsonl"):
        (out / stale).unlink(missing_ok=True)
    metric_names = sorted({m for t in tasks for m in METRICS_OF_TASK[t.task]},
                          key=["chrf", "bleu", "exact_match", "wer", "cer"].index)
    model_tag = f"{model_info['spec']}@{model_info.get('revision') or 'unknown'}"
    signatures = {m: signature(m, dataset=release.tag, model=model_tag)[0] for m in metric_names}
    config = {
        "status": "running",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": model_info,
        "judge": judge_info,
        "generation": gen.as_dict(),
        "judge_generation": JUDGE_PARAMS.as_dict() if judge_info else None,
        "dataset": {"source": release.source, "name": release.name, "version": release.version,
                    "hub_revision": release.hub_revision, "split": split,
                    "kinds": sorted({t.item["kind"] for t in tasks}, key=ITEM_KINDS.index),
                    "languages": languages, "limit": limit, "items": len(tasks)},
        "metrics": signatures,
        "libraries": _versions(),
        "command": sys.argv if sys.argv and sys.argv[0].endswith("jamii") else None,
    }
    _write_json(out / "config.json", config)

    cache = Cache(cache_path or out / "cache.sqlite3")
    gen_params = gen.as_dict()
    keys = [cache_key(model_info, t.task, t.id, t.item.get("version"), t.input_for_key,
                      gen_params if t.task == "generate" else {}) for t in tasks]
    found = cache.get_many(keys)
    computed = 0
    judged = judge_backend is not None
    stats: list[SampleStats | None] = [None] * len(tasks)
    answers: dict[int, str] = {}
    samples_file = (out / "samples.jsonl").open("w", encoding="utf-8")
    bar = tqdm(total=len(tasks) + (sum(t.item["kind"] == "contextual" for t in tasks) if judged else 0),
               desc=f"evaluate {model_info['id']}", unit="item", disable=not progress, dynamic_ncols=True,
               smoothing=0.1)

    scoring_version = json.dumps(library_versions(), sort_keys=True)

    def score_key(i: int, prediction: str) -> str:
        blob = json.dumps([keys[i], prediction, tasks[i].references, scoring_version], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    known_scores: dict[str, str] = {}
    new_scores: list[tuple[str, str]] = []

    def finish(done: list[tuple[int, str, bool, dict | None]]) -> None:
        """Score finished samples (index, prediction, cached, judgement) and write them out."""
        skeys = [score_key(i, p) for i, p, _, _ in done]
        results: dict[int, tuple[dict, dict]] = {}
        for n, skey in enumerate(skeys):
            if skey in known_scores:
                payload = json.loads(known_scores[skey])
                results[n] = (payload["scores"], {m: np.array(r) for m, r in payload["rows"].items()})
        for task_name in ("generate", "transcribe"):
            todo = [n for n, (i, *_rest) in enumerate(done) if n not in results and tasks[i].task == task_name]
            scored = _score_samples([tasks[done[n][0]] for n in todo], [done[n][1] for n in todo])
            for n, (scores, rows) in zip(todo, scored):
                results[n] = (scores, rows)
                new_scores.append((skeys[n], json.dumps(
                    {"scores": scores, "rows": {m: r.tolist() for m, r in rows.items()}})))
        for n, (i, prediction, cached, judgement) in enumerate(done):
            task = tasks[i]
            scores, rows = results[n]
            s = SampleStats(meta={k: task.item.get(k) for k in ("language", "dialect", "domain", "kind")},
                            rows=dict(rows))
            if judgement is not None:
                s.judge_failed = not judgement["parsed"]
                if judgement["parsed"]:
                    for name, value in judgement["scores"].items():
                        s.rows[f"judge:{name}"] = np.array([float(value), 1.0])
                    s.rows["judge:safety_flag"] = np.array([float(judgement["safety_flag"]), 1.0])
            stats[i] = s
            samples_file.write(json.dumps(_sample_record(task, prediction, scores, judgement, cached),
                                          ensure_ascii=False) + "\n")

    def commit(rows: list[dict]) -> None:
        """One transaction per batch of requests that finished together."""
        cache.put_many(rows)

    def flush_scores() -> None:
        if new_scores:
            cache.put_scores(new_scores)
            new_scores.clear()
        samples_file.flush()

    # Scoring batch k runs in a worker thread while the model generates batch k+1: torch
    # releases the GIL inside its kernels, so scoring costs almost no wall time. The worker is
    # the only writer of the cache and of samples.jsonl until `wait_scores` returns; it commits
    # each batch's answers before scoring them, so every finished batch is still one commit.
    scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jamii-score") if OVERLAP_SCORING else None
    scoring_jobs: list = []

    def score_and_write(ready: list, requests: list[dict]) -> None:
        commit(requests)  # the batch's answers first: a run killed now resumes after them
        finish(ready)
        flush_scores()

    def score_soon(ready: list, requests: list[dict]) -> None:
        if scoring is None:
            score_and_write(ready, requests)
            return
        for job in [j for j in scoring_jobs if j.done()]:
            job.result()  # a scoring error stops the run at once
            scoring_jobs.remove(job)
        scoring_jobs.append(scoring.submit(score_and_write, ready, requests))

    def wait_scores() -> None:
        while scoring_jobs:
            scoring_jobs.pop(0).result()

    try:
        # 1. the model's answers: cached first, then computed in batches as they finish
        pending = {"generate": [], "transcribe": []}
        known_scores.update(cache.get_scores([score_key(i, found[k]) for i, k in enumerate(keys) if k in found]))
        ready = []
        for i, (t, k) in enumerate(zip(tasks, keys)):
            if k in found:
                answers[i] = found[k]
                if not (judged and t.item["kind"] == "contextual"):
                    ready.append((i, found[k], True, None))
            else:
                pending[t.task].append(i)
        finish(ready)
        bar.update(len(tasks) - len(pending["generate"]) - len(pending["transcribe"]))
        flush_scores()
        for task_name, idx in pending.items():
            if not idx:
                continue
            if task_name == "generate":
                stream = backend.generate([tasks[i].prompt for i in idx], gen)
            else:
                stream = backend.transcribe([tasks[i].item["audio"]["bytes"] for i in idx])
            params_text = json.dumps(gen_params if task_name == "generate" else {})
            for batch in stream:
                rows = [{"key": keys[idx[j]], "model": model_info["spec"], "revision": model_info.get("revision"),
                         "task": task_name, "item_id": tasks[idx[j]].id,
                         "item_version": tasks[idx[j]].item.get("version"), "params": params_text,
                         "output": text} for j, text in batch]
                ready = []
                for j, text in batch:
                    i = idx[j]
                    answers[i] = text
                    computed += 1
                    if not (judged and tasks[i].item["kind"] == "contextual"):
                        ready.append((i, text, False, None))
                score_soon(ready, rows)
                bar.update(len(batch))
        wait_scores()

        # 2. the judge's grades of contextual answers
        if judged:
            ctx = [i for i, t in enumerate(tasks) if t.item["kind"] == "contextual"]
            jprompts = {i: judge_prompt(tasks[i].item, answers[i]) for i in ctx}
            jparams = JUDGE_PARAMS.as_dict()
            jkeys = {i: cache_key(judge_info, "judge", tasks[i].id, tasks[i].item.get("version"),
                                  jprompts[i], jparams) for i in ctx}
            jfound = cache.get_many(list(jkeys.values()))

            def judged_sample(i: int, raw: str, cached: bool) -> None:
                parsed = parse_judgement(raw, tasks[i].item)
                judgement = {"parsed": parsed is not None, "raw": raw, "model": judge_info["spec"],
                             **(parsed or {"scores": None, "safety_flag": None})}
                finish([(i, answers[i], cached, judgement)])
                bar.update(1)

            todo = []
            known_scores.update(cache.get_scores([score_key(i, answers[i]) for i in ctx]))
            for i in ctx:
                if jkeys[i] in jfound:
                    judged_sample(i, jfound[jkeys[i]], True)
                else:
                    todo.append(i)
            flush_scores()
            if todo:
                for batch in judge_backend.generate([jprompts[i] for i in todo], JUDGE_PARAMS):
                    commit([{"key": jkeys[todo[j]], "model": judge_info["spec"],
                             "revision": judge_info.get("revision"), "task": "judge", "item_id": tasks[todo[j]].id,
                             "item_version": tasks[todo[j]].item.get("version"), "params": json.dumps(jparams),
                             "output": raw} for j, raw in batch])
                    for j, raw in batch:
                        computed += 1
                        judged_sample(todo[j], raw, False)
                    flush_scores()

        # 3. the summary (itself cached: the same per-sample statistics give the same summary)
        done = [s for s in stats if s is not None]
        metrics = list(metric_names)
        for s in done:
            metrics += [m for m in s.rows if m.startswith("judge:") and m not in metrics]
        skey = summary_key(done, metrics, n_bootstrap, seed)
        summary = cache.get_summary(skey)
        if summary is None:
            scorers = {m: scorer_for(m) for m in metrics}
            summary = summarise(done, scorers, n_bootstrap=n_bootstrap, seed=seed, unspaced=unspaced_script)
            cache.put_summary(skey, summary)
    finally:
        if scoring is not None:
            scoring.shutdown(wait=True)
        bar.close()
        samples_file.close()
        cache.close()

    failures = sum(1 for s in done if s.judge_failed)
    judged_n = sum(1 for s in done if s.judge_failed is not None)
    seconds = time.perf_counter() - started
    summary = {
        "model": model_info,
        "dataset": config["dataset"],
        "n_samples": len(done),
        "signatures": signatures,
        **summary,
        "judge": None if not judged else {
            "model": judge_info, "judged": judged_n, "parse_failures": failures,
            "parse_failure_rate": failures / judged_n if judged_n else 0.0,
        },
        "run": {"computed": computed, "cached": len(tasks) - len(set(pending["generate"]) | set(pending["transcribe"])),
                "seconds": seconds, "items_per_second": len(tasks) / seconds if seconds else None,
                "batch_size": getattr(backend, "largest_batch", None) or None},
    }
    for who, b in (("model", backend), ("judge", judge_backend)):
        if getattr(b, "truncated", 0):
            summary["warnings"].append(
                f"{who}: {b.truncated} prompts were longer than the model's context and lost their start"
            )
    if judged and failures:
        summary["warnings"].append(
            f"judge: {failures} of {judged_n} outputs could not be parsed; they are counted here and "
            "left out of the judge scores (see judge.raw in samples.jsonl)"
        )
    rating = [
        {"item_id": t.id, "item_version": t.item.get("version"), "model_id": model_info["spec"],
         "model_revision": model_info.get("revision"), "answer": answers[i],
         "language": t.item["language"], "dialect": t.item.get("dialect"), "domain": t.item.get("domain"),
         "question": t.item.get("question"), "dataset": release.tag}
        for i, t in enumerate(tasks) if t.item["kind"] == "contextual" and i in answers
    ]
    if rating:
        tmp = out / "answers_for_rating.jsonl.tmp"
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rating), encoding="utf-8")
        os.replace(tmp, out / "answers_for_rating.jsonl")
    config |= {"status": "complete", "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "metric_labels": {m: LABELS.get(m, m) for m in metrics}}
    _write_json(out / "config.json", config)
    _write_json(out / "summary.json", summary)
    return Results(out=out, summary=summary, computed=computed, cached=summary["run"]["cached"], seconds=seconds)
