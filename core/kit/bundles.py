"""Bundles: a field store's work, sealed to the central store's key, and their merge.

    write_bundle(field, Path("kitui-1.bundle"), actor_id=OPERATOR)        # jamii kit bundle
    report = merge_bundle(central, Path("kitui-1.bundle"), actor_id=OPERATOR)  # jamii kit merge

A bundle is a sealed tar (core/kit/sealed.py): `manifest.json`, then each recording the items
need as `audio/<sha256>.wav`, then one `tables/<table>.jsonl` per table in merge order
(`TABLES`). The merge reads the whole bundle through once before it changes anything (a wrong
key, a damaged or cut-short file is refused with nothing written), then applies each table in
batches of `BATCH` rows, one transaction each (`Store.merge_kit_rows`): a merge killed at any
point and run again ends as one clean run would, and the same bundle twice adds nothing.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from jamii.core.kit.kits import TOKEN_FILE, central_key_path
from jamii.core.kit.sealed import CHUNK, load_or_create_key, read_sealed, verify_sealed, write_sealed
from jamii.core.store import Store, StoreError
from jamii.core.store._kit_merge import TABLES, MergeReport

BUNDLE_FORMAT = "jamii-bundle/1"
BATCH = 2000
MAX_RECORDING_BYTES = 64 << 20
"""A 30-second clip is about 1 MB at 16 kHz (6 MB at 48 kHz stereo); nothing near this."""
PUBLIC_KEY_FILE = Path("kit") / "central-public-key.txt"


@dataclass(frozen=True)
class BundleSummary:
    kit_id: str
    path: Path
    rows: dict[str, int]
    recordings: int


def write_bundle(store: Store, out: Path, *, actor_id) -> BundleSummary:
    """Seal everything this field store made into `out`, to the central key the kit named."""
    kit_id = store.field_kit()
    key_file = store.audio_dir.parent / PUBLIC_KEY_FILE
    if kit_id is None or not key_file.exists():
        raise StoreError("This store was not made from a kit (jamii init --from-kit): there is "
                         "nothing to bundle.")
    public = key_file.read_text(encoding="ascii").strip()
    token = (store.audio_dir.parent / "kit" / TOKEN_FILE).read_text(encoding="ascii").strip()
    # Each table goes to a file of its own as it comes, so no more than one table's rows are
    # in memory at once; the files sit in the store's own folder (which holds all of it in
    # the clear already), never beside the bundle, which may be on a USB stick.
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=store.audio_dir.parent) as spool:
        rows: dict[str, int] = {}
        audio: set[str] = set()
        for table, records in store.kit_records(actor_id=actor_id):
            rows[table] = _spool(records, Path(spool) / f"{table}.jsonl",
                                 audio if table == "items" else None)
            del records
        manifest = {"format": BUNDLE_FORMAT, "kit_id": kit_id, "kit_token": token, "rows": rows,
                    "recordings": len(audio)}

        def members() -> Iterator[tuple[str, Any]]:
            yield "manifest.json", json.dumps(manifest).encode()
            for digest in sorted(audio):
                yield f"audio/{digest}.wav", store.audio_path(digest, ".wav")
            for table in TABLES:
                yield f"tables/{table}.jsonl", Path(spool) / f"{table}.jsonl"

        write_sealed(out, public, members())
    return BundleSummary(kit_id, Path(out), rows, len(audio))


def _spool(rows: Iterable[dict[str, Any]], path: Path, audio: set[str] | None) -> int:
    """`rows` (a list or a generator) as JSON lines into `path`; how many. With `audio`, the
    recordings the rows (items) need are added to it."""
    count = 0
    with open(path, "wb") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            count += 1
            if audio is not None and row["kind"] == "speech" and row["content"].get("audio_sha256"):
                audio.add(row["content"]["audio_sha256"])
    return count


def merge_bundle(store: Store, path: Path, *, actor_id, batch: int = BATCH) -> MergeReport:
    """Merge a bundle into the central store that made its kit (see the module's rules)."""
    secret = load_or_create_key(central_key_path(store))
    verify_sealed(path, secret)  # all or nothing: refuse a bad bundle before any write
    report = MergeReport()
    kit_id = None
    for name, stream in read_sealed(path, secret):
        if name == "manifest.json":
            manifest = json.loads(stream.read(1 << 20))
            if manifest.get("format") != BUNDLE_FORMAT:
                raise StoreError(f"{path} is not a jamii bundle of format {BUNDLE_FORMAT}.")
            store.check_actor(actor_id, "merge a field kit's work")
            if not store.kit_token_ok(manifest.get("kit_id"), manifest.get("kit_token")):
                raise StoreError(f"{path} does not prove it comes from a kit this store made: "
                                 "merge only bundles written by `jamii kit bundle` on a laptop "
                                 "set up from this store's kit.")
            kit_id = manifest["kit_id"]
        elif kit_id is None:
            raise StoreError(f"{path} has no manifest first: it was not made by `jamii kit bundle`.")
        elif name.startswith("audio/") and name.endswith(".wav"):
            data = stream.read(MAX_RECORDING_BYTES + 1)
            if len(data) > MAX_RECORDING_BYTES:
                raise StoreError(f"{path}: the recording {name} is larger than any clip the "
                                 f"collector takes ({MAX_RECORDING_BYTES >> 20} MB).")
            if store.save_audio(data, ".wav") != name[len("audio/"):-len(".wav")]:
                raise StoreError(f"{path}: the recording {name} does not match its name.")
        elif name.startswith("tables/") and name[len("tables/"):-len(".jsonl")] in TABLES:
            table = name[len("tables/"):-len(".jsonl")]
            for rows in _batches(stream, batch):
                report.absorb(store.merge_kit_rows(kit_id, table, rows, actor_id=actor_id))
    if kit_id is None:
        raise StoreError(f"{path} is an empty bundle.")
    return report


def _batches(stream, size: int) -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    for line in io.BufferedReader(stream, CHUNK):
        if line.strip():
            try:
                row = orjson.loads(line)  # bytes, UTF-8 checked; a quarter of json's time
            except ValueError:
                raise StoreError("A line of the bundle is not JSON: write the bundle again with "
                                 "`jamii kit bundle` on the field laptop.") from None
            if not isinstance(row, dict):
                raise StoreError("A line of the bundle is not a record: write the bundle again "
                                 "with `jamii kit bundle` on the field laptop.")
            rows.append(row)
        if len(rows) >= size:
            yield rows
            rows = []
    if rows:
        yield rows
