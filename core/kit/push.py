"""`jamii kit push`: send a bundle to the central collector's upload route, resuming after a
dropped connection, wait for its merge, and apply the central news it answers with (signed with the kit's key,
checked as `jamii kit update` checks a news file).

    result = push_bundle(field, Path("kitui-1.bundle"), "https://jamii.example.org", token)
    result.report   # the central merge's MergeReport, as `jamii kit merge` prints it
    result.news     # what the field store did with the central news (NewsReport)

The route (web/kit_upload.py) speaks the tus protocol's core: the client creates an upload
naming the bundle's size, SHA-256 and kit, then sends `CHUNK` bytes at a time with the offset
they start at. On a dropped connection, a timeout or a 5xx answer it waits (doubling, up to
`MAX_WAIT`), asks the server how much it has (HEAD) and goes on from there; a 409 (the offset
is not the server's) is answered the same way. Started again after it gave up or was stopped,
the same push resumes: the server hands back the unfinished upload of the same bundle and
token. The token travels only to the URL given (a Location on another host is refused).
Standard library only (http.client): one connection per request, so a cut one costs nothing.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

from jamii.core.kit.news import MAX_NEWS_BYTES, verify_news
from jamii.core.store import OPERATOR, MergeReport, Store, StoreError

CHUNK = 4 << 20
TIMEOUT = 120.0
"""Seconds a request may wait for the server (a 4 MB chunk on a slow phone link)."""
FIRST_WAIT = 1.0
MAX_WAIT = 30.0
MAX_FAILURES = 10
"""Failures in a row, with no byte gained between them, before a push gives up (some minutes)."""
POLL = 2.0
MAX_BUSY = 300.0
"""Seconds a push is told, at the same offset, that another request is writing its upload (409)
before it gives up: well past the server ending a request that sends nothing (60 s)."""
TUS_VERSION = "1.0.0"


class PushError(StoreError):
    """A push the server refused or could not take; the message says what to do."""


class _Retry(Exception):
    """A dropped connection, a timeout or a 5xx: wait, ask the offset, go on."""


@dataclass(frozen=True)
class PushResult:
    upload_url: str
    bytes_sent: int
    """Bytes of the bundle this push sent (less than its size when it went on with an upload
    an earlier push started)."""
    resumed: int
    """How often the upload went on after an interruption."""
    report: MergeReport
    news: Any
    """What `Store.apply_kit_news` did with the central news (None if there was none)."""


def push_bundle(field: Store, bundle: Path, url: str, token: str, *, chunk: int = CHUNK,
                echo: Callable[[str], None] = lambda _line: None,
                sleep: Callable[[float], None] = time.sleep) -> PushResult:
    """Push `bundle` (written by `jamii kit bundle` on this field store) to the collector at
    `url`, wait for its merge and apply the news it answers with to `field`."""
    kit_id = field.field_kit()
    if kit_id is None:
        raise PushError("This store was not made from a kit (jamii init --from-kit): push from "
                        "the field laptop's store.")
    bundle = Path(bundle)
    if not bundle.is_file():
        raise PushError(f"No bundle at {bundle}: write one with `jamii kit bundle --out FILE`.")
    client = _Client(url, token, sleep=sleep, echo=echo)
    length, digest = bundle.stat().st_size, file_sha256(bundle)
    metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                        for key, value in (("sha256", digest), ("kit_id", kit_id)))
    status, headers, _ = client.call("POST", client.base + "/kit/uploads", headers={
        "Upload-Length": str(length), "Upload-Metadata": metadata})
    location = client.resolve(headers.get("location", ""))
    resumed, busy_since = 0, None
    if status == 200:
        echo("Going on with the upload of this bundle that was started before.")
    with open(bundle, "rb") as fh:
        offset = start = client.offset(location) if status == 200 else 0
        while offset < length:
            fh.seek(offset)
            piece = fh.read(chunk)
            try:
                answer, headers, _ = client.once("PATCH", location, piece, headers={
                    "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
                    accept=(204, 409))
            except _Retry as why:
                resumed += 1
                echo(f"Interrupted at byte {offset} of {length} ({why}); resuming.")
                client.pause()
                before, offset = offset, client.offset(location)
                if offset > before:  # the server kept what arrived before the cut
                    client.failures = 0
                continue
            if answer == 409:  # not where the server is, or it is still ending a cut request
                before, offset = offset, client.offset(location)
                if offset != before:
                    busy_since = None
                    continue
                busy_since = busy_since or time.monotonic()
                if time.monotonic() - busy_since > MAX_BUSY:
                    raise PushError(f"The central server says another request is still writing "
                                    f"this upload (at byte {offset}). Run the same command again "
                                    "later: the upload goes on where it stopped.")
                sleep(FIRST_WAIT / 2)
                continue
            new = _int(headers.get("upload-offset"))
            if new is None or new <= offset:
                raise PushError("The central server answered with no progress: check its URL.")
            offset, busy_since = new, None
            client.failures = 0
            echo(f"Sent {offset} of {length} bytes.")
    echo("Uploaded; the central store is checking and merging it (this can take minutes).")
    state = client.wait_for_merge(location)
    report = MergeReport(**{k: v for k, v in (state.get("report") or {}).items()
                            if k in MergeReport.__dataclass_fields__})
    signed = state.get("news")
    applied = None
    if isinstance(signed, str) and signed:  # checked as a news file is: the kit's own key
        applied = field.apply_kit_news(verify_news(field, signed.encode("utf-8")), actor_id=OPERATOR)
    return PushResult(location, length - start, resumed, report, applied)


class _Client:
    def __init__(self, url: str, token: str, *, sleep, echo):
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PushError(f"{url!r} is not the collector's address: give it as "
                            "https://HOST[:PORT][/BASE-PATH].")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise PushError("Give the collector's address without a query, fragment or password.")
        if not token or not token.isascii() or any(c.isspace() for c in token.strip()):
            raise PushError("The API token is missing or is not one (ask an organiser: "
                            "jamii kit token create).")
        self.parts = parts
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.token = token.strip()
        self.sleep, self.echo = sleep, echo
        self.failures = 0
        self.wait = FIRST_WAIT

    def resolve(self, location: str) -> str:
        """An absolute URL for the server's Location, on the same scheme, host and port only."""
        full = urljoin(self.base + "/", location)
        there = urlsplit(full)
        if not location or (there.scheme, there.netloc) != (self.parts.scheme, self.parts.netloc):
            raise PushError("The central server named an upload elsewhere: push only to the "
                            "collector's own address.")
        return full

    def pause(self) -> None:
        self.failures += 1
        if self.failures > MAX_FAILURES:
            raise PushError(f"The central server at {self.base} could not be reached "
                            f"{MAX_FAILURES} times in a row. Run the same command again when the "
                            "connection is back: the upload goes on where it stopped.")
        self.sleep(self.wait)
        self.wait = min(self.wait * 2, MAX_WAIT)

    def call(self, method: str, url: str, body: bytes = b"", *, headers: dict[str, str],
             accept: tuple[int, ...] = (200, 201, 204)) -> tuple[int, dict[str, str], bytes]:
        """One request, retried after a drop or a 5xx until it gets an answer."""
        while True:
            try:
                return self.once(method, url, body, headers=headers, accept=accept)
            except _Retry as why:
                self.echo(f"No answer from the central server ({why}); trying again.")
                self.pause()

    def once(self, method: str, url: str, body: bytes = b"", *, headers: dict[str, str],
             accept: tuple[int, ...]) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname, parts.port, timeout=TIMEOUT)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, path, body=body or None, headers={
                **headers, "Authorization": f"Bearer {self.token}", "Tus-Resumable": TUS_VERSION,
                "Content-Length": str(len(body))})
            response = conn.getresponse()
            answer = response.read(MAX_NEWS_BYTES + (1 << 24)) if method != "HEAD" else b""
            status = response.status
            got = {k.lower(): v for k, v in response.getheaders()}
        except (OSError, http.client.HTTPException, socket.timeout) as dropped:
            raise _Retry(type(dropped).__name__) from None
        finally:
            conn.close()
        if status >= 500 and status != 507:
            raise _Retry(f"HTTP {status}")
        if status not in accept:
            reason = _printable(answer.decode("utf-8", "replace").strip()[:500]) or f"HTTP {status}"
            raise PushError(f"The central server refused the push ({status}): {reason}")
        self.wait = FIRST_WAIT if status in (200, 201, 204) else self.wait
        return status, got, answer

    def offset(self, location: str) -> int:
        _, headers, _ = self.call("HEAD", location, headers={}, accept=(200,))
        found = _int(headers.get("upload-offset"))
        if found is None:
            raise PushError("The central server did not say how much of the upload it has.")
        return found

    def wait_for_merge(self, location: str) -> dict[str, Any]:
        while True:
            _, _, body = self.call("GET", location, headers={"Accept": "application/json"},
                                   accept=(200,))
            self.failures = 0  # a long merge is waited out: only failures in a row end it
            try:
                state = json.loads(body)
            except ValueError:
                raise PushError("The central server's answer about the merge is not JSON: check "
                                "its URL.") from None
            if not isinstance(state, dict):
                raise PushError("The central server's answer about the merge is not one.")
            if state.get("state") == "done":
                return state
            if state.get("state") == "failed":
                raise PushError("The central store did not merge the bundle: "
                                f"{_printable(str(state.get('message'))[:500])}")
            if state.get("state") == "receiving":
                raise PushError("The central server is still waiting for bytes of this upload: "
                                "run the same command again.")
            self.sleep(POLL)


def _printable(text: str) -> str:
    """A server's words as a terminal may show them: no escape sequence or control character
    (a hostile or broken server could otherwise rewrite what the operator's terminal shows)."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time (what both ends of a push compare)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while piece := fh.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()
