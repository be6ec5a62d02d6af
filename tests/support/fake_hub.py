"""An in-memory Hugging Face Hub for publish tests: it applies what each `HfApi` call does to a
repo, not only records that it was called, so a publish that leaves stale files fails a test.

Repos are commit graphs of file trees (path -> bytes). Each method takes the arguments of the
`huggingface_hub.HfApi` method of the same name (2.x), returns the same types, and raises what
the library raises for the cases the docstrings of `huggingface_hub/hf_api.py` document:

- `create_repo`: the repo starts with a commit holding `.gitattributes` ("Initial commit is
  always a system commit containing the `.gitattributes` file", hf_api.py); an existing repo
  is HfHubHTTPError 409 unless `exist_ok`.
- `repo_info`, `list_repo_files`, `list_repo_refs`: RepositoryNotFoundError for a repo that
  does not exist *with that repo_type* (repo_type None means "model"), RevisionNotFoundError
  for an unknown revision.
- `create_commit`: one commit applying the operations in order; `commit_message` must not be
  empty (ValueError); `parent_commit` must be a full commit oid (ValueError) and the head of
  the branch, else HfHubHTTPError 412; deleting a file that is not there is
  RemoteEntryNotFoundError ("A file with this name doesn't exist"); a commit that changes
  nothing is not made: the head's commit info is returned ("Skipping to prevent empty commit").
- `upload_folder`: `delete_patterns` apply to the remote files (at the branch) before the
  upload, `.gitattributes` is never deleted, files uploaded are never deleted; `.git/` is
  ignored; then one `create_commit`.
- `create_tag`: tags a branch, tag or commit oid (7 characters or more); an unknown revision
  is RevisionNotFoundError; an existing tag is HfHubHTTPError 409 unless `exist_ok`.
- `update_repo_settings`: `gated` is "auto", "manual" or False.

With `offline=True`, every call raises the ConnectError huggingface_hub's HTTP client raises
when the name does not resolve, before touching anything.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from huggingface_hub import CommitOperationAdd, CommitOperationCopy, CommitOperationDelete
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import CommitInfo, DatasetInfo, GitRefInfo, GitRefs, ModelInfo, RepoUrl
from huggingface_hub.utils import filter_repo_objects

ENDPOINT = "https://huggingface.co"
REPO_TYPES = ("model", "dataset", "space")
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.wav filter=lfs diff=lfs merge=lfs -text\n"
_OID = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Commit:
    oid: str
    parent: str | None
    message: str
    files: dict[str, bytes]


@dataclass
class Repo:
    repo_id: str
    repo_type: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    gated: str | bool = False


def _error(cls, status: int, message: str, method: str = "POST", url: str = ENDPOINT):
    response = httpx2.Response(status, request=httpx2.Request(method, url),
                               headers={"X-Error-Message": message})
    return cls(f"{status} Client Error: {message}", response=response, server_message=message)


class FakeHub:
    """One `HfApi` over an in-memory Hub. `calls` names every method called, in order."""

    def __init__(self, *, offline: bool = False):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.offline = offline
        self.calls: list[str] = []
        self._counter = 0

    # --- helpers for tests -----------------------------------------------------------------
    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        repo = self._repo(repo_id, repo_type)
        return dict(repo.commits[self._resolve(repo, revision)].files)

    def history(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> list[Commit]:
        """The commits of `revision`, newest first."""
        repo = self._repo(repo_id, repo_type)
        out, oid = [], self._resolve(repo, revision)
        while oid is not None:
            out.append(repo.commits[oid])
            oid = repo.commits[oid].parent
        return out

    # --- internals --------------------------------------------------------------------------
    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if self.offline:
            raise httpx2.ConnectError("[Errno -2] Name or service not known")

    @staticmethod
    def _type(repo_type: str | None) -> str:
        repo_type = repo_type or "model"
        if repo_type not in REPO_TYPES:
            raise ValueError(f"Invalid repo type, must be one of {REPO_TYPES}")
        return repo_type

    def _repo(self, repo_id: str, repo_type: str | None) -> Repo:
        repo = self.repos.get((self._type(repo_type), repo_id))
        if repo is None:
            raise _error(RepositoryNotFoundError, 404, "Repository not found", "GET")
        return repo

    def _resolve(self, repo: Repo, revision: str | None) -> str:
        revision = revision or "main"
        if revision in repo.branches:
            return repo.branches[revision]
        if revision in repo.tags:
            return repo.tags[revision]
        if len(revision) >= 7:
            found = [oid for oid in repo.commits if oid.startswith(revision)]
            if len(found) == 1:
                return found[0]
        raise _error(RevisionNotFoundError, 404, f"Invalid rev id: {revision}", "GET")

    def _commit(self, repo: Repo, branch: str, files: dict[str, bytes], message: str) -> Commit:
        self._counter += 1
        oid = hashlib.sha1(f"{repo.repo_id}\0{self._counter}\0{message}".encode()).hexdigest()
        commit = Commit(oid, repo.branches.get(branch), message, files)
        repo.commits[oid] = commit
        repo.branches[branch] = oid
        return commit

    def _info(self, repo: Repo, commit: Commit, message: str) -> CommitInfo:
        prefix = ENDPOINT if repo.repo_type == "model" else f"{ENDPOINT}/{repo.repo_type}s"
        return CommitInfo(commit_url=f"{prefix}/{repo.repo_id}/commit/{commit.oid}",
                          commit_message=message, commit_description="", oid=commit.oid,
                          _endpoint=ENDPOINT)

    # --- HfApi ------------------------------------------------------------------------------
    def create_repo(self, repo_id: str, *, token=None, private: bool | None = None,
                    repo_type: str | None = None, exist_ok: bool = False, **_) -> RepoUrl:
        self._enter("create_repo")
        repo_type = self._type(repo_type)
        if repo_id.count("/") != 1 or not all(repo_id.split("/")):
            raise ValueError(f"Repo id must be in the form 'repo_name' or 'namespace/repo_name': '{repo_id}'.")
        prefix = ENDPOINT if repo_type == "model" else f"{ENDPOINT}/{repo_type}s"
        key = (repo_type, repo_id)
        if key in self.repos:
            if not exist_ok:
                raise _error(HfHubHTTPError, 409, "You already created this repo")
        else:
            repo = Repo(repo_id, repo_type, bool(private))
            self.repos[key] = repo
            self._commit(repo, "main", {".gitattributes": GITATTRIBUTES}, "initial commit")
        return RepoUrl(f"{prefix}/{repo_id}", endpoint=ENDPOINT)

    def update_repo_settings(self, repo_id: str, *, gated=None, private: bool | None = None,
                             token=None, repo_type: str | None = None, **_) -> None:
        self._enter("update_repo_settings")
        if gated is not None and gated not in ("auto", "manual", False):
            raise ValueError(f"Invalid gated status, must be one of 'auto', 'manual', or False. Got '{gated}'.")
        repo = self._repo(repo_id, repo_type)
        if gated is not None:
            repo.gated = gated
        if private is not None:
            repo.private = private

    def repo_info(self, repo_id: str, *, revision: str | None = None, repo_type: str | None = None,
                  token=None, files_metadata: bool = False, **_):
        self._enter("repo_info")
        repo = self._repo(repo_id, repo_type)
        oid = self._resolve(repo, revision)
        data = {"id": repo_id, "sha": oid, "private": repo.private, "gated": repo.gated,
                "siblings": [{"rfilename": f} for f in sorted(repo.commits[oid].files)]}
        return DatasetInfo(**data) if repo.repo_type == "dataset" else ModelInfo(**data)

    def list_repo_files(self, repo_id: str, *, revision: str | None = None,
                        repo_type: str | None = None, token=None) -> list[str]:
        self._enter("list_repo_files")
        repo = self._repo(repo_id, repo_type)
        return sorted(repo.commits[self._resolve(repo, revision)].files)

    def list_repo_refs(self, repo_id: str, *, repo_type: str | None = None,
                       include_pull_requests: bool = False, token=None) -> GitRefs:
        self._enter("list_repo_refs")
        repo = self._repo(repo_id, repo_type)
        return GitRefs(
            branches=[GitRefInfo(name=n, ref=f"refs/heads/{n}", target_commit=o) for n, o in repo.branches.items()],
            converts=[],
            tags=[GitRefInfo(name=n, ref=f"refs/tags/{n}", target_commit=o) for n, o in repo.tags.items()],
            pull_requests=[] if include_pull_requests else None)

    def create_commit(self, repo_id: str, operations, *, commit_message: str,
                      commit_description: str | None = None, token=None,
                      repo_type: str | None = None, revision: str | None = None,
                      create_pr: bool | None = None, parent_commit: str | None = None,
                      **_) -> CommitInfo:
        self._enter("create_commit")
        if parent_commit is not None and not _OID.match(parent_commit):
            raise ValueError("`parent_commit` is not a valid commit OID.")
        if not commit_message:
            raise ValueError("`commit_message` can't be empty, please pass a value.")
        if create_pr:
            raise NotImplementedError("the fake Hub does not open pull requests")
        repo = self._repo(repo_id, repo_type)
        branch = revision or "main"
        if branch not in repo.branches:
            raise _error(RevisionNotFoundError, 404, f"Invalid rev id: {branch}")
        head = repo.branches[branch]
        if parent_commit is not None and parent_commit != head:
            raise _error(HfHubHTTPError, 412, "A commit has happened since. Please refresh and try again.")
        files = dict(repo.commits[head].files)
        for op in operations:
            if isinstance(op, CommitOperationDelete):
                if op.is_folder:
                    prefix = op.path_in_repo.rstrip("/") + "/"
                    gone = [f for f in files if f.startswith(prefix)]
                    if not gone:
                        raise _error(RemoteEntryNotFoundError, 404,
                                     f"A folder with this name doesn't exist: {op.path_in_repo}")
                    for f in gone:
                        del files[f]
                elif op.path_in_repo not in files:
                    raise _error(RemoteEntryNotFoundError, 404,
                                 f"A file with this name doesn't exist: {op.path_in_repo}")
                else:
                    del files[op.path_in_repo]
            elif isinstance(op, CommitOperationAdd):
                files[op.path_in_repo] = _bytes(op.path_or_fileobj)
            elif isinstance(op, CommitOperationCopy):
                raise NotImplementedError("the fake Hub does not copy files")
            else:
                raise ValueError(f"not a commit operation: {op!r}")
        if files == repo.commits[head].files:  # the library skips empty commits
            return self._info(repo, repo.commits[head], commit_message)
        return self._info(repo, self._commit(repo, branch, files, commit_message), commit_message)

    def upload_folder(self, *, repo_id: str, folder_path, path_in_repo: str | None = None,
                      commit_message: str | None = None, token=None, repo_type: str | None = None,
                      revision: str | None = None, allow_patterns=None, ignore_patterns=None,
                      delete_patterns=None, parent_commit: str | None = None, **_) -> CommitInfo:
        folder = Path(folder_path)
        if not folder.is_dir():
            raise ValueError(f"Provided path: '{folder}' is not a directory")
        prefix = f"{path_in_repo.strip('/')}/" if path_in_repo else ""
        local = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        local = [r for r in _filter(local, allow_patterns, ignore_patterns)
                 if not r.startswith(".git/") and "/.git/" not in r]
        adds = [CommitOperationAdd(path_in_repo=prefix + r, path_or_fileobj=str(folder / r)) for r in local]
        deletes = []
        if delete_patterns is not None:
            remote = self.list_repo_files(repo_id, revision=revision, repo_type=repo_type)
            relative = {f[len(prefix):]: f for f in remote if f.startswith(prefix)}
            added = {op.path_in_repo for op in adds}
            deletes = [CommitOperationDelete(path_in_repo=full)
                       for rel, full in relative.items()
                       if _filter([rel], delete_patterns, None) and full != ".gitattributes"
                       and full not in added]
        return self.create_commit(repo_id, deletes + adds, repo_type=repo_type, revision=revision,
                                  commit_message=commit_message or "Upload folder using huggingface_hub",
                                  parent_commit=parent_commit)

    def create_tag(self, repo_id: str, *, tag: str, tag_message: str | None = None,
                   revision: str | None = None, token=None, repo_type: str | None = None,
                   exist_ok: bool = False) -> None:
        self._enter("create_tag")
        repo = self._repo(repo_id, repo_type)
        oid = self._resolve(repo, revision)
        if tag in repo.tags:
            if exist_ok:
                return
            raise _error(HfHubHTTPError, 409, f"Tag {tag} already exists")
        repo.tags[tag] = oid


def _bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes()
    if isinstance(source, io.IOBase):
        return source.read()
    raise ValueError(f"path_or_fileobj must be a path, bytes or a file object, not {type(source)}")


def _filter(paths: list[str], allow, ignore) -> list[str]:
    return list(filter_repo_objects(paths, allow_patterns=allow, ignore_patterns=ignore))
