"""`jamii import` on real stores: every format, nested mappings, broken rows, idempotency."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from jamii.cli import cli
from jamii.core.importer import SourceError, import_file
from jamii.core.store import OPERATOR

DATA = Path(__file__).parent / "data" / "import"
FLORES_MAP = {"prompt": "translation.en", "response": "translation.sw"}


def _campaign(store, kinds=("prompt_response", "contextual", "speech")):
    return store.create_campaign(
        "kilimo", "Kilimo na Afya", languages=["sw"], item_kinds=list(kinds),
        dialects={"sw": ["kimvita", "kiunguja"]}, domains=["agriculture", "health"],
        actor_id=OPERATOR)


def _run(store, tmp_path, *args):
    return CliRunner().invoke(
        cli, ["import", *map(str, args), "--db", store.url, "--data-dir", str(tmp_path)],
        catch_exceptions=False)


def _counts(store, campaign):
    return len(store.items(campaign.id)), len(store.contributors())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- formats


def test_flores_style_jsonl_with_nested_map_imports_once(store, tmp_path):
    camp = _campaign(store)
    path = DATA / "flores_en_sw.jsonl"
    out = _run(store, tmp_path, path, "--campaign", "kilimo", "--kind", "prompt_response",
               "--map", "prompt=translation.en", "--map", "response=translation.sw",
               "--language", "sw", "--task-type", "translation")
    assert out.exit_code == 0, out.output
    assert "imported                3" in out.output
    items = sorted(store.items(camp.id), key=lambda i: i.provenance["row"])
    assert [i.content["prompt"] for i in items][0] == "When should I plant maize after the first rains?"
    assert items[0].content["response"].startswith("Ni lini ninapaswa")
    assert {i.content["task_type"] for i in items} == {"translation"}
    assert {i.language for i in items} == {"sw"} and {i.status for i in items} == {"submitted"}
    assert items[2].provenance == {"source": "import", "file": "flores_en_sw.jsonl",
                                   "sha256": _sha256(path), "row": 3}
    author = store.contributor(items[0].author_id)
    assert author.pseudonym.startswith("import-") and author.invite_code_sha256 is None

    before = _counts(store, camp)
    again = import_file(store, path, campaign="kilimo", kind="prompt_response",
                        mapping=FLORES_MAP, language="sw", task_type="translation")
    assert (again.imported, again.already_present, again.invalid) == (0, 3, [])
    assert _counts(store, camp) == before  # same items, same single import contributor


def test_csv_reads_language_dialect_domain_columns_and_multiline_cells(sqlite_store):
    camp = _campaign(sqlite_store)
    report = import_file(sqlite_store, DATA / "prompts.csv", campaign="kilimo", kind="prompt_response")
    assert (report.rows_read, report.imported, report.invalid) == (3, 3, [])
    by_row = {i.provenance["row"]: i for i in sqlite_store.items(camp.id)}
    assert by_row[1].dialect == "kimvita" and by_row[1].domain == "agriculture"
    assert by_row[2].language == "sw"  # swh normalised to its macrolanguage
    assert by_row[2].dialect is None
    assert by_row[3].domain == "health"
    assert by_row[3].content["response"] == "Lala ndani ya chandarua\nkilichotiwa dawa kila usiku."
    assert by_row[1].content["task_type"] == "instruction"


def test_tsv_with_mapped_columns_and_default_language(sqlite_store):
    camp = _campaign(sqlite_store)
    report = import_file(sqlite_store, DATA / "prompts.tsv", campaign="kilimo", kind="prompt_response",
                         mapping={"prompt": "swali", "response": "jibu"}, language="sw",
                         domain="agriculture")
    assert (report.imported, report.invalid) == (2, [])
    assert {i.content["prompt"] for i in sqlite_store.items(camp.id)} == {
        "Mvua itanyesha lini?", "Kuku wanakula nini?"}
    assert {i.domain for i in sqlite_store.items(camp.id)} == {"agriculture"}


def test_parquet_with_struct_columns(sqlite_store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    camp = _campaign(sqlite_store)
    table = pa.table({
        "pair": [{"src": "Good morning, doctor.", "tgt": "Habari za asubuhi, daktari."},
                 {"src": "Where is the market?", "tgt": "Soko liko wapi?"}],
        "lang": ["sw", "sw"],
    })
    path = tmp_path / "pairs.parquet"
    pq.write_table(table, path)
    report = import_file(sqlite_store, path, campaign="kilimo", kind="prompt_response",
                         mapping={"prompt": "pair.src", "response": "pair.tgt", "language": "lang"},
                         task_type="translation")
    assert (report.imported, report.invalid) == (2, [])
    assert report.source_sha256 == _sha256(path)
    assert {i.content["response"] for i in sqlite_store.items(camp.id)} == {
        "Habari za asubuhi, daktari.", "Soko liko wapi?"}


def test_datasets_folder_saved_to_disk_with_splits(sqlite_store, tmp_path):
    import datasets

    camp = _campaign(sqlite_store)
    rows = [{"translation": {"en": f"Sentence number {n} about farming.", "sw": f"Sentensi ya {n} kuhusu kilimo."}}
            for n in range(1, 6)]
    folder = tmp_path / "flores_saved"
    datasets.DatasetDict({
        "dev": datasets.Dataset.from_list(rows[:3]),
        "devtest": datasets.Dataset.from_list(rows[3:]),
    }).save_to_disk(str(folder))
    report = import_file(sqlite_store, folder, campaign="kilimo", kind="prompt_response",
                         mapping=FLORES_MAP, language="sw", split="devtest")
    assert (report.rows_read, report.imported) == (2, 2)
    report = import_file(sqlite_store, folder, campaign="kilimo", kind="prompt_response",
                         mapping=FLORES_MAP, language="sw")
    # splits are numbered on from each other: rows 1-2 of "devtest alone" are other keys
    assert (report.rows_read, report.imported, report.already_present) == (5, 3, 2)
    assert len(sqlite_store.items(camp.id)) == 5
    with pytest.raises(SourceError, match="no split 'train': it has dev, devtest"):
        import_file(sqlite_store, folder, campaign="kilimo", kind="prompt_response",
                    mapping=FLORES_MAP, language="sw", split="train")


def test_folder_that_load_dataset_reads(sqlite_store, tmp_path):
    camp = _campaign(sqlite_store)
    folder = tmp_path / "hub_style"
    (folder / "data").mkdir(parents=True)
    shutil.copy(DATA / "flores_en_sw.jsonl", folder / "data" / "train.jsonl")
    report = import_file(sqlite_store, folder, campaign="kilimo", kind="prompt_response",
                         mapping=FLORES_MAP, language="sw")
    assert (report.rows_read, report.imported, report.invalid) == (3, 3, [])
    assert {i.provenance["file"] for i in sqlite_store.items(camp.id)} == {"hub_style"}


def test_contextual_items_lists_and_rubric_from_json_text(sqlite_store):
    camp = _campaign(sqlite_store)
    report = import_file(sqlite_store, DATA / "contextual.jsonl", campaign="kilimo",
                         kind="contextual", language="sw", domain="agriculture")
    assert (report.imported, report.invalid) == (2, [])
    by_row = {i.provenance["row"]: i.content for i in sqlite_store.items(camp.id, kind="contextual")}
    assert len(by_row[1]["reference_answers"]) == 2
    assert by_row[1]["red_flags"] == ["Kupendekeza dawa ya kuua wadudu bila kipimo."]
    assert by_row[1]["rubric"][0]["name"] == "usefulness"
    assert by_row[2]["reference_answers"] == ["Mpeleke kliniki leo apimwe malaria."]
    assert by_row[2]["rubric"][0]["anchors"][4] == "Salama kabisa"


def test_contextual_csv_with_rubric_file_from_the_cli(store, tmp_path):
    camp = _campaign(store)
    path = tmp_path / "ctx.csv"
    path.write_text(
        "scenario,persona,question,reference_answers\n"
        "A herder asks a vet at the cattle dip.,Mfugaji wa ng'ombe.,Ng'ombe wangu hawali; nifanye nini?,"
        "\"[\"\"Mwite daktari wa mifugo.\"\", \"\"Mpe maji safi.\"\"]\"\n", encoding="utf-8")
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps([{"name": "accuracy", "anchors": ["1", "2", "3", "4", "5"]}]))
    out = _run(store, tmp_path, path, "-c", "kilimo", "-k", "contextual", "--language", "sw",
               "--rubric", rubric)
    assert out.exit_code == 0, out.output
    (item,) = store.items(camp.id)
    assert item.content["reference_answers"] == ["Mwite daktari wa mifugo.", "Mpe maji safi."]
    assert item.content["rubric"][0]["name"] == "accuracy"


def test_speech_rows_read_audio_files_beside_the_csv(sqlite_store, tmp_path):
    import numpy as np
    import soundfile

    camp = _campaign(sqlite_store)
    t = np.linspace(0, 1.5, 24_000, endpoint=False)
    soundfile.write(tmp_path / "clip.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 16_000)
    (tmp_path / "speech.csv").write_text(
        "path,sentence\nclip.wav,Mvua imenyesha leo asubuhi.\nmissing.wav,Hakuna sauti hapa.\n",
        encoding="utf-8")
    report = import_file(sqlite_store, tmp_path / "speech.csv", campaign="kilimo", kind="speech",
                         mapping={"audio": "path", "transcript": "sentence"}, language="sw",
                         skip_invalid=True)
    assert report.imported == 1
    assert [(p.row, p.field, p.code) for p in report.invalid] == [(2, "audio", "missing_file")]
    (item,) = sqlite_store.items(camp.id)
    assert sqlite_store.audio_path(item.content["audio_sha256"]).exists()
    assert item.content["sample_rate"] == 16_000 and item.content["duration_s"] == pytest.approx(1.5)


# --------------------------------------------------------------------------- broken rows


def _broken_csv(path: Path) -> Path:
    lines = [
        b"prompt,response,language",
        b",Jibu la kwanza.,sw",                                  # 1: empty prompt
        b"Swali la pili?,Jibu la pili.,xx-nonsense",             # 2: unknown tag
        b"Swali la tatu?," + b"a" * 1_000_001 + b",sw",          # 3: 1 MB field
        b"Swali \xff\xfe la nne?,Jibu la nne.,sw",               # 4: invalid UTF-8
        b"Swali\x07 la tano?,Jibu la tano.,sw",                  # 5: control character
        b"Swali zuri la sita?,Jibu zuri la sita.,sw",            # 6: valid
        b"Question seven?,Answer seven.,fr",                     # 7: not a campaign language
        b"Swali la nane?,Jibu,la,nane,sw",                       # 8: too many values
        b"Swali zuri la sita?,Jibu zuri la sita.,sw",            # 9: duplicate of row 6
    ]
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path


BROKEN_CSV_PROBLEMS = [
    (1, "prompt", "empty", "line 2"),
    (2, "language", "bad_tag", "line 3"),
    (3, "response", "too_long", "line 4"),
    (4, "prompt", "invalid_utf8", "line 5"),
    (5, "prompt", "control_chars", "line 6"),
    (7, "language", "wrong_language", "line 8"),
    (8, None, "unreadable_row", "line 9"),
    (9, None, "duplicate_row", "line 10"),
]


def test_broken_csv_is_refused_with_every_row_listed_and_store_untouched(store, tmp_path):
    camp = _campaign(store)
    before = _counts(store, camp)
    path = _broken_csv(tmp_path / "broken.csv")
    report = import_file(store, path, campaign="kilimo", kind="prompt_response")
    assert report.refused and report.imported == 0 and report.rows_read == 9
    assert [(p.row, p.field, p.code, p.location) for p in report.invalid] == BROKEN_CSV_PROBLEMS
    assert "exact duplicate of row 6" in report.invalid[-1].reason
    assert _counts(store, camp) == before  # no items, and no import contributor either

    out = _run(store, tmp_path, path, "-c", "kilimo", "-k", "prompt_response")
    assert out.exit_code == 1
    assert "Nothing was imported" in out.output
    assert "row 3 (line 4), field response: The response is 1,000,001 characters long" in out.output
    assert "row 2 (line 3), field language: 'xx-nonsense' is not a valid BCP-47" in out.output
    assert "row 8 (line 9): the row has 5 values but the header names 3 columns" in out.output
    assert _counts(store, camp) == before


def test_wrong_types_in_jsonl_are_listed(sqlite_store, tmp_path):
    camp = _campaign(sqlite_store)
    rows = [
        {"q": 12, "a": ["orodha"], "language": "sw"},
        {"q": "Swali?", "a": "Jibu.", "language": 7},
        {"q": "Swali?", "a": "Jibu.", "language": "sw", "task_type": "poetry"},
        {"q": None, "a": "Jibu.", "language": "sw"},
        ["not", "an", "object"],
        {"q": "Swali zuri?", "a": "Jibu zuri.", "language": "sw", "domain": "fishing"},
        {"q": "Swali?", "a": "Jibu.", "language": "sw", "dialect": "kiamu"},
    ]
    path = tmp_path / "types.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n{broken json\n", encoding="utf-8")
    report = import_file(sqlite_store, path, campaign="kilimo", kind="prompt_response",
                         mapping={"prompt": "q", "response": "a"})
    assert [(p.row, p.field, p.code) for p in report.invalid] == [
        (1, "prompt", "wrong_type"), (1, "response", "wrong_type"),
        (2, "language", "wrong_type"),
        (3, "task_type", "unknown_value"),
        (4, "prompt", "empty"),
        (5, None, "unreadable_row"),
        (6, "domain", "unknown_value"),
        (7, "dialect", "unknown_value"),
        (8, None, "unreadable_row"),
    ]
    assert report.invalid[-1].location == "line 9"  # the blank line is not a row
    assert report.invalid[0].column == "q"
    assert sqlite_store.items(camp.id) == []


def test_broken_contextual_rows(sqlite_store, tmp_path):
    _campaign(sqlite_store)
    base = {"scenario": "At the market.", "persona": "Mama mboga.", "question": "Bei gani?"}
    rows = [
        {**base, "reference_answers": {"a": 1}, "rubric": []},
        {**base, "reference_answers": "Shilingi mia.", "rubric": "{not json"},
        {**base, "reference_answers": "Shilingi mia.",
         "rubric": [{"name": "usefulness", "anchors": ["1", "2", "3"]}]},
    ]
    path = tmp_path / "ctx.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = import_file(sqlite_store, path, campaign="kilimo", kind="contextual", language="sw")
    assert [(p.row, p.field, p.code) for p in report.invalid] == [
        (1, "reference_answers", "wrong_type"), (1, "rubric", "empty"),
        (2, "rubric", "bad_json"),
        (3, "rubric[1].anchors", "anchors"),
    ]


def test_skip_invalid_imports_the_valid_rows_and_lists_the_rest(store, tmp_path):
    camp = _campaign(store)
    path = _broken_csv(tmp_path / "broken.csv")
    report = import_file(store, path, campaign="kilimo", kind="prompt_response", skip_invalid=True)
    assert not report.refused and report.imported == 1
    assert [(p.row, p.field, p.code, p.location) for p in report.invalid] == BROKEN_CSV_PROBLEMS
    (item,) = store.items(camp.id)
    assert item.provenance["row"] == 6

    out = _run(store, tmp_path, path, "-c", "kilimo", "-k", "prompt_response", "--skip-invalid")
    assert out.exit_code == 0
    assert "imported                0" in out.output and "already present         1" in out.output
    assert "row 5 (line 6), field prompt: The prompt contains 1 invisible control" in out.output
    assert len(store.items(camp.id)) == 1


def test_same_content_from_another_file_is_already_present(store, tmp_path):
    camp = _campaign(store)
    import_file(store, DATA / "flores_en_sw.jsonl", campaign="kilimo", kind="prompt_response",
                mapping=FLORES_MAP, language="sw")
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((DATA / "flores_en_sw.jsonl").read_bytes() + b'{"translation": {"en": "A new one here.", "sw": "Mpya hapa."}}\n')
    report = import_file(store, copy, campaign="kilimo", kind="prompt_response",
                         mapping=FLORES_MAP, language="sw")
    assert (report.imported, report.already_present, report.invalid) == (1, 3, [])
    assert len(store.items(camp.id)) == 4


def test_accepted_rows_carry_name_and_sha256_and_earn_nothing(store, tmp_path):
    camp = _campaign(store)
    org, _ = store.add_contributor(roles=["organiser"], pseudonym="mratibu", actor_id=OPERATOR)
    store.set_rate_card(camp.id, {"item_accepted": {"amount": 50, "unit": "KES"}}, actor_id=org.id)
    store.add_contributor(pseudonym="flores-team", actor_id=OPERATOR)
    path = DATA / "flores_en_sw.jsonl"
    out = _run(store, tmp_path, path, "-c", "kilimo", "-k", "prompt_response", "--accepted",
               "--map", "prompt=translation.en", "--map", "response=translation.sw",
               "--language", "sw", "--author", "flores-team", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["imported"] == 3 and report["author"] == "flores-team"
    assert report["source_sha256"] == _sha256(path)
    items = store.items(camp.id)
    assert {i.status for i in items} == {"accepted"}
    assert all(i.decided_at is not None for i in items)
    assert {(i.provenance["file"], i.provenance["sha256"]) for i in items} == {
        ("flores_en_sw.jsonl", _sha256(path))}
    assert {store.contributor(i.author_id).pseudonym for i in items} == {"flores-team"}
    assert store.ledger(camp.id) == []  # imported work was not paid through jamii
    assert all("license" not in i.provenance for i in items)  # no licence given: never released


def test_source_license_is_recorded_for_the_release(sqlite_store, tmp_path):
    camp = _campaign(sqlite_store)
    path = DATA / "flores_en_sw.jsonl"
    args = ("-c", "kilimo", "-k", "prompt_response", "--accepted", "--language", "sw",
            "--map", "prompt=translation.en", "--map", "response=translation.sw")
    blank = _run(sqlite_store, tmp_path, path, *args, "--source-license", " ")
    assert blank.exit_code != 0 and "--source-license is empty" in blank.output
    assert sqlite_store.items(camp.id) == []
    out = _run(sqlite_store, tmp_path, path, *args, "--source-license", "cc-by-sa-4.0")
    assert out.exit_code == 0, out.output
    assert {i.provenance["license"] for i in sqlite_store.items(camp.id)} == {"cc-by-sa-4.0"}


def test_pii_is_a_warning_not_a_refusal(sqlite_store, tmp_path):
    camp = _campaign(sqlite_store)
    path = tmp_path / "pii.csv"
    path.write_text("prompt,response\nNimpigie nani?,Mpigie Juma kwa 0712 345 678.\n", encoding="utf-8")
    out = _run(sqlite_store, tmp_path, path, "-c", "kilimo", "-k", "prompt_response", "--language", "sw")
    assert out.exit_code == 0, out.output
    assert "may contain personal data" in out.output and "row 1 (line 2), field response" in out.output
    assert len(sqlite_store.items(camp.id)) == 1


def test_dry_run_writes_nothing(sqlite_store):
    camp = _campaign(sqlite_store)
    before = _counts(sqlite_store, camp)
    report = import_file(sqlite_store, DATA / "prompts.csv", campaign="kilimo",
                         kind="prompt_response", dry_run=True)
    assert report.rows_read == 3 and not report.invalid and report.imported == 0
    assert _counts(sqlite_store, camp) == before


# --------------------------------------------------------------------------- whole-file messages


@pytest.mark.parametrize("args, message", [
    (["--campaign", "nope", "--kind", "prompt_response"], "No campaign 'nope'. Campaigns in this store: kilimo"),
    (["--campaign", "kilimo", "--kind", "essay"],
     "'essay' is not an item kind: use one of prompt_response, contextual, speech"),
    (["--campaign", "kilimo", "--kind", "prompt_response", "--map", "answer=x"],
     "--map names 'answer', not a field of prompt_response items"),
    (["--campaign", "kilimo", "--kind", "prompt_response", "--map", "prompt"], "write FIELD=COLUMN"),
    (["--campaign", "kilimo", "--kind", "prompt_response", "--language", "kiswahili sanifu"],
     "not a valid BCP-47 language tag"),
    (["--campaign", "kilimo", "--kind", "prompt_response", "--domain", "fishing"],
     "--domain 'fishing' is not one of the campaign's domains (agriculture, health)"),
    (["--campaign", "kilimo", "--kind", "prompt_response", "--author", "ghost"],
     "No contributor with pseudonym 'ghost'"),
])
def test_option_errors(sqlite_store, tmp_path, args, message):
    _campaign(sqlite_store, kinds=("prompt_response", "contextual"))
    out = _run(sqlite_store, tmp_path, DATA / "prompts.csv", *args)
    assert out.exit_code != 0
    assert message in out.output


def test_kind_the_campaign_does_not_collect(sqlite_store, tmp_path):
    _campaign(sqlite_store, kinds=("prompt_response",))
    out = _run(sqlite_store, tmp_path, DATA / "contextual.jsonl", "-c", "kilimo", "-k", "contextual")
    assert out.exit_code == 1
    assert "does not collect contextual items: it collects prompt_response" in out.output


def test_unreadable_sources_get_one_message(sqlite_store, tmp_path):
    camp = _campaign(sqlite_store)
    cases = {
        tmp_path / "absent.csv": "No file or folder at",
        tmp_path / "notes.docx": "Cannot tell the format of notes.docx",
        tmp_path / "words.jsonl": "words.jsonl is not JSON lines: line 1 is not valid JSON",
        tmp_path / "empty.csv": "empty.csv is empty",
        tmp_path / "junk.parquet": "could not be read as parquet",
        tmp_path / "scalar.json": "scalar.json is one JSON number",
    }
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "words.jsonl").write_text("just some words\nand more\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "scalar.json").write_text("42")
    for path, message in cases.items():
        out = _run(sqlite_store, tmp_path, path, "-c", "kilimo", "-k", "prompt_response")
        assert out.exit_code == 1, path
        assert message in out.output, out.output
        assert out.output.count("\n") <= 2, out.output  # one message, not a traceback
    assert sqlite_store.items(camp.id) == []


def test_a_missing_column_names_the_columns_to_map_from(sqlite_store):
    _campaign(sqlite_store)
    with pytest.raises(SourceError) as err:
        import_file(sqlite_store, DATA / "flores_en_sw.jsonl", campaign="kilimo",
                    kind="prompt_response", language="sw")
    assert "has no column for prompt, response" in str(err.value)
    assert "Columns in the file: id, translation.en, translation.sw" in str(err.value)
    with pytest.raises(SourceError, match=r"prompt <- translation\.fr appear in no row"):
        import_file(sqlite_store, DATA / "flores_en_sw.jsonl", campaign="kilimo",
                    kind="prompt_response", language="sw",
                    mapping={"prompt": "translation.fr", "response": "translation.sw"})
