"""`{base}/kit/uploads`: a field laptop pushes its bundle here (`jamii kit push`), in chunks that
resume after a dropped connection, and the central store merges it.

Why not a library. The tus protocol (tus.io) is the well-kept design for resumable uploads, and
this route speaks its core: `POST` with `Upload-Length` and `Upload-Metadata` (base64 values)
creates an upload and answers 201 with its `Location`; `HEAD` answers its `Upload-Offset`;
`PATCH` with `Upload-Offset` and `Content-Type: application/offset+octet-stream` appends, and a
wrong offset gets 409. The Python servers for it are a FastAPI router (tuspyserver: a framework
more, its own upload folder and metadata, a hook only after the file is complete) and a
one-release ASGI package (asgi-tus); neither checks a bearer token per upload, binds an upload
to it, or starts a merge once. What jamii needs on top is small, so it is here.

    POST  {base}/kit/uploads            Upload-Length: N
                                        Upload-Metadata: sha256 <b64 hex>,kit_id <b64 id>
          -> 201 Location: {base}/kit/uploads/<id>   (200 and the same id for the same bundle
             still being sent with the same token: a push started again resumes)
    HEAD  {base}/kit/uploads/<id>       -> 200 Upload-Offset, Upload-Length
    PATCH {base}/kit/uploads/<id>       Upload-Offset: O, the bytes from O (a chunk)
          -> 204 Upload-Offset   (409 and the current Upload-Offset when O is not it)
    GET   {base}/kit/uploads/<id>       -> {"state": "receiving"|"merging"|"done"|"failed",
             "offset", "length", "message", "report", "news"}

Every request carries `Authorization: Bearer <token>` (`jamii kit token create`): the token
must work (core/store/_api_tokens.py), and an upload answers only the token that created it
(any other gets 404). The kit the client names must be one this store made for the token's
campaign (checked at creation, before any byte is sent), and the bundle must turn out to be
that kit's (checked again from its sealed manifest before the merge; `merge_bundle` then
verifies the seal and the kit's secret token). When the last byte arrives the whole file's
SHA-256 is checked and the merge runs in a thread of its own (merges take minutes), acting as
the organiser who issued the token; the answer polled with GET then carries its report and the
news of what changed centrally since the kit was made (`Store.kit_news`), as the signed news
file `jamii kit news` writes (core/kit/news.py), so the field checks it came from its central
store unchanged, even over plain http.

Files: `<data>/kit/uploads/<id>.part` (the bytes), `<id>.json` (what the upload is for, written
once), `<id>.state.json` (the merge's state), `<id>.answer.json` (an ended merge's answer, sent
as it is) and two lock files. `<id>` is 32 random hex digits
made here; nothing a client sends is ever part of a path. The bytes are deleted when the merge
ends (done or refused); an upload left unfinished is deleted after `STALE_DAYS`. Appends to one
upload are serialised with a file lock (two processes on one data folder too): a second writer
gets 409 and asks the offset again. A merge that a restart cut short is started again by the
next status request: merges resume and never add anything twice.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

_log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
MAX_BYTES = 8 << 30
"""Default largest bundle (JAMII_KIT_UPLOAD_MAX_BYTES): months of a busy kit with recordings."""
MAX_CHUNK = 32 << 20
"""Default largest PATCH body (JAMII_KIT_UPLOAD_MAX_CHUNK); `jamii kit push` sends 4 MB."""
MAX_OPEN_PER_TOKEN = 4
"""Unfinished uploads one token may hold at once (each may reserve up to MAX_BYTES of disk)."""
STALE_DAYS = 7
FREE_MARGIN = 256 << 20
"""Disk space left free beyond a new upload's length, for the store itself."""
WRITE_BUFFER = 1 << 20
READ_TIMEOUT = 60.0
"""Seconds a PATCH may send nothing before it ends, keeping what arrived: a phone link dropped
half-open (or a slow-loris) would otherwise hold the upload's lock, and every resume get 409."""
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
KIT_ID = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_MERGE_ATTEMPTS = 3
"""A merge cut short by a server error or restart is started again at most this often."""
NO_STORE = {"Cache-Control": "no-store", "Tus-Resumable": TUS_VERSION}
OCTETS = "application/offset+octet-stream"


def kit_upload_routes(prefix: str) -> list:
    """The routes, under the app's base path (`prefix`: "" or "/base")."""
    from starlette.routing import Route

    return [Route(f"{prefix}/kit/uploads", create_upload, methods=["POST"]),
            Route(f"{prefix}/kit/uploads/{{upload_id}}", upload,
                  methods=["GET", "HEAD", "PATCH"])]


def _limit(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def max_bytes() -> int:
    return _limit("JAMII_KIT_UPLOAD_MAX_BYTES", MAX_BYTES)


def max_chunk() -> int:
    return _limit("JAMII_KIT_UPLOAD_MAX_CHUNK", MAX_CHUNK)


def _answer(status: int, reason: str, headers: dict[str, str] | None = None):
    """A fixed plain-text answer: it says what to do and never echoes what was sent."""
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(reason + "\n", status_code=status, headers={**NO_STORE, **(headers or {})})


UNAUTHORISED = ("this push needs a working API token (Authorization: Bearer TOKEN): it is "
                "unknown, revoked, or its organiser is no longer one; ask an organiser for a new "
                "one (jamii kit token create)")


async def _caller(request) -> tuple[int, int, str] | Any:
    """(campaign id, issuer id, token hash) for a working bearer token, else the 401 answer."""
    from starlette.concurrency import run_in_threadpool

    from jamii.core.store._api_tokens import token_hash
    from jamii.web.ui import get_store

    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    found = None
    if scheme.lower() == "bearer" and token:
        found = await run_in_threadpool(get_store().api_token_campaign, token)
    if found is None:
        return _answer(401, UNAUTHORISED, {"WWW-Authenticate": 'Bearer realm="jamii"'})
    return found[0], found[1], token_hash(token)


def uploads_folder(store) -> Path:
    folder = store.audio_dir.parent / "kit" / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    part.write_text(json.dumps(value, default=str, ensure_ascii=False), encoding="utf-8")
    os.replace(part, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def _locked(path: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive lock on `path` (made if missing) for the block: yields whether it was had.
    flock locks belong to an open file, so two threads of one process exclude each other too."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            had = True
        except BlockingIOError:
            had = False
        yield had
    finally:
        os.close(fd)  # releases the lock


def _metadata(raw: str) -> dict[str, str] | None:
    """tus `Upload-Metadata`: `key b64value` pairs split by commas; None if malformed."""
    out: dict[str, str] = {}
    if len(raw) > 1024:
        return None
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    return out


def _offset(folder: Path, upload_id: str, meta: dict[str, Any]) -> int:
    part = folder / f"{upload_id}.part"
    try:
        return part.stat().st_size
    except FileNotFoundError:  # merged (or refused) and cleaned up: nothing more is wanted
        return int(meta["length"])


# --------------------------------------------------------------------------- create
async def create_upload(request) -> Any:
    """POST: a new upload of `Upload-Length` bytes of a bundle of kit `kit_id` with `sha256`."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    from jamii.web.ui import get_store

    caller = await _caller(request)
    if not isinstance(caller, tuple):
        return caller
    campaign_id, issuer_id, token_sha256 = caller
    raw_length = request.headers.get("upload-length") or ""
    if not raw_length.isascii() or not raw_length.isdigit() or len(raw_length) > 15:
        return _answer(400, "say the bundle's size in bytes (Upload-Length)")
    length, limit = int(raw_length), max_bytes()
    if length == 0:
        return _answer(400, "an empty file is not a bundle")
    if length > limit:
        return _answer(413, f"a bundle pushed here is at most {limit} bytes "
                            "(JAMII_KIT_UPLOAD_MAX_BYTES on the central server); carry this one "
                            "by file and merge it with `jamii kit merge`")
    meta = _metadata(request.headers.get("upload-metadata") or "")
    if meta is None or not SHA256.fullmatch(meta.get("sha256", "")) \
            or not KIT_ID.fullmatch(meta.get("kit_id", "")):
        return _answer(400, "name the bundle's sha256 and kit_id (Upload-Metadata)")
    store = get_store()

    def create() -> tuple[int, str] | Any:
        if not any(k.id == meta["kit_id"] and k.made_here for k in store.kits(campaign_id)):
            return _answer(403, "this bundle's kit is not one this store made for the token's "
                                "campaign: push it with a token of its own campaign")
        folder = uploads_folder(store)
        with _locked(folder / ".create.lock", wait=True):
            _sweep(folder)
            mine, reserved = [], 0
            for path in folder.glob("*.json"):
                if not UPLOAD_ID.fullmatch(path.stem):
                    continue
                other = _read_json(path)
                if not other or (folder / f"{path.stem}.state.json").exists():
                    continue
                # what every unfinished upload may still write, whoever's it is
                reserved += max(0, int(other.get("length", 0)) - _offset(folder, path.stem, other))
                if other.get("token_sha256") != token_sha256:
                    continue
                if (other.get("sha256"), other.get("length")) == (meta["sha256"], length):
                    return 200, path.stem  # the same bundle, still being sent: resume it
                mine.append(path.stem)
            if len(mine) >= MAX_OPEN_PER_TOKEN:
                return _answer(429, f"this token has {len(mine)} unfinished uploads: finish "
                                    "them, or wait a week for them to be cleared")
            if shutil.disk_usage(folder).free < reserved + length + FREE_MARGIN:
                return _answer(507, "the central server has no room for this bundle now: "
                                    "tell its operator, or carry the bundle by file")
            upload_id = secrets.token_hex(16)
            (folder / f"{upload_id}.part").touch(mode=0o600, exist_ok=False)
            _write_json(folder / f"{upload_id}.json", {
                "campaign_id": campaign_id, "issuer_id": issuer_id, "token_sha256": token_sha256,
                "length": length, "sha256": meta["sha256"], "kit_id": meta["kit_id"],
                "created_at": time.time()})
            return 201, upload_id

    made = await run_in_threadpool(create)
    if not isinstance(made, tuple):
        return made
    status, upload_id = made
    return Response(status_code=status,
                    headers={**NO_STORE, "Location": f"{request.url.path.rstrip('/')}/{upload_id}"})


def _sweep(folder: Path) -> None:
    """Delete what uploads left behind more than STALE_DAYS ago (not a merge under way)."""
    cutoff = time.time() - STALE_DAYS * 86400
    for path in folder.glob("*.json"):
        upload_id = path.stem
        if not UPLOAD_ID.fullmatch(upload_id):
            continue
        files = [folder / f"{upload_id}{ext}" for ext in
                 (".part", ".json", ".state.json", ".answer.json", ".lock", ".merge.lock")]
        try:
            newest = max(f.stat().st_mtime for f in files if f.exists())
        except ValueError:
            continue
        if newest >= cutoff:
            continue
        with _locked(folder / f"{upload_id}.merge.lock", wait=False) as free:
            if free:
                for f in files:
                    f.unlink(missing_ok=True)


# --------------------------------------------------------------------------- one upload
async def upload(request) -> Any:
    """HEAD (offset), PATCH (append a chunk) or GET (state, and the merge's answer)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, Response

    from jamii.web.ui import get_store

    upload_id = request.path_params.get("upload_id") or ""
    caller = await _caller(request)
    if not isinstance(caller, tuple):
        return caller
    store = get_store()
    folder = uploads_folder(store)
    meta = _read_json(folder / f"{upload_id}.json") if UPLOAD_ID.fullmatch(upload_id) else None
    if meta is None or meta.get("token_sha256") != caller[2]:
        return _answer(404, "no such upload for this token: start the push again")
    length = int(meta["length"])
    if request.method == "HEAD":
        return Response(status_code=200, headers={
            **NO_STORE, "Upload-Offset": str(_offset(folder, upload_id, meta)),
            "Upload-Length": str(length)})
    if request.method == "GET":
        state = await run_in_threadpool(_status, store, folder, upload_id, meta)
        if isinstance(state, Path):  # an ended merge's answer (news may be 100s of MB): streamed
            from starlette.responses import FileResponse

            return FileResponse(state, media_type="application/json", headers=NO_STORE)
        return JSONResponse(state, headers=NO_STORE)
    return await _append(request, store, folder, upload_id, meta)


async def _append(request, store, folder: Path, upload_id: str, meta: dict[str, Any]) -> Any:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect
    from starlette.responses import Response

    length, limit = int(meta["length"]), max_chunk()
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() != OCTETS:
        return _answer(415, f"send the bytes as {OCTETS}")
    raw = request.headers.get("upload-offset") or ""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        return _answer(400, "say where these bytes go (Upload-Offset)")
    offset = int(raw)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return _answer(413, f"a chunk is at most {limit} bytes")
    with _locked(folder / f"{upload_id}.lock", wait=False) as had:
        if not had:
            return _answer(409, "another request is writing to this upload: ask its offset "
                                "(HEAD) and go on from there",
                           {"Upload-Offset": str(_offset(folder, upload_id, meta))})
        current = _offset(folder, upload_id, meta)
        if offset != current or (folder / f"{upload_id}.state.json").exists():
            return _answer(409, f"this upload is at byte {current}, not {offset}: ask its offset "
                                "(HEAD) and go on from there", {"Upload-Offset": str(current)})
        part = folder / f"{upload_id}.part"
        received, refused = 0, None
        fh = open(part, "r+b")
        try:
            fh.seek(current)
            pending = bytearray()
            try:
                async for piece in _idle_limited(request.stream()):
                    received += len(piece)
                    if received > limit:
                        refused = _answer(413, f"a chunk is at most {limit} bytes")
                        break
                    if current + received > length:
                        refused = _answer(413, f"this upload is {length} bytes long: these bytes "
                                               "go past its end")
                        break
                    pending += piece
                    if len(pending) >= WRITE_BUFFER:
                        await run_in_threadpool(fh.write, bytes(pending))
                        pending.clear()
            except ClientDisconnect:
                pass  # keep what arrived: the client asks the offset and sends the rest
            if refused is not None:
                fh.truncate(current)  # nothing of a refused chunk stays
            else:
                await run_in_threadpool(fh.write, bytes(pending))
            fh.flush()
            await run_in_threadpool(os.fsync, fh.fileno())
            now = fh.tell() if refused is None else current
        finally:
            fh.close()
        if refused is not None:
            return refused
        if now == length:
            _write_json(folder / f"{upload_id}.state.json",
                        {"state": "merging", "attempts": 0, "message": "checking and merging"})
            _start_merge(store, folder, upload_id)
    return Response(status_code=204, headers={**NO_STORE, "Upload-Offset": str(now)})


async def _idle_limited(stream) -> Any:
    """The body's pieces, ending (as a cut connection does) once none came for READ_TIMEOUT."""
    pieces = stream.__aiter__()
    while True:
        try:
            yield await asyncio.wait_for(pieces.__anext__(), READ_TIMEOUT)
        except (StopAsyncIteration, asyncio.TimeoutError):
            return


# --------------------------------------------------------------------------- merge
def _status(store, folder: Path, upload_id: str, meta: dict[str, Any]) -> dict[str, Any] | Path:
    """What the client polls; starts a merge again that a restart or a server error cut short.
    An ended merge's answer is its file, never read here."""
    state = _read_json(folder / f"{upload_id}.state.json")
    answer = folder / f"{upload_id}.answer.json"
    if state is not None and state.get("state") in ("done", "failed") and answer.exists():
        return answer
    if state is None:
        return {"state": "receiving", "offset": _offset(folder, upload_id, meta),
                "length": int(meta["length"])}
    if state.get("state") == "merging":
        with _locked(folder / f"{upload_id}.merge.lock", wait=False) as free:
            idle = free
        if idle:
            _start_merge(store, folder, upload_id)
    length = int(meta["length"])
    return {"offset": length, "length": length,
            **{k: v for k, v in state.items() if k != "attempts"}}


_ONE_MERGE = threading.Lock()
"""Merges run one after another in a process: a token holder re-sending a bundle (each copy
adds nothing) cannot start merges side by side to take the server's cores and connections."""


def _start_merge(store, folder: Path, upload_id: str) -> None:
    threading.Thread(target=_merge, args=(store, folder, upload_id), daemon=True,
                     name=f"kit-merge-{upload_id[:8]}").start()


def _merge(store, folder: Path, upload_id: str) -> None:
    """Check the whole file and its kit, merge it as the token's issuer, keep the answer."""
    from jamii.core.kit.bundles import merge_bundle
    from jamii.core.kit.news import sign_news
    from jamii.core.kit.push import file_sha256
    from jamii.core.kit.sealed import SealedError
    from jamii.core.store import StoreError

    state_path = folder / f"{upload_id}.state.json"
    with _locked(folder / f"{upload_id}.merge.lock", wait=False) as had:
        state = _read_json(state_path)
        if not had or state is None or state.get("state") != "merging":
            return  # another thread or process has it, or it is over
        with _ONE_MERGE:  # one merge at a time per process; others wait, holding their lock
            attempts = int(state.get("attempts", 0)) + 1
            meta = _read_json(folder / f"{upload_id}.json") or {}
            part = folder / f"{upload_id}.part"

            def end(final: dict[str, Any]) -> None:  # the answer apart: a status reads only the state
                length = int(meta.get("length", 0))
                _write_json(folder / f"{upload_id}.answer.json",
                            {"offset": length, "length": length, **final})
                _write_json(state_path, {"state": final["state"]})
                part.unlink(missing_ok=True)  # the rest is a few hundred bytes, swept in a week

            if attempts > MAX_MERGE_ATTEMPTS:
                end({"state": "failed", "message": "the merge stopped on a server error several "
                     "times (see the central server's log); push again after it is fixed"})
                return
            _write_json(state_path, {**state, "attempts": attempts})
            try:
                if file_sha256(part) != meta["sha256"]:
                    end({"state": "failed", "message": "the bytes that arrived do not match the "
                         "bundle's sha256: push it again"})
                    return
                kit_id = _sealed_kit(store, part)
                if kit_id != meta["kit_id"] or not any(
                        k.id == kit_id and k.made_here for k in store.kits(meta["campaign_id"])):
                    end({"state": "failed", "message": "this bundle is not from a kit of the token's "
                         "campaign: push it with a token of its own campaign; nothing was merged"})
                    return
                issuer = int(meta["issuer_id"])
                report = merge_bundle(store, part, actor_id=issuer)
                news = sign_news(store, store.kit_news(kit_id, actor_id=issuer)).decode("utf-8")
            except (SealedError, StoreError) as refused:  # their messages name the file: not here
                end({"state": "failed", "message": str(refused).replace(str(part), "this bundle")
                     .replace(str(store.audio_dir.parent), "the central server's data folder")})
                return
            except Exception:  # noqa: BLE001 - a database gone away, a full disk: try again later
                _log.exception("kit upload %s: the merge stopped", upload_id)
                return  # state stays "merging": the next status request starts it again
            end({"state": "done", "message": "merged",
                 "report": json.loads(json.dumps(dataclasses.asdict(report), default=str)),
                 "news": news})


def _sealed_kit(store, path: Path) -> str | None:
    """The kit id the bundle's sealed manifest names (None if it has none first)."""
    from jamii.core.kit.bundles import BUNDLE_FORMAT
    from jamii.core.kit.kits import central_key_path
    from jamii.core.kit.sealed import load_or_create_key, read_sealed

    secret = load_or_create_key(central_key_path(store))
    for name, stream in read_sealed(path, secret):
        if name != "manifest.json":
            return None
        try:
            manifest = json.loads(stream.read(1 << 20))
        except ValueError:
            return None
        if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
            return None
        kit_id = manifest.get("kit_id")
        return kit_id if isinstance(kit_id, str) else None
    return None
