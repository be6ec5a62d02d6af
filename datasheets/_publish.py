"""`publish_release`: create the dataset repo, upload the folder in one commit, tag the version.

Thin calls to `huggingface_hub.HfApi`. The token is whatever `huggingface_hub` finds (the
`HF_TOKEN` environment variable or `hf auth login`): it is never an argument and never printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PublishPlan:
    repo_id: str
    folder: Path
    version: str
    tag: str
    private: bool
    gated: bool
    files: list[tuple[str, int]]
    """(path in the repo, size in bytes), in upload order."""
    commit_url: str | None = None
    commit: str | None = None
    """The Hub commit id of the upload, recorded on the store's Release row."""
    campaign: str | None = None
    """The campaign slug the folder's croissant.json names."""

    def describe(self) -> str:
        total = sum(size for _, size in self.files)
        lines = [f"dataset repo {self.repo_id} ({'private' if self.private else 'public'}"
                 f"{', gated' if self.gated else ''}): create if missing",
                 f"one commit 'Release {self.version}' uploading {len(self.files)} files, "
                 f"{total:,} bytes:"]
        lines += [f"  {path}  ({size:,} bytes)" for path, size in self.files]
        lines.append(f"tag {self.tag}")
        return "\n".join(lines)


def plan(folder: str | Path, repo_id: str, *, private: bool = False, gated: bool = False) -> PublishPlan:
    folder = Path(folder)
    meta_path = folder / "croissant.json"
    if not meta_path.exists() or not (folder / "README.md").exists():
        raise ValueError(f"{folder} is not a release folder (no croissant.json or README.md): "
                         "build one with `jamii release`")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"'{repo_id}' is not a repo id: write ORG/NAME")
    meta = json.loads(meta_path.read_text("utf-8"))
    version = meta.get("version") or "0.0.0"
    files = sorted((p.relative_to(folder).as_posix(), p.stat().st_size)
                   for p in folder.rglob("*") if p.is_file())
    return PublishPlan(repo_id, folder, version, f"v{version}", private, gated, files,
                       campaign=meta.get("name"))


def publish_release(folder: str | Path, repo_id: str, *, private: bool = False,
                    gated: bool = False, dry_run: bool = False, api=None, store=None,
                    actor_id: int | None = None) -> PublishPlan:
    """Upload the release folder; with dry_run, only say what would be uploaded.

    With a store, the Release row of the folder's campaign and version is looked up before
    anything is uploaded (a folder the store never built is refused), and the Hub repo and
    commit are recorded on it after the upload.
    """
    p = plan(folder, repo_id, private=private, gated=gated)
    if dry_run:
        return p
    campaign_id = None
    if store is not None:
        campaign_id = _release_row(store, p)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if gated:
        api.update_repo_settings(repo_id, repo_type="dataset", gated="auto")
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(p.folder), repo_type="dataset",
                               commit_message=f"Release {p.version}")
    api.create_tag(repo_id, tag=p.tag, repo_type="dataset", revision=commit.oid,
                   tag_message=f"Release {p.version}")
    p.commit_url = getattr(commit, "commit_url", None)
    p.commit = getattr(commit, "oid", None)
    if store is not None:
        store.record_publication(campaign_id, p.version, repo_id, p.commit, actor_id=actor_id)
    return p


def _release_row(store, p: PublishPlan) -> int:
    """The campaign id of the folder's Release row, or ValueError saying why there is none."""
    from jamii.core.store import NotFound

    try:
        camp = store.release_campaign(p.campaign or "")
    except NotFound as exc:
        raise ValueError(f"{p.folder} names campaign '{p.campaign}', which this store does not "
                         f"hold: {exc}") from None
    if not store.release_exists(camp.id, p.version):
        raise ValueError(f"this store has no release {p.version} of '{camp.slug}': publish a "
                         "folder that `jamii release` built from this store")
    return camp.id
