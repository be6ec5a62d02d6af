"""Kit files: `jamii kit create` writes one from the central store, `jamii init --from-kit`
makes a field store from it.

    summary = create_kit(store, campaign_id, Path("kilimo.kit"), actor_id=OPERATOR)
    summary = init_from_kit(empty_field_store, Path("kilimo.kit"), actor_id=OPERATOR)

A kit is one gzipped JSON document: what `Store.issue_kit` says a field laptop needs (no
contact details; invite codes and passwords only as hashes; central items only as content
hashes), plus the central store's public key, to which the field's bundles will be sealed
(core/kit/sealed.py). The central store's secret key lives beside its data, in
`<data>/kit/central-key.txt` (0600), made by the first `kit create`: whoever holds it opens
every bundle, so back it up with the store and never copy it to a field laptop.

The kit itself is not encrypted: it holds no text anyone wrote, but it does hold the hashes
that let its people sign in, and the kit's secret token, which its bundles carry to prove they
come from it (the central key is public: anyone could seal a bundle to it). Treat the file like
the laptop it goes on.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jamii.core.kit.sealed import load_or_create_key, public_key_of
from jamii.core.store import KIT_FORMAT, Store, StoreError

KEY_FILE = Path("kit") / "central-key.txt"
TOKEN_FILE = "kit-token.txt"
"""In a field store's `<data>/kit/`: the kit's secret token, which every bundle carries."""
MAX_KIT_BYTES = 2 << 30
"""A kit of a campaign with millions of items is some hundred MB of hashes; more is not a kit."""


@dataclass(frozen=True)
class KitSummary:
    kit_id: str
    campaign: str
    people: int
    consents: int
    known_items: int
    path: Path


def central_key_path(store: Store) -> Path:
    return store.audio_dir.parent / KEY_FILE


def create_kit(store: Store, campaign_id: int, out: Path, *, actor_id, note: str = "") -> KitSummary:
    """Write the kit of a campaign to `out` (atomically: a half-written kit never has its name)."""
    public = public_key_of(load_or_create_key(central_key_path(store)))
    kit_id, contents = store.issue_kit(campaign_id, actor_id=actor_id, note=note)
    contents["central_public_key"] = public
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.part")
    with gzip.open(part, "wt", encoding="utf-8") as fh:
        json.dump(contents, fh, ensure_ascii=False, separators=(",", ":"))
    os.replace(part, out)
    return _summary(contents, out)


def read_kit(path: Path) -> dict[str, Any]:
    """The kit's contents, or StoreError saying what is wrong with the file."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read(MAX_KIT_BYTES + 1)
    except FileNotFoundError:
        raise StoreError(f"No kit file at {path}.") from None
    except (OSError, EOFError) as exc:
        raise StoreError(f"{path} is not a jamii kit ({exc}): copy it again, or make a new one "
                         "with `jamii kit create`.") from None
    if len(raw) > MAX_KIT_BYTES:
        raise StoreError(f"{path} is larger than any kit ({MAX_KIT_BYTES >> 30} GB).")
    try:
        contents = json.loads(raw)
    except ValueError:
        raise StoreError(f"{path} is not a jamii kit (not JSON inside): make a new one with "
                         "`jamii kit create`.") from None
    if not isinstance(contents, dict) or contents.get("format") != KIT_FORMAT:
        raise StoreError(f"{path} is not a jamii kit of format {KIT_FORMAT}.")
    if not isinstance(contents.get("kit_token"), str):
        raise StoreError(f"{path} carries no kit token: make a new kit with `jamii kit create`.")
    public = contents.get("central_public_key")
    if not isinstance(public, str) or not public.startswith("age1"):
        raise StoreError(f"{path} names no central store key: make a new kit with `jamii kit create`.")
    return contents


def init_from_kit(store: Store, path: Path, *, actor_id) -> KitSummary:
    """Make the empty `store` a field store of the kit at `path`; its public key is kept for
    sealing bundles (`<data>/kit/central-public-key.txt`)."""
    contents = read_kit(path)
    store.load_kit(contents, actor_id=actor_id)
    folder = store.audio_dir.parent / "kit"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "central-public-key.txt").write_text(contents["central_public_key"] + "\n", encoding="ascii")
    token = folder / TOKEN_FILE
    descriptor = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as fh:
        fh.write(contents["kit_token"] + "\n")
    return _summary(contents, Path(path))


def _summary(contents: dict[str, Any], path: Path) -> KitSummary:
    return KitSummary(kit_id=contents["kit_id"], campaign=contents["campaign"]["slug"],
                      people=len(contents["people"]), consents=len(contents["consents"]),
                      known_items=len(contents["known_content"]), path=path)
