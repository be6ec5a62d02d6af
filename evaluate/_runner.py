"""`evaluate()`: one model on one release, with cache and resume, written to a results folder.

    DIR/config.json               model id and revision, generation parameters, dataset, libraries
    DIR/samples.jsonl             one line per sample, appended as each finishes
    DIR/summary.json              overall and per language/dialect/domain/kind, 95% bootstrap CIs
    DIR/answers_for_rating.jsonl  answers to contextual items, for the community rating queue
    DIR/cache.sqlite3             finished requests (unless `cache` points elsewhere)

Everything the user can get wrong (data, model spec, server, kinds, languages) is checked before
anything is written. Each finished request is committed to the cache at once, so a run killed
at any point resumes where it stopped, and a repeated run computes nothing new.

A run is a `_Run` going through named steps: plan, begin, answer, judge, summarise, write. The
plan looks every request up in the cache first, keyed by the model's revision, which is read
from its files (or its server's model list) without loading it; the model, and the judge, load
only when one of their requests misses. So a repeated run whose answers are all cached costs
what reading the cache costs: no model loads, and torch is not even imported.
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
from jamii.evaluate._backends import Backend, BackendError, GenParams, identify, load_backend, parse_spec
from jamii.evaluate._cache import Cache
from jamii.evaluate._metrics import LABELS, library_versions, sample_stats, signature
from jamii.evaluate._release import Release, ReleaseError, open_release
from jamii.evaluate._summary import (
    SampleStats,
    format_table,
    scorer_for,
    skipped_kind,
    summarise,
    summary_key,
)
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


@dataclass(frozen=True)
class RunSpec:
    """One evaluation as the user asked for it, checked: everything the steps of a `_Run` read."""

    release: Release
    tasks: list[Task]
    """One request per selected item: kinds in release order, items by id."""
    skipped: dict[str, list[str]]
    """Kinds left out because the release has no such split for them -> the splits they have."""
    out: Path
    """The results folder."""
    cache_path: Path
    model: str
    """The model spec."""
    judge: str | None
    """The judge's model spec."""
    gen: GenParams
    split: str
    languages: list[str] | None
    limit: int | None
    batch_size: int | str
    concurrency: int
    n_bootstrap: int
    seed: int
    progress: bool
    started: float
    """`time.perf_counter()` when `evaluate` was called."""


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


def _select(release: Release, scheme: str, kinds, languages, split: str,
            limit: int | None) -> tuple[list[dict], dict[str, list[str]]]:
    """The items to evaluate, and the kinds skipped because they lack `split` (-> their splits)."""
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
    # a small campaign may have put all of one kind in another split: score the kinds that have it
    skipped = {k: list(release.data_files[k]) for k in kinds if split not in release.data_files[k]}
    kinds = [k for k in kinds if k not in skipped]
    if not kinds:
        splits = sorted({s for k in skipped for s in skipped[k]})
        raise EvaluationError(
            f"the release has no {split!r} split for {' or '.join(skipped)}; choose one of: {', '.join(splits)}"
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
    return items, skipped


def _check_out(out: Path, model: str) -> None:
    """Refuse a results folder that is a file, or holds another model's or something else's files."""
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

    The model (and the judge) load only when a request of theirs is not in the cache: a
    repeated run whose answers are all cached never loads one. A kind that has no `split` in
    the release is skipped and named (summary warnings and `dataset.skipped` in config.json).

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
        items, skipped = _select(release, scheme, kinds, languages, split, limit)
    except (BackendError, ReleaseError) as exc:
        raise EvaluationError(str(exc)) from exc
    _check_out(out, model)
    spec = RunSpec(
        release=release, tasks=[task_of(item) for item in items], skipped=skipped, out=out,
        cache_path=Path(cache) if cache else out / "cache.sqlite3", model=model, judge=judge, gen=gen,
        split=split, languages=languages, limit=limit, batch_size=batch_size, concurrency=concurrency,
        n_bootstrap=n_bootstrap, seed=seed, progress=progress, started=started,
    )
    with _Run(spec, backend) as run:
        run.plan()
        run.begin()
        run.answer()
        run.judge()
        run.summarise()
        return run.write()


def _identity(info: dict) -> tuple:
    """What a cached request is keyed by, of a model's description (see `cache_key`)."""
    return info.get("spec"), info.get("revision")


class _Run:
    """One evaluation, step by step; each step reads what the ones before it left on the run.

    1. `plan`: every answer (and grade) looked up in the cache; the model and the judge load
       only when one of theirs misses. Errors here are the user's (EvaluationError), and
       nothing has been written yet.
    2. `begin`: the results folder, config.json marked running, samples.jsonl opened.
    3. `answer`: cached answers first, then the model's in batches, scored as they finish.
    4. `judge`: the judge's grades of contextual answers, cached or computed.
    5. `summarise`: the summary of every sample (itself cached).
    6. `write`: summary.json, answers_for_rating.jsonl and the finished config.json.

    Used as a context manager: leaving it closes the files, the cache and the backends it loaded.
    """

    def __init__(self, spec: RunSpec, backend: Backend | None):
        self.spec = spec
        self.backend = backend
        """The model's backend: the caller's, or loaded by `plan` when an answer misses."""
        self.own_backend = backend is None
        self.judge_backend: Backend | None = None
        self.cache: Cache | None = None
        self.model_info: dict = {}
        self.judge_info: dict | None = None
        tasks = spec.tasks
        self.contextual = [i for i, t in enumerate(tasks) if t.item["kind"] == "contextual"]
        self.judged = bool(spec.judge and self.contextual)
        self.gen_params = spec.gen.as_dict()
        self.keys: list[str] = []
        self.found: dict[str, str] = {}
        self.jkeys: dict[int, str] = {}
        """Cache keys of the judge's requests by task index (once every contextual answer is known)."""
        self.jfound: dict[str, str] = {}
        self.answers: dict[int, str] = {}
        self.stats: list[SampleStats | None] = [None] * len(tasks)
        self.pending: dict[str, list[int]] = {"generate": [], "transcribe": []}
        self.computed = 0
        self.scoring_version = json.dumps(library_versions(), sort_keys=True)
        self.known_scores: dict[str, str] = {}
        self.new_scores: list[tuple[str, str]] = []
        self.samples_file = None
        self.bar = None
        # Scoring batch k runs in a worker thread while the model generates batch k+1: torch
        # releases the GIL inside its kernels, so scoring costs almost no wall time. The worker
        # is the only writer of the cache and of samples.jsonl until `wait_scores` returns; it
        # commits each batch's answers before scoring them, so every finished batch is still
        # one commit.
        self.scoring: ThreadPoolExecutor | None = None
        self.scoring_jobs: list = []
        self.config: dict = {}
        self.signatures: dict[str, str] = {}
        self.metric_names: list[str] = []
        self.summary: dict = {}
        self.done: list[SampleStats] = []
        self.metrics: list[str] = []
        self.warmed = "sacrebleu" in sys.modules

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc) -> None:
        self._close_io()
        if self.own_backend and self.backend is not None:
            self.backend.close()
        if self.judge_backend is not None:
            self.judge_backend.close()

    def _close_io(self) -> None:
        if self.scoring is not None:
            self.scoring.shutdown(wait=True)
            self.scoring = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.samples_file is not None:
            self.samples_file.close()
            self.samples_file = None
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    # -- 1. plan ------------------------------------------------------------------------------

    def plan(self) -> None:
        """Look every request up in the cache; load the model and the judge only on a miss."""
        if self.spec.cache_path.exists():
            self.cache = Cache(self.spec.cache_path)
        try:
            self.model_info = self._plan_model()
            if self.judged:
                self.judge_info = self._plan_judge()
        except BackendError as exc:
            raise EvaluationError(str(exc)) from exc

    def _plan_model(self) -> dict:
        if self.backend is not None:
            info = self.backend.describe()
            self._look_up_answers(info)
            if not all(k in self.found for k in self.keys):
                self._warm_up()
            return info
        info = identify(self.spec.model)
        self._look_up_answers(info)
        described = self._described(info) if all(k in self.found for k in self.keys) else None
        if described is not None:
            return described
        self.backend = self._load(self.spec.model)
        loaded = self.backend.describe()
        if _identity(loaded) != _identity(info):  # e.g. a Hub model fetched just now
            self._look_up_answers(loaded)
        return loaded

    def _plan_judge(self) -> dict:
        info = identify(self.spec.judge)
        described = None
        if all(self.keys[i] in self.found for i in self.contextual):
            self._look_up_grades(info, {i: self.found[self.keys[i]] for i in self.contextual})
            if all(k in self.jfound for k in self.jkeys.values()):
                described = self._described(info)
        if described is not None:
            return described
        self.judge_backend = self._load(self.spec.judge)
        loaded = self.judge_backend.describe()
        if self.jkeys and _identity(loaded) != _identity(info):
            self._look_up_grades(loaded, {i: self.found[self.keys[i]] for i in self.contextual})
        return loaded

    def _look_up_answers(self, info: dict) -> None:
        self.keys = [cache_key(info, t.task, t.id, t.item.get("version"), t.input_for_key,
                               self.gen_params if t.task == "generate" else {}) for t in self.spec.tasks]
        self.found = self.cache.get_many(self.keys) if self.cache is not None else {}

    def _look_up_grades(self, info: dict, answers: dict[int, str]) -> None:
        tasks, jparams = self.spec.tasks, JUDGE_PARAMS.as_dict()
        self.jkeys = {i: cache_key(info, "judge", tasks[i].id, tasks[i].item.get("version"),
                                   judge_prompt(tasks[i].item, answers[i]), jparams) for i in self.contextual}
        self.jfound = self.cache.get_many(list(self.jkeys.values())) if self.cache is not None else {}

    def _description_key(self, info: dict) -> str:
        """The key of a model's stored description: its identity and the backend settings."""
        blob = json.dumps([*_identity(info), str(self.spec.batch_size), self.spec.concurrency])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _described(self, info: dict) -> dict | None:
        """The description a loaded backend gave of this model with these settings, when stored."""
        return self.cache.get_model(self._description_key(info)) if self.cache is not None else None

    def _load(self, model: str) -> Backend:
        self._warm_up()
        return load_backend(model, batch_size=self.spec.batch_size, concurrency=self.spec.concurrency)

    def _warm_up(self) -> None:
        """Import the scoring libraries in a thread, once, when some answer will be scored."""
        if not self.warmed:
            self.warmed = True
            threading.Thread(target=_warm_up, name="jamii-warm-up", daemon=True).start()

    # -- 2. begin -----------------------------------------------------------------------------

    def begin(self) -> None:
        """Create the results folder and write config.json marked running; open samples.jsonl."""
        from tqdm.auto import tqdm

        s, tasks = self.spec, self.spec.tasks
        s.out.mkdir(parents=True, exist_ok=True)
        for stale in ("summary.json", "answers_for_rating.jsonl"):
            (s.out / stale).unlink(missing_ok=True)
        self.metric_names = sorted({m for t in tasks for m in METRICS_OF_TASK[t.task]},
                                   key=["chrf", "bleu", "exact_match", "wer", "cer"].index)
        model_tag = f"{self.model_info['spec']}@{self.model_info.get('revision') or 'unknown'}"
        self.signatures = {m: signature(m, dataset=s.release.tag, model=model_tag)[0] for m in self.metric_names}
        release = s.release
        self.config = {
            "status": "running",
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": self.model_info,
            "judge": self.judge_info,
            "generation": self.gen_params,
            "judge_generation": JUDGE_PARAMS.as_dict() if self.judge_info else None,
            "dataset": {"source": release.source, "name": release.name, "version": release.version,
                        "hub_revision": release.hub_revision, "split": s.split,
                        "kinds": sorted({t.item["kind"] for t in tasks}, key=ITEM_KINDS.index),
                        "languages": s.languages, "limit": s.limit, "items": len(tasks),
                        **({"skipped": s.skipped} if s.skipped else {})},
            "metrics": self.signatures,
            "libraries": _versions(),
            "command": sys.argv if sys.argv and sys.argv[0].endswith("jamii") else None,
        }
        _write_json(s.out / "config.json", self.config)
        if self.cache is None:
            self.cache = Cache(s.cache_path)
        # what a later run with every answer cached says of the model, without loading it
        for backend, info in ((self.backend, self.model_info), (self.judge_backend, self.judge_info)):
            if backend is not None:
                self.cache.put_model(self._description_key(info), info)
        self.samples_file = (s.out / "samples.jsonl").open("w", encoding="utf-8")
        self.bar = tqdm(total=len(tasks) + (len(self.contextual) if self.judged else 0),
                        desc=f"evaluate {self.model_info['id']}", unit="item", disable=not s.progress,
                        dynamic_ncols=True, smoothing=0.1)
        if OVERLAP_SCORING:
            self.scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jamii-score")

    # -- scoring and writing finished samples (shared by answer and judge) ---------------------

    def score_key(self, i: int, prediction: str) -> str:
        blob = json.dumps([self.keys[i], prediction, self.spec.tasks[i].references, self.scoring_version],
                          ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def finish(self, done: list[tuple[int, str, bool, dict | None]]) -> None:
        """Score finished samples (index, prediction, cached, judgement) and write them out."""
        tasks = self.spec.tasks
        skeys = [self.score_key(i, p) for i, p, _, _ in done]
        results: dict[int, tuple[dict, dict]] = {}
        for n, skey in enumerate(skeys):
            if skey in self.known_scores:
                payload = json.loads(self.known_scores[skey])
                results[n] = (payload["scores"], {m: np.array(r) for m, r in payload["rows"].items()})
        for task_name in ("generate", "transcribe"):
            todo = [n for n, (i, *_rest) in enumerate(done) if n not in results and tasks[i].task == task_name]
            scored = _score_samples([tasks[done[n][0]] for n in todo], [done[n][1] for n in todo])
            for n, (scores, rows) in zip(todo, scored):
                results[n] = (scores, rows)
                self.new_scores.append((skeys[n], json.dumps(
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
            self.stats[i] = s
            self.samples_file.write(json.dumps(_sample_record(task, prediction, scores, judgement, cached),
                                               ensure_ascii=False) + "\n")

    def flush_scores(self) -> None:
        if self.new_scores:
            self.cache.put_scores(self.new_scores)
            self.new_scores.clear()
        self.samples_file.flush()

    def score_and_write(self, ready: list, requests: list[dict]) -> None:
        self.cache.put_many(requests)  # the batch's answers first: a run killed now resumes after them
        self.finish(ready)
        self.flush_scores()

    def score_soon(self, ready: list, requests: list[dict]) -> None:
        if self.scoring is None:
            self.score_and_write(ready, requests)
            return
        for job in [j for j in self.scoring_jobs if j.done()]:
            job.result()  # a scoring error stops the run at once
            self.scoring_jobs.remove(job)
        self.scoring_jobs.append(self.scoring.submit(self.score_and_write, ready, requests))

    def wait_scores(self) -> None:
        while self.scoring_jobs:
            self.scoring_jobs.pop(0).result()

    # -- 3. answer ----------------------------------------------------------------------------

    def answer(self) -> None:
        """The model's answers: cached ones first, then computed in batches as they finish."""
        tasks, keys, found, info = self.spec.tasks, self.keys, self.found, self.model_info
        self.known_scores.update(self.cache.get_scores(
            [self.score_key(i, found[k]) for i, k in enumerate(keys) if k in found]))
        ready = []
        for i, (t, k) in enumerate(zip(tasks, keys)):
            if k in found:
                self.answers[i] = found[k]
                if not (self.judged and t.item["kind"] == "contextual"):
                    ready.append((i, found[k], True, None))
            else:
                self.pending[t.task].append(i)
        self.finish(ready)
        self.bar.update(len(tasks) - len(self.pending["generate"]) - len(self.pending["transcribe"]))
        self.flush_scores()
        for task_name, idx in self.pending.items():
            if not idx:
                continue
            if task_name == "generate":
                stream = self.backend.generate([tasks[i].prompt for i in idx], self.spec.gen)
            else:
                stream = self.backend.transcribe([tasks[i].item["audio"]["bytes"] for i in idx])
            params_text = json.dumps(self.gen_params if task_name == "generate" else {})
            for batch in stream:
                rows = [{"key": keys[idx[j]], "model": info["spec"], "revision": info.get("revision"),
                         "task": task_name, "item_id": tasks[idx[j]].id,
                         "item_version": tasks[idx[j]].item.get("version"), "params": params_text,
                         "output": text} for j, text in batch]
                ready = []
                for j, text in batch:
                    i = idx[j]
                    self.answers[i] = text
                    self.computed += 1
                    if not (self.judged and tasks[i].item["kind"] == "contextual"):
                        ready.append((i, text, False, None))
                self.score_soon(ready, rows)
                self.bar.update(len(batch))
        self.wait_scores()

    # -- 4. judge -----------------------------------------------------------------------------

    def judge(self) -> None:
        """The judge's grades of contextual answers: cached ones first, then computed."""
        if not self.judged:
            return
        tasks, info, ctx = self.spec.tasks, self.judge_info, self.contextual
        if not self.jkeys:  # some answers were new: their grades could not be looked up in the plan
            self._look_up_grades(info, self.answers)
        jkeys, jfound = self.jkeys, self.jfound

        def judged_sample(i: int, raw: str, cached: bool) -> None:
            parsed = parse_judgement(raw, tasks[i].item)
            judgement = {"parsed": parsed is not None, "raw": raw, "model": info["spec"],
                         **(parsed or {"scores": None, "safety_flag": None})}
            self.finish([(i, self.answers[i], cached, judgement)])
            self.bar.update(1)

        todo = []
        self.known_scores.update(self.cache.get_scores([self.score_key(i, self.answers[i]) for i in ctx]))
        for i in ctx:
            if jkeys[i] in jfound:
                judged_sample(i, jfound[jkeys[i]], True)
            else:
                todo.append(i)
        self.flush_scores()
        if not todo:
            return
        jparams = json.dumps(JUDGE_PARAMS.as_dict())
        prompts = [judge_prompt(tasks[i].item, self.answers[i]) for i in todo]
        for batch in self.judge_backend.generate(prompts, JUDGE_PARAMS):
            self.cache.put_many([{"key": jkeys[todo[j]], "model": info["spec"], "revision": info.get("revision"),
                                  "task": "judge", "item_id": tasks[todo[j]].id,
                                  "item_version": tasks[todo[j]].item.get("version"), "params": jparams,
                                  "output": raw} for j, raw in batch])
            for j, raw in batch:
                self.computed += 1
                judged_sample(todo[j], raw, False)
            self.flush_scores()

    # -- 5. summarise -------------------------------------------------------------------------

    def summarise(self) -> None:
        """The summary over every sample; the same per-sample statistics give the cached one."""
        s = self.spec
        self.done = [st for st in self.stats if st is not None]
        self.metrics = list(self.metric_names)
        for st in self.done:
            self.metrics += [m for m in st.rows if m.startswith("judge:") and m not in self.metrics]
        skey = summary_key(self.done, self.metrics, s.n_bootstrap, s.seed)
        summary = self.cache.get_summary(skey)
        if summary is None:
            scorers = {m: scorer_for(m) for m in self.metrics}
            summary = summarise(self.done, scorers, n_bootstrap=s.n_bootstrap, seed=s.seed, unspaced=unspaced_script)
            self.cache.put_summary(skey, summary)
        self.summary = summary

    # -- 6. write -----------------------------------------------------------------------------

    def write(self) -> Results:
        """Write summary.json, answers_for_rating.jsonl and the finished config.json."""
        self._close_io()
        s, tasks, done, info = self.spec, self.spec.tasks, self.done, self.model_info
        failures = sum(1 for st in done if st.judge_failed)
        judged_n = sum(1 for st in done if st.judge_failed is not None)
        seconds = time.perf_counter() - s.started
        cached = len(tasks) - len(set(self.pending["generate"]) | set(self.pending["transcribe"]))
        summary = {
            "model": info,
            "dataset": self.config["dataset"],
            "n_samples": len(done),
            "signatures": self.signatures,
            **self.summary,
            "judge": None if not self.judged else {
                "model": self.judge_info, "judged": judged_n, "parse_failures": failures,
                "parse_failure_rate": failures / judged_n if judged_n else 0.0,
            },
            "run": {"computed": self.computed, "cached": cached,
                    "seconds": seconds, "items_per_second": len(tasks) / seconds if seconds else None,
                    "batch_size": getattr(self.backend, "largest_batch", None) or None},
        }
        for who, b in (("model", self.backend), ("judge", self.judge_backend)):
            if getattr(b, "truncated", 0):
                summary["warnings"].append(
                    f"{who}: {b.truncated} prompts were longer than the model's context and lost their start"
                )
        if self.judged and failures:
            summary["warnings"].append(
                f"judge: {failures} of {judged_n} outputs could not be parsed; they are counted here and "
                "left out of the judge scores (see judge.raw in samples.jsonl)"
            )
        for kind, splits in s.skipped.items():
            summary["warnings"].append(skipped_kind(kind, s.split, splits))
        rating = [
            {"item_id": t.id, "item_version": t.item.get("version"), "model_id": info["spec"],
             "model_revision": info.get("revision"), "answer": self.answers[i],
             "language": t.item["language"], "dialect": t.item.get("dialect"), "domain": t.item.get("domain"),
             "question": t.item.get("question"), "dataset": s.release.tag}
            for i, t in enumerate(tasks) if t.item["kind"] == "contextual" and i in self.answers
        ]
        if rating:
            tmp = s.out / "answers_for_rating.jsonl.tmp"
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rating), encoding="utf-8")
            os.replace(tmp, s.out / "answers_for_rating.jsonl")
        self.config |= {"status": "complete", "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "metric_labels": {m: LABELS.get(m, m) for m in self.metrics}}
        _write_json(s.out / "config.json", self.config)
        _write_json(s.out / "summary.json", summary)
        return Results(out=s.out, summary=summary, computed=self.computed, cached=cached, seconds=seconds)
