"""Read a release folder (DESIGN section 6), from disk or from the Hugging Face Hub.

The card's YAML `configs` say which parquet files hold which kind and split; the rows are read
with pyarrow as they were written (speech audio stays WAV bytes, decoded by the ASR backend).
"""

from __future__ import annotations

import glob
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from jamii.core.schema import ITEM_KINDS

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ReleaseError(ValueError):
    """The release cannot be read; the message says what to fix."""


@dataclass
class Release:
    """A release folder's identity and where its files are."""

    source: str
    """What the user passed: a folder or a Hub id."""
    folder: Path
    """The local folder (a Hub snapshot for Hub ids)."""
    name: str
    """Dataset name from croissant.json (else the card's pretty_name, else the folder name)."""
    version: str
    """Dataset version from croissant.json, or "unknown"."""
    data_files: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """kind -> split -> parquet paths relative to `folder`."""
    hub_revision: str | None = None
    """The Hub commit of a downloaded release."""

    @property
    def kinds(self) -> list[str]:
        return [k for k in ITEM_KINDS if k in self.data_files]

    @property
    def tag(self) -> str:
        """`name@version`, as it appears in signatures."""
        return f"{self.name}@{self.version}"

    def items(self, kind: str, split: str) -> list[dict]:
        """The rows of one kind and split, as dictionaries."""
        import pyarrow.parquet as pq

        if kind not in self.data_files:
            raise ReleaseError(
                f"the release {self.source} has no {kind} items; it has: {', '.join(self.kinds) or 'none'}"
            )
        splits = self.data_files[kind]
        if split not in splits:
            raise ReleaseError(
                f"the release {self.source} has no {split!r} split for {kind}; "
                f"choose one of: {', '.join(splits)}"
            )
        rows: list[dict] = []
        for rel in splits[split]:
            rows.extend(pq.read_table(self.folder / rel).to_pylist())
        return rows


def _local_snapshot(repo_id: str) -> tuple[Path, str | None]:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = Path(snapshot_download(repo_id, repo_type="dataset"))
    except LocalEntryNotFoundError as exc:
        raise ReleaseError(
            f"cannot load the dataset {repo_id!r} from the Hugging Face Hub: it is not in the local "
            "cache and the Hub cannot be reached (offline, or HF_HUB_OFFLINE=1). Download it once "
            "with network access, or pass the path of a local release folder."
        ) from exc
    except HfHubHTTPError as exc:
        raise ReleaseError(f"cannot load the dataset {repo_id!r} from the Hub: {exc}") from exc
    revision = path.name if re.fullmatch(r"[0-9a-f]{40}", path.name) else None
    return path, revision


def _files_of(folder: Path, spec) -> list[str]:
    patterns = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(folder / pattern)))
        out += [str(Path(m).relative_to(folder)) for m in matches]
    return out


def open_release(source: str | Path) -> Release:
    """Open a release folder or Hub id and read its card and Croissant metadata.

    Raises:
        ReleaseError: the folder is missing or is not a release; a Hub id cannot be fetched.
    """
    from huggingface_hub import metadata_load

    text = str(source)
    folder = Path(text).expanduser()
    hub_revision = None
    if not folder.exists():
        if HUB_ID.match(text) and not text.startswith((".", "/")):
            folder, hub_revision = _local_snapshot(text)
        else:
            raise ReleaseError(
                f"no release folder at {text}; pass the folder `jamii release` wrote, or a Hub id "
                "such as org/name"
            )
    if not folder.is_dir():
        raise ReleaseError(f"{text} is a file; pass the release folder that holds README.md and data/")
    card = folder / "README.md"
    meta = metadata_load(card) if card.exists() else None
    if not meta or not meta.get("configs"):
        raise ReleaseError(
            f"{text} is not a release folder: its README.md has no YAML `configs` listing the data "
            "files (build the folder with `jamii release`)"
        )
    data_files: dict[str, dict[str, list[str]]] = {}
    for config in meta["configs"]:
        kind = config.get("config_name")
        entries = config.get("data_files") or []
        if isinstance(entries, (str, list)) and not (entries and isinstance(entries[0], dict)):
            entries = [{"split": "train", "path": entries}]
        for entry in entries:
            files = _files_of(folder, entry["path"])
            if files:
                data_files.setdefault(kind, {})[entry["split"]] = files
    name, version = meta.get("pretty_name") or folder.name, "unknown"
    croissant = folder / "croissant.json"
    if croissant.exists():
        doc = json.loads(croissant.read_text(encoding="utf-8"))
        name, version = doc.get("name") or name, str(doc.get("version") or version)
    return Release(
        source=text, folder=folder, name=name, version=version, data_files=data_files,
        hub_revision=hub_revision,
    )
