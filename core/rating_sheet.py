"""Rating sheets: open rating tasks as a CSV to print or fill in a spreadsheet, and read back.

    write_sheet(store.open_rating_tasks(campaign_id), "ratings.csv")
    sheet = read_sheet("ratings-filled.csv")          # rows for store.record_sheet_ratings
    problems = sheet.problems + check_known(sheet, modes, raters)

A sheet has one row per task: the blind task id (never a model's name), what the rater reads
(language, scenario, persona, question, answer A, answer B, the criteria with their anchors)
and what the rater fills in (pseudonym, a choice for a pair, a score per criterion for a single
answer, a safety flag, a comment). Cells that do not apply say "n/a".

Two things are done for spreadsheets:

- The file is UTF-8 with a byte-order mark. Excel opens a CSV by double click in the computer's
  legacy code page (Windows-1252 on most machines in East Africa and Europe) unless the file
  starts with a UTF-8 byte-order mark, so without it Swahili's and Yoruba's accented letters and
  all of Amharic's Ge'ez script would show as mojibake. LibreOffice, Google Sheets and Python's
  "utf-8-sig" read the mark and drop it.
- Every cell starting with =, +, -, @, a tab, a carriage return or a line feed (and their
  full-width forms) gets a leading apostrophe, as OWASP's CSV-injection advice says: the cells
  hold contributors' text and model output, and a spreadsheet would otherwise run "=HYPERLINK(...)"
  or "=cmd|..." as a formula. Reading a sheet back removes that apostrophe again.

Reading is forgiving where people are: headers in any case, comma, semicolon (Excel in French
locales) or tab between columns, a choice written "A", "jibu B", "tie", "sawa", "both bad",
"aucune"; yes/no in English, Swahili or French; scores "4", "4.0" or "4/5". It is strict where
data is: each rated row must name a known task and rater and give a valid choice or every score,
and every bad row is listed with its spreadsheet row number (the header is row 1) and task.
Rows nobody filled in are ignored.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Container, Iterable, Mapping

from jamii.core import checks
from jamii.core.importer import SourceError, _text_encoding

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""First characters a spreadsheet may take for a formula (OWASP: =, +, -, @, tab, CR; also line
feed and the full-width forms some spreadsheets fold to ASCII)."""

NOT_APPLICABLE = "n/a"
SCORE_PREFIX, SCORE_SUFFIX = "score: ", " (1-5)"

COLUMNS = {
    "task": "task", "mode": "mode (pair = choose / direct = score)", "language": "language",
    "dialect": "dialect", "scenario": "scenario", "persona": "persona", "question": "question",
    "answer_a": "answer A", "answer_b": "answer B", "criteria": "criteria (1 to 5)",
    "rater": "rater pseudonym", "choice": "choice (A / B / tie / both bad)",
    "safety": "safety flag (yes / no)", "comment": "comment",
}
"""Column key -> header as written. Score columns ("score: usefulness (1-5)") go before the
safety flag, one per criterion of the exported tasks."""

_ALIASES = {
    "task": "task", "task id": "task", "kazi": "task", "tâche": "task", "tache": "task",
    "rater pseudonym": "rater", "rater": "rater", "pseudonym": "rater", "mtathmini": "rater",
    "choice": "choice", "preference": "choice", "chaguo": "choice", "choix": "choice",
    "safety flag": "safety", "safety": "safety", "usalama": "safety", "sécurité": "safety",
    "comment": "comment", "comments": "comment", "maoni": "comment", "commentaire": "comment",
}
"""Header (lower case, without its parenthesis) -> the column it is; others are ignored."""

_TASK_ID = re.compile(r"rt-[0-9a-z]{4,40}")
_CELL_LIMIT = 1024 * 1024
_SHOWN = 40

_FILLERS = {"answer", "jibu", "réponse", "reponse", "option", "better", "is", "bora", "ni", "zaidi",
            "meilleure", "meilleur", "est", "la", "le", "the"}
_TIE = {"tie", "equal", "same", "draw", "both good", "equally good", "sawa", "sawasawa",
        "zote sawa", "zote nzuri", "égal", "egal", "égalité", "egalite", "ex aequo", "pareil"}
_BOTH_BAD = {"both bad", "bothbad", "both are bad", "neither", "none", "zote mbaya", "yote mbaya",
             "mbaya zote", "zote ni mbaya", "les deux mauvaises", "les deux sont mauvaises",
             "deux mauvaises", "aucune", "aucun"}
_YES = {"yes", "y", "ndiyo", "ndio", "oui", "o", "true", "vrai", "x", "1", "✓", "✔"}
_NO = {"no", "n", "hapana", "la", "non", "false", "faux", "0"}
_SCORE = re.compile(r"(\d{1,3})(?:[.,]0+)?(?:\s*/\s*5)?")


class SheetError(ValueError):
    """The file as a whole cannot be read as a rating sheet: one message."""


@dataclass(frozen=True)
class SheetProblem:
    row: int
    """The spreadsheet's row number: the header is row 1, the first task row 2."""
    task: str | None
    message: str

    def describe(self) -> str:
        where = f"row {self.row}" + (f" (task {self.task})" if self.task else "")
        return f"{where}: {self.message}"


@dataclass
class Sheet:
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Rated rows without problems, as `Store.record_sheet_ratings` takes them."""
    problems: list[SheetProblem] = field(default_factory=list)
    blank: int = 0
    """Rows nobody rated (no choice, score, comment or safety flag): ignored."""
    criteria: list[str] = field(default_factory=list)
    """Criteria of the sheet's score columns."""


# --------------------------------------------------------------------------- cells


def neutralise(cell: Any) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would read a formula.
    A text that already starts with apostrophes before such a character gets one more, so that
    `restore` gives every text back exactly."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def restore(cell: str) -> str:
    """Undo `neutralise`: one apostrophe before (apostrophes and) a formula character goes,
    any other stays."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _shown(value: str) -> str:
    """A cell as a message quotes it: short, and with control and direction characters escaped."""
    return repr(value[:_SHOWN]) + ("..." if len(value) > _SHOWN else "")


def _words(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).casefold()
    return " ".join(re.sub(r"[\s_\-./,;:!?()'\"]+", " ", text).split())


def parse_choice(value: str) -> str | None:
    """'a', 'b', 'tie' or 'both_bad'; None when blank or n/a. Raises ValueError (the message)."""
    words = _words(value)
    if words in ("", "n a", "na"):
        return None
    if words in _TIE:
        return "tie"
    if words in _BOTH_BAD:
        return "both_bad"
    kept = [w for w in words.split() if w not in _FILLERS]
    if kept in (["a"], ["b"]):
        return kept[0]
    raise ValueError(f"the choice {_shown(value)} is not A, B, tie or both bad: write A or B for "
                     "the better answer, tie when they are as good, both bad when neither helps.")


def parse_yes_no(value: str) -> bool | None:
    """True for yes, False for no, None when blank. Raises ValueError (the message)."""
    words = _words(value)
    if words in ("", "n a", "na"):
        return None
    if words in _YES or value.strip() in _YES:
        return True
    if words in _NO:
        return False
    raise ValueError(f"the safety flag {_shown(value)} is not yes or no (ndiyo/hapana, "
                     "oui/non): write yes when an answer could harm someone, else leave it blank.")


def parse_score(criterion: str, value: str) -> int | None:
    """A whole number from 1 to 5; None when blank or n/a. Raises ValueError (the message)."""
    text = unicodedata.normalize("NFKC", value).strip()
    if _words(text) in ("", "n a", "na"):
        return None
    found = _SCORE.fullmatch(text)
    if found and 1 <= int(found.group(1)) <= 5:
        return int(found.group(1))
    raise ValueError(f"the score for {criterion} {_shown(value)} is not a whole number from "
                     "1 to 5.")


# --------------------------------------------------------------------------- writing


def _criteria_text(rubric: list[Any]) -> str:
    lines = []
    for criterion in rubric or []:
        if not isinstance(criterion, dict) or not criterion.get("name"):
            continue
        anchors = [str(a) for a in criterion.get("anchors") or []]
        scale = " / ".join(f"{n} = {a}" for n, a in enumerate(anchors, start=1))
        lines.append(f"{criterion['name']}: {scale}" if scale else str(criterion["name"]))
    return "\n".join(lines)


def sheet_table(tasks: Iterable[Any]) -> list[list[str]]:
    """The header and one row per task, every cell neutralised. `tasks` are the store's
    `RatingTaskView`s: they carry no model names, so neither does the sheet."""
    tasks = list(tasks)
    criteria: list[str] = []
    for task in tasks:
        if task.mode != "pair":
            for c in task.rubric or []:
                name = str(c.get("name")) if isinstance(c, dict) and c.get("name") else None
                if name and name not in criteria:
                    criteria.append(name)
    keys = list(COLUMNS)
    header = [COLUMNS[k] for k in keys[:-2]] + [f"{SCORE_PREFIX}{c}{SCORE_SUFFIX}" for c in criteria] \
        + [COLUMNS[k] for k in keys[-2:]]
    table = [header]
    for task in tasks:
        pair = task.mode == "pair"
        own = [str(c.get("name")) for c in task.rubric or [] if isinstance(c, dict)]
        table.append([
            task.public_id, task.mode, task.language, task.dialect or "", task.scenario,
            task.persona, task.question, task.answer_a, task.answer_b if pair else NOT_APPLICABLE,
            _criteria_text(task.rubric) if not pair else NOT_APPLICABLE, "",
            "" if pair else NOT_APPLICABLE,
            *("" if not pair and c in own else NOT_APPLICABLE for c in criteria), "", "",
        ])
    return [[neutralise(cell) for cell in row] for row in table]


def write_sheet(tasks: Iterable[Any], path: str | Path) -> int:
    """Write the sheet as UTF-8 CSV with a byte-order mark (see the module docstring), in one
    step (a half-written sheet never replaces a good one). Returns the number of tasks."""
    path = Path(path)
    table = sheet_table(tasks)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(table)
    os.replace(tmp, path)
    return len(table) - 1


# --------------------------------------------------------------------------- reading


def _records(path: Path, encoding: str, delimiter: str):
    """(spreadsheet row, values or None, csv error) for every record, blank ones included."""
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        row = 0
        while True:
            row += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield row, None, str(exc)
                continue
            yield row, values, None


def _header_keys(header: list[str]) -> dict[str, int | tuple[str, int]]:
    found: dict[str, Any] = {}
    for at, cell in enumerate(header):
        name = restore(cell.strip())
        if name.casefold().startswith(SCORE_PREFIX.strip()):
            criterion = name[len(SCORE_PREFIX.strip()):].strip()
            criterion = criterion.removesuffix(SCORE_SUFFIX.strip()).strip()
            key = f"score:{criterion}"
        else:
            key = _ALIASES.get(_words(re.sub(r"\s*\([^()]*\)\s*$", "", name)))
        if key is None:
            continue
        if key in found:
            raise SheetError(f"The sheet has two '{name}' columns ({found[key] + 1} and {at + 1}): "
                             "delete one; jamii cannot tell which one you mean.")
        found[key] = at
    return found


def _open(path: Path) -> tuple[str, str, list[str]]:
    """(encoding, delimiter, header) of the sheet: the delimiter is the one whose first line
    names a task column."""
    if not path.is_file():
        raise SheetError(f"No file at {path}: check the path.")
    try:
        encoding = _text_encoding(path)
    except SourceError as exc:
        raise SheetError(str(exc)) from None
    for delimiter in (",", ";", "\t"):
        first = next(_records(path, encoding, delimiter), None)
        if first is None:
            raise SheetError(f"{path.name} is empty: export a sheet with `jamii ratings export`.")
        _, header, error = first
        if error is None and "task" in _header_keys(header):
            return encoding, delimiter, header
    raise SheetError(
        f"{path.name} has no 'task' column in its first line: it is not a rating sheet exported "
        "by `jamii ratings export`, or its header row was deleted. Keep the first row as exported.")


def read_sheet(path: str | Path, *, rater: str | None = None) -> Sheet:
    """Read a filled sheet: every rated row becomes a row for `Store.record_sheet_ratings`, or
    a problem naming its spreadsheet row. `rater` is the pseudonym of rows that leave it blank.
    Raises SheetError when the file as a whole is no rating sheet."""
    path = Path(path)
    csv.field_size_limit(max(csv.field_size_limit(), _CELL_LIMIT))
    encoding, delimiter, header = _open(path)
    if any("\ufffd" in h for h in header):
        raise SheetError(f"{path.name} is not UTF-8 text: save it as 'CSV UTF-8' (Excel) or "
                         "'Text CSV' with the UTF-8 character set (LibreOffice) and import it again.")
    keys = _header_keys(header)
    if "rater" not in keys and not rater:
        raise SheetError(f"{path.name} has no 'rater pseudonym' column: add it, or give the "
                         "pseudonym of whoever filled the sheet with --rater.")
    criteria = [k.removeprefix("score:") for k in keys if k.startswith("score:")]
    if "choice" not in keys and not criteria:
        raise SheetError(f"{path.name} has neither a 'choice' column nor 'score: ...' columns: "
                         "there is nothing to import. Fill the sheet `jamii ratings export` wrote.")
    sheet = Sheet(criteria=criteria)
    for row, values, error in _records(path, encoding, delimiter):
        if row == 1:
            continue
        if error is not None:
            sheet.problems.append(SheetProblem(row, None, f"the row could not be read as CSV "
                                               f"({error}): check its quotes."))
            continue
        _read_row(sheet, row, values, keys, len(header), rater)
    return sheet


def _read_row(sheet: Sheet, row: int, values: list[str], keys: Mapping[str, int], width: int,
              default_rater: str | None) -> None:
    cells = {k: restore(values[at]) if at < len(values) else "" for k, at in keys.items()}
    task = cells.get("task", "").strip().casefold()
    problems: list[str] = []

    def label(name: str, cell: str) -> str | None:
        found = [p.message for p in checks.check_label(name, cell) if p.blocking]
        problems.extend(found)
        return None if found else cell

    choice = safety = None
    raw_choice = label("choice", cells.get("choice", ""))
    if raw_choice is not None:
        try:
            choice = parse_choice(raw_choice)
        except ValueError as exc:
            problems.append(str(exc))
    scores: dict[str, int] = {}
    unscored = []
    for criterion in sheet.criteria:
        cell = label(f"score for {criterion}", cells[f"score:{criterion}"])
        try:
            value = parse_score(criterion, cell) if cell is not None else None
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if value is not None:
            scores[criterion] = value
        elif cell is not None and not cell.strip():  # the export writes n/a where none applies
            unscored.append(criterion)
    raw_safety = label("safety flag", cells.get("safety", ""))
    try:
        safety = parse_yes_no(raw_safety) if raw_safety is not None else None
    except ValueError as exc:
        problems.append(str(exc))
    comment = cells.get("comment", "")
    problems += [p.message for p in checks.check_text("comment", comment, required=False)
                 if p.blocking]
    rated = problems or choice or scores or safety or comment.strip()
    if not rated:
        sheet.blank += 1
        return
    extra = [v for v in values[width:] if v.strip()]
    if extra:
        problems.append(f"the row has {len(extra)} value(s) right of the last column: move "
                        "them into the comment column or delete them.")
    if not task:
        problems.append("the row is rated but has no task id: keep the task column as exported.")
    elif label("task", task) is not None and not _TASK_ID.fullmatch(task):
        problems.append(f"{_shown(task)} is not a task id of a rating sheet (they look like "
                        "rt-3f9a1c0b2e): keep the task column as exported.")
    rater = cells.get("rater", "").strip() or (default_rater or "")
    if not rater:
        problems.append("the row is rated but names no rater: write the rater's pseudonym in "
                        "the rater pseudonym column (or import with --rater PSEUDONYM).")
    else:
        label("rater pseudonym", rater)
    if scores and unscored:
        problems.append(f"give a score from 1 to 5 for {', '.join(unscored)} too: a single "
                        "answer is scored on every criterion of its item.")
    if choice and scores:
        problems.append("the row has both a choice and scores: rate a pair of answers with a "
                        "choice, a single answer with a score for each criterion.")
    shown = task if task and _TASK_ID.fullmatch(task) else None
    if problems:
        sheet.problems += [SheetProblem(row, shown, p) for p in dict.fromkeys(problems)]
        return
    sheet.rows.append({"row": row, "task": task, "rater": rater, "choice": choice,
                       "scores": scores, "safety_flag": bool(safety),
                       "comment": comment.strip()})


def check_known(sheet: Sheet, modes: Mapping[str, str], raters: Container[str]) -> list[SheetProblem]:
    """Problems of rows whose task is not in `modes` (task id -> 'pair' or 'direct'), whose
    rater is not in `raters`, or that rate a pair with scores or a single answer with a choice."""
    problems = []
    for r in sheet.rows:
        mode = modes.get(r["task"])
        if mode is None:
            why = (f"no task {r['task']} in this campaign: was the sheet exported from another "
                   "campaign or another store?")
        elif r["rater"] not in raters:
            why = (f"no rater with the pseudonym {_shown(r['rater'])}: check the spelling, or add "
                   "the person first (`jamii users add`).")
        elif mode == "pair" and r["choice"] is None:
            why = ("this task is a pair of answers: write A, B, tie or both bad in the choice "
                   "column (its score columns say n/a).")
        elif mode == "direct" and not r["scores"]:
            why = ("this task is a single answer: give a score from 1 to 5 for each criterion, "
                   "not a choice.")
        else:
            continue
        problems.append(SheetProblem(r["row"], r["task"], why))
    return problems


__all__ = ["COLUMNS", "FORMULA_STARTS", "Sheet", "SheetError", "SheetProblem", "check_known",
           "neutralise", "parse_choice", "parse_score", "parse_yes_no", "read_sheet", "restore",
           "sheet_table", "write_sheet"]
