"""The collector on a weak 3G phone: how long until a contributor can type the invite code, on a
first and a repeat visit, how many bytes that costs, and how long one submission takes.

    python benchmarks/slow_network.py [--down-kbps 400] [--up-kbps 400] [--rtt-ms 400]
                                      [--submits 3] [--no-proxy]

Setup (not measured): `jamii init` into a temporary data folder (the seeded store) and `jamii
collect` on a free port, as deployed (`st.App` with gzip); headless chromium with a phone's
viewport. Each tab is throttled through the Chrome DevTools Protocol
(`Network.emulateNetworkConditions`: 400 kbit/s down and up, 400 ms round trip by default).

Measured on that link:
- `first_visit`: a fresh browser context (nothing cached) opens `/?lang=sw`; seconds from
  navigation until the sign-in form is usable (the invite-code input visible and enabled, and
  Streamlit's script run finished), bytes received until then (`bytes_at_ready`: the sum of CDP
  `Network.loadingFinished.encodedDataLength`, i.e. as sent, headers included, plus the payload
  of every websocket frame received) and once no request has been in flight for 3 s
  (`bytes_total`);
- `repeat_visit`: the same in a new tab of the same context (its HTTP cache kept);
- `submit_s`: then signed in as the seeded contributor demo-zawadi (DEMO-ZAWA-DI01), seconds
  from pressing submit on a prompt/response item to the next empty form, each of `--submits`;
- `baseline_first_visit`: the same first visit of a bare Streamlit page (st.title and one
  st.text_input, `python -m streamlit run`, no gzip middleware) in the same run, and the ratios
  `first_visit_vs_baseline` (seconds) and `bytes_vs_baseline`;
- `largest` (and `baseline_largest`): the 10 largest responses of a first visit (path, bytes as
  sent, bytes decoded, gzip or not, finished before the form was usable or not).

Chromium's emulation delays HTTP only: websocket frames, which carry every script run (the form
itself, and a submission entirely), pass at full speed. So the same walk is measured again
(`proxy`, unless `--no-proxy`) through a TCP proxy in this process that delays everything, the
websocket included: each direction sends its bytes first come first served at the link's rate,
shared by every connection, and adds half the round trip. Websocket frames are counted by their
payload as the page sees it (after any permessage-deflate).

Targets (printed, never asserted): the sign-in form usable within 30 s on a first visit and
within 5 s on a repeat one. The script exits non-zero only if something is broken: a form never
appears, or a submission is not in the store afterwards. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO / "benchmarks"))

import _jamii_browser as jb  # noqa: E402
from collector_latency import CAMPAIGN, CollectorUI  # noqa: E402

TARGETS = {"first_visit_s": 30.0, "repeat_visit_s": 5.0}
CODE, PSEUDONYM = "DEMO-ZAWA-DI01", "demo-zawadi"
QUIET_S = 3.0
"""No HTTP request in flight for this long: the page has loaded all it will (`bytes_total`)."""

BASELINE_APP = """
import streamlit as st

st.title("jamii")
st.text_input("Invite code", key="sign_in_code")
"""
"""What any Streamlit page with one text input costs on the same link (the same selector)."""

READY = ("(() => { const i = document.querySelector('.st-key-sign_in_code input');"
         " return !!i && !i.disabled && i.offsetParent !== null && " + jb.IDLE + "; })()")
"""The invite-code input is on screen and enabled, and the app is connected and not running."""


class Traffic:
    """What one tab received, from the DevTools Protocol's Network domain."""

    def __init__(self, cdp):
        self.requests: dict[str, dict] = {}
        self.ws_in = self.ws_out = 0
        self.done_at_ready: set[str] = set()
        for event in ("requestWillBeSent", "responseReceived", "dataReceived", "loadingFinished",
                      "loadingFailed", "requestServedFromCache", "webSocketFrameReceived",
                      "webSocketFrameSent"):
            cdp.on(f"Network.{event}", getattr(self, f"_{event}"))

    def _requestWillBeSent(self, p) -> None:
        self.requests[p["requestId"]] = {"url": p["request"]["url"], "type": p.get("type", ""),
                                         "bytes": 0, "decoded": 0, "gzip": False,
                                         "cached": False, "done": False}

    def _responseReceived(self, p) -> None:
        r = self.requests.get(p["requestId"])
        if r is None:
            return
        headers = {k.lower(): v for k, v in p["response"].get("headers", {}).items()}
        r["gzip"] = "gzip" in headers.get("content-encoding", "")
        r["cached"] |= bool(p["response"].get("fromDiskCache"))

    def _dataReceived(self, p) -> None:
        if p["requestId"] in self.requests:
            self.requests[p["requestId"]]["decoded"] += p.get("dataLength", 0)

    def _loadingFinished(self, p) -> None:
        if p["requestId"] in self.requests:
            r = self.requests[p["requestId"]]
            r.update(bytes=int(p.get("encodedDataLength", 0)), done=True)

    def _loadingFailed(self, p) -> None:
        if p["requestId"] in self.requests:
            self.requests[p["requestId"]]["done"] = True

    def _requestServedFromCache(self, p) -> None:
        if p["requestId"] in self.requests:
            self.requests[p["requestId"]]["cached"] = True

    @staticmethod
    def _payload(p) -> int:
        frame = p["response"]
        data = frame.get("payloadData", "")
        return len(base64.b64decode(data)) if frame.get("opcode") == 2 else len(data.encode())

    def _webSocketFrameReceived(self, p) -> None:
        self.ws_in += self._payload(p)

    def _webSocketFrameSent(self, p) -> None:
        self.ws_out += self._payload(p)

    def in_flight(self) -> int:
        return sum(not r["done"] for r in self.requests.values())

    def ready(self) -> None:
        self.done_at_ready = {rid for rid, r in self.requests.items() if r["done"]}

    def totals(self) -> dict:
        http = sum(r["bytes"] for r in self.requests.values())
        return {"http_bytes": http, "ws_bytes_in": self.ws_in, "ws_bytes_out": self.ws_out,
                "bytes": http + self.ws_in, "requests": len(self.requests),
                "from_cache": sum(r["cached"] for r in self.requests.values())}

    def largest(self, n: int = 10) -> list[dict]:
        rows = sorted(self.requests.items(), key=lambda kv: kv[1]["bytes"], reverse=True)[:n]
        return [{"path": urlsplit(r["url"]).path, "bytes": r["bytes"], "decoded": r["decoded"],
                 "gzip": r["gzip"], "type": r["type"], "before_ready": rid in self.done_at_ready}
                for rid, r in rows]


class ShapedLink:
    """TCP proxies (one per server) sharing one emulated link, websocket frames included: each
    direction sends its bytes first come first served at its rate and adds half the round trip.
    Runs its own event loop in a daemon thread."""

    CHUNK = 4096

    def __init__(self, down_kbps: int, up_kbps: int, rtt_ms: int):
        self.rate = {"down": down_kbps * 1000 / 8, "up": up_kbps * 1000 / 8}
        self.one_way = rtt_ms / 2000
        self.busy_until = {"down": 0.0, "up": 0.0}
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def forward(self, url: str) -> str:
        """A URL whose connections reach `url` through the link."""
        port = urlsplit(url).port

        async def listen() -> int:
            server = await asyncio.start_server(lambda r, w: self._connect(r, w, port),
                                                "127.0.0.1", 0)
            return server.sockets[0].getsockname()[1]

        return f"http://127.0.0.1:{asyncio.run_coroutine_threadsafe(listen(), self.loop).result()}"

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _connect(self, browser_r, browser_w, port: int) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            browser_w.close()
            return
        await asyncio.gather(self._pipe(browser_r, server_w, "up"),
                             self._pipe(server_r, browser_w, "down"))
        for w in (server_w, browser_w):
            w.close()

    async def _pipe(self, reader, writer, way: str) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            try:
                while (item := await queue.get()) is not None:
                    await asyncio.sleep(max(0.0, item[0] - self.loop.time()))
                    writer.write(item[1])
                    await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()
            except (ConnectionError, OSError):
                pass

        sender = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(self.CHUNK):
                start = max(self.loop.time(), self.busy_until[way])
                self.busy_until[way] = start + len(chunk) / self.rate[way]
                queue.put_nowait((self.busy_until[way] + self.one_way, chunk))
        except (ConnectionError, OSError):
            pass
        queue.put_nowait(None)
        await sender


def throttled_page(context, url: str, args, cdp_link: bool) -> tuple[jb.StPage, Traffic]:
    """A new tab of `context`, watched by `Traffic` and `StPage`, on the CDP-emulated link
    (`cdp_link`) or as it is (the URL already leads through a `ShapedLink`)."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    traffic = Traffic(cdp)
    cdp.send("Network.enable")
    if cdp_link:
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": args.rtt_ms, "connectionType": "cellular3g",
            "downloadThroughput": args.down_kbps * 1000 / 8,
            "uploadThroughput": args.up_kbps * 1000 / 8})
    return jb.StPage(page, url, timeout_ms=int(args.timeout * 1000)), traffic


def visit(context, url: str, args, cdp_link: bool, label: str) -> tuple[dict, Traffic]:
    """Open `url` in a new tab; seconds until the sign-in form is usable, and bytes."""
    st, traffic = throttled_page(context, url, args, cdp_link)
    t0 = time.perf_counter()
    st.page.goto(st.url_for("", lang="sw"), wait_until="commit")
    try:
        st.wait_runs(0)
        st.page.wait_for_function(READY, polling="raf")
    except Exception as exc:
        raise RuntimeError(f"{label}: the sign-in form never became usable ({exc})") from exc
    seconds = time.perf_counter() - t0
    traffic.ready()
    at_ready = traffic.totals()["bytes"]
    st.wait_idle()
    quiet_since = time.monotonic()
    deadline = quiet_since + args.timeout
    while time.monotonic() - quiet_since < QUIET_S and time.monotonic() < deadline:
        st.page.wait_for_timeout(100)
        if traffic.in_flight():
            quiet_since = time.monotonic()
    total = traffic.totals()
    st.page.close()
    return {"seconds": round(seconds, 2), "bytes_at_ready": at_ready,
            "bytes_total": total.pop("bytes"), **total}, traffic


def walk(browser, url: str, args, cdp_link: bool) -> dict:
    """First visit, repeat visit, then signed in as demo-zawadi `--submits` prompt/response
    items (seconds from pressing submit to the next empty form), in one fresh context."""
    context = jb.new_phone_context(browser)
    out: dict = {}
    out["first_visit"], traffic = visit(context, url, args, cdp_link, "first visit")
    out["largest"] = traffic.largest(10)
    out["repeat_visit"], _ = visit(context, url, args, cdp_link, "repeat visit")
    st, _ = throttled_page(context, url, args, cdp_link)
    ui = CollectorUI(st)
    ui.sign_in(CODE)
    out["submit_s"] = [round(ui.time_submit(i) / 1000, 2) for i in range(args.submits)]
    out["submit_median_s"] = round(statistics.median(out["submit_s"]), 2)
    out["marker"] = ui.run
    context.close()
    return out


def baseline(browser, url: str, args, cdp_link: bool) -> dict:
    context = jb.new_phone_context(browser)
    first, traffic = visit(context, url, args, cdp_link, "bare Streamlit page")
    context.close()
    return {"baseline_first_visit": first, "baseline_largest": traffic.largest(10)}


def stored_items(data: Path, markers: list[str]) -> int:
    """How many of demo-zawadi's items in the store carry one of `markers` in their prompt."""
    from jamii.core.store import Store

    store = Store.open(data_dir=data)
    try:
        camp = store.campaign(CAMPAIGN)
        me = store.contributor_by_pseudonym(PSEUDONYM)
        return sum(any(m in str(i.content.get("prompt", "")) for m in markers)
                   for i in store.items(camp.id, author_id=me.id))
    finally:
        store.close()


def bare_streamlit(folder: Path) -> tuple[subprocess.Popen, str]:
    """`python -m streamlit run` on BASELINE_APP (no gzip), answering its health check."""
    script = folder / "baseline_app.py"
    script.write_text(BASELINE_APP)
    port = jb.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("the bare Streamlit page did not start")


def ratios(out: dict) -> dict:
    first, base = out["first_visit"], out["baseline_first_visit"]
    return {"first_visit_vs_baseline": round(first["seconds"] / base["seconds"], 2),
            "bytes_vs_baseline": round(first["bytes_total"] / base["bytes_total"], 2)}


def measure(args, data: Path, tmp: Path) -> dict:
    from playwright.sync_api import sync_playwright

    results: dict = {}
    links = [("cdp", True)] + ([] if args.no_proxy else [("proxy", False)])
    shaped = ShapedLink(args.down_kbps, args.up_kbps, args.rtt_ms)
    with sync_playwright() as pw:
        browser = jb.launch_chromium(pw)
        with jb.AppServer(data) as server:
            try:
                for name, cdp_link in links:
                    url = server.url if cdp_link else shaped.forward(server.url)
                    results[name] = walk(browser, url, args, cdp_link)
            except Exception:
                print(f"--- collector log ---\n{server.log()}", file=sys.stderr)
                raise
        proc, url = bare_streamlit(tmp)
        try:
            for name, cdp_link in links:
                results[name].update(baseline(browser, url if cdp_link else shaped.forward(url),
                                              args, cdp_link))
                results[name].update(ratios(results[name]))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        browser.close()
    shaped.close()
    markers = [r.pop("marker") for r in results.values()]
    results["stored"] = stored_items(data, markers)
    results["submitted"] = args.submits * len(markers)
    return results


def report(name: str, out: dict) -> None:
    print(f"\n{name}")
    print(f"  {'visit':<22} {'seconds':>8} {'KB at ready':>12} {'KB total':>9} {'requests':>9} "
          f"{'cached':>7}  target")
    for label, row, target in (("first visit", out["first_visit"], TARGETS["first_visit_s"]),
                               ("repeat visit", out["repeat_visit"], TARGETS["repeat_visit_s"]),
                               ("bare Streamlit, first", out["baseline_first_visit"], None)):
        met = target is not None and row["seconds"] <= target
        flag = "" if target is None else f"< {target:g} s {'ok' if met else 'MISSED'}"
        print(f"  {label:<22} {row['seconds']:>8.1f} {row['bytes_at_ready'] / 1000:>12.0f} "
              f"{row['bytes_total'] / 1000:>9.0f} {row['requests']:>9} {row['from_cache']:>7}"
              f"  {flag}")
    print(f"  collector / bare Streamlit, first visit: {out['first_visit_vs_baseline']}x the "
          f"seconds, {out['bytes_vs_baseline']}x the bytes")
    print(f"  submit to next empty form: {', '.join(f'{s:.2f}' for s in out['submit_s'])} s "
          f"(median {out['submit_median_s']} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--down-kbps", type=int, default=400)
    ap.add_argument("--up-kbps", type=int, default=400)
    ap.add_argument("--rtt-ms", type=int, default=400)
    ap.add_argument("--submits", type=int, default=3)
    ap.add_argument("--no-proxy", action="store_true",
                    help="only the CDP-emulated link (skip the walk through the shaping proxy)")
    ap.add_argument("--timeout", type=float, default=240, help="seconds any one wait may take")
    args = ap.parse_args(argv)

    if not jb.chromium_available():
        print(f"chromium not found at {jb.CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="jamii-slow-"))
    try:
        data = tmp / "data"
        jb.init_store(data)
        print(f"link: {args.down_kbps} kbit/s down, {args.up_kbps} kbit/s up, {args.rtt_ms} ms "
              f"round trip", flush=True)
        try:
            results = measure(args, data, tmp)
        except RuntimeError as exc:
            print(f"broken: {exc}", file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    report("CDP emulation (HTTP throttled, websocket frames at full speed)", results["cdp"])
    if "proxy" in results:
        report("shaping proxy (everything throttled, the websocket included)", results["proxy"])
    print("\nlargest responses of the collector's first visit (CDP link):")
    for r in results["cdp"]["largest"]:
        print(f"  {r['bytes'] / 1000:>8.1f} KB  (decoded {r['decoded'] / 1000:>7.1f} KB, "
              f"{'gzip' if r['gzip'] else 'plain'}, {'before' if r['before_ready'] else 'after'} "
              f"the form)  {r['path']}")
    print(f"stored {results['stored']} of {results['submitted']} submissions")
    result = {"link": {"down_kbps": args.down_kbps, "up_kbps": args.up_kbps, "rtt_ms": args.rtt_ms},
              **results["cdp"], "proxy": results.get("proxy"), "stored": results["stored"],
              "submitted": results["submitted"], "targets": TARGETS}
    print(json.dumps(result))
    return 0 if results["stored"] == results["submitted"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
