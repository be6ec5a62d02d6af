"""Export one `jamii evaluate` results folder in the Hugging Face Hub's formats for eval results.

    OUT/.eval_results/<dataset>-<metric>.yaml   one file per metric of summary.json's `overall`
    OUT/model-index.yaml                        the legacy `model-index` block of a model card

Formats followed:

- `.eval_results/*.yaml`: the Hub documentation "Evaluation Results"
  (https://huggingface.co/docs/hub/eval-results, hub-docs `docs/hub/eval-results.md`) and its
  specification (hub-docs `eval_results.yaml`): each file is a YAML list of entries
  `{dataset: {id, task_id, revision}, value, date, source: {url, name}, notes}`, of which
  `dataset.id`, `dataset.task_id` and `value` are required. The entries are built with
  `huggingface_hub.EvalResultEntry` and `eval_result_entries_to_yaml` (huggingface_hub 2.x,
  `_eval_results.py`), the library's own serialiser of that format.
- `model-index`: built by `huggingface_hub.ModelCardData(model_name=..., eval_results=[EvalResult])`
  (`repocard_data.eval_results_to_model_index`), never by hand.

An entry holds a single value and has no field naming its metric, and the Hub's guidance is one
file per variant of a score. So every metric gets its own file, and its `task_id` is the metric's
name (`chrf`, `bleu`, `exact_match`, `wer`, `cer`, `judge_<criterion>`): the task ids the
dataset's `eval.yaml` declares when it registers as a benchmark. The metric's signature (metric,
parameters, library versions, dataset and model) goes into `notes`, the field the format has for
the evaluation's setup, and into the model-index metric's `args`.

Everything is written with `yaml.safe_dump` of plain data, so a model id holding newlines or YAML
tags (`!!python/object`) stays a quoted string, and into a temporary folder renamed into place
at the end: bad input leaves nothing half-written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from jamii.evaluate._export_inspect import check_out, write_folder
from jamii.evaluate._metrics import LABELS

GENERATION_TASK = "text-generation"
SPEECH_TASK = "automatic-speech-recognition"
MODEL_INDEX_FILE = "model-index.yaml"
EVAL_RESULTS_DIR = ".eval_results"


class ResultsError(ValueError):
    """A results folder cannot be exported; the message says what to fix. Nothing was written."""


@dataclass
class HfExport:
    """What `export_hf_eval_results` wrote."""

    out: Path
    """The folder holding `.eval_results/` and `model-index.yaml`."""
    files: list[Path]
    """The `.eval_results/*.yaml` files, one per metric."""
    model_index: Path
    """The model card front matter block (`model-index:`)."""
    dataset_repo: str
    revision: str | None
    """The dataset revision the entries name (the Hub commit when known, else the version tag)."""
    skipped: list[str] = field(default_factory=list)
    """Metrics left out, with the reason (a value that is not a number)."""


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}; {what}") from exc
    if not isinstance(data, dict):
        raise ResultsError(f"{path} does not hold a JSON object; {what}")
    return data


def load_results(folder: str | Path) -> tuple[dict, dict]:
    """config.json and summary.json of a finished `jamii evaluate` run in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"no results folder at {folder}; pass the --out folder of `jamii evaluate`")
    if not (folder / "config.json").is_file():
        raise ResultsError(
            f"{folder} is not a jamii results folder (it has no config.json); pass the --out folder "
            "of `jamii evaluate`"
        )
    rerun = f"run the same `jamii evaluate ... --out {folder}` again to rewrite it"
    config = _read_json(folder / "config.json", rerun)
    if config.get("status") != "complete" or not (folder / "summary.json").is_file():
        raise ResultsError(
            f"the run in {folder} has not finished (status: {config.get('status') or 'unknown'}); run the "
            f"same `jamii evaluate ... --out {folder}` again: it resumes from its cache, then export"
        )
    summary = _read_json(folder / "summary.json", rerun)
    metrics = (summary.get("overall") or {}).get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise ResultsError(f"{folder}/summary.json has no overall metrics; {rerun}")
    return config, summary


def _repo_id(value: str, option: str) -> str:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError as exc:
        raise ResultsError(f"{option} {value!r} is not a Hub repo id ({exc}); write OWNER/NAME") from exc
    if value.count("/") != 1:
        raise ResultsError(f"{option} {value!r} is not a dataset repo id; write OWNER/NAME")
    return value


def dataset_repo_of(dataset: dict, given: str | None) -> str:
    """The dataset's Hub repo id: `given`, else the one the results name (a run on a Hub id)."""
    if given:
        return _repo_id(given, "--dataset-repo")
    for key in ("hub_repo", "repo_id"):
        if dataset.get(key):
            return _repo_id(str(dataset[key]), f"the results' dataset.{key}")
    # `source` is what was passed to `jamii evaluate`; it is a repo id only when it was fetched
    if dataset.get("hub_revision") and dataset.get("source"):
        return _repo_id(str(dataset["source"]), "the results' dataset.source")
    raise ResultsError(
        f"the results do not say which Hub dataset they were computed on (the release was read from "
        f"{dataset.get('source') or 'a local folder'}); pass --dataset-repo OWNER/NAME, the repo "
        "`jamii publish` uploaded that release to"
    )


def _iso_date(text: str | None) -> str | None:
    """config.json's `%Y-%m-%dT%H:%M:%S%z` time as ISO-8601 (`+00:00` offsets)."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").isoformat()
    except ValueError:
        return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "metric"


def _signature(metric: str, summary: dict, dataset_tag: str, model_tag: str) -> str:
    """The metric's signature from summary.json; judge criteria get one naming the judge."""
    known = (summary.get("signatures") or {}).get(metric)
    if known:
        return known
    if metric.startswith("judge:"):
        judge = summary.get("judge") or {}
        who = judge.get("model") or {}
        return (f"{metric}|mean of parsed grades|judge:{who.get('spec')}@{who.get('revision') or 'unknown'}"
                f"|parse_failures:{judge.get('parse_failures')}|norm:NFC|dataset:{dataset_tag}|model:{model_tag}")
    return f"{metric}|dataset:{dataset_tag}|model:{model_tag}"


def _label(metric: str, info: dict) -> str:
    if metric.startswith("judge:"):
        return f"judge {metric.split(':', 1)[1]} ({info.get('scale', '1-5')})"
    return LABELS.get(metric, metric)


def _notes(label: str, info: dict, entry: dict, signature: str) -> str:
    """What the value means and how it was computed, for the entry's `notes`."""
    parts = [f"{label}, {'higher' if info.get('higher_is_better', True) else 'lower'} is better"]
    if info.get("scale"):
        parts.append(f"scale {info['scale']}")
    parts.append(f"n={entry.get('n')}")
    ci = entry.get("ci95") or []
    if len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        parts.append(f"95% bootstrap CI [{ci[0]:.4g}, {ci[1]:.4g}]")
    return "; ".join(parts) + f"; signature: {signature}"


def export_hf_eval_results(
    results: str | Path,
    out: str | Path | None = None,
    *,
    dataset_repo: str | None = None,
    revision: str | None = None,
    model_name: str | None = None,
) -> HfExport:
    """Write `.eval_results/*.yaml` entries and a `model-index` block for one results folder.

    Args:
        results: The --out folder of a finished `jamii evaluate` run.
        out: Folder to write; default `<results>/hf-eval-results`. It must be empty, absent, or
            an earlier export (which is replaced).
        dataset_repo: The Hub dataset repo id (`OWNER/NAME`); needed when the results were
            computed on a local release folder.
        revision: The dataset's version tag; default `v<version>`, the tag `jamii publish` sets.
        model_name: The model's name in the model-index; default the model id of the results.

    Raises:
        ResultsError: not a finished results folder, no known dataset repo, `out` in use.
    """
    from huggingface_hub import EvalResult, EvalResultEntry, ModelCardData, eval_result_entries_to_yaml

    results = Path(results)
    config, summary = load_results(results)
    dataset = summary.get("dataset") or config.get("dataset") or {}
    repo = dataset_repo_of(dataset, dataset_repo)
    version = str(dataset.get("version") or "unknown")
    tag = revision or (f"v{version}" if version != "unknown" else None)
    commit = dataset.get("hub_revision")
    entry_revision = commit or tag
    model = summary.get("model") or config.get("model") or {}
    model_id = str(model_name or model.get("id") or model.get("spec") or "model")
    dataset_tag = f"{dataset.get('name')}@{version}"
    model_tag = f"{model.get('spec')}@{model.get('revision') or 'unknown'}"
    source_url = f"https://huggingface.co/datasets/{repo}" + (f"/tree/{tag}" if tag else "")
    source_name = f"jamii evaluate on {dataset.get('name') or repo} {version}"
    date = _iso_date(config.get("finished_at"))
    kinds = list(dataset.get("kinds") or [])
    task_type = SPEECH_TASK if kinds == ["speech"] else GENERATION_TASK

    out = Path(out) if out is not None else results / "hf-eval-results"
    problem = check_out(out, _is_export)
    if problem:
        raise ResultsError(f"{problem} for the export (a folder holding only an earlier export is replaced)")
    overall = summary["overall"]["metrics"]
    info_of = summary.get("metric_info") or {}
    files: dict[str, list[dict]] = {}
    card_results = []
    skipped = []
    for metric, entry in overall.items():
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            skipped.append(f"{metric}: value {value!r} is not a number")
            continue
        info = info_of.get(metric) or {}
        label = _label(metric, info)
        signature = _signature(metric, summary, dataset_tag, model_tag)
        notes = _notes(label, info, entry, signature)
        task_id = _slug(metric)
        eval_entry = EvalResultEntry(
            dataset_id=repo, task_id=task_id, value=float(value), dataset_revision=entry_revision,
            date=date, source_url=source_url, source_name=source_name, notes=notes,
        )
        files[f"{_slug(repo.split('/', 1)[1])}-{task_id}.yaml"] = eval_result_entries_to_yaml([eval_entry])
        card_results.append(EvalResult(
            task_type=task_type, task_name=f"jamii: {', '.join(kinds) or 'items'}", dataset_type=repo,
            dataset_name=f"{dataset.get('name') or repo} {version}",
            dataset_config=kinds[0] if len(kinds) == 1 else None, dataset_split=dataset.get("split"),
            dataset_revision=entry_revision, metric_type=task_id, metric_name=label,
            metric_value=float(value), metric_args={"signature": signature},
            source_name=source_name, source_url=source_url,
        ))
    if not files:
        raise ResultsError(f"no metric of {results}/summary.json has a numeric value: {'; '.join(skipped)}")
    card = ModelCardData(model_name=model_id, eval_results=card_results).to_dict()

    files_text = {f"{EVAL_RESULTS_DIR}/{name}": _dump(entries) for name, entries in files.items()}
    files_text[MODEL_INDEX_FILE] = _dump({"model-index": card["model-index"]})
    write_folder(out, files_text)
    return HfExport(
        out=out, files=[out / EVAL_RESULTS_DIR / name for name in files], model_index=out / MODEL_INDEX_FILE,
        dataset_repo=repo, revision=entry_revision, skipped=skipped,
    )


def _dump(data) -> str:
    """Plain YAML of plain data: `safe_dump` quotes any string a loader could read as a tag."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def _is_export(folder: Path) -> bool:
    """True for a folder holding only what an earlier export wrote (it may be replaced)."""
    return {p.name for p in folder.iterdir()} <= {EVAL_RESULTS_DIR, MODEL_INDEX_FILE}
