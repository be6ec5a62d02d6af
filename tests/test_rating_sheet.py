"""`jamii.core.rating_sheet`: writing rating sheets safely for spreadsheets, reading them back
forgivingly, and generated hostile cells (hypothesis) that never crash the reader and always get
a message naming their spreadsheet row. Pure: no store."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamii.core.checks import MAX_CHARS, MAX_LABEL_CHARS
from jamii.core.rating_sheet import (FORMULA_STARTS, SheetError, check_known, neutralise,
                                     parse_choice, parse_score, parse_yes_no, read_sheet, restore,
                                     sheet_table, write_sheet)
from jamii.core.ratings import PAIR_CHOICES
from test_bad_input_generated import RUN, WORD, hostile_text

RUBRIC = [{"name": "usefulness", "anchors": ["haifai", "kidogo", "wastani", "nzuri", "bora"]},
          {"name": "safety", "anchors": ["hatari", "shaka", "sawa", "salama", "salama kabisa"]}]


def task(n: int, mode: str, answer_a: str = "Mwagilia asubuhi.", answer_b: str = "Panda mapema.",
         **kw) -> SimpleNamespace:
    """What `Store.open_rating_tasks` gives: a blind view of one task."""
    return SimpleNamespace(**{
        "task_id": n, "public_id": f"rt-{n:010x}", "mode": mode, "language": "am",
        "dialect": None, "domain": "agriculture", "scenario": "ገበሬ በገበያ ይጠይቃል",
        "persona": "Mkulima", "question": "Nifanye nini?", "rubric": RUBRIC, "answer_a": answer_a,
        "answer_b": answer_b if mode == "pair" else None, "ratings": 0, **kw})


TASKS = [task(1, "pair"), task(2, "direct"), task(3, "pair"), task(4, "direct")]
FILL = {"pair": {"choice (A / B / tie / both bad)": "A"},
        "direct": {"score: usefulness (1-5)": "4", "score: safety (1-5)": "5"}}
COLUMN_OF = {"rater": "rater pseudonym", "choice": "choice (A / B / tie / both bad)",
             "score": "score: usefulness (1-5)", "safety": "safety flag (yes / no)",
             "comment": "comment", "task": "task"}


def filled(tasks=TASKS, rater="mkulima-7"):
    """The exported table of `tasks` as dicts, every row rated by `rater`."""
    header, *rows = sheet_table(tasks)
    out = []
    for t, row in zip(tasks, rows):
        cells = dict(zip(header, row))
        cells["rater pseudonym"] = rater
        cells.update(FILL[t.mode])
        out.append(cells)
    return out


def to_csv(rows, sep=",") -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=sep)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def sheet_of(tmp_path, data: bytes, name="sheet.csv", **kw):
    path = tmp_path / name
    path.write_bytes(data)
    return read_sheet(path, **kw)


# --------------------------------------------------------------------------- writing


def test_the_sheet_is_utf8_with_a_bom_and_never_names_a_model(tmp_path):
    path = tmp_path / "out.csv"
    assert write_sheet(TASKS, path) == 4
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "ገበሬ በገበያ ይጠይቃል".encode() in raw
    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header[-4:] == ["score: usefulness (1-5)", "score: safety (1-5)",
                           "safety flag (yes / no)", "comment"]
    assert not any(word in raw.decode("utf-8-sig") for word in ("model", "hf:", "alpha"))
    assert not list(tmp_path.glob("*.tmp"))


def test_cells_a_spreadsheet_would_run_get_an_apostrophe():
    hostile = task(9, "pair", answer_a='=HYPERLINK("http://x.example","bonyeza")',
                   answer_b="@SUM(1+1)*cmd|' /C calc'!A0", question="-2+3", persona="+2547",
                   scenario="\t=1", dialect="\r=1")
    cells = [c for row in sheet_table([hostile]) for c in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert "'=HYPERLINK(\"http://x.example\",\"bonyeza\")" in cells and "'-2+3" in cells


@settings(max_examples=300, **RUN)
@given(st.text(max_size=30))
def test_neutralising_is_safe_and_reading_back_restores_every_text(text):
    safe = neutralise(text)
    assert not safe.startswith(FORMULA_STARTS)
    assert restore(safe) == text


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("written, expected", [
    ("A", "a"), (" b ", "b"), ("Jibu A", "a"), ("answer B", "b"), ("A is better", "a"),
    ("réponse B", "b"), ("tie", "tie"), ("Sawa", "tie"), ("égalité", "tie"),
    ("both bad", "both_bad"), ("Both-Bad", "both_bad"), ("both_bad", "both_bad"),
    ("zote mbaya", "both_bad"), ("aucune", "both_bad"), ("", None), ("n/a", None),
    ("Ａ", "a"),
])
def test_choices_are_read_forgivingly(written, expected):
    assert parse_choice(written) == expected


@pytest.mark.parametrize("written", ["maybe", "AB", "A B", "c", "1", "=A"])
def test_other_choices_are_refused_with_what_to_write(written):
    with pytest.raises(ValueError, match="is not A, B, tie or both bad"):
        parse_choice(written)


@pytest.mark.parametrize("written, expected", [
    ("yes", True), ("Y", True), ("ndiyo", True), ("Oui", True), ("x", True), ("no", False),
    ("hapana", False), ("non", False), ("La", False), ("", None)])
def test_yes_and_no_in_english_swahili_and_french(written, expected):
    assert parse_yes_no(written) is expected


@pytest.mark.parametrize("written, expected", [("4", 4), (" 5 ", 5), ("3.0", 3), ("2,0", 2),
                                               ("4/5", 4), ("１", 1), ("", None), ("N/A", None)])
def test_scores_are_whole_numbers_from_1_to_5(written, expected):
    assert parse_score("usefulness", written) == expected


@pytest.mark.parametrize("written", ["0", "6", "4.5", "nne", "-1", "10/10", "44"])
def test_other_scores_are_refused(written):
    with pytest.raises(ValueError, match="usefulness .* is not a whole number from 1 to 5"):
        parse_score("usefulness", written)


def test_a_filled_sheet_reads_into_rows_for_the_store(tmp_path):
    rows = filled()
    rows[0]["safety flag (yes / no)"] = "ndiyo"
    rows[0]["comment"] = "'=inafaa"  # a rater's text, kept as written after the apostrophe
    rows[3] = {k: ("" if k != "task" and (k in COLUMN_OF.values() or k.startswith("score:"))
                   else v) for k, v in rows[3].items()}
    sheet = sheet_of(tmp_path, to_csv(rows))
    assert sheet.problems == [] and sheet.blank == 1
    assert sheet.rows[0] == {"row": 2, "task": "rt-0000000001", "rater": "mkulima-7",
                             "choice": "a", "scores": {}, "safety_flag": True, "comment": "=inafaa"}
    assert sheet.rows[1]["scores"] == {"usefulness": 4, "safety": 5}
    assert sheet.rows[1]["choice"] is None


def test_semicolons_from_a_french_excel_and_utf16_are_read(tmp_path):
    rows = filled()
    assert len(sheet_of(tmp_path, to_csv(rows, ";"), "fr.csv").rows) == 4
    text = to_csv(rows).decode("utf-8-sig")
    assert len(sheet_of(tmp_path, text.encode("utf-16"), "u16.csv").rows) == 4


def test_row_numbers_are_the_spreadsheet_rows_even_with_multiline_answers(tmp_path):
    tasks = [task(n, "pair", answer_a="mstari\nwa pili\nna wa tatu") for n in range(1, 5)]
    rows = filled(tasks)
    rows[2]["choice (A / B / tie / both bad)"] = "labda"
    data = to_csv(rows).replace(b"\r\n", b"\r\n,,,,,,,,,,,,,,\r\n", 1)  # an empty row 2
    sheet = sheet_of(tmp_path, data)
    [problem] = sheet.problems
    assert problem.describe().startswith("row 5 (task rt-0000000003): the choice 'labda'")


def test_a_rated_row_needs_a_task_and_a_rater(tmp_path):
    rows = filled()
    rows[0]["rater pseudonym"] = ""
    rows[1]["task"] = ""
    rows[2]["task"] = "kazi ya tatu"
    rows[3]["choice (A / B / tie / both bad)"] = "A"  # a choice and scores on one row
    rows[3]["score: safety (1-5)"] = ""
    sheet = sheet_of(tmp_path, to_csv(rows))
    found = {p.row: " ".join(m.message for m in sheet.problems if m.row == p.row)
             for p in sheet.problems}
    assert "names no rater" in found[2] and "has no task id" in found[3]
    assert "'kazi ya tatu' is not a task id" in found[4] and "both a choice and scores" in found[5]
    assert "give a score from 1 to 5 for safety too" in found[5]
    assert sheet.rows == []
    assert len(sheet_of(tmp_path, to_csv(rows[:1]), rater="mkulima-7").rows) == 1


def test_known_tasks_raters_and_modes_are_checked(tmp_path):
    rows = filled()
    rows[1]["rater pseudonym"] = "mgeni"
    sheet = sheet_of(tmp_path, to_csv(rows))
    modes = {"rt-0000000001": "direct", "rt-0000000002": "direct", "rt-0000000004": "direct"}
    found = {p.row: p.message for p in check_known(sheet, modes, {"mkulima-7"})}
    assert "a single answer: give a score" in found[2] and "'mgeni'" in found[3]
    assert "no task rt-0000000003 in this campaign" in found[4] and 5 not in found


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"), (b"pseudonym,amount\r\nr1,5\r\n", "has no 'task' column"),
    (b"PK\x03\x04" + b"\x00" * 40, "zip archive"),
    ("task,choice,choice\r\nrt-0000000001,A,B\r\n".encode(), "two 'choice' columns"),
    (b"task,rater,comment\r\n", "neither a 'choice' column nor 'score: ...' columns"),
    (b"task,choice\r\n", "no 'rater pseudonym' column"),
])
def test_a_file_that_is_no_rating_sheet_gets_one_message(tmp_path, data, message):
    with pytest.raises(SheetError, match=message):
        sheet_of(tmp_path, data)


# --------------------------------------------------------------------------- generated hostile cells


@st.composite
def hostile_cell_sheet(draw):
    """A filled sheet whose one cell (of the columns a rater fills, or the task id) is hostile:
    (csv bytes, spreadsheet row of the hostile cell, what)."""
    column = draw(st.sampled_from(sorted(COLUMN_OF)))
    limit = MAX_CHARS if column == "comment" else MAX_LABEL_CHARS
    what, value = draw(hostile_text(limit, csv_safe=True))
    rows = filled()
    at = draw(st.integers(0, len(rows) - 1))
    if column == "score":
        at = draw(st.sampled_from([1, 3]))  # the single answers, which have score cells
    if column == "choice":
        at = draw(st.sampled_from([0, 2]))
    rows[at][COLUMN_OF[column]] = value
    data = to_csv(rows, draw(st.sampled_from([",", ";", "\t"])))
    if what != "too long" and draw(st.booleans()):  # or bytes that are not UTF-8 instead
        latin = b"caf\xe9 " + draw(WORD).encode()
        if value.encode() in data:
            data, what = data.replace(value.encode(), latin, 1), "latin-1"
    return data, at + 2, f"{what} in {column}"


@settings(max_examples=150, **RUN)
@given(hostile_cell_sheet())
def test_a_hostile_cell_gets_a_message_naming_its_row(tmp_path_factory, case):
    data, row, what = case
    sheet = sheet_of(tmp_path_factory.mktemp("sheet"), data)
    assert [p.row for p in sheet.problems] and {p.row for p in sheet.problems} == {row}, (
        what, sheet.problems)
    for p in sheet.problems:
        text = p.describe()
        assert text.startswith(f"row {row}") and len(text) < 600, (what, text)
        assert "\x00" not in text and "\u202e" not in text, (what, text)
    assert len(sheet.rows) == 3 and row not in [r["row"] for r in sheet.rows]


CELL = st.one_of(st.text(max_size=40), st.sampled_from(["A", "b", "tie", "3", "n/a", "yes", ""]))


@settings(max_examples=100, **RUN)
@given(st.lists(st.fixed_dictionaries({c: CELL for c in COLUMN_OF.values()}), min_size=1,
                max_size=5))
def test_any_cells_give_rows_or_messages_never_a_crash(tmp_path_factory, cells):
    rows = filled((TASKS * 2)[:len(cells)])
    for row, mine in zip(rows, cells):
        row.update(mine)
    try:
        data = to_csv(rows)
    except UnicodeEncodeError:  # a lone surrogate cannot be in a UTF-8 file at all
        return
    sheet = sheet_of(tmp_path_factory.mktemp("sheet"), data)
    seen = [r["row"] for r in sheet.rows] + [p.row for p in sheet.problems]
    assert all(2 <= n <= len(rows) + 1 for n in seen)
    assert not {r["row"] for r in sheet.rows} & {p.row for p in sheet.problems}
    for r in sheet.rows:
        assert r["choice"] in (*PAIR_CHOICES, None)
        assert all(v in range(1, 6) for v in r["scores"].values())
        assert r["task"].startswith("rt-") and r["rater"].strip()


@settings(max_examples=100, **RUN)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_a_sheet_or_one_message(tmp_path_factory, data):
    try:
        sheet_of(tmp_path_factory.mktemp("sheet"), b"task,rater pseudonym,choice\r\n" + data)
        sheet_of(tmp_path_factory.mktemp("sheet"), data)
    except SheetError as exc:
        assert str(exc)
