"""News for a field kit, at the file and network boundary: what changed centrally since a kit
was made (`Store.kit_news`), authenticated so that only the central store that wrote the kit
can make a field laptop withdraw people, change roles, texts or rates.

    data = sign_news(central, central.kit_news(kit_id, actor_id=OPERATOR))  # bytes to carry
    news = verify_news(field, data)             # the news dict, or StoreError: nothing applied
    report = field.apply_kit_news(news, actor_id=OPERATOR)

    write_news(central, kit_id, Path("kit.news"), actor_id=OPERATOR)     # jamii kit news
    report = apply_news_file(field, Path("kit.news"), actor_id=OPERATOR)  # jamii kit update

Why a MAC keyed by the kit's token, not a signature. The central store and the field laptop
already share one secret per kit: the kit's token (`<data>/kit/kit-token.txt` on the laptop;
the central store keeps its sha256, `Kit.token_sha256`). News is authenticated with
HMAC-SHA256 (Python's `hmac`) under a key derived from that sha256, which both ends hold and
nobody else does: not whoever holds the central store's age public key (age encrypts, it does
not authenticate), nor another kit's laptop (its token differs, so news for one kit never
verifies on another). Every kit ever made can check news this way, with no new key to make,
carry or back up. Who could forge news: someone with the central database or this kit's file
or laptop, each of whom can already change what the field store holds directly.

A news file is one header line of JSON (`format`, `kit_id`, `hmac_sha256`), then the news as
compact JSON (no raw newline in it). The MAC covers those exact bytes; the news's own `kit_id`
must be the header's. Nothing is parsed before the MAC is checked, except the short header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from jamii.core.kit.kits import TOKEN_FILE
from jamii.core.store import NewsReport, Store, StoreError

NEWS_FILE_FORMAT = "jamii-kit-news-file/1"
MAX_NEWS_BYTES = 512 << 20
"""News of a campaign with millions of new central items is some hundred MB of hashes."""
MAX_HEADER_BYTES = 1024
_CONTEXT = b"jamii kit news v1"


def _key(token_sha256: str) -> bytes:
    """The news key of a kit, from the sha256 (hex) of its token."""
    return hmac.new(token_sha256.encode("ascii"), _CONTEXT, hashlib.sha256).digest()


def _refused(why: str) -> StoreError:
    return StoreError(f"{why} Nothing was applied: ask the central store for news of this kit "
                      "again (jamii kit news --kit KIT_ID --out FILE).")


def sign_news(store: Store, news: dict[str, Any]) -> bytes:
    """The bytes of a news file for `news` (as `Store.kit_news` made it), authenticated with
    the key of the kit it names, which must be a kit this (central) store made."""
    kit_id = news.get("kit_id") if isinstance(news, dict) else None
    kit = next((k for k in store.kits() if k.id == kit_id and k.made_here), None)
    if kit is None or not kit.token_sha256:
        raise StoreError(f"Kit {kit_id} was not made by this store: only the central store that "
                         "wrote a kit can send it news.")
    payload = json.dumps(news, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(kit.token_sha256), payload, hashlib.sha256).hexdigest()
    header = json.dumps({"format": NEWS_FILE_FORMAT, "kit_id": kit.id, "hmac_sha256": mac})
    return header.encode("ascii") + b"\n" + payload


def _token_sha256(where: Store | Path | str) -> tuple[str, str | None]:
    """(sha256 of the kit's token, the store's kit id or None) for a field store, or for a
    kit folder (`<data>/kit`, or the data folder holding it) with its `kit-token.txt`."""
    if isinstance(where, Store):
        folder, kit_id = where.audio_dir.parent / "kit", where.field_kit()
        if kit_id is None:
            raise StoreError("This store was not made from a kit (jamii init --from-kit): news "
                             "from the central store is for a field laptop's store.")
    else:
        folder, kit_id = Path(where), None
        if not (folder / TOKEN_FILE).exists() and (folder / "kit" / TOKEN_FILE).exists():
            folder = folder / "kit"
    try:
        token = (folder / TOKEN_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        raise StoreError(f"No kit token at {folder / TOKEN_FILE}: news can only be checked on a "
                         "laptop set up with `jamii init --from-kit`.") from None
    if not token:
        raise StoreError(f"The kit token at {folder / TOKEN_FILE} is empty.")
    return hashlib.sha256(token.encode("utf-8")).hexdigest(), kit_id


def verify_news(field: Store | Path | str, data: bytes) -> dict[str, Any]:
    """The news in `data` (bytes `sign_news` made), once it is proven to come from the central
    store that wrote this field's kit, unchanged; else StoreError saying what is wrong.
    `field` is the field store, or its kit folder holding `kit-token.txt`."""
    if not isinstance(data, (bytes, bytearray)):
        raise _refused("News must be the bytes of a news file.")
    if len(data) > MAX_NEWS_BYTES:
        raise _refused(f"This news is larger than any news ({MAX_NEWS_BYTES >> 20} MB).")
    end = data.find(b"\n", 0, MAX_HEADER_BYTES + 1)
    try:
        header = json.loads(data[:end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != NEWS_FILE_FORMAT \
            or not isinstance(header.get("hmac_sha256"), str) or not isinstance(header.get("kit_id"), str):
        raise _refused(f"This is not a jamii news file (expected format {NEWS_FILE_FORMAT}).")
    token_sha256, kit_id = _token_sha256(field)
    if kit_id is not None and header["kit_id"] != kit_id:
        raise _refused(f"This news is for kit {header['kit_id'][:40]}, and this laptop's store was "
                       f"made from kit {kit_id}.")
    payload = bytes(data[end + 1:])
    expected = hmac.new(_key(token_sha256), payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header["hmac_sha256"].encode("utf-8", "replace")):
        raise _refused("This news does not prove it comes from the central store that wrote this "
                       "laptop's kit: it was changed on the way, or made for another kit.")
    try:
        news = json.loads(payload)
    except ValueError:
        raise _refused("This news is not JSON inside.") from None
    if not isinstance(news, dict) or news.get("kit_id") != header["kit_id"]:
        raise _refused("This news names another kit inside than outside.")
    return news


def write_news(store: Store, kit_id: str, out: Path, *, actor_id) -> dict[str, Any]:
    """Write kit `kit_id`'s news to `out` (atomically); returns the news written."""
    news = store.kit_news(kit_id, actor_id=actor_id)
    data = sign_news(store, news)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.part")
    part.write_bytes(data)
    os.replace(part, out)
    return news


def apply_news_file(store: Store, path: Path, *, actor_id) -> NewsReport:
    """Check the news file at `path` and apply it to this field store (all or nothing)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_NEWS_BYTES + 1)
    except FileNotFoundError:
        raise StoreError(f"No news file at {path}.") from None
    except OSError as exc:
        raise StoreError(f"{path} cannot be read ({exc}).") from None
    return store.apply_kit_news(verify_news(store, data), actor_id=actor_id)
