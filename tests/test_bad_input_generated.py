"""Generated bad input (hypothesis): import files, form values and answers files.

Each generated case carries one hostile thing a user could hand jamii: a NUL, a control
character, a direction override, an invisible-only or over-long text, markup, a value of the
wrong type, JSON nested thousands deep, a duplicated header, a ragged row, an unclosed quote,
bytes that are not UTF-8, YAML aliases... For every case the suite asserts what a user would
see: a refusal (exit status 1, or a blocked form) whose message names the field or line at
fault, no traceback, and every table of the store exactly as it was.

About 400 cases per run on SQLite (well under a minute) and 50 on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jamii.collector import access, forms
from jamii.web.session import SESSION_KEY
from jamii.core.checks import MAX_CHARS, MAX_LABEL_CHARS
from jamii.cli import cli
from jamii.core.importer import MAX_JSON_DEPTH
from jamii.datasheets._answers import AnswersError, load as load_answers
from jamii.datasheets._datasheet import ABOUT, QUESTIONS
from support.collector_fixtures import ALL_SCOPES, person
from test_bad_input import CONTEXTUAL, _campaign, rows_in_every_table

EXAMPLES = {  # per backend: generated cases of each test
    "imports": {"sqlite": 150, "postgres": 40},
    "form submissions": {"sqlite": 40, "postgres": 20},
}
RUN = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))

# --------------------------------------------------------------------------- hostile text

WORD = st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=12)
CONTROLS = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                             *range(0x80, 0xA0))]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u3164\u2800\u00ad\u115f\u1160"
MARKUP = ["<b>", "<script>", "<img src=x onerror=alert(1)>", "<!--", "</div>", "<?php ",
          "<iframe/>"]


def _inside(chars):
    """A visible text with one of `chars` inside it (never at an edge, where strip() eats it)."""
    return st.tuples(WORD, st.sampled_from(chars), WORD).map("".join)


def hostile_text(limit: int, *, csv_safe: bool = False) -> st.SearchStrategy[tuple[str, str]]:
    """(what, text): a text every field of jamii refuses, and which kind of refusal it is."""
    kinds = [
        st.tuples(st.just("control"), _inside(CONTROLS)),
        st.tuples(st.just("bidi"), _inside(BIDI)),
        st.tuples(st.just("invisible"), st.text(st.sampled_from(INVISIBLE), min_size=1,
                                                max_size=8)),
        st.tuples(st.just("markup"), _inside(MARKUP)),
        st.tuples(st.just("too long"), st.integers(1, 300).map(
            lambda k: ("ndefu " * ((limit + k) // 6 + 2)).strip())),
    ]
    if not csv_safe:  # a lone surrogate cannot be written to a UTF-8 file, only escaped in JSON
        kinds.append(st.tuples(st.just("surrogate"), _inside(["\ud800", "\udfff", "\ud83d"])))
    return st.one_of(kinds)


WRONG_TYPES = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        st.booleans(), st.lists(st.integers(), min_size=1, max_size=3),
                        st.dictionaries(WORD, st.integers(), min_size=1, max_size=2))

# --------------------------------------------------------------------------- import files

FIELDS = ("prompt", "response", "language", "dialect", "domain", "task_type")
LIMIT = {"prompt": MAX_CHARS, "response": MAX_CHARS}


def _good_row(words):
    prompt, response = words
    return {"prompt": f"Swali {prompt}?", "response": f"Jibu {response}.", "language": "sw",
            "dialect": "kimvita", "domain": "agriculture", "task_type": "instruction"}


@st.composite
def bad_cell_file(draw):
    """A CSV or JSONL file of good rows, one of whose mapped cells is hostile."""
    fmt = draw(st.sampled_from(["csv", "tsv", "jsonl"]))
    rows = [_good_row(draw(st.tuples(WORD, WORD))) for _ in range(draw(st.integers(1, 4)))]
    at = draw(st.integers(0, len(rows) - 1))
    field = draw(st.sampled_from(FIELDS))
    choices = [hostile_text(LIMIT.get(field, MAX_LABEL_CHARS), csv_safe=fmt != "jsonl")]
    if field == "language":
        choices.append(st.tuples(st.just("bad tag"), st.sampled_from(
            ["xx-nonsense-123", "kiswahili", "en", "fr-FR", "zz"])))
    if fmt == "jsonl":
        choices.append(st.tuples(st.just("wrong type"), WRONG_TYPES))
        if field in ("prompt", "response"):
            choices.append(st.tuples(st.just("missing"), st.sampled_from([None, float("nan")])))
    what, value = draw(st.one_of(choices))
    if field == "dialect" and isinstance(value, str) and what != "invisible" \
            and draw(st.booleans()):
        value = "other: " + value  # not a listed dialect: only the text checks stop it
    rows[at][field] = value
    if fmt == "jsonl":
        data = "".join(json.dumps(r, ensure_ascii=what == "surrogate") + "\n" for r in rows)
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t" if fmt == "tsv" else ",")
        writer.writerow(rows[0].keys())
        writer.writerows(r.values() for r in rows)
        data = buf.getvalue()
    line = at + 1 if fmt == "jsonl" else at + 2  # after the header line
    return fmt, data.encode("utf-8"), [f"row {at + 1} (line {line}), field {field}"], \
        f"{what} in {field}"


def _csv_text(rows, sep=","):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep)
    writer.writerow(rows[0].keys())
    writer.writerows(r.values() for r in rows)
    return buf.getvalue()


@st.composite
def bad_structure_file(draw):
    """A file broken as a whole or in one line: (format, bytes, words the refusal holds)."""
    rows = [_good_row(draw(st.tuples(WORD, WORD))) for _ in range(draw(st.integers(1, 3)))]
    at = draw(st.integers(0, len(rows) - 1))
    line = at + 2  # header on line 1
    kind = draw(st.sampled_from([
        "duplicate header", "ragged row", "unclosed quote", "latin-1 cell", "utf-16 without bom",
        "zip", "binary", "header only", "deep jsonl", "array line", "scalar line",
        "broken json line", "long number", "latin-1 json",
    ]))
    if kind == "duplicate header":
        name = draw(st.sampled_from(list(rows[0])))
        text = _csv_text(rows)
        header, rest = text.split("\r\n", 1)
        return "csv", f"{header},{name}\r\n{rest}".encode(), [f"'{name}' (columns"], kind
    if kind == "ragged row":
        extra = draw(st.integers(1, 3))
        lines = _csv_text(rows).split("\r\n")
        lines[at + 1] += ",x" * extra
        return "csv", "\r\n".join(lines).encode(), [
            f"row {at + 1} (line {line}): the row has {6 + extra} values but the header names 6"
        ], kind
    if kind == "unclosed quote":
        lines = _csv_text(rows).split("\r\n")
        lines[at + 1] = '"' + lines[at + 1].replace('"', "")
        return "csv", "\r\n".join(lines).encode(), [f"opened on line {line} is never closed"], kind
    if kind == "latin-1 cell":
        rows[at]["prompt"] += " café"
        return "csv", _csv_text(rows).encode("latin-1", "replace"), [
            f"row {at + 1} (line {line}), field prompt: The prompt contains", "unreadable"], kind
    if kind == "utf-16 without bom":
        return "csv", _csv_text(rows).encode("utf-16-le"), ["UTF-16 text without a byte-order "
                                                            "mark: save it as UTF-8"], kind
    if kind == "zip":
        return "csv", b"PK\x03\x04" + draw(st.binary(min_size=10, max_size=200)), [
            "is a zip archive"], kind
    if kind == "binary":
        noise = draw(st.binary(min_size=40, max_size=400))
        return "jsonl", b"\x00\x01" + noise.replace(b"\x00", b"") + b"\x00" * len(noise), [
            "zero bytes"], kind
    if kind == "header only":
        return "tsv", _csv_text(rows[:1], "\t").split("\r\n")[0].encode() + b"\n", [
            "has no rows to import"], kind
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    if kind == "deep jsonl":
        depth = draw(st.integers(MAX_JSON_DEPTH + 1, 20_000))
        lines[at] = lines[at][:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
        expected = [f"(line {at + 1}): the line's JSON is nested more than {MAX_JSON_DEPTH}"]
    elif kind == "array line":
        lines[at] = json.dumps(list(rows[at].values()))
        expected = [f"line {at + 1} is a JSON array, not an object"]
    elif kind == "scalar line":
        lines[at] = json.dumps(draw(st.one_of(WORD, st.integers(), st.booleans())))
        expected = [f"line {at + 1} is ", "each line must be one JSON object"]
    elif kind == "broken json line":
        lines[at] = lines[at][:draw(st.integers(1, len(lines[at]) - 1))]
        expected = [f"line {at + 1}", "not valid JSON"]
    elif kind == "long number":
        lines[at] = lines[at][:-1] + ', "n": 1' + "0" * draw(st.integers(4400, 6000)) + "}"
        expected = [f"(line {at + 1}): the line's JSON holds a number of more than 4,300 digits"]
    elif kind == "latin-1 json":
        lines[at] = lines[at].replace('"Jibu', '"Jibu caf\xe9', 1)
        return "jsonl", "\n".join(lines).encode("latin-1", "replace"), [
            f"row {at + 1} (line {at + 1}), field response: The response contains", "unreadable"
        ], kind
    return "jsonl", "\n".join(lines).encode(), expected, kind


def _assert_cli_refusal(result, expected, what):
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        what, repr(result.exception))
    assert "Traceback" not in result.output, what
    assert result.exit_code == 1, (what, result.output)
    for needle in expected:
        assert needle in result.output, (what, needle, result.output)


def test_generated_bad_import_files_are_refused_and_change_nothing(store, tmp_path, request):
    backend = request.node.callspec.params["store_url"]
    n = EXAMPLES["imports"][backend]
    camp = _campaign(store)
    ran = []

    @settings(max_examples=n, **RUN)
    @given(st.one_of(bad_cell_file(), bad_structure_file()))
    def check(case):
        fmt, data, expected, what = case
        path = tmp_path / f"{uuid.uuid4().hex[:8]}.{fmt}"
        path.write_bytes(data)
        before = rows_in_every_table(store)
        result = CliRunner().invoke(cli, ["import", str(path), "-c", "kilimo", "-k",
                                          "prompt_response", "--db", store.url,
                                          "--data-dir", str(tmp_path)])
        _assert_cli_refusal(result, expected, what)
        assert "Nothing was imported" in result.output or result.output.startswith("Error: ")
        assert "\x00" not in result.output and "\u202e" not in result.output
        assert rows_in_every_table(store) == before, what
        ran.append(what)

    check()
    assert len(ran) >= n and not store.items(camp.id)


# --------------------------------------------------------------------------- form values

FORM_FIELDS = {
    "prompt_response": {"prompt": "prompt", "response": "response"},
    "contextual": {"scenario": "scenario", "persona": "persona", "question": "question",
                   "reference_answer": "reference_answers", "red_flags": "red_flags",
                   "rubric name": "rubric", "rubric anchor": "rubric"},
}
GOOD_FORMS = {
    "prompt_response": {"prompt": "Mahindi hupandwa lini pwani?",
                        "response": "Baada ya mvua za kwanza za masika."},
    "contextual": {"scenario": CONTEXTUAL["scenario"], "persona": CONTEXTUAL["persona"],
                   "question": CONTEXTUAL["question"], "reference_answer": "Shilingi mia.",
                   "red_flags": "Kudai bei ya juu",
                   "rubric": [{"name": "usefulness", "description": "",
                               "anchors": ["Hapana", "Kidogo", "Wastani", "Ndiyo", "Sana"]}]},
}


@st.composite
def bad_form(draw):
    """(kind, values, dialect, domain, the field a refusal must name, what)."""
    kind = draw(st.sampled_from(list(GOOD_FORMS)))
    values = json.loads(json.dumps(GOOD_FORMS[kind]))
    dialect, domain = "kimvita", "agriculture"
    target = draw(st.sampled_from([*FORM_FIELDS[kind], "dialect", "domain"]))
    what, value = draw(hostile_text(MAX_CHARS if target not in ("dialect", "domain")
                                    else MAX_LABEL_CHARS))
    if target in ("rubric name", "rubric anchor"):
        what, value = draw(hostile_text(MAX_LABEL_CHARS if target == "rubric name" else MAX_CHARS))
        crit = values["rubric"][0]
        if target == "rubric name":
            crit["name"] = value
        else:
            crit["anchors"][draw(st.integers(0, 4))] = value
    elif target == "dialect":
        dialect = value
    elif target == "domain":
        domain = value
    else:
        values[target] = value
    if target in ("prompt", "response", "scenario", "question") and draw(st.booleans()):
        what, values[target] = "wrong type", draw(st.one_of(st.none(), WRONG_TYPES))
    field = FORM_FIELDS[kind].get(target, target)
    return kind, values, dialect, domain, field, f"{what} in {target}"


def _names_field(problems, field):
    return any(p.field == field or p.field.startswith((f"{field}[", f"{field}.")) for p in problems)


@settings(max_examples=80, **RUN)
@given(bad_form())
def test_generated_bad_form_values_are_blocked_naming_the_field(case):
    kind, values, dialect, domain, field, what = case
    prepared = forms.prepare_item(kind, "sw", values, dialect=dialect, domain=domain)
    assert prepared.blocking, what
    assert _names_field(prepared.blocking, field), (what, prepared.blocking)
    assert all(p.message and p.blocking for p in prepared.blocking)


def test_generated_bad_form_submissions_store_nothing(store, request):
    from jamii.core.seeding import load_seeds

    backend = request.node.callspec.params["store_url"]
    n = EXAMPLES["form submissions"][backend]
    load_seeds(store)
    who, _ = person(store, consent=ALL_SCOPES)
    viewer = access.build_viewer(store, {SESSION_KEY: who.id}, "sw")
    ran = []

    @settings(max_examples=n, **RUN)
    @given(bad_form())
    def check(case):
        kind, values, dialect, domain, field, what = case
        before = rows_in_every_table(store)
        state: dict = {}
        out = forms.submit_item(store, state, "f", viewer=viewer, kind=kind, language="sw",
                                values=values, dialect=dialect, domain=domain, confirmed=True)
        assert out.status == "blocked", (what, out)
        assert _names_field(out.problems, field), (what, out.problems)
        messages = forms.outcome_messages(viewer.tr, out)
        assert messages and all(level == "error" for level, _ in messages)
        assert rows_in_every_table(store) == before, what
        ran.append(what)

    check()
    assert len(ran) >= n


@settings(max_examples=40, **RUN)
@given(st.sampled_from(["region", "gender", "dialect", "compensation_choice"]),
       hostile_text(120))
def test_generated_bad_profile_answers_name_the_field(name, hostile):
    what, value = hostile
    problems = forms.profile_problems({name: value})
    assert problems and all(p.field == name for p in problems), (what, problems)


# --------------------------------------------------------------------------- answers files

KEYS = [k for k, _ in QUESTIONS] + [k for k, _, _ in ABOUT]
KEY = st.sampled_from(KEYS)
PLAIN = st.text(st.characters(categories=["L", "Nd", "Zs"]), min_size=1, max_size=40).map(
    lambda s: "x" + s.strip())


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


@st.composite
def bad_answers(draw):
    """(bytes, suffix, words the AnswersError holds, what)."""
    key, other = draw(KEY), draw(KEY)
    answer = draw(PLAIN)
    kind = draw(st.sampled_from([
        "alias", "alias bomb", "top-level list", "top-level text", "nested value",
        "list value", "duplicate key", "unknown key", "control character", "escaped control",
        "direction override", "not utf-8", "utf-16", "deep nesting", "too big", "binary tag",
        "markdown control", "markdown not utf-8",
    ]))
    if kind == "alias":
        anchor = draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True))
        doc = f"{key}: &{anchor} {_q(answer)}\n" + (f"{other}: *{anchor}\n" if other != key else "")
        return doc.encode(), ".yaml", ["no anchors or aliases", "line 1"], kind
    if kind == "alias bomb":
        width, depth = draw(st.integers(2, 12)), draw(st.integers(3, 12))
        doc = f'l0: &l0 [{", ".join([_q(answer)] * width)}]\n' + "".join(
            f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]\n" for i in range(1, depth))
        return doc.encode(), ".yaml", ["no anchors or aliases"], kind
    if kind == "top-level list":
        return f"- {key}\n- {_q(answer)}\n".encode(), ".yaml", ["must be a mapping", "a list"], kind
    if kind == "top-level text":
        return f"{_q(answer)}\n".encode(), ".yaml", ["must be a mapping", "a single text"], kind
    if kind == "nested value":
        return f"{key}:\n  {draw(WORD)}: {_q(answer)}\n".encode(), ".yaml", [
            f"the answer to {key} is a mapping"], kind
    if kind == "list value":
        return f"{key}:\n  - {_q(answer)}\n".encode(), ".yaml", [
            f"the answer to {key} is a list"], kind
    if kind == "duplicate key":
        return f"{key}: {_q(answer)}\n{key}: {_q(answer)}\n".encode(), ".yaml", [
            f"the key {key} is given twice (lines 1 and 2)"], kind
    if kind == "unknown key":
        name = draw(st.from_regex(r"[a-z]{3,10}\.[a-z]{3,10}", fullmatch=True))
        if name in KEYS:
            name = "x" + name
        return f"{name}: {_q(answer)}\n".encode(), ".yaml", ["unknown keys", name], kind
    if kind == "control character":
        raw = draw(st.sampled_from(CONTROLS))
        return f"{key}: a{raw}b\n".encode(), ".yaml", [
            f"(U+{ord(raw):04X}) on line 1"], kind
    if kind == "escaped control":
        raw = draw(st.sampled_from(CONTROLS))
        return f'{key}: "a\\u{ord(raw):04x}b"\n'.encode(), ".yaml", [
            f"the answer to {key}", "control character"], kind
    if kind == "direction override":
        return f"{key}: {_q('a' + draw(st.sampled_from(BIDI)) + 'b')}\n".encode(), ".yaml", [
            f"the answer to {key}", "direction override"], kind
    if kind == "not utf-8":
        bad = draw(st.sampled_from([b"\xe9", b"\xff", b"\xc3(", b"\x80", b"\xed\xa0\x80"]))
        return f"{key}: ".encode() + bad + b"\n", ".yaml", ["is not UTF-8 text", "line 1"], kind
    if kind == "utf-16":
        return f"{key}: {_q(answer)}\n".encode("utf-16"), ".yaml", ["UTF-16"], kind
    if kind == "deep nesting":
        depth = draw(st.integers(4, 30_000))
        return (f"{key}: " + "[" * depth + "]" * depth + "\n").encode(), ".yaml", [
            "nests lists or mappings"], kind
    if kind == "too big":
        return f"{key}: ".encode() + b"x" * (256 * 1024 + draw(st.integers(1, 5000))), ".yaml", [
            "over the limit of 262,144"], kind
    if kind == "binary tag":
        return f"{key}: !!binary aGVsbG8=\n".encode(), ".yaml", [
            f"the answer to {key} is binary"], kind
    if kind == "markdown control":
        raw = draw(st.sampled_from(CONTROLS))
        return f"## {key}\n\n{answer}{raw}{answer}\n".encode(), ".md", [
            f"(U+{ord(raw):04X}) on line 3"], kind
    bad = draw(st.sampled_from([b"\xe9", b"\xff", b"\x80"]))
    return f"## {key}\n\n".encode() + bad + b"\n", ".md", ["is not UTF-8 text", "line 3"], kind


@settings(max_examples=100, **RUN)
@given(bad_answers())
def test_generated_bad_answers_files_get_one_clear_error_fast(tmp_path_factory, case):
    data, suffix, expected, what = case
    path = tmp_path_factory.mktemp("answers") / f"answers{suffix}"
    path.write_bytes(data)
    start = time.perf_counter()
    with pytest.raises(AnswersError) as err:
        load_answers(path)
    assert time.perf_counter() - start < 1.0, what
    for needle in expected:
        assert needle in str(err.value), (what, needle, str(err.value))


@settings(max_examples=40, **RUN)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
def test_arbitrary_bytes_as_answers_never_escape_as_another_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("answers") / "answers.yaml"
    path.write_bytes(data)
    try:
        answers = load_answers(path)
    except AnswersError as exc:
        assert str(exc).startswith(f"the answers file {path}")
    else:  # the few byte strings that are a valid answers file: known keys, text answers
        assert set(answers) <= set(KEYS) and all(isinstance(v, str) for v in answers.values())


def test_generated_bad_answers_files_refuse_the_release_and_write_nothing(store, tmp_path,
                                                                          request):
    backend = request.node.callspec.params["store_url"]
    n = 25 if backend == "sqlite" else 5
    _campaign(store)
    ran = []

    @settings(max_examples=n, **RUN)
    @given(bad_answers())
    def check(case):
        data, suffix, expected, what = case
        folder = tmp_path / uuid.uuid4().hex[:8]
        folder.mkdir()
        answers = folder / f"answers{suffix}"
        answers.write_bytes(data)
        before = rows_in_every_table(store)
        result = CliRunner().invoke(cli, [
            "release", "-c", "kilimo", "--version", "1.0.0", "--out", str(folder / "rel"),
            "--answers", str(answers), "--db", store.url, "--data-dir", str(tmp_path)])
        _assert_cli_refusal(result, ["Release refused", *expected], what)
        assert sorted(p.name for p in folder.iterdir()) == [answers.name], what
        assert rows_in_every_table(store) == before, what
        ran.append(what)

    check()
    assert len(ran) >= n
