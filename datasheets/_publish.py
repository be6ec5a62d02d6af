"""`publish_release`: make the dataset repo's main equal the release folder in one commit, and
tag the version.

Thin calls to `huggingface_hub.HfApi`, in this order:

1. `create_repo(exist_ok=True)`;
2. `repo_info` (the head of main), `list_repo_refs` (a tag of this version refuses the
   publish before anything changes) and `list_repo_files` at that head;
3. `update_repo_settings(gated="auto")` when asked;
4. one `create_commit` that deletes every file of main the folder does not hold (`.gitattributes`
   excepted, as `upload_folder` keeps it) and adds every file of the folder, with
   `parent_commit` = the head read in 2, so that a commit made meanwhile fails the publish
   instead of surviving it;
5. `create_tag` on that commit.

`create_commit`, not `upload_folder(delete_patterns="*")`: with `hf_xet` installed,
`upload_folder` may split a large folder over several commits, and the deletions it makes are
not known before it runs. Here they are listed by `--dry-run` (read from the Hub, which is the
only complete record of what the repo holds) and reported after the publish.

The token is whatever `huggingface_hub` finds (the `HF_TOKEN` environment variable or
`hf auth login`): it is never an argument and never printed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import sys
from dataclasses import dataclass
from pathlib import Path

if TYPE_CHECKING:  # the store is imported where it is used, not to type it
    from jamii.core.store import Store

KEEP = (".gitattributes",)
"""Files of the repo that publishing never deletes (the Hub's own; `upload_folder` keeps it too)."""


class PublishFailed(Exception):
    """The Hub could not be reached or refused a step; the message says what state it left."""


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
    repo_exists: bool | None = None
    """None until the Hub was asked (or when it could not be reached)."""
    head: str | None = None
    """The commit of main the deletions were read from."""
    deletions: list[str] | None = None
    """Files of main that the folder does not hold: deleted in the same commit. None: unknown."""
    tag_exists: bool = False
    unknown: str | None = None
    """Why the deletions are unknown (the Hub could not be asked)."""

    def describe(self) -> str:
        total = sum(size for _, size in self.files)
        visibility = f"{'private' if self.private else 'public'}{', gated' if self.gated else ''}"
        if self.repo_exists is None:
            state = "create if missing"
        elif self.repo_exists:
            state = f"exists, main at {(self.head or '?')[:12]}"
        else:
            state = "does not exist yet: create it"
        lines = [f"dataset repo {self.repo_id} ({visibility}): {state}",
                 f"one commit 'Release {self.version}' uploading {len(self.files)} files, "
                 f"{total:,} bytes:"]
        lines += [f"  {path}  ({size:,} bytes)" for path, size in self.files]
        if self.deletions is None:
            lines.append(f"and deleting every file of main that {self.version} does not hold; "
                         f"which files is unknown: {self.unknown}")
        elif self.deletions:
            lines.append(f"and deleting {len(self.deletions)} files of main that {self.version} "
                         "does not hold:")
            lines += [f"  {path}" for path in self.deletions]
        else:
            lines.append(f"deleting nothing: main holds no file that {self.version} lacks")
        if self.tag_exists:
            lines.append(f"tag {self.tag}: REFUSED, the repo has this tag already")
        else:
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
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{meta_path} is not valid JSON ({exc}): build the folder again with "
                         "`jamii release`") from None
    version = meta.get("version") or "0.0.0"
    files = sorted((p.relative_to(folder).as_posix(), p.stat().st_size)
                   for p in folder.rglob("*") if p.is_file())
    return PublishPlan(repo_id, folder, version, f"v{version}", private, gated, files,
                       campaign=meta.get("name"))


def publish_release(folder: str | Path, repo_id: str, *, private: bool = False,
                    gated: bool = False, dry_run: bool = False, api=None, store=None,
                    actor_id=None) -> PublishPlan:
    """Make the repo's main equal the release folder in one commit and tag the version; with
    dry_run, only say what would be uploaded and deleted (asking the Hub, read-only, what main
    holds: when it cannot be reached, the deletions are reported as unknown).

    With a store, the Release row of the folder's campaign and version is looked up before
    anything is asked or uploaded (a folder the store never built is refused), and the Hub repo
    and commit are recorded on it after the upload, by `actor_id`.

    Raises ValueError for a folder or repo id that cannot be published, PublishFailed when the
    Hub cannot be reached or refuses a step (saying what, if anything, changed).
    """
    p = plan(folder, repo_id, private=private, gated=gated)
    campaign_id = _release_row(store, p) if store is not None else None
    if store is not None and not dry_run:  # refused before the upload, not after it
        if actor_id is None:
            from jamii.core.store import OPERATOR

            actor_id = OPERATOR  # the command line's own user
        store.check_actor(actor_id, "publish a release")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    if dry_run:
        try:
            _read_main(api, p, state="run the dry run again online to list them")
        except PublishFailed as exc:
            p.unknown = str(exc)
        return p
    nothing = "nothing was uploaded"
    _hub(lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True),
         "create the repo", nothing)
    _read_main(api, p, may_be_missing=False)
    if p.tag_exists:
        raise PublishFailed(f"{repo_id} has a tag {p.tag} already: version {p.version} was "
                            f"published there before; {nothing}. Build a new version.")
    if gated:
        _hub(lambda: api.update_repo_settings(repo_id, repo_type="dataset", gated="auto"),
             "make the repo gated", nothing)
    commit = _hub(lambda: api.create_commit(repo_id, _operations(p), repo_type="dataset",
                                            commit_message=f"Release {p.version}",
                                            parent_commit=p.head),
                  "commit the release", nothing)
    p.commit_url = getattr(commit, "commit_url", None)
    p.commit = getattr(commit, "oid", None)
    _hub(lambda: api.create_tag(repo_id, tag=p.tag, repo_type="dataset", revision=p.commit,
                                tag_message=f"Release {p.version}"),
         f"tag {p.tag}", f"main holds {p.version} (commit {p.commit}) but the tag is missing: "
         "run the same `jamii publish` again to tag it")
    if store is not None:
        store.record_publication(campaign_id, p.version, repo_id, p.commit, actor_id=actor_id)
    return p


def _read_main(api, p: PublishPlan, *, may_be_missing: bool = True,
               state: str = "nothing was uploaded") -> None:
    """What main holds (head, files) and whether the version's tag exists; a repo that does not
    exist (and `may_be_missing`) holds nothing."""
    from huggingface_hub.errors import RepositoryNotFoundError

    step = f"read the repo {p.repo_id}"
    try:
        info = _hub(lambda: api.repo_info(p.repo_id, repo_type="dataset"), step, state,
                    passing=(RepositoryNotFoundError,) if may_be_missing else ())
    except RepositoryNotFoundError:
        p.repo_exists, p.head, p.deletions = False, None, []
        return
    p.repo_exists, p.head = True, info.sha
    refs = _hub(lambda: api.list_repo_refs(p.repo_id, repo_type="dataset"), step, state)
    p.tag_exists = any(t.name == p.tag for t in refs.tags)
    remote = _hub(lambda: api.list_repo_files(p.repo_id, repo_type="dataset", revision=p.head),
                  step, state)
    local = {path for path, _ in p.files}
    p.deletions = sorted(f for f in remote if f not in local and f not in KEEP)


def _operations(p: PublishPlan) -> list:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    return ([CommitOperationDelete(path_in_repo=path) for path in p.deletions or []]
            + [CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(p.folder / path))
               for path, _ in p.files])


def network_error(exc: BaseException) -> bool:
    """Whether `exc` says the Hub could not be reached (no network, offline mode, timeout),
    from whichever HTTP client huggingface_hub uses."""
    if isinstance(exc, (ConnectionError, TimeoutError)):  # OfflineModeIsEnabled is one
        return True
    for module, names in (("httpx2", ("TransportError",)), ("httpx", ("TransportError",)),
                          ("requests", ("ConnectionError", "Timeout"))):
        loaded = sys.modules.get(module)
        for name in names:
            cls = getattr(loaded, name, None)
            if isinstance(cls, type) and isinstance(exc, cls):
                return True
    return False


def _hub(call, step: str, state: str, *, passing: tuple = ()):
    """Run one Hub call; turn what the Hub or the network says into PublishFailed."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return call()
    except passing:
        raise
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        said = (getattr(exc, "server_message", None) or str(exc)).strip().splitlines()[0]
        if status in (401, 403):
            hint = "log in with `hf auth login`, or set HF_TOKEN, with a token that may write to it"
            raise PublishFailed(f"the Hub refused to {step} ({status}): {hint}; {state}.") from None
        if status == 412:
            raise PublishFailed(f"the Hub refused to {step}: main changed while publishing; "
                                f"{state}. Publish again.") from None
        raise PublishFailed(f"the Hub refused to {step} ({status}): {said}; {state}.") from None
    except Exception as exc:
        if network_error(exc):
            raise PublishFailed(f"cannot reach the Hugging Face Hub to {step} "
                                f"({type(exc).__name__}: {exc}): check the network connection "
                                f"(and HF_HUB_OFFLINE); {state}.") from None
        raise


def _release_row(store: Store, p: PublishPlan) -> int:
    """The campaign id of the folder's Release row, or ValueError saying why there is none."""
    from jamii.core.store import NotFound

    try:
        camp = store.campaign(p.campaign or "")
    except NotFound as exc:
        raise ValueError(f"{p.folder} names campaign '{p.campaign}', which this store does not "
                         f"hold: {exc}") from None
    if not store.release_exists(camp.id, p.version):
        raise ValueError(f"this store has no release {p.version} of '{camp.slug}': publish a "
                         "folder that `jamii release` built from this store")
    return camp.id
