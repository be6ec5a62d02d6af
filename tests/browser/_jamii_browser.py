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
    return [sys.executable, "-c", "from jamii.core.cli import main; main()"]


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

    def __init__(self, data_dir: Path, *, port: int | None = None, db_url: str | None = None):
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
            env=app_env(self.data_dir, self.db_url), stdout=log, stderr=subprocess.STDOUT,
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
    context = browser.new_context(**opts)
    context.add_init_script(RUN_COUNTER_JS)
    return context


# Counts finished script runs: Streamlit sets data-test-script-state on the stApp element to
# "running" while the script runs and "notRunning" once it has finished. An action that
# reruns the script is done when the count has grown and the state is notRunning again.
RUN_COUNTER_JS = """
(() => {
  window.__jamiiRuns = 0;
  window.__jamiiStarts = 0;
  const seen = new WeakMap();
  const watch = (records) => {
    for (const r of records) {
      if (r.type !== 'attributes' || r.attributeName !== 'data-test-script-state') continue;
      const now = r.target.getAttribute('data-test-script-state');
      if (now === 'running') window.__jamiiStarts += 1;
      if (now === 'notRunning' && r.oldValue !== 'notRunning') window.__jamiiRuns += 1;
    }
  };
  new MutationObserver(watch).observe(document, {
    subtree: true, attributes: true, attributeOldValue: true,
    attributeFilter: ['data-test-script-state'],
  });
})();
"""

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
        page.set_default_timeout(timeout_ms)

    # -- navigation and waiting --------------------------------------------------------------
    def url_for(self, path: str = "", **params) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}/{path.lstrip('/')}{query}"

    def goto(self, path: str = "", **params) -> "StPage":
        self.page.goto(self.url_for(path, **params))
        self.wait_idle()
        return self

    def runs(self) -> int:
        return self.page.evaluate("window.__jamiiRuns || 0")

    def wait_idle(self, timeout_ms: int | None = None, settle_ms: int = 150) -> None:
        """Until the app is connected, no script runs and no element is stale, for settle_ms."""
        timeout = timeout_ms or self.timeout
        deadline = time.monotonic() + timeout / 1000
        while True:
            self.page.wait_for_function(IDLE, timeout=max(100, int((deadline - time.monotonic()) * 1000)))
            if settle_ms <= 0:
                return
            n = self.runs()
            self.page.wait_for_timeout(settle_ms)
            if self.page.evaluate(IDLE) and self.runs() == n:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the app never settled")

    def act(self, action: Callable[[], object], *, rerun: bool = True,
            timeout_ms: int | None = None) -> None:
        """Do something that reruns the script and wait until that run has finished."""
        before = self.runs()
        action()
        if rerun:
            self.page.wait_for_function(
                f"(window.__jamiiRuns || 0) > {before} && {IDLE}", timeout=timeout_ms or self.timeout)
        self.wait_idle(timeout_ms)

    # -- finding things ----------------------------------------------------------------------
    def key(self, key: str):
        """The element Streamlit renders for a widget or container created with key=..."""
        return self.page.locator(f".st-key-{key}")

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

    def select(self, target, option: str) -> None:
        """Choose an option of an st.selectbox (target: its label or a locator of its element)."""
        loc = (self.page.locator("[data-testid='stSelectbox']").filter(has_text=target)
               if isinstance(target, str) else target)
        loc.first.locator("[data-baseweb='select']").click()
        self.act(lambda: self.page.get_by_role("option", name=option).first.click())

    def choose(self, target, option: str) -> None:
        """Choose an option of an st.radio."""
        loc = (self.page.locator("[data-testid='stRadio']").filter(has_text=target)
               if isinstance(target, str) else target)
        self.act(lambda: loc.first.locator("label").filter(has_text=option).first.click())

    def check(self, target, on: bool = True, *, rerun: bool = True) -> None:
        """Tick or untick an st.checkbox / st.toggle by label or locator."""
        loc = (self.page.locator("[data-testid='stCheckbox']").filter(has_text=target)
               if isinstance(target, str) else target)
        box = loc.first.locator("input[type='checkbox']")
        if box.is_checked() != on:
            self.act(lambda: loc.first.locator("label").first.click(), rerun=rerun)

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
    def shot(self, name: str) -> Path | None:
        if self.shots_dir is None:
            return None
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        path = self.shots_dir / (name if name.endswith(".png") else f"{name}.png")
        self.page.screenshot(path=str(path), animations="disabled", caret="hide")
        return path

    def horizontal_overflow(self) -> dict:
        """Width of the widest thing on the page against the viewport (0 overflow is good)."""
        return self.page.evaluate("""() => {
          const vw = document.documentElement.clientWidth;
          const docW = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
          const main = document.querySelector("[data-testid='stMain']");
          const mainW = main ? main.scrollWidth : 0;
          const wide = [];
          for (const el of document.querySelectorAll("[data-testid='stMain'] *")) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > vw + 1 && getComputedStyle(el).position !== 'fixed') {
              wide.push((el.getAttribute('data-testid') || el.tagName) + ':' + Math.round(r.right));
              if (wide.length >= 8) break;
            }
          }
          return {viewport: vw, document: docW, main: mainW, wide};
        }""")


def _inner_input(loc):
    """A locator for the <input>/<textarea> itself, given it or a widget container."""
    tag = loc.first.evaluate("e => e.tagName")
    if tag in ("INPUT", "TEXTAREA"):
        return loc.first
    return loc.first.locator("input, textarea").first
