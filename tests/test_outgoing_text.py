"""Issue 10, items 1-4: one definition of outgoing text, a PII scan that reads what a human
reads, and one validator for every free-text field, side fields included.

Each numbered problem of the issue has its before-and-after here: the hostile value is shown to
be refused (or flagged), and the legitimate neighbour (ZWJ in Persian, a dialect from the list)
still passes. Store cases run on SQLite and PostgreSQL (the `store` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core.schema import ITEM_KINDS, KIND_COLUMNS, arrow_schema
from jamii.core.store import OPERATOR, StoreError

# Columns jamii itself writes (ids, tags, pseudonyms it generates, the consent version an
# organiser names, the split it computes, the audio file name it derives from the id): no
# contributor types them, so they are not outgoing *text*. Every other string a row can hold
# must come from `outgoing_texts`.
GENERATED_COLUMNS = {"id", "kind", "language", "split", "author", "reviewers", "consent_version",
                     "audio.path"}


def _string_leaves(name: str, typ: pa.DataType) -> list[str]:
    """Dotted paths of every string inside a column: lists and structs walked through."""
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return [name]
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return _string_leaves(name, typ.value_type)
    if pa.types.is_struct(typ):
        return [leaf for f in typ for leaf in _string_leaves(f"{name}.{f.name}", f.type)]
    return []


def _sentinel_value(path: str, typ: pa.DataType):
    """A value of the column's type whose every string is the sentinel for its path."""
    if pa.types.is_string(typ):
        return f"SENTINEL<{path}>"
    if pa.types.is_list(typ):
        count = 5 if path.endswith("anchors") else 1
        return [_sentinel_value(path, typ.value_type) for _ in range(count)]
    if pa.types.is_struct(typ):
        return {f.name: _sentinel_value(f"{path}.{f.name}", f.type) for f in typ}
    return None


@pytest.mark.parametrize("kind", ITEM_KINDS)
def test_outgoing_texts_cover_every_text_column_of_the_release(kind):
    """Derived from the arrow schema: a new text column fails here until it is scanned."""
    schema = arrow_schema(kind)
    leaves = [leaf for f in schema for leaf in _string_leaves(f.name, f.type)]
    must_scan = [leaf for leaf in leaves if leaf not in GENERATED_COLUMNS]
    content_columns = {name for name, _, _ in KIND_COLUMNS[kind]}
    content = {f.name: _sentinel_value(f.name, f.type) for f in schema if f.name in content_columns}
    scanned = item_rules.outgoing_texts(kind, content, dialect="SENTINEL<dialect>",
                                        domain="SENTINEL<domain>")
    seen = set()
    for text in scanned.values():
        seen.update(part.split(">")[0] for part in text.split("SENTINEL<")[1:])
    missing = sorted(set(must_scan) - seen)
    assert not missing, f"release text columns no scan reads: {missing}"
    assert {"dialect", "domain"} <= seen


# --------------------------------------------------------------------------- item 2
@pytest.mark.parametrize("hidden, kind", [
    ("amina\u200b@example.org", "email"),
    ("id 12\u200b34\u200b56\u200b78", "id_number"),
    ("1234\u00ad5678", "id_number"),
    ("amina(at)example.org", "email"),
    ("amina [at] example [dot] org", "email"),
    ("amina\uff20example.org", "email"),
    ("piga \uff10\uff17\uff11\uff12 345 678", "phone"),
    ("0712\u2060345\u2060678", "phone"),
])
def test_personal_data_hidden_from_the_eye_is_found(hidden, kind):
    hits = checks.find_pii(hidden)
    assert [h.kind for h in hits] == [kind]


def test_the_scan_reads_a_copy_and_joiners_stay_as_written(store, tmp_path):
    """ZWNJ in Persian and ZWJ in Malayalam are spelling: stored exactly as typed."""
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u0628\u062f\u0627\u0646\u0645"
    assert checks.check_text("prompt", persian) == []
    assert checks.find_pii(persian) == []
    org, camp, consent = _campaign(store)
    item = store.submit_item(campaign_id=camp.id, author_id=org.id, kind="prompt_response",
                             language="sw", client_key="zwnj",
                             content={"prompt": f"Neno {persian} kwa Kiswahili?",
                                      "response": "Ndiyo \u0d28\u0d4d\u200d"}).item
    stored = store.item(item.id).content
    assert persian in stored["prompt"] and "\u200d" in stored["response"]


# --------------------------------------------------------------------------- item 3
@pytest.mark.parametrize("value", ["\u200b\u200b\u200b", "\u2800\u2800", "\u3164", " \u115f\u1160 ",
                                   "\ufeff", "\u200d\u200c"])
def test_text_with_no_visible_character_is_refused(value):
    problems = checks.check_text("prompt", value)
    assert [p.code for p in problems] == ["invisible"] and problems[0].blocking
    assert "prompt" in problems[0].message


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                     "\u2066", "\u2067", "\u2068", "\u2069"])
def test_direction_overrides_and_isolates_are_refused(control):
    problems = checks.check_text("response", f"Bei ni {control}005 shilingi")
    assert "bidi_controls" in [p.code for p in problems]


def test_direction_marks_of_ordinary_rtl_writing_are_kept():
    arabic = "\u0627\u0644\u0633\u0639\u0631 \u200f100\u200f \u0634\u0644\u0646"
    assert checks.check_text("prompt", arabic) == []


def test_invisible_prompt_is_refused_by_the_store_and_nothing_is_written(store):
    org, camp, _ = _campaign(store)
    before = len(store.items(camp.id))
    with pytest.raises(item_rules.ItemError, match="prompt") as refused:
        store.submit_item(campaign_id=camp.id, author_id=org.id, kind="prompt_response",
                          language="sw", client_key="inv", content={"prompt": "\u200b\u2800",
                                                                      "response": "Sawa kabisa."})
    assert [p.code for p in refused.value.problems] == ["invisible"]
    assert len(store.items(camp.id)) == before


# --------------------------------------------------------------------------- item 4
HOSTILE_SIDE_VALUES = {
    "nul": ("Kiamu\x00", "control_chars"),
    "control": ("Kiamu\x1b[31m", "control_chars"),
    "markup": ("<script>alert(1)</script>", "markup"),
    "huge": ("K" * 1_000_000, "too_long"),
    "bidi": ("Kiamu\u202e", "bidi_controls"),
    "invisible": ("\u200b", "invisible"),
    "multiline": ("Kiamu\nna Kipate", "multiline"),
}


@pytest.mark.parametrize("field", ["dialect", "domain"])
@pytest.mark.parametrize("case", sorted(HOSTILE_SIDE_VALUES))
def test_hostile_side_fields_are_refused_by_the_store(store, field, case):
    """On PostgreSQL a NUL used to raise psycopg.DataError; now a message names the field."""
    value, code = HOSTILE_SIDE_VALUES[case]
    org, camp, _ = _campaign(store, domains=[])  # no domain list: domain is free text
    if field == "dialect":
        value = f"other: {value}"
    with pytest.raises(item_rules.ItemError) as refused:
        store.submit_item(campaign_id=camp.id, author_id=org.id, kind="prompt_response",
                          language="sw", client_key=f"side-{field}-{case}",
                          content={"prompt": "Mbolea gani inafaa?", "response": "Samadi."},
                          **{field: value})
    assert [(p.field, p.code) for p in refused.value.problems] == [(field, code)]
    assert store.items(camp.id) == []


def test_hostile_dialect_is_refused_by_the_form_with_a_message_naming_it():
    from jamii.collector.forms import prepare_item

    prepared = prepare_item("prompt_response", "sw", {"prompt": "Mbolea gani inafaa?",
                                                      "response": "Samadi."},
                            dialect="other: Kiamu\x00", domain=None)
    assert [(p.field, p.code) for p in prepared.blocking] == [("dialect", "control_chars")]


# --------------------------------------------------------------------------- item 1
def test_personal_data_in_a_dialect_or_rubric_description_is_flagged(store):
    """`jamii items flagged` and the organiser's page read outgoing_texts: side fields too."""
    org, camp, _ = _campaign(store)
    plain = store.submit_item(campaign_id=camp.id, author_id=org.id, kind="prompt_response",
                              language="sw", client_key="d1", dialect="other: Kiamu, piga 0712 345 678",
                              content={"prompt": "Mvua itanyesha lini?", "response": "Wiki ijayo."},
                              accepted=True).item
    ctx = store.submit_item(
        campaign_id=camp.id, author_id=org.id, kind="contextual", language="sw", client_key="r1",
        accepted=True,
        content={"scenario": "Mkulima wa mahindi karibu na Mutare.", "persona": "Mkulima mdogo",
                 "question": "Nipande lini?", "reference_answers": ["Mvua zikianza."],
                 "rubric": [{"name": "usefulness", "description": "Uliza amina(at)example.org",
                             "anchors": ["1", "2", "3", "4", "5"]}]}).item
    flagged = {f.item.public_id: {(name, hit.kind) for name, hit in f.hits}
               for f in store.flagged_items(camp.id)}
    assert flagged[plain.public_id] == {("dialect", "phone")}
    assert flagged[ctx.public_id] == {("rubric[1].description", "email")}


def test_import_warns_about_personal_data_in_the_dialect_column(store, tmp_path):
    from jamii.core.importer import import_file

    org, camp, _ = _campaign(store)
    src = tmp_path / "items.csv"
    src.write_text("prompt,response,dialect\nMvua itanyesha lini?,Wiki ijayo.,"
                   "\"other: Kiamu, piga 0712 345 678\"\n", encoding="utf-8")
    report = import_file(store, src, campaign="c", kind="prompt_response", language="sw",
                         dry_run=True)
    assert any(w.field == "dialect" and w.code == "pii_phone" for w in report.warnings)


# --------------------------------------------------------------------------- helpers
def _campaign(store, *, domains=("agriculture",)):
    org, _ = store.add_contributor(roles=["organiser", "reviewer"], pseudonym="mratibu",
                                   actor_id=OPERATOR)
    camp = store.create_campaign("c", "Campaign", languages=["sw"], actor_id=OPERATOR,
                                 dialects={"sw": ["Kiunguja", "Kiamu"]}, domains=list(domains),
                                 consent_scopes=["open_publication", "model_evaluation", "voice"])
    ct = store.add_consent_text(camp.id, "1", "sw", "Ninakubali kazi yangu ichapishwe.",
                                actor_id=OPERATOR)
    consent = store.accept_consent(org.id, ct.id, {"open_publication": True,
                                                   "model_evaluation": True, "voice": True})
    return org, camp, consent


def _all_text(folder: Path) -> str:
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix == ".parquet":
            rows = pq.read_table(path).to_pylist()
            for row in rows:
                if isinstance(row.get("audio"), dict):
                    row["audio"] = row["audio"].get("path")
            parts.append(json.dumps(rows, ensure_ascii=False, default=str))
        elif path.is_file():
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


# --------------------------------------------------------------------------- the release
# (field, how it is hidden) for each planted item; every field a release publishes gets one
_HIDE = [
    lambda local: f"{local}\u200b@example.org",
    lambda local: f"{local}(at)example.org",
    lambda local: f"{local} [at] example [dot] org",
    lambda local: f"{local}\uff20example.org",
    lambda local: f"{local}@exam\u00adple.org",
]


def _planted_items(digest: str) -> list[tuple[str, str, dict, dict]]:
    """(what, kind, content, side fields) with one hidden email in one outgoing field each."""
    base = {
        "prompt_response": {"prompt": "Bei ya mbolea ni kiasi gani sokoni?",
                            "response": "Inategemea msimu na duka.", "task_type": "open_qa"},
        "contextual": {"scenario": "Mkulima mdogo wa mahindi karibu na Mutare, msimu wa mvua.",
                       "persona": "Mama mkulima", "question": "Nipande mahindi lini mwaka huu?",
                       "reference_answers": ["Mvua za kwanza zikinyesha vizuri."],
                       "red_flags": ["Kupanda kabla ya mvua"],
                       "rubric": [{"name": "manufaa", "description": "Je, jibu linasaidia?",
                                   "anchors": ["Hapana", "Kidogo", "Wastani", "Ndiyo", "Sana"]}]},
        "speech": {"transcript": "Mvua imeanza kunyesha leo asubuhi mapema.",
                   "prompt_text": "Mvua imeanza kunyesha leo asubuhi mapema.",
                   "audio_sha256": digest, "duration_s": 1.5, "sample_rate": 16000},
    }
    where = [("prompt_response", "prompt"), ("prompt_response", "response"),
             ("prompt_response", "dialect"),
             ("contextual", "scenario"), ("contextual", "persona"), ("contextual", "question"),
             ("contextual", "reference_answers"), ("contextual", "red_flags"),
             ("contextual", "rubric.name"), ("contextual", "rubric.description"),
             ("contextual", "rubric.anchors"), ("contextual", "dialect"),
             ("speech", "transcript"), ("speech", "prompt_text"), ("speech", "dialect")]
    out = []
    for n, (kind, name) in enumerate(where):
        secret = _HIDE[n % len(_HIDE)](f"zq{n}x")
        content = json.loads(json.dumps(base[kind]))
        side = {"dialect": "Kiunguja", "domain": "agriculture"}
        if name == "dialect":
            side["dialect"] = f"other: Kiamu {secret}"
        elif name in ("reference_answers", "red_flags"):
            content[name] = [f"{content[name][0]} Andika {secret}"]
        elif name.startswith("rubric."):
            part = name.split(".")[1]
            crit = content["rubric"][0]
            if part == "anchors":
                crit["anchors"][2] = f"Wastani {secret}"
            else:
                crit[part] = f"{crit[part]} {secret}"
        else:
            content[name] = f"{content[name]} Andika {secret}"
        # each item's words differ, so none is refused as a near duplicate of another
        content.setdefault("prompt_text", None)
        if kind == "speech":
            content["transcript"] += f" namba {n}"
        elif kind == "contextual":
            content["question"] += f" swali {n}"
        else:
            content["prompt"] += f" swali {n}"
        content = {k: v for k, v in content.items() if v is not None}
        out.append((f"{kind}.{name}", kind, content, side))
    return out


def test_a_release_from_a_store_with_personal_data_in_every_field_holds_none_of_it(store, tmp_path):
    """Every outgoing field gets an email hidden by zero-width characters, soft hyphens,
    "(at)" or a full-width at sign: the release gate refuses each item (or, with
    --exclude-flagged, leaves it out) and no file of the folder, parquet included, holds it."""
    from jamii.datasheets import ReleaseRefused, build_release
    from tests.support.release_store import ANSWERS, build_release_store, wav

    planted = build_release_store(store)
    camp = store.campaign(planted.campaign_id)
    ct = store.consent_text(camp.id, "sw")
    author, _ = store.add_contributor(roles=["contributor"], pseudonym="mwandishi",
                                      actor_id=OPERATOR)
    store.accept_consent(author.id, ct.id, {"open_publication": True, "model_evaluation": True,
                                            "voice": True})
    reviewers = []
    for i in range(2):
        person, _ = store.add_contributor(roles=["reviewer"], pseudonym=f"mkaguzi-{i}",
                                          actor_id=OPERATOR)
        reviewers.append(person)
    digest = store.save_audio(wav(seconds=1.5, seed=7))
    secrets_by_field = {}
    ids = {}
    for n, (what, kind, content, side) in enumerate(_planted_items(digest)):
        item = store.submit_item(campaign_id=camp.id, author_id=author.id, kind=kind,
                                 language="sw", content=content, client_key=f"plant-{n}",
                                 **side).item
        for r in reviewers:
            store.record_review(item.id, r.id, "approve")
        assert store.item(item.id).status == "accepted"
        secrets_by_field[what] = f"zq{n}x@example.org"
        ids[what] = item.public_id

    # five people who self-describe their region with a phone number in it: a group of five is
    # published by the rule of five, so the label itself must be withheld
    region = "Mutare, piga 0799 555 444"
    topics = ["mtama", "muhogo", "ndizi", "kahawa", "pamba"]
    for i, crop in enumerate(topics):
        person, _ = store.add_contributor(roles=["contributor"], pseudonym=f"mkoa-{i}",
                                          region=region, actor_id=OPERATOR)
        store.accept_consent(person.id, ct.id, {"open_publication": True,
                                                "model_evaluation": True, "voice": True})
        item = store.submit_item(
            campaign_id=camp.id, author_id=person.id, kind="prompt_response", language="sw",
            client_key=f"region-{i}", domain="agriculture",
            content={"prompt": f"Ni wakati gani mzuri wa kuvuna {crop} katika eneo letu {i}?",
                     "response": f"Vuna {crop} yakikomaa na hali ya hewa ikiwa kavu."}).item
        for r in reviewers:
            store.record_review(item.id, r.id, "approve")
    secrets_by_field["profile.region"] = "0799 555 444"

    flagged = {f.item.public_id for f in store.flagged_items(camp.id)}
    assert set(ids.values()) <= flagged, sorted(k for k, v in ids.items() if v not in flagged)

    with pytest.raises(ReleaseRefused) as refused:
        build_release(store, camp.slug, "1.0.0", tmp_path / "refused", answers=ANSWERS)
    reasons = "\n".join(refused.value.reasons)
    for what, public_id in ids.items():
        assert public_id in reasons, f"the gate let {what} through"
    assert not (tmp_path / "refused").exists()

    out = tmp_path / "v1"
    build_release(store, camp.slug, "1.0.0", out, answers=ANSWERS, exclude_flagged=True)
    released = _all_text(out)
    seen = checks.pii_view(released)
    leaked = [what for what, secret in secrets_by_field.items()
              if secret in seen or (secret.startswith("zq") and secret.split("@")[0] in released)]
    assert not leaked, f"personal data published from: {leaked}"
    assert "withheld (may hold personal data): 5" in (out / "DATA_STATEMENT.md").read_text()
    assert not set(ids.values()) & {r["id"] for p in out.rglob("*.parquet")
                                    for r in pq.read_table(p, columns=["id"]).to_pylist()}


@pytest.mark.parametrize("blank", ["\u200b\u200b", "\u2800", "\u3164"])
def test_an_invisible_prompt_is_refused_by_the_form_and_the_import(store, tmp_path, blank):
    """Item 3 as a contributor meets it: the form says which field, the import lists the row,
    and nothing is stored either way."""
    from jamii.collector.forms import prepare_item
    from jamii.core.importer import import_file

    prepared = prepare_item("prompt_response", "sw", {"prompt": blank, "response": "Samadi."})
    assert [(p.field, p.code) for p in prepared.blocking] == [("prompt", "invisible")]
    _, camp, _ = _campaign(store)
    src = tmp_path / "items.jsonl"
    src.write_text(json.dumps({"prompt": blank, "response": "Samadi."}) + "\n", encoding="utf-8")
    report = import_file(store, src, campaign="c", kind="prompt_response", language="sw")
    assert report.refused and report.imported == 0
    assert [(p.field, p.code) for p in report.invalid] == [("prompt", "invisible")]
    assert store.items(camp.id) == []


# --------------------------------------------------------------------------- the cheap pre-test
@pytest.mark.parametrize("hidden, kind", [
    ("amina(a\u200bt)example.org", "email"),          # a hidden character inside "(at)"
    ("amina\u207dat\u207eexample.org", "email"),      # superscript brackets
    ("amina\ufe35at\ufe36example.org", "email"),      # vertical-form brackets
    ("piga +\u3255\u32bc\u246b\u3254 5678", "phone"),  # circled numbers: +254712345678
    ("amina at example dot org", "email"),
    ("andika amina at example.org leo", "email"),
    ("amina@example\u3002org", "email"),              # ideographic full stop
    ("akaunti 0712_345_678", "id_number"),
    ("akaunti 1234\u20145678", "id_number"),         # em dash between groups
])
def test_what_a_reader_sees_through_is_not_skipped_by_the_pre_test(hidden, kind):
    """The reviewer's bypasses: `might_hold_pii` said "surely nothing" and the text was
    published. The pre-test now reads non-ASCII text through `pii_view` too."""
    assert checks.might_hold_pii(hidden)
    assert kind in [h.kind for h in checks.find_pii(hidden)]


@pytest.mark.parametrize("sentence", ["we met at home today", "he is at school.Then",
                                      "Bei ni shilingi 25 000 000 kwa ekari 2020-2024."])
def test_ordinary_sentences_stay_unflagged(sentence):
    assert checks.find_pii(sentence) == []


def test_the_pre_test_never_skips_a_text_the_scan_would_flag():
    """Property: wherever the full scan of the human view finds something, the cheap pre-test
    says the text might hold it (generated from digits, look-alike digits, brackets, hidden
    characters and address words)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from([
        "0", "7", "1", "2", "5", "9", "\u2460", "\u3254", "\u00b9", "\uff17", "\u0667", " ", "-",
        "_", "\u2014", "\u200b", "\u00ad", "\u2060", "@", "\uff20", "(", ")", "\u207d", "\u207e",
        "[", "]", "\ufe35", "\ufe36", "at", " at ", "dot", " dot ", ".", "\u3002", "amina",
        "example", "org", "+", "piga ", "\n",
    ])

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(pieces, min_size=1, max_size=24).map("".join))
    def holds(text):
        if checks.scan_view(checks.pii_view(text)):
            assert checks.might_hold_pii(text), text

    holds()


# --------------------------------------------------------------------------- organiser-side text
def test_a_pseudonym_with_personal_data_is_refused(store):
    """Pseudonyms are printed in every row (author, reviewers); an organiser may choose one."""
    with pytest.raises(StoreError, match="published with every release"):
        store.add_contributor(roles=["contributor"], pseudonym="amina-0712345678",
                              actor_id=OPERATOR)
    with pytest.raises(StoreError, match="published with every release"):
        store.import_author("juma(at)example.org", actor_id=OPERATOR)
    assert store.contributors() == []


def test_campaign_texts_and_import_file_names_never_carry_personal_data_out(store, tmp_path):
    """The reviewer's leaks: a contact in the campaign description (card, CITATION.cff,
    Croissant) refuses the release; an imported file's name with a contact in it is published
    as 'withheld', never as written."""
    from jamii.core.importer import import_file
    from jamii.datasheets import ReleaseRefused, build_release
    from tests.support.release_store import ANSWERS, build_release_store

    planted = build_release_store(store)
    camp = store.campaign(planted.campaign_id)
    src = tmp_path / "mahojiano_amina.juma@example.org_0733111222.csv"
    src.write_text("prompt,response\n"
                   "Ni zao gani linastahimili ukame zaidi hapa kwetu?,Mtama na mihogo.\n"
                   "Ni lini tuvune asali kwenye mizinga ya kienyeji?,Baada ya maua kwisha.\n",
                   encoding="utf-8")
    report = import_file(store, src, campaign=camp.slug, kind="prompt_response", language="sw",
                         domain="agriculture", accepted=True, source_license="cc-by-4.0")
    assert report.imported == 2
    store.update_campaign(camp.id, actor_id=OPERATOR,
                          description="Maswali ya wakulima; piga Juma 0712 345 678")
    with pytest.raises(ReleaseRefused, match="campaign description holds what looks like"):
        build_release(store, camp.slug, "1.0.0", tmp_path / "refused", answers=ANSWERS,
                      exclude_flagged=True)
    assert not (tmp_path / "refused").exists()
    store.update_campaign(camp.id, actor_id=OPERATOR, description="Maswali ya wakulima.")
    out = tmp_path / "v1"
    build_release(store, camp.slug, "1.0.0", out, answers=ANSWERS, exclude_flagged=True)
    released = checks.pii_view(_all_text(out))
    for secret in ("amina.juma@example.org", "0733111222", "0712 345 678"):
        assert secret not in released, secret
    assert "withheld (may hold personal data)" in (out / "DATASHEET.md").read_text()


def test_pseudonyms_jamii_makes_are_never_refused_as_numbers(store):
    """An import's author is "import-<8 hex digits of the file name's hash>"; when all eight
    happen to be digits it is still a hash, not a person's number (1 file name in 40)."""
    person = store.import_author("import-12345678", actor_id=OPERATOR)
    assert person.pseudonym == "import-12345678"
    made, _ = store.add_contributor(roles=["contributor"], pseudonym="c-07123456",
                                    actor_id=OPERATOR)
    assert made.pseudonym == "c-07123456"


def test_a_file_whose_name_hashes_to_digits_imports(store, tmp_path):
    """'00000026.csv' hashes to 'import-99273174': the import used to be refused for it."""
    from jamii.core.importer import import_file

    _campaign(store)
    src = tmp_path / "00000026.csv"
    src.write_text("prompt,response\nSwali la mvua linaulizwa leo?,Ndiyo kesho.\n",
                   encoding="utf-8")
    report = import_file(store, src, campaign="c", kind="prompt_response", language="sw")
    assert report.imported == 1 and report.author == "import-99273174"


@pytest.mark.parametrize("value", [0, False, 0.0, []])
def test_a_task_type_that_is_not_text_is_refused_not_taken_for_the_default(value):
    """A JSON `"task_type": 0` was read as "not said" and stored as an instruction (found by
    the generated import suite)."""
    cleaned = item_rules.clean_content("prompt_response", {"prompt": "Swali?", "response": "Jibu.",
                                                           "task_type": value})
    assert [(p.field, p.code) for p in cleaned.blocking] == [("task_type", "wrong_type")]


def test_a_rate_card_with_personal_data_is_refused_before_it_is_stored(store):
    """Rate cards are never edited once stored and every version is printed in
    compensation.md, so a contact in a unit or an in-kind good is refused at the door."""
    _, camp, _ = _campaign(store)
    for rate in ({"amount": 50, "unit": "KES 0712345678"},
                 {"amount": 50, "unit": "KES", "in_kind": {"mbegu, juma(at)example.org": 1}}):
        with pytest.raises(StoreError, match="published with every release"):
            store.set_rate_card(camp.id, {"item_accepted": rate}, actor_id=OPERATOR)
    assert store.rate_cards(camp.id) == []


def test_campaign_outgoing_texts_name_every_organiser_text_a_release_prints():
    from types import SimpleNamespace

    camp = SimpleNamespace(name="Mazao", description="Maswali ya wakulima")
    card = SimpleNamespace(version=2, rates={"review": {"amount": "5", "unit": "KES",
                                                        "in_kind": {"airtime": 1}}})
    assert item_rules.campaign_outgoing_texts(camp, [card]) == {
        "campaign name": "Mazao", "campaign description": "Maswali ya wakulima",
        "rate card 2, unit of review": "KES", "rate card 2, in-kind good of review": "airtime"}
