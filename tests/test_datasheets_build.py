"""`jamii release` and `jamii publish` on stores seeded with planted trouble."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from jamii.core.schema import arrow_schema
from jamii.core.store import OPERATOR
from jamii.datasheets import ReleaseRefused, build_release
from jamii.datasheets._splits import split_of
from tests.support.release_store import ANSWERS, build_release_store

def _all_text(folder: Path) -> str:
    """Every file of the folder as text; parquet files decoded row by row (they are compressed)."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            rows = pq.read_table(path).to_pylist()
            for row in rows:
                if isinstance(row.get("audio"), dict):
                    row["audio"] = row["audio"].get("path")
            parts.append(json.dumps(rows, ensure_ascii=False, default=str))
        else:
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def _released_ids(folder: Path) -> set[str]:
    return {r["id"] for p in folder.rglob("*.parquet") for r in pq.read_table(p, columns=["id"]).to_pylist()}


def test_release_refuses_with_every_reason_and_writes_nothing(store, tmp_path):
    planted = build_release_store(store)
    out = tmp_path / "v1"
    with pytest.raises(ReleaseRefused) as refused:
        build_release(store, "mazao", "1.0", out, licence="cc-by-nc-4.0", answers={})
    text = "\n".join(refused.value.reasons)
    assert "cc-by-nc-4.0" in text and "semantic version" in text
    assert planted.ids["pii-prompt"] in text and planted.ids["pii-answer"] in text
    assert "motivation.purpose" in text and "about.curators" in text
    for secret in planted.pii:  # refusal messages mask what they found
        assert secret not in text
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".v1")]
    assert store.releases(planted.campaign_id) == []


def test_release_folder_contents_and_what_it_never_holds(store, tmp_path):
    planted = build_release_store(store)
    out = tmp_path / "v1"
    result = build_release(store, "mazao", "1.0.0", out, answers=ANSWERS, exclude_flagged=True)

    for name in ("README.md", "DATASHEET.md", "DATA_STATEMENT.md", "croissant.json", "LICENSE",
                 "CHANGELOG.md", "CITATION.cff", "compensation.md", "consent/v1/en.md", "consent/v1/sw.md"):
        assert (out / name).is_file(), name
    ids = _released_ids(out)
    for gone in ("withdrawn", "no-consent", "pii-prompt", "pii-answer", "dup-exact", "dup-near"):
        assert planted.ids[gone] not in ids, gone
    for kept in ("ok-0", "ok-2", "nfd", "contextual", "speech"):
        assert planted.ids[kept] in ids, kept
    assert result.removed["withdrawn"] == 2 and result.removed["pii_excluded"] == 2

    everything = _all_text(out)
    for secret in planted.never:
        assert secret not in everything, secret

    # every config loads; columns are the schema's; speech is Audio; text is NFC; splits by hash
    meta = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    for config in meta["configs"]:
        kind = config["config_name"]
        loaded = datasets.load_dataset(str(out), kind, cache_dir=str(tmp_path / "cache"))
        for split, part in loaded.items():
            assert part.column_names == arrow_schema(kind).names
            for row in part.select_columns(["id", "split"]):
                assert row["split"] == split == split_of(row["id"])
        if kind == "speech":
            assert isinstance(next(iter(loaded.values())).features["audio"], datasets.Audio)
    rows = [r for p in out.rglob("prompt_response/*.parquet") for r in pq.read_table(p).to_pylist()]
    nfd_row = next(r for r in rows if r["id"] == planted.ids["nfd"])
    assert nfd_row["prompt"] == unicodedata.normalize("NFC", nfd_row["prompt"]) and "café" in nfd_row["prompt"]
    assert all(r["author"].startswith("mchangiaji-") and r["consent_version"] == "1" for r in rows)

    # the dialect with three speakers is never counted; groups under five are suppressed
    statement = (out / "DATA_STATEMENT.md").read_text()
    assert "Kimvita (3 items, speakers: fewer than 5)" in statement
    assert "Kimvita: 3" not in statement
    compensation = (out / "compensation.md").read_text()
    assert "50" in compensation and "mchangiaji" not in compensation
    datasheet = (out / "DATASHEET.md").read_text()
    assert "TODO" not in datasheet and "Krippendorff's alpha" in datasheet
    assert (out / "consent/v1/sw.md").read_text().startswith("Ninakubali")

    doc = json.loads((out / "croissant.json").read_text())
    assert doc["name"] == "mazao" and doc["version"] == "1.0.0"
    assert all(fo.get("sha256") for fo in doc["distribution"])
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["sw"]

    (release,) = store.releases(planted.campaign_id)
    assert release.bundle_sha256 == result.bundle_sha256
    assert set(release.item_versions) == ids


def test_second_release_keeps_splits_and_lists_withdrawals(sqlite_store, tmp_path):
    planted = build_release_store(sqlite_store)
    first = tmp_path / "v1"
    build_release(sqlite_store, "mazao", "1.0.0", first, answers=ANSWERS, exclude_flagged=True)
    splits_before = {r["id"]: r["split"] for p in first.rglob("*.parquet")
                     for r in pq.read_table(p, columns=["id", "split"]).to_pylist()}
    leaver = sqlite_store.item(planted.ids["ok-0"]).author_id
    sqlite_store.withdraw(leaver, actor_id=planted.organiser_id)
    second = tmp_path / "v2"
    result = build_release(sqlite_store, "mazao", "1.1.0", second, answers=ANSWERS, exclude_flagged=True)
    after = {r["id"]: r["split"] for p in second.rglob("*.parquet")
             for r in pq.read_table(p, columns=["id", "split"]).to_pylist()}
    assert planted.ids["ok-0"] not in after
    assert all(splits_before[i] == s for i, s in after.items() if i in splits_before)
    # the exact duplicate of the withdrawn item is no longer a duplicate: it comes in
    assert set(after) - set(splits_before) == {planted.ids["dup-exact"]}
    changelog = (second / "CHANGELOG.md").read_text()
    assert planted.ids["ok-0"] in changelog and "## 1.0.0" in changelog
    assert result.changes["withdrawn"] >= 1 and result.changes["added"] == 1
    release = sqlite_store.releases(planted.campaign_id)[-1]
    assert planted.ids["ok-0"] in release.withdrawn_ids
    with pytest.raises(ReleaseRefused, match="exists already"):
        build_release(sqlite_store, "mazao", "1.1.0", tmp_path / "v3", answers=ANSWERS,
                      exclude_flagged=True)


def test_noodl_needs_a_benefit_statement_and_is_not_dpg(sqlite_store, tmp_path):
    build_release_store(sqlite_store)
    with pytest.raises(ReleaseRefused, match="benefit_statement"):
        build_release(sqlite_store, "mazao", "1.0.0", tmp_path / "a", licence="noodl-1.0",
                      answers=ANSWERS, exclude_flagged=True)
    answers = {**ANSWERS, "about.benefit_statement": "Fund one community language workshop a year."}
    out = tmp_path / "b"
    build_release(sqlite_store, "mazao", "1.0.0", out, licence="noodl-1.0", answers=answers,
                  exclude_flagged=True)
    meta = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert meta["license"] == "other" and meta["license_name"] == "noodl-1.0"
    assert meta["license_link"] == "LICENSE"
    assert "workshop" in (out / "BENEFIT.md").read_text()
    assert "not DPG-eligible" in (out / "DATASHEET.md").read_text()


def test_organiser_clearance_lets_flagged_items_through(sqlite_store, tmp_path):
    from sqlalchemy import update

    from jamii.core.records import Item

    planted = build_release_store(sqlite_store)
    with sqlite_store.write() as s:
        s.execute(update(Item).where(Item.public_id.in_([planted.ids["pii-prompt"], planted.ids["pii-answer"]]))
                  .values(pii_cleared_by=planted.organiser_id))
    out = tmp_path / "v1"
    build_release(sqlite_store, "mazao", "1.0.0", out, answers=ANSWERS)
    assert planted.ids["pii-prompt"] in _released_ids(out)


def test_cli_template_release_and_publish_dry_run(sqlite_store, tmp_path):
    from jamii.cli import cli

    build_release_store(sqlite_store)
    runner = CliRunner()
    db = ["--db", sqlite_store.url, "--data-dir", str(sqlite_store.audio_dir.parent)]
    template = tmp_path / "answers.yaml"
    res = runner.invoke(cli, ["release", "--campaign", "mazao", "--template", "--answers", str(template), *db])
    assert res.exit_code == 0, res.output
    filled = yaml.safe_load(template.read_text())
    assert filled["motivation.purpose"] == "TODO"
    assert "composition.count" in filled
    md = tmp_path / "answers.md"
    res = runner.invoke(cli, ["release", "-c", "mazao", "--template", "--answers", str(md), *db])
    assert res.exit_code == 0 and "## motivation.purpose" in md.read_text()

    res = runner.invoke(cli, ["release", "-c", "mazao", "--version", "1.0.0", "--out",
                              str(tmp_path / "x"), "--answers", str(template), *db])
    assert res.exit_code == 1 and "motivation.purpose" in res.output and not (tmp_path / "x").exists()

    template.write_text(yaml.safe_dump(ANSWERS, allow_unicode=True))
    out = tmp_path / "rel"
    res = runner.invoke(cli, ["release", "-c", "mazao", "--version", "1.0.0", "--out", str(out),
                              "--answers", str(template), "--exclude-flagged", *db])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["publish", str(out), "--repo-id", "jamii-test/mazao", "--dry-run", *db])
    assert res.exit_code == 0, res.output
    assert "data/prompt_response/test-00000-of-00001.parquet" in res.output
    assert "README.md" in res.output and "tag v1.0.0" in res.output


def test_cli_module_imports_on_its_own():
    """`import jamii.cli._release` before `jamii.cli` must not hit an import cycle."""
    import subprocess
    import sys

    code = ("import jamii.cli._release as c; assert c.release_command.name == 'release'; "
            "assert c.publish_command.name == 'publish'; "
            "from jamii.cli import cli; assert cli.get_command(None, 'release') is c.release_command")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_imported_items_need_a_compatible_republication_licence(sqlite_store, tmp_path):
    from jamii.core.importer import import_file

    planted = build_release_store(sqlite_store)
    licensed = tmp_path / "vitabu_vya_zamani.csv"
    licensed.write_text("prompt,response\n"
                        "Jinsi ya kulima mtama katika ardhi kavu ya nyanda za juu?,Panda mapema na tumia matandazo.\n"
                        "Dawa ya asili ya kuzuia wadudu wa mboga ni ipi?,Mchanganyiko wa pilipili kali na majivu.\n",
                        "utf-8")
    unlicensed = tmp_path / "daftari.csv"
    unlicensed.write_text("prompt,response\n"
                          "Nyuki hufugwa vipi karibu na shamba la alizeti?,Weka mizinga pembeni mwa shamba.\n",
                          "utf-8")
    common = dict(campaign="mazao", kind="prompt_response", language="sw", domain="agriculture",
                  task_type="open_qa", accepted=True)
    assert import_file(sqlite_store, licensed, source_license="cc-by-sa-4.0", **common).imported == 2
    assert import_file(sqlite_store, unlicensed, **common).imported == 1

    # under CC BY the share-alike rows cannot go out; without a licence no row ever can
    out = tmp_path / "by"
    result = build_release(sqlite_store, "mazao", "1.0.0", out, answers=ANSWERS, exclude_flagged=True)
    assert result.removed["imported_under_an_incompatible_licence"] == 2
    assert result.removed["imported_without_a_republication_licence"] == 1

    out = tmp_path / "by-sa"
    result = build_release(sqlite_store, "mazao", "1.1.0", out, licence="cc-by-sa-4.0",
                           answers=ANSWERS, exclude_flagged=True)
    assert result.removed["imported_without_a_republication_licence"] == 1
    assert "imported_under_an_incompatible_licence" not in result.removed
    rows = [r for p in out.rglob("prompt_response/*.parquet") for r in pq.read_table(p).to_pylist()]
    prompts = {r["prompt"] for r in rows}
    assert "Dawa ya asili ya kuzuia wadudu wa mboga ni ipi?" in prompts
    assert not any("Nyuki" in p for p in prompts)
    assert planted.ids["ok-0"] in {r["id"] for r in rows}
    for name in ("DATASHEET.md", "README.md", "DATA_STATEMENT.md"):
        text = (out / name).read_text()
        assert "`vitabu_vya_zamani.csv` under cc-by-sa-4.0: 2 items" in text, name
        assert "daftari.csv" not in text, name
    for name in ("DATASHEET.md", "CHANGELOG.md"):
        assert "imported without a republication licence: 1" in (out / name).read_text(), name



def test_worker_processes_write_the_same_bytes(sqlite_store, tmp_path, monkeypatch):
    """Partitions collected in spawned workers give the very files one process writes (and the
    folder is validated in a process of its own, as a large release's is)."""
    from jamii.datasheets import _collect

    build_release_store(sqlite_store)
    monkeypatch.setattr(_collect, "PARALLEL_MIN_ITEMS", 0)
    outs = {}
    for n, version in ((1, "1.0.0"), (2, "1.1.0")):
        monkeypatch.setattr(_collect, "_workers", lambda n=n: n)
        out = outs[n] = tmp_path / f"w{n}"
        build_release(sqlite_store, "mazao", version, out, answers=ANSWERS, exclude_flagged=True)
    data = {n: {p.relative_to(o).as_posix(): p.read_bytes() for p in sorted((o / "data").rglob("*"))
                if p.is_file()} for n, o in outs.items()}
    assert data[1] == data[2] and len(data[1]) >= 3


def test_agreement_equals_krippendorff_on_the_raw_votes(store):
    """The datasheet's alpha, computed from vote patterns the database aggregates, equals
    krippendorff's alpha on the reviewer-by-item matrix of the same votes."""
    import krippendorff
    import numpy as np
    from sqlalchemy import select

    from jamii.core.records import VERDICTS, Item, Review
    from jamii.datasheets._collect import agreement

    planted = build_release_store(store)
    reviewers = [store.add_contributor(roles=["reviewer"], pseudonym=f"kagua-{i}", actor_id=OPERATOR)[0] for i in range(3)]
    author = store.add_contributor(roles=["contributor"], pseudonym="mwandishi", actor_id=OPERATOR)[0]
    consent_text = store.release_consent_texts(planted.campaign_id)[0]
    store.accept_consent(author.id, consent_text.id, {"open_publication": True, "model_evaluation": True,
                                                      "voice": False})
    votes = [("approve", "reject"), ("reject", "reject", "approve"), ("approve", "edit"),
             ("reject", "approve"), ("edit", "edit", "reject")]
    for n, pattern in enumerate(votes):
        item = store.submit_item(campaign_id=planted.campaign_id, author_id=author.id,
                                 kind="prompt_response", language="sw", client_key=f"vote-{n}",
                                 content={"prompt": f"Swali la majaribio namba {n} kuhusu mvua?",
                                          "response": "Jibu la majaribio.", "task_type": "open_qa"})
        for reviewer, verdict in zip(reviewers, pattern):
            if store.item(item.item.id).status != "submitted":
                break  # the acceptance rule decided it
            store.record_review(item.item.id, reviewer.id, verdict,
                                reasons=["unclear"] if verdict == "reject" else None,
                                suggested_edit={"response": "Jibu bora."} if verdict == "edit" else None)

    with store.read() as s:
        rows = s.execute(select(Review.item_id, Review.reviewer_id, Review.verdict)
                         .join(Item, Item.id == Review.item_id)
                         .where(Item.campaign_id == planted.campaign_id,
                                Review.item_version == Item.version)).all()
    units = sorted({r.item_id for r in rows})
    people = sorted({r.reviewer_id for r in rows})
    matrix = np.full((len(people), len(units)), np.nan)
    for item_id, reviewer_id, verdict in rows:
        matrix[people.index(reviewer_id), units.index(item_id)] = VERDICTS.index(verdict)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")

    got = agreement(store, planted.campaign_id)
    assert {r.verdict for r in rows} == set(VERDICTS) and -1 < expected < 1
    assert got["alpha"] == pytest.approx(expected)
    assert got["items_reviewed"] == len(units) and got["votes"] == len(rows)
    assert got["rejection_rate"] == pytest.approx(sum(r.verdict == "reject" for r in rows) / len(rows))


def test_validation_reads_every_row_and_names_what_does_not_load(sqlite_store, tmp_path):
    """The check `jamii release` runs on its own folder counts the rows `load_dataset` reads
    and refuses a part that does not load."""
    from jamii.datasheets._build import _validate_loads

    build_release_store(sqlite_store)
    out = tmp_path / "v1"
    result = build_release(sqlite_store, "mazao", "1.0.0", out, answers=ANSWERS, exclude_flagged=True)
    kinds = sorted({k for k, _ in result.files})
    assert _validate_loads(out, kinds, result.files) == []

    (kind, split), n = next(iter(result.files.items()))
    one_more = {**result.files, (kind, split): n + 1}
    assert _validate_loads(out, kinds, one_more) == [
        f"load_dataset({kind}) reads {n:,} rows from {split}, expected {n + 1:,}"]

    part = next((out / "data" / kind).glob(f"{split}-*.parquet"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    problems = _validate_loads(out, kinds, result.files)
    assert len(problems) == 1 and problems[0].startswith(f"datasets.load_dataset fails on config '{kind}'")
