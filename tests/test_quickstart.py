"""The README's organiser path, end to end on a fresh data folder: the commands as written."""

from __future__ import annotations

import re
from pathlib import Path

import datasets
from click.testing import CliRunner

from jamii.cli import cli

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "seeds" / "release_answers.yaml"


def test_seeded_store_releases_loads_and_lists_for_upload(tmp_path, monkeypatch):
    monkeypatch.setenv("JAMII_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("JAMII_DB", raising=False)
    runner = CliRunner()
    init = runner.invoke(cli, ["init"], catch_exceptions=False)
    assert init.exit_code == 0 and "DEMO-MWAN-AJUM" in init.output
    out = tmp_path / "release-1.0.0"
    built = runner.invoke(cli, ["release", "-c", "mazao-na-afya", "--version", "1.0.0",
                                "--answers", str(ANSWERS), "--out", str(out)], catch_exceptions=False)
    assert built.exit_code == 0, built.output
    for name in ("README.md", "DATASHEET.md", "DATA_STATEMENT.md", "croissant.json", "LICENSE",
                 "CHANGELOG.md", "CITATION.cff", "compensation.md"):
        assert (out / name).is_file(), name
    assert "TODO" not in (out / "DATASHEET.md").read_text(encoding="utf-8")
    rows = datasets.load_dataset(str(out), "prompt_response")
    languages = {r["language"] for split in rows.values() for r in split}
    assert languages <= {"sw", "sn"} and languages
    # the demo people's invite codes and any contact detail never leave the store
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in {".md", ".json", ".cff", ".yaml"}:
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"DEMO-[A-Z]{4}-", text), path
    listed = runner.invoke(cli, ["publish", str(out), "--repo-id", "jamii-demo/mazao-na-afya",
                                 "--dry-run"], catch_exceptions=False)
    assert listed.exit_code == 0
    assert re.search(r"data/prompt_response/test-\d{5}-of-\d{5}\.parquet", listed.output)
    assert "tag v1.0.0" in listed.output
