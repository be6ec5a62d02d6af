"""`jamii publish` against an in-memory Hub that applies each call (tests/support/fake_hub.py):
withdrawal reaches the Hub, older tags keep older files, the withdrawn list is cumulative, and a
refused release or publish leaves nothing behind."""

from __future__ import annotations

import csv
import functools
import json
import os

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from jamii.core.store import OPERATOR
from jamii.datasheets import ReleaseRefused, build_release, publish_release
from jamii.datasheets._publish import PublishFailed
from tests.support.fake_hub import FakeHub
from tests.support.release_store import ANSWERS, build_release_store

REPO = "jamii-test/mazao"


def _build(store, version, out):
    return build_release(store, "mazao", version, out, answers=ANSWERS, exclude_flagged=True,
                         actor_id=OPERATOR)


def _folder_files(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _parquet_ids(files: dict[str, bytes]) -> set[str]:
    import io

    return {r["id"] for name, data in files.items() if name.endswith(".parquet")
            for r in pq.read_table(io.BytesIO(data), columns=["id"]).to_pylist()}


def _parquet_text(files: dict[str, bytes]) -> str:
    import io

    return json.dumps([pq.read_table(io.BytesIO(data)).drop_columns(
        [c for c in ("audio",) if c in pq.read_schema(io.BytesIO(data)).names]).to_pylist()
        for name, data in files.items() if name.endswith(".parquet")], ensure_ascii=False, default=str)


def _withdrawn_csv(folder) -> list[dict]:
    with (folder / "withdrawn.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _cli(store, *args):
    from jamii.cli import cli

    db = ["--db", store.url, "--data-dir", str(store.audio_dir.parent)]
    return CliRunner().invoke(cli, [*args, *db])


def test_publishing_a_new_version_leaves_main_holding_exactly_its_files(sqlite_store, tmp_path):
    planted = build_release_store(sqlite_store)
    hub = FakeHub()
    v1 = tmp_path / "v1"
    _build(sqlite_store, "1.0.0", v1)
    first = publish_release(v1, REPO, private=True, gated=True, api=hub, store=sqlite_store,
                            actor_id=OPERATOR)
    repo = hub.repos[("dataset", REPO)]
    assert repo.private is True and repo.gated == "auto"

    # the author of ok-0 (who also recorded the speech item) withdraws: 1.1.0 has no speech shard
    leaver = sqlite_store.item(planted.ids["ok-0"]).author_id
    sqlite_store.withdraw(leaver, actor_id=OPERATOR)
    v2 = tmp_path / "v2"
    _build(sqlite_store, "1.1.0", v2)
    withdrawn = {row["id"] for row in _withdrawn_csv(v2)}
    assert {planted.ids["ok-0"], planted.ids["speech"]} <= withdrawn
    stale = sorted(set(_folder_files(v1)) - set(_folder_files(v2)))
    assert stale and all(name.startswith("data/speech/") for name in stale)

    # the dry run reads what main holds and lists exactly the files the commit will delete
    dry = publish_release(v2, REPO, dry_run=True, api=hub, store=sqlite_store)
    assert dry.deletions == stale
    assert f"and deleting {len(stale)} files" in dry.describe()
    assert hub.history(REPO)[0].oid == first.commit  # the dry run changed nothing

    second = publish_release(v2, REPO, api=hub, store=sqlite_store, actor_id=OPERATOR)
    expected = {**_folder_files(v2), ".gitattributes": hub.files(REPO, first.commit)[".gitattributes"]}
    assert hub.files(REPO, "main") == expected
    assert hub.files(REPO, "v1.1.0") == expected
    assert second.deletions == stale
    # one commit on top of 1.0.0's
    assert [c.oid for c in hub.history(REPO)[:2]] == [second.commit, first.commit]
    assert repo.tags == {"v1.0.0": first.commit, "v1.1.0": second.commit}

    # the older tag keeps the older files, withdrawn items included
    old = hub.files(REPO, "v1.0.0")
    assert {k: v for k, v in old.items() if k != ".gitattributes"} == _folder_files(v1)
    assert withdrawn <= _parquet_ids(old)
    # main: no withdrawn row, the withdrawn texts in no file, their ids only in the two lists
    main = hub.files(REPO, "main")
    assert not withdrawn & _parquet_ids(main)
    gone_text = "Mbolea gani inafaa kwa mahindi katika udongo wa mchanga?"  # ok-0's prompt
    assert gone_text in _parquet_text(old)
    assert gone_text not in _parquet_text(main)
    for name, data in main.items():
        if not name.endswith(".parquet"):
            assert gone_text.encode() not in data, name
            if name not in ("withdrawn.csv", "CHANGELOG.md"):
                assert not any(i.encode() in data for i in withdrawn), name

    release = sqlite_store.releases(planted.campaign_id)[-1]
    assert (release.version, release.hub_repo, release.hub_commit) == ("1.1.0", REPO, second.commit)

    # publishing a version twice is refused before anything changes
    with pytest.raises(PublishFailed, match="has a tag v1.1.0 already"):
        publish_release(v2, REPO, api=hub, store=sqlite_store, actor_id=OPERATOR)
    assert hub.history(REPO)[0].oid == second.commit


def test_withdrawn_list_is_cumulative_and_documented(sqlite_store, tmp_path):
    planted = build_release_store(sqlite_store)
    _build(sqlite_store, "1.0.0", tmp_path / "v1")
    first_leaver = sqlite_store.item(planted.ids["ok-0"]).author_id
    sqlite_store.withdraw(first_leaver, actor_id=OPERATOR)
    _build(sqlite_store, "1.1.0", tmp_path / "v2")
    second_leaver = sqlite_store.item(planted.ids["ok-2"]).author_id
    sqlite_store.withdraw(second_leaver, actor_id=OPERATOR)
    v3 = tmp_path / "v3"
    _build(sqlite_store, "1.2.0", v3)

    rows = {row["id"]: row for row in _withdrawn_csv(v3)}
    assert rows[planted.ids["ok-0"]] == {"id": planted.ids["ok-0"], "reason": "withdrawn",
                                         "last_version": "1.0.0", "removed_in": "1.1.0"}
    assert rows[planted.ids["ok-2"]] == {"id": planted.ids["ok-2"], "reason": "withdrawn",
                                         "last_version": "1.1.0", "removed_in": "1.2.0"}
    assert not set(rows) & _parquet_ids(_folder_files(v3))
    # every id 1.1.0 listed is still listed
    assert {r["id"] for r in _withdrawn_csv(tmp_path / "v2")} <= set(rows)
    assert _withdrawn_csv(tmp_path / "v1") == []

    changelog = (v3 / "CHANGELOG.md").read_text()
    for i in rows:  # 1.1.0's withdrawn ids too, not only those since 1.1.0
        assert i in changelog
    assert f"`{planted.ids['ok-0']}`: withdrawn; last in 1.0.0, removed in 1.1.0" in changelog
    assert f"`{planted.ids['ok-2']}`: withdrawn; last in 1.1.0 (new in this version)" in changelog
    release = sqlite_store.releases(planted.campaign_id)[-1]
    assert {planted.ids["ok-0"], planted.ids["ok-2"]} <= set(release.withdrawn_ids)

    datasheet = (v3 / "DATASHEET.md").read_text()
    assert "Older versions keep their files" in datasheet
    assert f"{len(rows):,} items" in datasheet and 'revision="v1.0.0"' in datasheet
    assert "withdrawn.csv" in (v3 / "README.md").read_text()
    croissant = json.loads((v3 / "croissant.json").read_text())
    (listed,) = [fo for fo in croissant["distribution"] if fo.get("contentUrl") == "withdrawn.csv"]
    import hashlib

    assert listed["sha256"] == hashlib.sha256((v3 / "withdrawn.csv").read_bytes()).hexdigest()


def test_a_refused_release_creates_no_folder_and_no_parents(sqlite_store, tmp_path):
    build_release_store(sqlite_store)
    out = tmp_path / "new" / "deeper" / "v1"
    with pytest.raises(ReleaseRefused):
        build_release(sqlite_store, "mazao", "1.0.0", out, answers={}, actor_id=OPERATOR)
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(ReleaseRefused) as refused:
        _build(sqlite_store, "1.0.0", a_file / "v1")
    assert any("is a file, not a folder" in r for r in refused.value.reasons)

    # missing parents are made when the release passes
    built = _build(sqlite_store, "1.0.0", out)
    assert (built.folder / "withdrawn.csv").is_file()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_out_is_refused_with_a_clear_message(sqlite_store, tmp_path):
    build_release_store(sqlite_store)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = _cli(sqlite_store, "release", "-c", "mazao", "--version", "1.0.0", "--out",
                   str(locked / "sub" / "v1"), "--exclude-flagged")
    finally:
        locked.chmod(0o700)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "cannot write in" in res.output and "permission denied" in res.output
    assert list(locked.iterdir()) == []


def test_publish_without_network_says_so_in_one_line(sqlite_store, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    build_release_store(sqlite_store)
    out = tmp_path / "rel"
    _build(sqlite_store, "1.0.0", out)
    # the real client against a port nothing listens on: httpx's ConnectError
    monkeypatch.setattr("huggingface_hub.HfApi", functools.partial(HfApi, endpoint="http://127.0.0.1:9"))
    res = _cli(sqlite_store, "publish", str(out), "--repo-id", REPO)
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Hugging Face Hub" in lines[0]
    assert "nothing was uploaded" in lines[0]

    # offline mode (HF_HUB_OFFLINE) is the same refusal
    monkeypatch.setattr("huggingface_hub.HfApi", HfApi)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    res = _cli(sqlite_store, "publish", str(out), "--repo-id", REPO)
    assert res.exit_code == 1 and "cannot reach the Hugging Face Hub" in res.output

    # a dry run still lists the uploads, and says the deletions are unknown
    res = _cli(sqlite_store, "publish", str(out), "--repo-id", REPO, "--dry-run")
    assert res.exit_code == 0, res.output
    assert "data/prompt_response/test-00000-of-00001.parquet" in res.output
    assert "which files is unknown: cannot reach the Hugging Face Hub" in res.output


def test_cli_publish_reports_deletions_and_records_the_commit(sqlite_store, tmp_path, monkeypatch):
    planted = build_release_store(sqlite_store)
    hub = FakeHub()
    monkeypatch.setattr("huggingface_hub.HfApi", lambda *a, **kw: hub)
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    _build(sqlite_store, "1.0.0", v1)
    assert _cli(sqlite_store, "publish", str(v1), "--repo-id", REPO).exit_code == 0
    sqlite_store.withdraw(sqlite_store.item(planted.ids["ok-0"]).author_id, actor_id=OPERATOR)
    _build(sqlite_store, "1.1.0", v2)
    # the speech shard, and a split of another kind when the withdrawn author's items were all
    # of that split (splits come from a hash of each item's random id)
    stale = sorted(set(_folder_files(v1)) - set(_folder_files(v2)))
    assert any(path.startswith("data/speech/") for path in stale), stale
    res = _cli(sqlite_store, "publish", str(v2), "--repo-id", REPO, "--dry-run")
    listed = "".join(f"  {path}\n" for path in stale)
    assert res.exit_code == 0 and (f"and deleting {len(stale)} files of main that 1.1.0 does not "
                                   f"hold:\n{listed}") in res.output, res.output
    res = _cli(sqlite_store, "publish", str(v2), "--repo-id", REPO)
    assert res.exit_code == 0, res.output
    assert f"Deleted from main, in the same commit: {len(stale)} files" in res.output
    assert set(hub.files(REPO)) == set(_folder_files(v2)) | {".gitattributes"}
    release = sqlite_store.releases(planted.campaign_id)[-1]
    assert release.hub_commit == hub.repos[("dataset", REPO)].tags["v1.1.0"]

    # a folder the store never built is refused before the Hub is asked anything
    meta = json.loads((v2 / "croissant.json").read_text())
    meta["version"] = "9.9.9"
    (v2 / "croissant.json").write_text(json.dumps(meta))
    hub.calls.clear()
    res = _cli(sqlite_store, "publish", str(v2), "--repo-id", REPO)
    assert res.exit_code != 0 and "no release 9.9.9" in res.output and hub.calls == []


def test_fake_hub_applies_upload_folder_semantics(tmp_path):
    """The stand-in's own check: upload_folder without delete_patterns keeps stale files (the
    bug this publish fixes), with them deletes what the folder lacks but never .gitattributes."""
    hub = FakeHub()
    hub.create_repo(REPO, repo_type="dataset")
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, names in ((old, ["a.parquet", "b.parquet"]), (new, ["a.parquet", "c.parquet"])):
        folder.mkdir()
        for name in names:
            (folder / name).write_text(f"{folder.name} {name}")
    hub.upload_folder(repo_id=REPO, folder_path=old, repo_type="dataset")
    hub.upload_folder(repo_id=REPO, folder_path=new, repo_type="dataset")
    assert set(hub.files(REPO)) == {".gitattributes", "a.parquet", "b.parquet", "c.parquet"}
    hub.upload_folder(repo_id=REPO, folder_path=new, repo_type="dataset", delete_patterns="*")
    assert hub.files(REPO) == {".gitattributes": hub.files(REPO)[".gitattributes"],
                               "a.parquet": b"new a.parquet", "c.parquet": b"new c.parquet"}
    # what the real API refuses, the stand-in refuses
    from huggingface_hub import CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError, RemoteEntryNotFoundError, RepositoryNotFoundError

    with pytest.raises(RemoteEntryNotFoundError):
        hub.create_commit(REPO, [CommitOperationDelete("b.parquet")], commit_message="x",
                          repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        hub.list_repo_files(REPO)  # repo_type defaults to model
    with pytest.raises(HfHubHTTPError) as stale_parent:
        hub.create_commit(REPO, [CommitOperationDelete("a.parquet")], commit_message="x",
                          repo_type="dataset", parent_commit=hub.history(REPO)[1].oid)
    assert stale_parent.value.response.status_code == 412
    hub.create_tag(REPO, tag="v1", repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as twice:
        hub.create_tag(REPO, tag="v1", repo_type="dataset")
    assert twice.value.response.status_code == 409


def test_a_commit_made_meanwhile_fails_the_publish_and_a_failed_tag_is_finished_by_a_rerun(
        sqlite_store, tmp_path):
    """parent_commit: a file committed between reading main and committing does not survive a
    publish silently; the publish fails and changes nothing. A publish whose tag failed is
    finished by running it again, without a second commit."""
    build_release_store(sqlite_store)
    out = tmp_path / "v1"
    _build(sqlite_store, "1.0.0", out)

    class Racing(FakeHub):
        def list_repo_files(self, repo_id, **kw):
            files = super().list_repo_files(repo_id, **kw)
            if not self.raced:  # someone else commits right after we listed main
                self.raced = True
                self.upload_folder(repo_id=repo_id, folder_path=extra, repo_type="dataset")
            return files

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "notes.txt").write_text("added by someone else")
    hub = Racing()
    hub.raced = False
    with pytest.raises(PublishFailed, match="main changed while publishing; nothing was uploaded"):
        publish_release(out, REPO, api=hub, store=sqlite_store, actor_id=OPERATOR)
    assert set(hub.files(REPO)) == {".gitattributes", "notes.txt"}
    # run again: the stray file is deleted in the release commit
    done = publish_release(out, REPO, api=hub, store=sqlite_store, actor_id=OPERATOR)
    assert done.deletions == ["notes.txt"]
    assert set(hub.files(REPO)) == set(_folder_files(out)) | {".gitattributes"}

    class TagFails(FakeHub):
        def create_tag(self, repo_id, **kw):
            if not self.failed:
                self.failed = True
                self.calls.append("create_tag")
                raise ConnectionError("network went away")
            return super().create_tag(repo_id, **kw)

    hub = TagFails()
    hub.failed = False
    with pytest.raises(PublishFailed, match="tag is missing: run the same `jamii publish` again"):
        publish_release(out, REPO, api=hub, store=sqlite_store, actor_id=OPERATOR)
    head = hub.history(REPO)[0].oid
    again = publish_release(out, REPO, api=hub, store=sqlite_store, actor_id=OPERATOR)
    assert again.commit == head and hub.repos[("dataset", REPO)].tags == {"v1.0.0": head}
    assert len(hub.history(REPO)) == 2  # the initial commit and the release, nothing more


def test_a_contributor_cannot_publish_and_nothing_reaches_the_hub(sqlite_store, tmp_path):
    """The store refuses the actor before the upload, not after it."""
    from huggingface_hub.errors import RepositoryNotFoundError

    from jamii.core.store import Forbidden

    build_release_store(sqlite_store)
    out = tmp_path / "v1"
    build_release(sqlite_store, "mazao", "1.0.0", out, answers=ANSWERS, exclude_flagged=True)
    nobody, _ = sqlite_store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    hub = FakeHub()
    with pytest.raises(Forbidden):
        publish_release(out, "jamii-test/mazao", api=hub, store=sqlite_store, actor_id=nobody.id)
    with pytest.raises(RepositoryNotFoundError):  # not even created
        hub.repo_info("jamii-test/mazao", repo_type="dataset")
    publish_release(out, "jamii-test/mazao", api=hub, store=sqlite_store)
    assert hub.list_repo_files("jamii-test/mazao", repo_type="dataset")
