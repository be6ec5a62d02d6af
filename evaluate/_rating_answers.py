"""Reading the answers of `jamii evaluate` results folders for the community rating queue.

    rows, dataset = read_rating_answers(["results/tiny", "results/small"])
    store.queue_rating_tasks(campaign_id, rows, mode="both", actor_id=OPERATOR)

Each folder holds `answers_for_rating.jsonl` (one answer to a contextual item per line, see
`_runner.py`, step `write`) and `config.json` with the dataset block. Answers are only compared
on one dataset version, so folders on different versions are refused together, each named with
its version. A folder is read whole or not at all: one unreadable line (not JSON, a field of the
wrong type, a NUL character, a line too long to be an answer) refuses everything, naming the file
and the line, so nothing is queued from a damaged or hand-edited file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ANSWERS_FILE = "answers_for_rating.jsonl"
MAX_LINE_BYTES = 1024 * 1024
"""Longest line read: an answer the store accepts (20,000 characters) with its question fits
many times over; anything longer is not a line `jamii evaluate` wrote."""
_MAX_CONFIG_BYTES = 16 * 1024 * 1024

_TEXT, _OPTIONAL, _NUMBER = "text", "text or null", "a whole number"
FIELDS: dict[str, str] = {
    "item_id": _TEXT, "item_version": _NUMBER, "model_id": _TEXT, "answer": _TEXT,
    "dataset": _TEXT, "language": _OPTIONAL, "model_revision": _OPTIONAL, "dialect": _OPTIONAL,
    "domain": _OPTIONAL, "question": _OPTIONAL,
}
"""The fields of a line and their types; others are ignored."""
_REQUIRED = ("item_id", "item_version", "model_id", "answer", "dataset")


class RatingAnswersError(ValueError):
    """The folders cannot be queued: one message that names the folder, file and line."""


def read_rating_answers(dirs: list[str | Path]) -> tuple[list[dict[str, Any]], str]:
    """The answer rows of every folder (each with `run`: the folder's name) and the one dataset
    version they are on (`name@version`, as in evaluation signatures).

    Raises RatingAnswersError when a folder is missing, not a results folder, holds a line that
    cannot be read, or when the folders are on different dataset versions.
    """
    if not dirs:
        raise RatingAnswersError("Give at least one results folder of `jamii evaluate`.")
    folders: list[Path] = []
    for d in dirs:
        path = Path(d)
        if "\x00" in str(d):
            raise RatingAnswersError("A results folder path contains a NUL character: give the "
                                     "path as plain text.")
        if not path.is_dir():
            raise RatingAnswersError(f"No results folder at {d}: give the --out folder of a "
                                     "`jamii evaluate` run.")
        if path.resolve() not in [f.resolve() for f in folders]:
            folders.append(path)
    read = [(folder, *_read_folder(folder)) for folder in folders]
    versions = {dataset for _, _, dataset in read}
    if len(versions) > 1:
        listed = "; ".join(f"{folder} is on {dataset}" for folder, _, dataset in read)
        raise RatingAnswersError(
            f"The results folders are on different dataset versions ({listed}). Answers are "
            "compared only on the same items: queue the folders of one version at a time, or "
            "evaluate every model on the same release.")
    rows = [row for _, folder_rows, _ in read for row in folder_rows]
    return rows, versions.pop()


def _read_folder(folder: Path) -> tuple[list[dict[str, Any]], str]:
    answers = folder / ANSWERS_FILE
    if not answers.is_file():
        raise RatingAnswersError(
            f"{folder} has no {ANSWERS_FILE}: it is not the folder of a finished `jamii evaluate` "
            "run, or the release it scored has no contextual items (only their answers are rated).")
    configured = _configured_dataset(folder)
    rows: list[dict[str, Any]] = []
    with open(answers, "rb") as fh:
        lineno = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            lineno += 1
            where = f"{answers}, line {lineno}"
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise RatingAnswersError(
                    f"{where} is longer than {MAX_LINE_BYTES:,} bytes: not an answer `jamii "
                    "evaluate` wrote. Run the evaluation again rather than editing the file.")
            if not raw.strip():
                continue
            row = _parse_line(raw, where)
            dataset = configured or row["dataset"]
            if row["dataset"] != dataset:
                raise RatingAnswersError(
                    f"{where} is an answer on {row['dataset']!r}, but the folder's config.json "
                    f"says it scored {dataset!r}: answers from other runs were mixed into this "
                    "file. Queue each run's own folder.")
            configured = dataset
            rows.append({**row, "run": folder.name})
    if not rows:
        raise RatingAnswersError(f"{answers} holds no answers: run `jamii evaluate` again.")
    return rows, configured


def _parse_line(raw: bytes, where: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise RatingAnswersError(f"{where} is not UTF-8 text (byte {exc.start + 1}): "
                                 "`jamii evaluate` writes UTF-8; run it again.") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise RatingAnswersError(f"{where} nests JSON too deeply to be an answer.") from None
    except ValueError as exc:  # JSONDecodeError, and numbers over 4,300 digits
        reason = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else exc
        raise RatingAnswersError(f"{where} is not valid JSON ({reason}).") from None
    if not isinstance(data, dict):
        raise RatingAnswersError(f"{where} is not a JSON object with the answer's fields "
                                 f"({', '.join(_REQUIRED)}).")
    missing = [f for f in _REQUIRED if data.get(f) is None]
    if missing:
        raise RatingAnswersError(f"{where} has no {', '.join(missing)}.")
    for name, kind in FIELDS.items():
        value = data.get(name)
        if kind == _NUMBER:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        else:
            ok = isinstance(value, str) or (kind == _OPTIONAL and value is None)
            ok = ok and (kind == _OPTIONAL or name == "answer" or value.strip() != "")
        if not ok:
            raise RatingAnswersError(f"{where}: {name} must be {kind}, not {_shown(value)}.")
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                raise RatingAnswersError(f"{where}: {name} {problem}.")
    return {name: data.get(name) for name in FIELDS}


def _text_problem(value: str) -> str | None:
    """What makes a text unstorable: a NUL (PostgreSQL refuses it) or half of a surrogate pair
    (not encodable as UTF-8)."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (half of an escaped character pair)"
    return None


def _shown(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return "a text" if value.strip() else "an empty text"
    return f"a JSON {'array' if isinstance(value, list) else 'object'}"


def _configured_dataset(folder: Path) -> str | None:
    """`name@version` from config.json (else summary.json), or None when neither names it."""
    for name in ("config.json", "summary.json"):
        path = folder / name
        if not path.is_file():
            continue
        try:
            if path.stat().st_size > _MAX_CONFIG_BYTES:
                raise ValueError("the file is too large")
            block = json.loads(path.read_text(encoding="utf-8")).get("dataset")
        except (OSError, ValueError, RecursionError, AttributeError) as exc:
            raise RatingAnswersError(f"{path} cannot be read ({exc}): it is not the file "
                                     "`jamii evaluate` wrote.") from None
        if isinstance(block, dict) and isinstance(block.get("name"), str) \
                and isinstance(block.get("version"), str):
            tag = f"{block['name']}@{block['version']}"
            problem = _text_problem(tag)
            if problem:
                raise RatingAnswersError(f"{path}: the dataset's name {problem}.")
            return tag
    return None


__all__ = ["ANSWERS_FILE", "RatingAnswersError", "read_rating_answers"]
