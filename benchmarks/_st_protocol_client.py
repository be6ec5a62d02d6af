"""A Streamlit client without a browser: Streamlit 1.67's own websocket protocol, as its frontend
speaks it, for benchmarks that must measure the server rather than the browsers.

What the frontend does, and this client with it (read off Streamlit 1.67's bundled frontend,
`static/js/index.*.js`, and its server, `web/server/starlette/starlette_websocket.py`):

- before the websocket, its connection manager pings `/_stcore/health` and `/_stcore/host-config`
  (a page load fetched `/` before that; the scripts and styles a phone keeps cached are not
  fetched here);
- the websocket is `ws://host/_stcore/stream`, same-origin (`Origin` names the host), with the
  cookies of the page, and the subprotocols `streamlit`, then the `_streamlit_xsrf` cookie's value
  or `PLACEHOLDER_AUTH_TOKEN`, then the last session id when it reconnects;
- every run is asked for by one `BackMsg` whose `rerun_script` is a `ClientState`: the address's
  query string, the widgets' states, the current page's script hash (empty on the first run,
  then the one the last `navigation` or `new_session` named, with the page's name for the
  first), the hashes of the cacheable messages it keeps (the server then sends a `ref_hash`
  instead of the message), and the context (time zone, locale, address, colour scheme);
- a form's submit button sends the form's widget values and the button's `trigger_value` in one
  rerun (`WidgetStateManager.submitForm`); a query string the script changes comes back as
  `page_info_changed`;
- the server answers with `ForwardMsg`s, one per binary frame: `new_session` at the start of each
  run, `delta`s (the elements), `navigation`, `page_info_changed`, and `script_finished`, whose
  status is `FINISHED_EARLY_FOR_RERUN` when the run gave way to another (`st.rerun`,
  `st.switch_page`): the run asked for is over at the first other status.

What it does not do: draw anything, run the scripts an `st.html` element carries (a caller that
needs one, such as a sign-in's hand-off, reads the element's body and does its part itself), or
send the widget states the frontend registers for widgets nobody touched (the server uses their
defaults or their session state, as it does for those values anyway).
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
ALERTS = {1: "error", 2: "warning", 3: "info", 4: "success"}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ProtocolError(RuntimeError):
    """The server closed the connection, or a run did not finish in time."""


@dataclass
class Run:
    """What the server sent for one rerun request, up to the end of the run it led to."""

    sent_at: float
    finished_at: float | None = None
    status: int | None = None
    messages: list[ForwardMsg] = field(default_factory=list)
    frames: int = 0
    bytes: int = 0

    @property
    def ms(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.sent_at) * 1000

    def elements(self):
        """The elements the run drew, in order."""
        for msg in self.messages:
            if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
                yield msg.delta.new_element

    def alerts(self) -> list[tuple[str, str]]:
        return [(ALERTS.get(e.alert.format, "?"), e.alert.body) for e in self.elements()
                if e.WhichOneof("type") == "alert"]

    def exceptions(self) -> list[str]:
        return [f"{e.exception.type}: {e.exception.message}" for e in self.elements()
                if e.WhichOneof("type") == "exception"]

    def html(self) -> list[str]:
        return [e.html.body for e in self.elements() if e.WhichOneof("type") == "html"]

    def widget(self, kind: str, key: str | None = None, **where: Any):
        """The last element of `kind` (`text_area`, `button`...) whose id ends with the user
        `key` (a keyed widget's id is `$$ID-<hash>-<key>`) and whose fields match `where`."""
        found = None
        for e in self.elements():
            if e.WhichOneof("type") != kind:
                continue
            w = getattr(e, kind)
            if key is not None and not w.id.endswith(f"-{key}"):
                continue
            if all(getattr(w, name) == value for name, value in where.items()):
                found = w
        return found


class StreamlitClient:
    """One browser tab's worth of Streamlit session, over one websocket."""

    def __init__(self, base_url: str, *, locale: str = "en-GB", timezone: str = "Africa/Nairobi",
                 timezone_offset: int = -180, user_agent: str = "jamii-benchmark-protocol-client"):
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.ws_url = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}" \
            f"{parts.path}/_stcore/stream"
        self.locale, self.timezone, self.timezone_offset = locale, timezone, timezone_offset
        self.user_agent = user_agent
        self.cookies: dict[str, str] = {}
        self.query = ""
        self.page_hash = ""
        self.page_name = ""
        self.session_id: str | None = None
        self.cached: dict[str, ForwardMsg] = {}
        self.ws = None
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._reader: asyncio.Task | None = None
        self.http_requests = 0

    # --- HTTP, as the page's own requests --------------------------------------------------------
    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _http(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.base_url + path, data=body, method=method,
                                         headers={"User-Agent": self.user_agent,
                                                  "Accept-Encoding": "gzip", **headers})
        if self.cookies:
            request.add_header("Cookie", self._cookie_header())
        try:
            with _NO_PROXY.open(request, timeout=30) as answer:
                answer.read()
                status, got = answer.status, answer.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as exc:
            status, got = exc.code, exc.headers.get_all("Set-Cookie") or []
        for line in got:
            for name, morsel in SimpleCookie(line).items():
                self.cookies[name] = morsel.value
        self.http_requests += 1
        return status

    async def get(self, path: str) -> int:
        return await asyncio.to_thread(self._http, "GET", path, None, {})

    async def post(self, path: str, body: bytes, content_type: str) -> int:
        """A same-origin `fetch` POST from the page: its Origin, its cookies."""
        return await asyncio.to_thread(self._http, "POST", path, body,
                                       {"Origin": self.origin, "Content-Type": content_type})

    # --- the websocket ---------------------------------------------------------------------------
    async def open(self, path: str = "/", query: str = "") -> None:
        """Load the page at `path?query` as the browser does (the page, the connection manager's
        pings) and open the websocket."""
        from websockets.asyncio.client import connect

        self.query = query
        self.page_name = path.strip("/")
        await self.get(f"{path}?{query}" if query else path)
        await self.get("/_stcore/health")
        await self.get("/_stcore/host-config")
        protocols = ["streamlit", self.cookies.get("_streamlit_xsrf") or "PLACEHOLDER_AUTH_TOKEN"]
        if self.session_id:
            protocols.append(self.session_id)
        headers = {"Cookie": self._cookie_header()} if self.cookies else None
        self.ws = await connect(self.ws_url, origin=self.origin, subprotocols=protocols,
                                additional_headers=headers, user_agent_header=self.user_agent,
                                proxy=None, max_size=None, open_timeout=30)
        self._inbox = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                self._inbox.put_nowait((time.perf_counter(), frame))
        except Exception as exc:  # noqa: BLE001 - handed to whoever waits
            self._inbox.put_nowait((time.perf_counter(), exc))
            return
        self._inbox.put_nowait((time.perf_counter(), ProtocolError("the server closed the "
                                                                    "websocket")))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()
        self.ws = self._reader = None

    def _context_info(self):
        url = f"{self.base_url}/{self.page_name}" + (f"?{self.query}" if self.query else "")
        return {"timezone": self.timezone, "timezone_offset": self.timezone_offset,
                "locale": self.locale, "url": url, "is_embedded": False, "color_scheme": "light"}

    async def rerun(self, widgets: list[WidgetState] | None = None, *,
                    timeout: float = 30.0) -> Run:
        """Ask for a run with these widget states and wait for its end (`script_finished`
        other than early-for-rerun); every message meanwhile is in the returned `Run`."""
        while not self._inbox.empty():  # anything between runs (none expected) is not this run's
            self._handle(self._inbox.get_nowait()[1], None)
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.page_name = "" if self.page_hash else self.page_name
        state.widget_states.widgets.extend(widgets or [])
        state.cached_message_hashes.extend(self.cached)
        for name, value in self._context_info().items():
            setattr(state.context_info, name, value)
        run = Run(sent_at=time.perf_counter())
        await self.ws.send(msg.SerializeToString())
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError(f"no end of the run within {timeout:g} s")
            try:
                at, frame = await asyncio.wait_for(self._inbox.get(), left)
            except asyncio.TimeoutError:
                raise ProtocolError(f"no end of the run within {timeout:g} s") from None
            if isinstance(frame, Exception):
                raise ProtocolError(f"websocket: {type(frame).__name__}: {frame}") from frame
            forward = self._handle(frame, run)
            if forward is not None and forward.WhichOneof("type") == "script_finished" \
                    and forward.script_finished != EARLY:
                run.finished_at, run.status = at, forward.script_finished
                return run

    def _handle(self, frame: bytes, run: Run | None) -> ForwardMsg | None:
        """Parse a frame, resolve a cached reference, and follow what the frontend follows: the
        session's id, the current page, the address's query string."""
        if isinstance(frame, Exception):
            raise ProtocolError(f"websocket: {frame}")
        msg = ForwardMsg()
        msg.ParseFromString(frame)
        if run is not None:
            run.frames += 1
            run.bytes += len(frame)
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            original = self.cached.get(msg.ref_hash)
            if original is None:
                raise ProtocolError(f"a reference to a message not kept: {msg.ref_hash}")
            resolved = ForwardMsg()
            resolved.CopyFrom(original)
            resolved.metadata.CopyFrom(msg.metadata)
            msg, kind = resolved, resolved.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self.cached[msg.hash] = msg
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
            if msg.new_session.page_script_hash:
                self.page_hash = msg.new_session.page_script_hash
        elif kind == "navigation" and msg.navigation.page_script_hash:
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        if run is not None:
            run.messages.append(msg)
        return msg


def text_value(widget_id: str, text: str) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.string_value = text
    return state


def trigger(widget_id: str) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.trigger_value = True
    return state
