"""Bad input named in issue 10 (item 9) and item 4: each one, once, before and after.

Before, each of these ended in a traceback, a misleading message or a silent loss; each test
feeds the very input and asserts what a user now sees: one refusal that says what to fix,
exit status 1, no traceback, and every table of the store exactly as it was (on SQLite and
PostgreSQL).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from jamii.cli import cli
from jamii.core.importer import MAX_JSON_DEPTH, SourceError, import_file
from jamii.core.store import OPERATOR
from jamii.datasheets._answers import AnswersError, load as load_answers

GOOD = {"prompt": "Mahindi hupandwa lini?", "response": "Baada ya mvua za kwanza.",
        "language": "sw"}


def _campaign(store):
    return store.create_campaign(
        "kilimo", "Kilimo", languages=["sw"],
        item_kinds=["prompt_response", "contextual", "speech"],
        dialects={"sw": ["kimvita", "kiunguja"]}, domains=["agriculture", "health"],
        actor_id=OPERATOR)


def rows_in_every_table(store) -> dict[str, int]:
    """How many rows each table of the store holds, and how many audio files it keeps."""
    with store.engine.connect() as conn:
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                  for t in store.tables()}
    audio = Path(store.audio_dir)
    counts["audio files"] = sum(1 for p in audio.rglob("*") if p.is_file()) if audio.exists() else 0
    return counts


def run_import(store, tmp_path, path, *args):
    return CliRunner().invoke(cli, ["import", str(path), "-c", "kilimo", "-k", "prompt_response",
                                    *args, "--db", store.url, "--data-dir", str(tmp_path)])


def assert_refused(result, *needles):
    """Exit 1, a message holding every needle, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output


@pytest.fixture
def camp(store):
    return _campaign(store)


def _refused_import(store, tmp_path, name, data: bytes, *needles, args=()):
    path = tmp_path / name
    path.write_bytes(data)
    before = rows_in_every_table(store)
    result = run_import(store, tmp_path, path, *args)
    assert_refused(result, *needles)
    assert rows_in_every_table(store) == before
    return result


def _jsonl(*rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


# --------------------------------------------------------------------------- import files


def test_deeply_nested_json_line_is_refused_naming_its_line_not_a_recursion_error(store, camp,
                                                                                    tmp_path):
    # before: RecursionError from json.loads; after: the line, and the limit
    deep = '{"prompt": ' + "[" * 100_000 + "]" * 100_000 + ', "response": "x", "language": "sw"}\n'
    _refused_import(store, tmp_path, "deep.jsonl", _jsonl(GOOD) + deep.encode(),
                    "row 2 (line 2): the line's JSON is nested more than "
                    f"{MAX_JSON_DEPTH} levels deep")


def test_deeply_nested_json_cell_names_the_field(store, camp, tmp_path):
    cell = "[" * 5000 + "]" * 5000
    rubric = json.dumps(CONTEXTUAL["rubric"]).replace('"', '""')
    data = ("scenario,persona,question,reference_answers,rubric,language\n"
            f'Sokoni,Mama,Bei gani?,"{cell}","{rubric}",sw\n'
            f'Sokoni,Baba,Bei gani leo?,Mia,"{cell}",sw\n')
    path = tmp_path / "ctx.csv"
    path.write_text(data, encoding="utf-8")
    before = rows_in_every_table(store)
    result = CliRunner().invoke(cli, ["import", str(path), "-c", "kilimo", "-k", "contextual",
                                      "--db", store.url, "--data-dir", str(tmp_path)])
    assert_refused(result, "row 1 (line 2), field reference_answers: The reference answers' JSON "
                           f"is nested more than {MAX_JSON_DEPTH} levels deep",
                   "row 2 (line 3), field rubric: The rubric's JSON is nested more than")
    assert rows_in_every_table(store) == before


def test_a_whole_json_file_nested_too_deep_is_one_message(store, camp, tmp_path):
    _refused_import(store, tmp_path, "deep.json", ("[" * 50_000 + "]" * 50_000).encode(),
                    "The JSON in deep.json is nested more than")


def test_a_number_too_long_for_python_is_a_row_problem_not_a_value_error(store, camp, tmp_path):
    # before: ValueError "Exceeds the limit (4300 digits) for integer string conversion"
    line = '{"prompt": 1' + "0" * 5000 + ', "response": "x", "language": "sw"}\n'
    _refused_import(store, tmp_path, "long.jsonl", _jsonl(GOOD) + line.encode(),
                    "row 2 (line 2): the line's JSON holds a number of more than 4,300 digits")


@pytest.mark.parametrize("name, sep", [("dup.csv", ","), ("dup.tsv", "\t")])
def test_duplicate_headers_are_refused_instead_of_the_second_column_winning(store, camp, tmp_path,
                                                                            name, sep):
    # before: the file imported, with the prompt taken silently from the third column
    data = sep.join(["prompt", "response", "prompt", "language"]) + "\n" + sep.join(
        ["Swali la kwanza?", "Jibu.", "Swali la pili?", "sw"]) + "\n"
    _refused_import(store, tmp_path, name, data.encode(),
                    "names the same column more than once in its header: 'prompt' (columns 1, 3)")


def test_a_row_with_too_many_values_is_named_not_a_missing_column(store, camp, tmp_path):
    # before: "has no column for prompt, response", though the header has both
    result = _refused_import(store, tmp_path, "wide.csv",
                             b"prompt,response,language\nSwali, kwa nini?,Jibu.,sw\n",
                             "row 1 (line 2): the row has 4 values but the header names 3 columns")
    assert "no column for" not in result.output


def test_a_json_array_on_a_jsonl_line_is_named_not_a_missing_column(store, camp, tmp_path):
    # before: "has no column for prompt, response"
    result = _refused_import(store, tmp_path, "array.jsonl", b'["Swali?", "Jibu.", "sw"]\n',
                             "line 1 is a JSON array, not an object: each line must be one "
                             "JSON object")
    assert "no column for" not in result.output


def test_a_key_named_twice_on_a_jsonl_line_is_refused_not_silently_overwritten(store, camp,
                                                                                tmp_path):
    # before: the second "prompt" won, with no word said
    data = (b'{"prompt": "Swali la kwanza?", "response": "Jibu.", "language": "sw", '
            b'"prompt": "Swali la pili?"}\n')
    _refused_import(store, tmp_path, "twice.jsonl", data, "names the key 'prompt' twice")


def test_an_unterminated_quote_says_where_it_opened(store, camp, tmp_path):
    # before: row 1 "has no language" and "empty response": the rest of the file was one value
    data = b'prompt,response,language\n"Swali bila mwisho,Jibu.,sw\nSwali?,Jibu.,sw\nS,J,sw\n'
    result = _refused_import(store, tmp_path, "quote.csv", data,
                             "a quote (\") opened on line 2 is never closed",
                             "end of the file (line 4)")
    assert "No language tag" not in result.output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_utf16_or_utf32_file_with_a_byte_order_mark_imports_as_written(store, camp, tmp_path,
                                                                         encoding):
    # before: "has no column for prompt, response" and columns shown as "��p r o m p t"
    path = tmp_path / f"excel-unicode-text.tsv"
    path.write_text("prompt\tresponse\tlanguage\nJe, mvua itanyesha?\tNdiyo, kesho.\tsw\n",
                    encoding=encoding)
    result = run_import(store, tmp_path, path)
    assert result.exit_code == 0, result.output
    (item,) = store.items(camp.id)
    assert item.content["prompt"] == "Je, mvua itanyesha?"


def test_utf16_without_a_byte_order_mark_is_refused_with_what_to_do(store, camp, tmp_path):
    data = "prompt,response,language\nSwali?,Jibu.,sw\n".encode("utf-16-le")
    _refused_import(store, tmp_path, "nobom.csv", data,
                    "nobom.csv is UTF-16 text without a byte-order mark: save it as UTF-8")


def test_a_workbook_saved_as_csv_is_refused(store, camp, tmp_path):
    _refused_import(store, tmp_path, "book.csv", b"PK\x03\x04" + b"\x14\x00" * 200,
                    "book.csv is a zip archive, not text", "save it as 'CSV UTF-8'")


def test_a_header_that_is_not_utf8_is_refused_whole(store, camp, tmp_path):
    data = "prompt,response,language,maelezo_ya_ziada_é\nSwali?,Jibu.,sw,x\n".encode("latin-1")
    _refused_import(store, tmp_path, "latin.csv", data, "latin.csv is not UTF-8 text",
                    "Save the file as UTF-8")


def test_a_cell_that_is_not_utf8_names_row_and_field(store, camp, tmp_path):
    data = "prompt,response,language\nSwali la café?,Jibu.,sw\n".encode("latin-1")
    _refused_import(store, tmp_path, "latin.csv", data,
                    "row 1 (line 2), field prompt: The prompt contains 1 unreadable character")


@pytest.mark.parametrize("rubric, message", [
    (b"[" * 100_000 + b"]" * 100_000, "nests JSON too deeply"),
    (b'[{"name": "x", "anchors": [1' + b"0" * 5000 + b']}]', "is not a readable JSON file"),
    ('[{"name": "usefulness é"}]'.encode("latin-1"), "is not a readable JSON file"),
    (b'[{"name": "use\\u0000fulness", "anchors": ["a", "b", "c", "d", "e"]}]',
     "field rubric[1].name (column rubric): The rubric[1].name contains 1 invisible control"),
])
def test_a_bad_rubric_file_is_refused_with_one_message(store, camp, tmp_path, rubric, message):
    (tmp_path / "rubric.json").write_bytes(rubric)
    path = tmp_path / "ctx.jsonl"
    path.write_bytes(_jsonl({k: v for k, v in CONTEXTUAL.items() if k != "rubric"}))
    before = rows_in_every_table(store)
    result = CliRunner().invoke(cli, ["import", str(path), "-c", "kilimo", "-k", "contextual",
                                      "--rubric", str(tmp_path / "rubric.json"),
                                      "--db", store.url, "--data-dir", str(tmp_path)])
    assert_refused(result, message)
    assert rows_in_every_table(store) == before


# --------------------------------------------------------------------------- NUL (item 4)


NUL_CELLS = {
    "prompt": ("prompt_response", {"prompt": "Swa\x00li?"}),
    "response": ("prompt_response", {"response": "Ji\x00bu."}),
    "language": ("prompt_response", {"language": "s\x00w"}),
    "dialect": ("prompt_response", {"dialect": "kim\x00vita"}),
    "domain": ("prompt_response", {"domain": "agri\x00culture"}),
    "task_type": ("prompt_response", {"task_type": "trans\x00lation"}),
    "reference_answers": ("contextual", {"reference_answers": ["Shilingi mia\x00."]}),
    "red_flags": ("contextual", {"red_flags": ["Ku\x00dai bei ya juu"]}),
    "rubric": ("contextual", {"rubric": [{"name": "use\x00fulness",
                                         "anchors": ["1", "2", "3", "4", "5"]}]}),
}
CONTEXTUAL = {"scenario": "Sokoni.", "persona": "Mama mboga.", "question": "Bei gani?",
              "reference_answers": ["Shilingi mia."], "language": "sw",
              "rubric": [{"name": "usefulness", "anchors": ["a", "b", "c", "d", "e"]}]}


@pytest.mark.parametrize("field", list(NUL_CELLS))
def test_a_nul_in_any_column_that_reaches_the_store_is_refused_before_anything_is_written(
        store, camp, tmp_path, field):
    # before, on PostgreSQL: psycopg.DataError after the import contributor had been created
    kind, cell = NUL_CELLS[field]
    base = dict(GOOD) if kind == "prompt_response" else dict(CONTEXTUAL)
    path = tmp_path / "nul.jsonl"
    path.write_bytes(_jsonl({**base, **cell}))
    before = rows_in_every_table(store)
    result = CliRunner().invoke(cli, ["import", str(path), "-c", "kilimo", "-k", kind,
                                      "--db", store.url, "--data-dir", str(tmp_path)])
    assert_refused(result, f"field {field}", "U+0000")
    assert "\x00" not in result.output  # the refusal does not print the NUL back
    assert rows_in_every_table(store) == before


def test_hostile_audio_values_are_row_problems_not_crashes(store, camp, tmp_path):
    # before: ValueError "embedded null byte" from the path, TypeError from bytes("abc")
    rows = [{"transcript": "Habari za asubuhi", "audio": "clip\x00.wav"},
            {"transcript": "Habari za jioni", "audio": {"bytes": "abc"}},
            {"transcript": "Habari za mchana", "audio": {"bytes": 12}}]
    path = tmp_path / "speech.jsonl"
    path.write_bytes(_jsonl(*({**r, "language": "sw"} for r in rows)))
    before = rows_in_every_table(store)
    result = CliRunner().invoke(cli, ["import", str(path), "-c", "kilimo", "-k", "speech",
                                      "--db", store.url, "--data-dir", str(tmp_path)])
    assert_refused(result, "row 1 (line 1), field audio: The audio path contains control",
                   "row 2 (line 2), field audio: The audio's bytes must be the clip's file",
                   "row 3 (line 3), field audio: The audio's bytes must be")
    assert rows_in_every_table(store) == before


@pytest.mark.parametrize("option, value", [
    ("--dialect", "kim\x00vita"), ("--domain", "agri\x00culture"),
    ("--source-license", "cc-by\x00-4.0"), ("--author", "mwa\x00ndishi"),
    ("--language", "s\x00w"), ("--task-type", "trans\x00lation"),
])
def test_a_nul_in_an_option_is_refused_before_the_store_is_asked(store, camp, tmp_path,
                                                                  option, value):
    path = tmp_path / "good.jsonl"
    path.write_bytes(_jsonl(GOOD))
    before = rows_in_every_table(store)
    with pytest.raises(SourceError, match=rf"^{option}: .*U\+0000"):
        import_file(store, path, campaign="kilimo", kind="prompt_response",
                    **{option[2:].replace("-", "_"): value})
    assert rows_in_every_table(store) == before


def test_a_nul_in_the_campaign_name_is_refused_on_every_backend(store, camp, tmp_path):
    path = tmp_path / "good.jsonl"
    path.write_bytes(_jsonl(GOOD))
    with pytest.raises(SourceError, match=r"^--campaign: .*U\+0000"):
        import_file(store, path, campaign="kili\x00mo", kind="prompt_response")


# --------------------------------------------------------------------------- answers files


def _answers_file(tmp_path, data: bytes, name="answers.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))


def test_a_yaml_alias_bomb_is_refused_within_a_second(tmp_path):
    # before: 84 s and 5.8 GB, then MemoryError
    path = _answers_file(tmp_path, BOMB.encode())
    assert path.stat().st_size < 5_000
    start = time.perf_counter()
    with pytest.raises(AnswersError, match="no anchors or aliases"):
        load_answers(path)
    assert time.perf_counter() - start < 1.0


def test_an_answers_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    # before: UnicodeDecodeError traceback
    path = _answers_file(tmp_path, "motivation.purpose: x\nmotivation.funding: Café\n"
                         .encode("latin-1"))
    with pytest.raises(AnswersError, match=r"is not UTF-8 text \(byte 0xe9 on line 2"):
        load_answers(path)
    md = _answers_file(tmp_path, "## motivation.purpose\n\nCafé\n".encode("utf-16"), "a.md")
    with pytest.raises(AnswersError, match="save it as UTF-8"):
        load_answers(md)


@pytest.mark.parametrize("data, message", [
    (b"- motivation.purpose\n- uses.other\n", "must be a mapping of `key: answer`, one per line, "
                                             "not a list"),
    (b"just a sentence\n", "not a single text"),
    (b"motivation.purpose:\n  who: us\n", "the answer to motivation.purpose is a mapping"),
    (b"motivation.purpose: [a, b]\n", "the answer to motivation.purpose is a list"),
    (b"motivation.purpose: !!binary aGVsbG8=\n", "the answer to motivation.purpose is binary"),
    (b"motivation.purpose: a\nmotivation.purpose: b\n",
     "the key motivation.purpose is given twice (lines 1 and 2)"),
    (b'motivation.purpose: "a\\u202eb"\n', "the answer to motivation.purpose: The motivation."
                                          "purpose contains a direction override"),
    (b"motivation.purpose: a\x00b\n", "invisible control character (U+0000) on line 1"),
    (b"motivation.purpose: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "nests lists or mappings"),
])
def test_answers_file_wrong_shapes_name_the_key(tmp_path, data, message):
    with pytest.raises(AnswersError) as err:
        load_answers(_answers_file(tmp_path, data))
    assert message in str(err.value)


def test_answers_scalars_stay_as_written(tmp_path):
    # before: `yes` became "True" and 1.10 became "1.1" in the datasheet
    path = _answers_file(tmp_path, b"motivation.purpose: yes\nmotivation.funding: 1.10\n"
                                   b"uses.other: 2024-01-05\ncollection.other:\n")
    assert load_answers(path) == {"motivation.purpose": "yes", "motivation.funding": "1.10",
                                  "uses.other": "2024-01-05", "collection.other": ""}


def test_release_with_the_alias_bomb_refuses_and_writes_nothing(store, camp, tmp_path):
    path = _answers_file(tmp_path, BOMB.encode())
    before = rows_in_every_table(store)
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["release", "-c", "kilimo", "--version", "1.0.0", "--out",
                                      str(tmp_path / "rel"), "--answers", str(path),
                                      "--db", store.url, "--data-dir", str(tmp_path)])
    assert time.perf_counter() - start < 30
    assert_refused(result, "Release refused", "no anchors or aliases")
    assert not (tmp_path / "rel").exists()
    assert rows_in_every_table(store) == before
