"""Plain helpers for driving the collector in a real browser (no pytest in here).

Shared by `tests/browser/conftest.py` and `benchmarks/collector_latency.py`:

* `init_store` / `AppServer`: a data folder with the seeded store (`jamii init`) and the
  collector (`jamii collect --port P`) started in its own process group, ready when
  `GET /_stcore/health` answers, ended with the whole group;
* `launch_chromium`: Debian's chromium driven by Playwright (never a downloaded browser), with
  the flags TESTING.md lists and a fake microphone that plays a Swahili clip from espeak-ng;
* `StPage`: a Playwright page plus what Streamlit needs: wait until a script run has finished,
  find widgets by label or by `key` (rendered as the CSS class `st-key-<key>`), screenshots.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

CHROMIUM = os.environ.get("JAMII_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 420, "height": 900}
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
SPEECH_TEXT = "Habari za asubuhi. Mahindi yanahitaji mvua ya kutosha na mbolea nzuri."
"""What the fake microphone says (espeak-ng, Swahili voice)."""


# --- the app --------------------------------------------------------------------------------
def jamii_command() -> list[str]:
    exe = Path(sys.executable).with_name("jamii")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jamii")
    if found:
        return [found]
    return [sys.executable, "-c", "from jamii.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(data_dir: Path, db_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["JAMII_DATA"] = str(data_dir)
    env.pop("JAMII_DB", None)
    if db_url:
        env["JAMII_DB"] = db_url
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    return env


def init_store(data_dir: Path, *, seeds: bool = True, db_url: str | None = None) -> str:
    """`jamii init` on a data folder; returns what it printed (the demo sign-in lines)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = jamii_command() + ["init"] + ([] if seeds else ["--no-seeds"])
    done = subprocess.run(cmd, env=app_env(data_dir, db_url), capture_output=True, text=True,
                          timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"`jamii init` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


class AppServer:
    """`jamii collect --port P` in its own process group; `stop()` ends the whole group."""

    def __init__(self, data_dir: Path, *, port: int | None = None, db_url: str | None = None,
                 env: dict[str, str] | None = None):
        self.extra_env = dict(env or {})
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.db_url = db_url
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir / f"collector-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "AppServer":
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            jamii_command() + ["collect", "--port", str(self.port)],
            env={**app_env(self.data_dir, self.db_url), **self.extra_env}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`jamii collect` exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the collector did not answer on {self.url} within {timeout}s:\n{self.log()}")

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None and not _group_alive(self.proc.pid):
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        for sig, wait in ((signal.SIGTERM, 8), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            if not _group_alive(pgid):
                break
        self.proc = None

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


# --- the browser ----------------------------------------------------------------------------
def chromium_available() -> bool:
    return os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def make_speech_wav(folder: Path, text: str = SPEECH_TEXT) -> Path | None:
    """A Swahili clip for the fake microphone (espeak-ng at 16 kHz), or None without espeak-ng."""
    espeak = shutil.which("espeak-ng")
    if not espeak:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / "speech-sw-22k.wav"
    subprocess.run([espeak, "-v", "sw", "-s", "150", "-w", str(raw), text], check=True,
                   capture_output=True, timeout=60)
    sox = shutil.which("sox")
    if not sox:
        return raw
    out = folder / "speech-sw.wav"
    subprocess.run([sox, str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True,
                   capture_output=True, timeout=60)
    return out


def launch_chromium(playwright, speech_wav: Path | None = None, headless: bool = True):
    args = list(LAUNCH_ARGS)
    if speech_wav:
        args.append(f"--use-file-for-fake-audio-capture={speech_wav}")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=headless, args=args)


def new_phone_context(browser, **kwargs):
    opts = {"viewport": PHONE, "permissions": ["microphone"], "locale": "en-GB",
            "device_scale_factor": 1}
    opts.update(kwargs)
    return browser.new_context(**opts)


APP = "[data-testid='stApp']"
IDLE = ("(() => { const a = document.querySelector(\"[data-testid='stApp']\");"
        " return !!a && a.getAttribute('data-test-connection-state') === 'CONNECTED'"
        " && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-stale=\"true\"]'); })()")


class StPage:
    """A Playwright page on the Streamlit collector, with the waits Streamlit needs."""

    def __init__(self, page, base_url: str, shots_dir: Path | None = None, timeout_ms: int = 20000):
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.shots_dir = shots_dir
        self.timeout = timeout_ms
        self.finished = 0
        """Script runs the server reported finished (not counting runs cut short for a rerun)."""
        self.running = False
        self.requested = 0
        self.cut_short = 0
        """Runs cut short for another run (st.rerun, st.switch_page): each one is a wasted run."""
        page.set_default_timeout(timeout_ms)
        page.on("websocket", self._watch)

    # Streamlit's own protocol says when a run is over: the server sends a ForwardMsg
    # `script_finished` (FINISHED_EARLY_FOR_RERUN when st.rerun / switch_page cut it short, and
    # then another run follows) and `session_status_changed.script_is_running`.
    def _watch(self, ws) -> None:
        if not ws.url.endswith("/_stcore/stream"):
            return
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)

    def _received(self, payload) -> None:
        if isinstance(payload, str):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not ours to judge
            return
        kind = msg.WhichOneof("type")
        if kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "new_session":
            self.running = True
        elif kind == "script_finished":
            if msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.finished += 1
                self.running = False
            else:
                self.cut_short += 1

    def _sent(self, payload) -> None:
        if isinstance(payload, str):
            return
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001
            return
        if msg.WhichOneof("type") == "rerun_script":
            self.requested += 1

    # -- navigation and waiting --------------------------------------------------------------
    def url_for(self, path: str = "", **params) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}/{path.lstrip('/')}{query}"

    def goto(self, path: str = "", **params) -> "StPage":
        """Load a URL: a new Streamlit session (nothing in session state survives a load)."""
        before = self.finished
        self.page.goto(self.url_for(path, **params))
        self.wait_runs(before)
        self.wait_idle()
        return self

    def runs(self) -> int:
        return self.finished

    def wait_runs(self, more_than: int, timeout_ms: int | None = None) -> None:
        """Until the server has finished a run after `more_than` and is not running another."""
        deadline = time.monotonic() + (timeout_ms or self.timeout) / 1000
        while self.finished <= more_than or self.running:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no script run finished (finished={self.finished}, "
                                   f"running={self.running}, requested={self.requested})")
            self.page.wait_for_timeout(15)  # lets Playwright deliver websocket events

    def wait_idle(self, timeout_ms: int | None = None, settle_ms: int = 100) -> None:
        """Until the app is connected, no script runs and no element is stale, for settle_ms."""
        timeout = timeout_ms or self.timeout
        deadline = time.monotonic() + timeout / 1000
        while True:
            self.page.wait_for_function(IDLE, timeout=max(100, int((deadline - time.monotonic()) * 1000)))
            if settle_ms <= 0:
                return
            n = self.finished
            self.page.wait_for_timeout(settle_ms)
            if not self.running and self.finished == n and self.page.evaluate(IDLE):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the app never settled")

    def act(self, action: Callable[[], object], *, rerun: bool = True,
            timeout_ms: int | None = None, settle_ms: int = 100) -> None:
        """Do something that reruns the script and wait until that run has finished."""
        before = self.finished
        action()
        if rerun:
            self.wait_runs(before, timeout_ms)
        self.wait_idle(timeout_ms, settle_ms=settle_ms)

    # -- finding things ----------------------------------------------------------------------
    def key(self, key: str):
        """The element Streamlit renders for a widget or container created with key=..."""
        return self.page.locator(f".st-key-{css_escape(key)}")

    def main(self):
        return self.page.locator("[data-testid='stMain']")

    def sidebar(self):
        return self.page.locator("[data-testid='stSidebar']")

    def text(self) -> str:
        return self.page.locator(APP).inner_text()

    def button(self, name: str, *, exact: bool = False):
        return self.page.get_by_role("button", name=name, exact=exact)

    def field(self, label: str, *, exact: bool = False):
        """A text input or text area by its visible label."""
        return self.page.get_by_label(label, exact=exact)

    # -- widgets -----------------------------------------------------------------------------
    def click(self, target, *, rerun: bool = True) -> None:
        loc = self.button(target) if isinstance(target, str) else target
        self.act(lambda: loc.first.click(), rerun=rerun)

    def fill(self, target, value: str, *, commit: bool = False) -> None:
        """Type into a text input / area; commit=True blurs it so Streamlit reruns (outside forms)."""
        loc = self.field(target) if isinstance(target, str) else target
        loc = _inner_input(loc)
        loc.fill(value)
        if commit:
            self.act(lambda: loc.press("Tab") if loc.evaluate("e => e.tagName") == "INPUT"
                     else loc.blur())

    def select(self, target, option: str, *, rerun: bool = True) -> None:
        """Choose an option of an st.selectbox (target: its label or a locator of its element).

        Streamlit 1.67 draws a react-aria combobox: a click focuses it, typing filters the
        list (ArrowDown opens it), and the option is clicked by its exact text."""
        loc = (self.page.locator("[data-testid='stSelectbox']").filter(has_text=target)
               if isinstance(target, str) else target)
        self._pick(loc.first, option, rerun=rerun)

    def _pick(self, widget, option: str, *, rerun: bool) -> None:
        box = widget.locator("input[role='combobox']").first
        box.click()
        box.fill(option)
        listed = self.page.get_by_role("option", name=option, exact=True)
        if not listed.count():
            box.press("ArrowDown")
        self.act(lambda: listed.first.click(), rerun=rerun)

    def choose(self, target, option: str, *, rerun: bool = True) -> None:
        """Choose an option of an st.radio (rerun=False inside a form)."""
        loc = (self.page.locator("[data-testid='stRadio']").filter(has_text=target)
               if isinstance(target, str) else target)
        self.act(lambda: loc.first.locator("label").filter(has_text=option).first.click(),
                 rerun=rerun)

    def check(self, target, on: bool = True, *, rerun: bool = True) -> None:
        """Tick or untick an st.checkbox / st.toggle by label or locator."""
        loc = (self.page.locator("[data-testid='stCheckbox']").filter(has_text=target)
               if isinstance(target, str) else target)
        box = loc.first.locator("input[type='checkbox']")
        if box.is_checked() != on:
            self.act(lambda: loc.first.locator("label").first.click(), rerun=rerun)

    def segment(self, option: str, target=None) -> None:
        """Press one option of an st.segmented_control / st.pills (inside target, if given)."""
        scope = target if target is not None else self.page
        group = scope.locator("[data-testid='stButtonGroup']")
        self.act(lambda: group.locator("button").filter(
            has=self.page.get_by_text(option, exact=True)).first.click())

    def multiselect_add(self, target, option: str, *, rerun: bool = False) -> None:
        """Add an option to an st.multiselect (target: its label or a locator)."""
        loc = (self.page.locator("[data-testid='stMultiSelect']").filter(has_text=target)
               if isinstance(target, str) else target)
        self._pick(loc.first, option, rerun=rerun)
        self.page.keyboard.press("Escape")

    # -- the menu (a sidebar of st.page_link, collapsed on a phone) ---------------------------
    def menu_open(self) -> bool:
        sidebar = self.sidebar()
        return bool(sidebar.count()) and sidebar.get_attribute("data-collapsed") == "false"

    def open_menu(self) -> None:
        if self.menu_open():
            return
        self.page.locator("[data-testid='stExpandSidebarButton']").first.click()
        self.page.wait_for_function(
            "document.querySelector(\"[data-testid='stSidebar']\")"
            "?.getAttribute('data-collapsed') === 'false'")
        self.page.wait_for_timeout(300)  # the slide-in animation

    def close_menu(self) -> None:
        if self.menu_open() and self.page.viewport_size["width"] < 768:
            self.page.locator("[data-testid='stSidebarCollapseButton'] button").first.click(force=True)
            self.page.wait_for_timeout(300)

    def menu_links(self) -> list[str]:
        self.open_menu()
        # each link's text is "<material icon name>\n\n<label>": keep the label
        return [t.strip().split("\n")[-1].strip() for t in
                self.sidebar().locator("[data-testid='stPageLink-NavLink']").all_inner_texts()]

    def nav(self, label: str, expect: str | None = "") -> None:
        """Open a page from the menu, as a person would (same session, no reload), and wait
        for `expect` (default: the label, which is the page's title) in the main area."""
        self.open_menu()
        link = self.sidebar().locator("[data-testid='stPageLink-NavLink']").filter(
            has=self.page.get_by_text(label, exact=True))
        self.act(lambda: link.first.click())
        self.close_menu()
        if expect is not None:
            self.wait_text(expect or label)

    def wait_text(self, text: str, timeout_ms: int | None = None) -> None:
        """Until the main area shows `text` and the app is idle (a page switch reruns twice)."""
        self.page.wait_for_function(
            "t => (document.querySelector(\"[data-testid='stMain']\")?.innerText || '').includes(t)",
            arg=text, timeout=timeout_ms or self.timeout)
        self.wait_idle(timeout_ms)

    def open_path(self, url_path: str) -> None:
        """Ask for a page by its URL path inside the running session (history + popstate),
        which is what the browser's back/forward and Streamlit's own links do."""
        self.act(lambda: self.page.evaluate(
            "p => { history.pushState({}, '', p); window.dispatchEvent(new PopStateEvent('popstate')); }",
            "/" + url_path.lstrip("/")))

    def record_audio(self, seconds: float = 2.5, target=None) -> None:
        """Record with st.audio_input: press Record, wait, press Stop (fake microphone)."""
        scope = target if target is not None else self.page
        scope.get_by_role("button", name="Record").first.click()
        self.page.wait_for_timeout(int(seconds * 1000))
        self.act(lambda: scope.get_by_role("button", name="Stop recording").first.click())

    def errors(self) -> list[str]:
        """Texts of st.error boxes and exceptions on the page."""
        loc = self.page.locator("[data-testid='stAlertContentError'], [data-testid='stException']")
        return [t.strip() for t in loc.all_inner_texts()]

    def exceptions(self) -> list[str]:
        return [t.strip() for t in self.page.locator("[data-testid='stException']").all_inner_texts()]

    # -- evidence ----------------------------------------------------------------------------
    def scroll_top(self) -> None:
        self.page.evaluate("""() => { window.scrollTo(0, 0);
          for (const el of document.querySelectorAll("[data-testid='stMain'], [data-testid='stAppScrollToBottomContainer'], section.main"))
            el.scrollTop = 0; }""")
        self.page.wait_for_timeout(100)

    def shot(self, name: str, *, top: bool = False) -> Path | None:
        if self.shots_dir is None:
            return None
        if top:
            self.scroll_top()
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        path = self.shots_dir / (name if name.endswith(".png") else f"{name}.png")
        self.page.screenshot(path=str(path), animations="disabled", caret="hide")
        return path

    def horizontal_overflow(self) -> dict:
        """Can the page itself be scrolled sideways? (Wide tables scroll inside their own box,
        which is fine.) `overflow` is how far, in CSS pixels; 0 is good. `wide` names the
        elements sticking out of the viewport without a clipping box around them."""
        return self.page.evaluate("""() => {
          const vw = document.documentElement.clientWidth;
          const scrollers = [document.scrollingElement, document.body,
            ...document.querySelectorAll("[data-testid='stMain'], [data-testid='stAppViewContainer'], [data-testid='stMainBlockContainer']")];
          let overflow = 0;
          for (const el of scrollers) {
            if (!el) continue;
            overflow = Math.max(overflow, el.scrollWidth - el.clientWidth);
            const before = el.scrollLeft; el.scrollLeft = 10000;
            overflow = Math.max(overflow, el.scrollLeft); el.scrollLeft = before;
          }
          window.scrollTo(10000, window.scrollY);
          overflow = Math.max(overflow, window.scrollX); window.scrollTo(0, window.scrollY);
          const clipped = el => { for (let p = el.parentElement; p; p = p.parentElement) {
              const o = getComputedStyle(p).overflowX; if (o !== 'visible') return true; } return false; };
          const wide = [];
          for (const el of document.querySelectorAll("[data-testid='stMain'] *")) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > vw + 1 && !clipped(el)) {
              wide.push((el.getAttribute('data-testid') || el.tagName) + ':' + Math.round(r.right));
              if (wide.length >= 8) break;
            }
          }
          return {viewport: vw, overflow, wide};
        }""")


def css_escape(ident: str) -> str:
    """Escape a class name for a CSS selector (keys may hold ':' or spaces)."""
    return "".join(ch if ch.isalnum() or ch in "-_" or ord(ch) > 127 else f"\\{ch}" for ch in ident)


def _inner_input(loc):
    """A locator for the <input>/<textarea> itself, given it or a widget container."""
    tag = loc.first.evaluate("e => e.tagName")
    if tag in ("INPUT", "TEXTAREA"):
        return loc.first
    return loc.first.locator("input, textarea").first
