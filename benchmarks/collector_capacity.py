"""How many contributors one collector process serves: N people writing at once, as protocol
clients and in chromium.

    python benchmarks/collector_capacity.py [--clients browser|protocol|both]
                                            [--protocol-sizes 30,60,100] [--sizes 10,20,30]
                                            [--seconds 75] [--think-s 4.5] [--pg-url URL] [--keep]

Two kinds of client, each measured on a `jamii collect` process of its own (`both`, the default,
runs the protocol clients first, then chromium):

- **protocol** (`--protocol-sizes`): each contributor is a `StreamlitClient`
  (benchmarks/_st_protocol_client.py), which speaks Streamlit 1.67's websocket protocol as its
  frontend does: the page's and the connection manager's HTTP requests, the websocket with the
  frontend's subprotocols and the page's cookies, one `BackMsg` `rerun_script` per run with the
  query string, the current page's hash, the widgets' states and the cached messages' hashes,
  and the server's `ForwardMsg`s up to `script_finished`. It signs in as the browser does: the
  invite link's run, then the `/auth/adopt` hand-off that run's `st.html` script would post
  (same Origin), which answers with the HttpOnly `jamii_session` cookie; it then posts each
  item's texts to `/drafts` with that cookie, as the page's draft script does while a person
  types (a refused post is counted as `drafts_refused`), and submits the form as the frontend's
  `submitForm` does: both text areas' values and the send button's trigger in one rerun. After
  a failed action it reconnects signed in by the cookie alone, as a reload would. It draws
  nothing and runs no page script: **this measures the server** (and the wire), not a phone's
  rendering. All the protocol clients run in this one Python process, whose own CPU is
  measured (`client_cpu_s_per_action`, `client_cpu_share`) so a reader can see how little of
  the machine they take from the server;
- **browser** (`--sizes`): one headless chromium holds every contributor, each in their own
  browser context with a phone's viewport, all driven from this one process by asyncio
  Playwright. This is the whole contributor path, page drawing included; but on a 2-core
  machine chromium takes several times the server's CPU per action, so beyond a few actions per
  second **it measures the machine, not the server** (see below).

Setup (not measured): a fresh PostgreSQL schema (`--pg-url`, else JAMII_BENCH_PG_URL or
JAMII_TEST_PG_URL, default `postgresql+psycopg://postgres@127.0.0.1:5432/test`; dropped
afterwards unless `--keep`), `jamii init` on it (the seeded campaign), and as many
contributors as the largest sizes of the kinds run together (plus two for the warm-ups), each
with their own invite code, Swahili as their language, and the campaign's consent accepted.
For each kind:

1. warm-up: one extra contributor signs in and sends an item, then leaves; the server's
   resident memory (RSS, with any children) is then read as `rss_idle_mb`;
2. for each size N, smallest first, more contributors sign in by invite link
   (`/?code=CODE&lang=en`, two browsers or four protocol clients at a time) until N are
   connected, each until the prompt/response form shows (their home page); those signed in
   before stay connected;
3. for `--seconds`, each of the N repeats one action, starting one every `--think-s` seconds
   on average (jittered by a third either way: 3 to 6 s by default): type a unique prompt and
   response, press the send button, wait for the next empty form with its success message.
   The action's latency is from the click to that empty form, both by the page's own clock
   (a click listener and a MutationObserver in the page, so Playwright's round trips are not
   counted). A protocol client's action posts the texts' draft, then sends the form's rerun;
   its latency is from sending that `BackMsg` to receiving the run's `script_finished`, the
   run's deltas in between, which must hold a new success message with the item's public id
   and the prompt box emptied (no drawing, so no page clock and no `ws_*` figures).
   Each contributor's first action starts at a random moment of the first period,
   so the actions are spread out. `ws_p50_ms`/`ws_p95_ms`: the same actions from the
   websocket frame the click sent to the last frame of the run it started, as chromium's
   network service timed them (CDP `Network.webSocketFrame*`): the server's part and the
   wire, without the page's drawing; on a machine the browsers saturate it also holds that
   service's own wait for a core (and for the page to take the frames), so it bounds the
   server's part from above;
4. the server's CPU seconds (user + system, with any children) from the moment the N are
   signed in until the last action has finished, divided by the actions started meanwhile:
   `cpu_s_per_action`, which thus includes what the N sessions cost while idle between
   actions. `rss_per_session_mb` = (RSS at the end of the actions - `rss_idle_mb`) / N;
5. correctness, in the store: every item a client saw saved must be stored exactly once,
   found by the unique word in its prompt, under the public id the page (or the protocol
   client's success message) showed.

A protocol client finds the form's widgets by their ids (a keyed widget's id ends with its
key: `pr_prompt`, `pr_response`; the send button is the form's submitter). In chromium the
fields are found by their English labels and the button by its role and name. In an
`st.form` both fields are filled and the button clicked; outside one (plain widgets, which
commit on blur) each field is blurred after typing and its run waited for, as a person would
take longer to type than the run takes; so the script works with either form of the page.

Projection. A contributor who sends one item every 20 s costs `cpu_s_per_action / 20` of a
core, so one core serves `20 / cpu_s_per_action` of them (`contributors_per_core`, from the
largest N run). This is a CPU bound: it assumes the server's cost grows linearly with the
actions and that nothing else (the database, locks, Streamlit's one event loop) saturates
first; a collector process is one Python process, so "per core" is also "per process".
The projection is taken from the protocol clients when they ran (their `cpu_s_per_action` is
the server's alone), else from chromium. `p95_ms` at the largest N, and the server's share of a
core there (`server_cpu_share`), say how close the run came to that load; a run with
`--think-s 20` measures the projection's own pace. The projection is the server's CPU
running flat out, where a queue (and so the latency) has no bound: what was *measured* within
the target is `served_within_p95_target`, the most actions per second a size was served at
with p95 under 500 ms, times 20 (`at_period_contributors` of that size: how many contributors
at one action per 20 s send that much; from any pace, since a contributor's cost is per action
plus a small idle part).

The protocol clients take little CPU (a few ms per action, against 45-70 ms for the server),
so with them the server has the machine to itself, postgres and other work apart; what they
leave out is the phone's own work (parsing and drawing the deltas, the page's scripts), which
costs the phone, not the server. With chromium, the browsers, the Playwright driver and this
script share the machine's cores with the server and the database (2 cores on the CI
machine), and a page costs chromium several times the CPU an action costs the server
(`browser_cpu_s_per_action`): the latencies include waiting for a core the browsers hold,
and the largest N a machine can run is bounded by chromium, not by the server.
`machine_busy` (the machine's busy share of all its cores), `cpu_pressure` (the
share of the time some runnable task waited for a core, Linux's /proc/pressure/cpu: near 1
when other work crowds the machine), `browser_cpu_s` (the driver and chromium) and
`db_cpu_s` (every postgres process on the machine, whoever uses it) are printed so that a run
of either kind can be judged. (The server runs in its own session, so with the
kernel's autogroup scheduling it competes with the browsers as one group against another,
not thread against thread; renicing the browsers would change nothing there.)

Targets (printed, never asserted): at least 100 contributors per core projected, and p95
under 500 ms at the largest N, judged on the protocol clients (`p95_under_500ms_at_largest_n`;
null when they did not run). The script exits 1 only for a correctness failure: an item a
client saw saved that is not stored, or an item stored twice. The last line is one JSON
object: per client kind its sizes and summary, then the headline (the protocol clients' when
they ran, else chromium's):

    {"clients": ["protocol", "browser"],
     "protocol": {"sizes": {"30": {"p50_ms", "p95_ms", "actions", "cpu_s_per_action",
                  "rss_per_session_mb", "client_cpu_s_per_action", "client_cpu_share",
                  "drafts_refused", "missing", "duplicated", ...}, ...},
                  "largest_n", "p95_ms", "cpu_s_per_action", "contributors_per_core",
                  "p95_under_500ms_at_largest_n", ...},
     "browser": {"sizes": {"10": {..., "ws_p95_ms", "browser_cpu_s_per_action", ...}}, ...},
     "largest_n", "p95_ms", "cpu_s_per_action", "rss_per_session_mb", "contributors_per_core",
     "p95_under_500ms_at_largest_n", "headline_clients", "targets", "met", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO / "tests"))  # support.pg
sys.path.insert(0, str(REPO / "benchmarks"))

import _jamii_browser as jb  # noqa: E402
from collector_latency import CAMPAIGN, percentile  # noqa: E402

PG_BASE = os.environ.get("JAMII_BENCH_PG_URL",
                         os.environ.get("JAMII_TEST_PG_URL",
                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
PERIOD_S = 20.0
"""The projection's pace: one action per contributor every 20 s."""
TARGETS = {"contributors_per_core": 100, "p95_ms": 500}
SIGN_INS_AT_ONCE = 2
PROTOCOL_SIGN_INS_AT_ONCE = 4
ACTION_TIMEOUT_MS = 30000
SYLLABLES = ("ba", "da", "fa", "ga", "ha", "ja", "ka", "la", "ma", "na", "pa", "ra", "sa", "ta",
             "wa", "ya", "za", "ku")
"""Unique words are spelt in these: digits in a text look like phone or id numbers, and a word
of consonants made the language check take a prompt for Tsonga now and then."""
TOKEN = re.compile(r"kundi ([a-z]+):")
"""The unique word of an item: the run (5 syllables), the contributor (3), their action (3)."""

PROMPTS = (
    "Ni mbegu gani za mahindi zinazostahimili ukame katika mkoa wa Dodoma msimu huu?",
    "Mtoto wangu ana homa na kikohozi kwa siku tatu, nifanye nini kabla ya kufika hospitali?",
    "Ninawezaje kuhifadhi maharage baada ya mavuno ili yasiliwe na wadudu ghalani?",
    "Ni dalili zipi za malaria ambazo mama mjamzito anapaswa kuzijua mapema?",
    "Nifanye nini ili nyanya zangu zisioze shambani wakati wa msimu wa mvua nyingi hapa kijijini "
    "kwetu?",
)
RESPONSES = (
    "Panda mbegu za muda mfupi zinazokomaa mapema, na uhifadhi unyevu kwa kufunika udongo kwa "
    "majani makavu.",
    "Mpe maji mengi ya kunywa na apumzike; homa ikizidi au akishindwa kupumua mpeleke kwa "
    "mhudumu wa afya haraka.",
    "Kausha maharage vizuri juani, yachanganye na majivu safi na uyaweke kwenye mifuko "
    "isiyopitisha hewa.",
    "Dalili ni homa, kutetemeka, kuumwa na kichwa na uchovu mwingi; aende kliniki mapema apimwe "
    "damu, na alale chini ya chandarua kila usiku.",
    "Weka vijiti ili matunda yasiguse udongo, punguza majani ya chini na nyunyiza dawa ya "
    "ukungu inayoruhusiwa.",
)

# --- in the page ---------------------------------------------------------------------------------
WATCH_PAGE = """
window.__jamiiArmed = false; window.__jamiiPress = null; window.__jamiiRuns = 0;
document.addEventListener('click', () => {
  if (window.__jamiiArmed && window.__jamiiPress === null) window.__jamiiPress = performance.now();
}, true);
new MutationObserver(changes => {
  for (const c of changes)
    if (c.target.getAttribute(c.attributeName) === 'notRunning' && c.oldValue !== 'notRunning')
      window.__jamiiRuns += 1;
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""
"""Added to every page: the moment of the armed click, by the page's own clock, and how many
script runs have finished."""

COMMIT = """el => { window.__jamiiCommitAt = performance.now(); const n = window.__jamiiRuns;
  el.blur(); return n; }"""
"""Take the focus off a text box outside a form (which sends its value and reruns the page)."""

AFTER_RUN = ("n => (window.__jamiiRuns > n || performance.now() - window.__jamiiCommitAt > 3000)"
             " && " + jb.IDLE)
"""Until the run that commit started has finished (or 3 s passed without one), and idle."""

ARM = """() => {
  window.__jamiiArmed = true; window.__jamiiPress = null;
  window.__jamiiBefore = [...document.querySelectorAll(
    "[data-testid='stAlertContentSuccess'], [data-testid='stAlertContentInfo']")]
    .map(e => e.innerText.trim());
}"""
"""Before the click: which messages were already shown (the next one will be new)."""

WAIT_NEXT_FORM = """({label, timeoutMs}) => new Promise(resolve => {
  const texts = sel => [...document.querySelectorAll(sel)]
    .filter(e => !e.closest('[data-stale="true"]')).map(e => e.innerText.trim());
  let obs, iv, to, over = false;
  const finish = r => {
    if (over) return; over = true;
    obs.disconnect(); clearInterval(iv); clearTimeout(to); window.__jamiiArmed = false;
    resolve({...r, press: window.__jamiiPress, done: performance.now()});
  };
  const check = () => {
    if (over || window.__jamiiPress === null) return;
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning'
        || app.getAttribute('data-test-connection-state') !== 'CONNECTED'
        || document.querySelector('[data-stale="true"]')) return;
    const box = [...document.querySelectorAll('textarea')]
      .find(t => t.getAttribute('aria-label') === label);
    if (!box) return;
    const before = window.__jamiiBefore || [];
    if (box.value === '' && !box.disabled) {
      const saved = texts("[data-testid='stAlertContentSuccess']").filter(t => !before.includes(t));
      const again = texts("[data-testid='stAlertContentInfo']").filter(t => !before.includes(t));
      if (saved.length) finish({status: 'saved', text: saved[0]});
      else if (again.length) finish({status: 'already', text: again[0]});
      return;
    }
    const bad = texts("[data-testid='stAlertContentError'], [data-testid='stAlertContentWarning'], "
                      + "[data-testid='stException']");
    if (bad.length) finish({status: 'refused', text: bad.join(' | ')});
  };
  obs = new MutationObserver(check);
  obs.observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                         characterData: true});
  iv = setInterval(check, 50);
  to = setTimeout(() => finish({status: 'timeout', text: ''}), timeoutMs);
  check();
})"""
"""Resolves when the form is empty again under a new success message (or refused, or timed out):
the app connected, no script running and nothing stale."""


# --- setup ---------------------------------------------------------------------------------------
def syllables(n: int, width: int) -> str:
    """n written in `width` syllables (base 18)."""
    out = ""
    for _ in range(width):
        n, r = divmod(n, len(SYLLABLES))
        out = SYLLABLES[r] + out
    return out


def make_people(url: str, data: Path, count: int) -> list[dict]:
    """`jamii init` on the schema, then `count` consented Swahili contributors with their codes."""
    from jamii.core.store import OPERATOR, Store

    jb.init_store(data, db_url=url)
    store = Store.open(db_url=url, data_dir=data)
    try:
        camp = store.campaign(CAMPAIGN)
        text = store.consent_text(camp.id, "sw")
        scopes = {"open_publication": True, "model_evaluation": True, "voice": True}
        people = []
        for i in range(count):
            person, code = store.add_contributor(
                roles=["contributor"], pseudonym=f"cap-{i:03d}", languages_spoken=["sw"],
                ui_language="en", compensation_method="mobile_money", actor_id=OPERATOR)
            store.accept_consent(person.id, text.id, scopes)
            people.append({"id": person.id, "code": code, "pseudonym": person.pseudonym})
        return people
    finally:
        store.close()


def stored_tokens(url: str, data: Path) -> dict[str, list[str]]:
    """Public ids of the stored items, by the unique word in their prompt."""
    from jamii.core.store import Store

    store = Store.open(db_url=url, data_dir=data)
    try:
        found: dict[str, list[str]] = {}
        for item in store.items(store.campaign(CAMPAIGN).id, kind="prompt_response"):
            match = TOKEN.search(str(item.content.get("prompt", "")))
            if match:
                found.setdefault(match.group(1), []).append(item.public_id)
        return found
    finally:
        store.close()


# --- what the machine spends ---------------------------------------------------------------------
def tree(proc) -> list:
    import psutil

    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_by_pid(procs) -> dict[int, float]:
    import psutil

    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def rss_mb(procs) -> float:
    import psutil

    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total / 2**20


def cpu_stalled_s() -> float | None:
    """Seconds in which some runnable task on the machine waited for a core (Linux PSI,
    /proc/pressure/cpu `some total`), or None where the kernel does not keep it."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().rsplit("total=", 1)[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return None


class Meter:
    """CPU seconds of the server, the browsers (this process's other descendants: the Playwright
    driver and chromium), this process itself (the clients' Python side: asyncio Playwright's
    end, or the whole of the protocol clients), postgres, and the machine's busy time, between
    `start()` and `stop()`."""

    def __init__(self, server_pid: int):
        import psutil

        self.psutil = psutil
        self.server = psutil.Process(server_pid)
        self.me = psutil.Process()

    def _postgres(self) -> list:
        return [p for p in self.psutil.process_iter(["name"])
                if p.info["name"] in ("postgres", "postmaster")]

    def _snapshot(self) -> dict:
        times = self.psutil.cpu_times()
        server = tree(self.server)
        ours = {p.pid for p in server}
        return {"server": cpu_by_pid(server),
                "browser": cpu_by_pid(p for p in self.me.children(recursive=True)
                                      if p.pid not in ours),
                "client": cpu_by_pid([self.me]),
                "db": cpu_by_pid(self._postgres()),
                "busy": sum(times) - times.idle - getattr(times, "iowait", 0.0),
                "stalled": cpu_stalled_s(),
                "wall": time.monotonic()}

    def start(self) -> None:
        self.first = self._snapshot()

    def stop(self) -> dict:
        last = self._snapshot()

        def spent(kind: str) -> float:
            before, after = self.first[kind], last[kind]
            return sum(t - before.get(pid, 0.0) for pid, t in after.items())

        wall = last["wall"] - self.first["wall"]
        cores = self.psutil.cpu_count() or 1
        return {"wall_s": wall, "server_cpu_s": spent("server"), "browser_cpu_s": spent("browser"),
                "client_cpu_s": spent("client"), "db_cpu_s": spent("db"),
                "machine_busy": (last["busy"] - self.first["busy"]) / (wall * cores)
                if wall else 0.0,
                "cpu_pressure": (last["stalled"] - self.first["stalled"]) / wall
                if wall and last["stalled"] is not None and self.first["stalled"] is not None
                else None}

    def rss_mb(self) -> float:
        return rss_mb(tree(self.server))


# --- one contributor in the browser --------------------------------------------------------------
class Pacing:
    """One contributor's actions for a while: the first at a random moment of the first
    period, then one every `think_s` on average (from one start to the next), jittered by a
    third either way."""

    async def loop(self, end_at: float, think_s: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, think_s))
        while time.monotonic() < end_at:
            started = time.monotonic()
            await self.act()
            pause = self.rng.uniform(think_s * 2 / 3, think_s * 4 / 3)
            # no pause past the end: the size's seconds (and actions/s) are its actions' own
            await asyncio.sleep(max(0.0, min(started + pause, end_at) - time.monotonic()))


class Contributor(Pacing):
    def __init__(self, context, base_url: str, person: dict, tag: str, tr, rng: random.Random):
        self.context, self.base_url, self.person = context, base_url, person
        self.tag, self.tr, self.rng = tag, tr, rng
        self.page = None
        self.seq = 0
        self.results: list[dict] = []
        self.sent: list[float] = []
        self.received: list[float] = []
        """When the browser sent and received websocket frames (CDP timestamps, seconds)."""
        self.sign_in_s: float | None = None
        self.problem: str | None = None

    @property
    def prompt_label(self) -> str:
        return self.tr("field.prompt")

    async def open_form(self) -> None:
        """Sign in by invite link, until the prompt field of the write page (a consented
        contributor's home page) shows and the app is idle. The link goes to the home page
        itself: `/write?code=...` signs in too, but then shows "Page not found" over the form."""
        await self.page.goto(f"{self.base_url}/?code={self.person['code']}&lang=en")
        await self.page.get_by_label(self.prompt_label, exact=True).wait_for(state="visible")
        await self.page.wait_for_function(jb.IDLE, polling=50)

    async def sign_in(self) -> bool:
        t0 = time.perf_counter()
        try:
            self.page = await self.context.new_page()
            cdp = await self.context.new_cdp_session(self.page)
            cdp.on("Network.webSocketFrameSent", lambda e: self.sent.append(e["timestamp"]))
            cdp.on("Network.webSocketFrameReceived",
                   lambda e: self.received.append(e["timestamp"]))
            await cdp.send("Network.enable")
            await self.open_form()
        except Exception as exc:  # noqa: BLE001 - counted, the others go on
            self.problem = f"sign-in: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return False
        self.sign_in_s = time.perf_counter() - t0
        return True

    def texts(self) -> tuple[str, str]:
        word = self.tag + syllables(self.seq, 3)
        i = self.rng.randrange(len(PROMPTS))
        return (f"Swali la kundi {word}: {PROMPTS[i]}",
                f"Jibu la kundi {word}: {RESPONSES[i]}")

    async def type_item(self, prompt: str, response: str) -> None:
        """Fill the two text boxes. In an `st.form` they reach the server with the send button;
        outside one, each is committed (blurred) and its run waited for before going on, as a
        person takes longer to type than a run takes: a text box's uncommitted text can be
        redrawn away by a run that comes back meanwhile, and a tap on the button straight after
        typing may send the old value (streamlit#10007)."""
        page = self.page
        for label, text in ((self.prompt_label, prompt), (self.tr("field.response"), response)):
            box = page.get_by_label(label, exact=True)
            await box.fill(text)
            if not await box.evaluate("e => !!e.closest(\"[data-testid='stForm']\")"):
                runs = await box.evaluate(COMMIT)
                await page.wait_for_function(AFTER_RUN, arg=runs, polling=50)

    async def act(self) -> dict:
        """One action: type a unique item, press send, wait for the next empty form."""
        page, tr = self.page, self.tr
        prompt, response = self.texts()
        token = TOKEN.search(prompt).group(1)
        self.seq += 1
        self.close_frames()
        row = {"token": token, "status": "error", "ms": None, "public_id": None}
        try:
            await self.type_item(prompt, response)
            await page.evaluate(ARM)
            row["frames"] = [len(self.sent), len(self.received)]
            await page.get_by_role("button", name=tr("contribute.submit"), exact=True).click()
            out = await page.evaluate(WAIT_NEXT_FORM, {"label": self.prompt_label,
                                                       "timeoutMs": ACTION_TIMEOUT_MS})
            row["status"] = out["status"]
            row["text"] = out["text"][:300]
            if out["press"] is not None:
                row["ms"] = out["done"] - out["press"]
            found = re.search(r"\b(itm_\w+)", out["text"])
            row["public_id"] = found.group(1) if found else None
        except Exception as exc:  # noqa: BLE001 - counted as an error, the run goes on
            row["text"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        self.results.append(row)
        if row["status"] != "saved":
            try:  # start again from a fresh page: whatever is on screen is not the next form
                await self.open_form()
            except Exception:  # noqa: BLE001
                pass
        return row

    async def leave(self) -> None:
        await self.context.close()

    def close_frames(self) -> None:
        """The frames of the last action are those up to now (CDP events arrive a little after
        the page has shown them): its websocket time is from its first frame sent (the click's
        rerun request) to its last frame received (the end of the run)."""
        if not self.results or "frames" not in self.results[-1] or "ws_ms" in self.results[-1]:
            return
        row = self.results[-1]
        s0, r0 = row.pop("frames")
        sent, received = self.sent[s0:], self.received[r0:]
        row["ws_ms"] = ((received[-1] - sent[0]) * 1000
                        if sent and received and received[-1] > sent[0] else None)



# --- one contributor over Streamlit's protocol ---------------------------------------------------
HANDOFF = re.compile(r"/auth/adopt'.*?\bh: '([A-Za-z0-9_-]{20,128})'", re.S)
"""The sign-in's hand-off in the `st.html` script that posts it (web/ui.py `_adopt`)."""
DRAFT_CONFIG = re.compile(r"__jamiiDraft = (\{.*?\});\n")
"""The draft script's settings (web/draft_route.py `draft_script`): its URL, form, campaign,
field keys and the form's submission key."""
FORM_KEYS = ("pr_prompt", "pr_response")
"""The write page's text areas (collector/views/write.py), in its `st.form` "pr_form"."""


class ProtocolContributor(Pacing):
    """A contributor whose phone is a `StreamlitClient`: what the browser sends and receives,
    without the browser. Signs in by the invite link and the `/auth/adopt` hand-off, keeps the
    session cookie, posts the typed texts to `/drafts` as the page's draft script does, and
    submits the form as the frontend does (both texts and the send button's trigger in one
    rerun)."""

    def __init__(self, base_url: str, person: dict, tag: str, rng: random.Random):
        self.base_url, self.person, self.tag, self.rng = base_url, person, tag, rng
        self.client = None
        self.page = None  # the client once signed in (the crowd's test for "signed in")
        self.form: dict[str, str] = {}
        """Widget ids: prompt, response, send."""
        self.draft: dict | None = None
        self.seq = 0
        self.results: list[dict] = []
        self.sign_in_s: float | None = None
        self.problem: str | None = None
        self.drafts_refused = 0
        self.bytes_received = 0

    def _read_form(self, run) -> bool:
        """Take the form's widget ids and the draft script's settings from a run's elements."""
        prompt = run.widget("text_area", FORM_KEYS[0])
        response = run.widget("text_area", FORM_KEYS[1])
        if prompt is None or response is None:
            return False
        send = run.widget("button", None, is_form_submitter=True, form_id=prompt.form_id)
        if send is None:
            return False
        self.form = {"prompt": prompt.id, "response": response.id, "send": send.id}
        for body in run.html():
            found = DRAFT_CONFIG.search(body)
            if found:
                self.draft = json.loads(found.group(1))
        return True

    async def open_form(self, *, code: bool) -> None:
        """Load the home page (by the invite link when `code`, else with the session cookie, as
        a reload does) and run it until the write form is there; after an invite link, post the
        hand-off to `/auth/adopt`, which must answer with the session cookie."""
        import _st_protocol_client as stp

        if self.client is not None:  # a reload: a new page, so a new Streamlit session
            await self.client.close()
            self.client.session_id = None
        client = self.client or stp.StreamlitClient(self.base_url)
        self.client = client
        await client.open("/", f"code={self.person['code']}&lang=en" if code else "lang=en")
        run = await client.rerun(timeout=ACTION_TIMEOUT_MS / 1000)
        if code:
            handoff = next((m.group(1) for m in map(HANDOFF.search, run.html()) if m), None)
            if handoff is None:
                raise RuntimeError(f"no sign-in hand-off; alerts {run.alerts()[:2]}")
            status = await client.post("/auth/adopt", f"h={handoff}".encode(),
                                       "application/x-www-form-urlencoded")
            if status != 204 or not client.cookies.get("jamii_session"):
                raise RuntimeError(f"/auth/adopt answered {status} without the session cookie")
        if not self._read_form(run):
            raise RuntimeError(f"no write form after sign-in; alerts {run.alerts()[:2]}, "
                               f"{run.exceptions()[:1]}")
        self.page = client

    async def sign_in(self) -> bool:
        t0 = time.perf_counter()
        try:
            await self.open_form(code=True)
        except Exception as exc:  # noqa: BLE001 - counted, the others go on
            self.problem = f"sign-in: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return False
        self.sign_in_s = time.perf_counter() - t0
        return True

    texts = Contributor.texts

    async def save_draft(self, prompt: str, response: str) -> None:
        """What the page's draft script posts a second after the last key press: the texts,
        with the session cookie (a post without it is refused)."""
        if not self.draft:
            return
        fields = {"_key": self.draft["key"], FORM_KEYS[0]: prompt, FORM_KEYS[1]: response}
        body = json.dumps({"form": self.draft["form"], "campaign": self.draft["campaign"],
                           "fields": fields}).encode()
        if await self.client.post(self.draft["url"], body, "application/json") != 204:
            self.drafts_refused += 1

    async def act(self) -> dict:
        """One action: the typed texts' draft, then the send button's rerun with both texts;
        its latency is from sending that BackMsg to receiving the end of the run it started
        (`script_finished`), which must hold a new success message with the item's public id
        and the prompt box emptied (the next form)."""
        import _st_protocol_client as stp

        prompt, response = self.texts()
        token = TOKEN.search(prompt).group(1)
        self.seq += 1
        row = {"token": token, "status": "error", "ms": None, "public_id": None}
        try:
            await self.save_draft(prompt, response)
            run = await self.client.rerun(
                [stp.text_value(self.form["prompt"], prompt),
                 stp.text_value(self.form["response"], response),
                 stp.trigger(self.form["send"])], timeout=ACTION_TIMEOUT_MS / 1000)
            row["ms"] = run.ms
            self.bytes_received += run.bytes
            alerts = [(level, body.replace("\\_", "_")) for level, body in run.alerts()]
            box = run.widget("text_area", FORM_KEYS[0])
            emptied = box is not None and box.set_value and box.value == ""
            saved = [b for level, b in alerts if level == "success" and "itm_" in b]
            again = [b for level, b in alerts if level == "info" and "itm_" in b]
            bad = [b for level, b in alerts if level in ("error", "warning")] + run.exceptions()
            if saved and emptied:
                row["status"], row["text"] = "saved", saved[0]
            elif again and emptied:
                row["status"], row["text"] = "already", again[0]
            elif bad:
                row["status"], row["text"] = "refused", " | ".join(bad)
            else:
                row["text"] = f"no success message or empty form; alerts {alerts[:2]}"
            found = re.search(r"\b(itm_\w+)", row["text"])
            row["public_id"] = found.group(1) if found and row["status"] != "refused" else None
            row["text"] = row["text"][:300]
            if box is not None:
                self._read_form(run)
        except Exception as exc:  # noqa: BLE001 - counted as an error, the run goes on
            row["status"] = "timeout" if "within" in str(exc) else "error"
            row["text"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        self.results.append(row)
        if row["status"] not in ("saved", "already"):
            try:  # start again as a reload would: a new connection, signed in by the cookie
                await self.open_form(code=False)
            except Exception:  # noqa: BLE001
                pass
        return row

    def close_frames(self) -> None:
        pass

    async def leave(self) -> None:
        if self.client is not None:
            await self.client.close()


# --- the crowd, size after size ------------------------------------------------------------------
class Crowd:
    """One collector process and the contributors (in chromium) signed in to it so far.
    `people[i]` is the i-th to sign in; `base + i` numbers their unique words; `warm` is the
    warm-up's (person, number)."""

    sign_ins_at_once = SIGN_INS_AT_ONCE

    def __init__(self, browser, server: jb.AppServer, people: list[dict], run: str, *,
                 base: int, warm: tuple[dict, int]):
        from jamii.collector.i18n import Translator

        self.browser, self.server, self.people, self.run = browser, server, people, run
        self.base, self.warm = base, warm
        self.tr = Translator("en")
        self.rng = random.Random(1000)
        self.members: list = []
        self.meter = Meter(server.proc.pid)

    async def new(self, i: int, person: dict) -> Contributor:
        context = await jb.new_phone_context(self.browser)
        context.set_default_timeout(60000)
        await context.add_init_script(WATCH_PAGE)
        return Contributor(context, self.server.url, person, self.run + syllables(i, 3), self.tr,
                           random.Random(self.rng.random()))

    async def warm_up(self) -> list[dict]:
        """One extra contributor signs in, sends an item and leaves: the first visit's imports
        and caches are not what a session costs. Returns that action's rows."""
        warm = await self.new(self.warm[1], self.warm[0])
        if await warm.sign_in():
            await warm.act()
        await warm.leave()
        await asyncio.sleep(2)
        return warm.results

    async def grow(self, n: int) -> list[float]:
        """Sign in contributors until there are n, SIGN_INS_AT_ONCE at a time (a first visit
        loads and compiles the whole page, which is not what is measured). Their seconds."""
        gate = asyncio.Semaphore(self.sign_ins_at_once)
        fresh = [await self.new(self.base + i, self.people[i])
                 for i in range(len(self.members), n)]

        async def one(c: Contributor) -> None:
            async with gate:
                await c.sign_in()

        await asyncio.gather(*(one(c) for c in fresh))
        self.members += fresh
        return [c.sign_in_s for c in fresh if c.sign_in_s is not None]

    async def close(self) -> None:
        for c in self.members:
            await c.leave()


class ProtocolCrowd(Crowd):
    """The same, with protocol clients (`ProtocolContributor`) instead of browsers."""

    sign_ins_at_once = PROTOCOL_SIGN_INS_AT_ONCE

    def __init__(self, server: jb.AppServer, people: list[dict], run: str, *, base: int,
                 warm: tuple[dict, int]):
        super().__init__(None, server, people, run, base=base, warm=warm)

    async def new(self, i: int, person: dict) -> "ProtocolContributor":
        return ProtocolContributor(self.server.url, person, self.run + syllables(i, 3),
                                   random.Random(self.rng.random()))


async def run_size(crowd: Crowd, n: int, rss_idle: float, args) -> dict:
    """Grow the crowd to n, then `args.seconds` of actions by all of them; what it cost."""
    sign_ins = await crowd.grow(n)
    await asyncio.sleep(3)
    meter = crowd.meter
    rss_signed_in = meter.rss_mb()
    active = [c for c in crowd.members if c.page is not None and c.problem is None]
    print(f"  N={n}: {len(active)} signed in (server RSS {rss_idle:.0f} MB idle, "
          f"{rss_signed_in:.0f} MB now); {args.seconds:g} s of actions ...", flush=True)
    first_row = {id(c): len(c.results) for c in active}
    peak = [rss_signed_in]

    async def sample() -> None:
        while True:
            await asyncio.sleep(1)
            peak[0] = max(peak[0], meter.rss_mb())

    sampler = asyncio.create_task(sample())
    meter.start()
    end_at = time.monotonic() + args.seconds
    await asyncio.gather(*(c.loop(end_at, args.think_s) for c in active))
    await asyncio.sleep(0.5)
    for c in active:
        c.close_frames()
    spent = meter.stop()
    rss_end = meter.rss_mb()
    sampler.cancel()

    rows = [r for c in active for r in c.results[first_row[id(c)]:]]
    drafts_refused = sum(getattr(c, "drafts_refused", 0) for c in active)
    latencies = [r["ms"] for r in rows if r["status"] == "saved" and r["ms"] is not None]
    ws = [r["ws_ms"] for r in rows if r["status"] == "saved" and r.get("ws_ms") is not None]
    statuses = Counter(r["status"] for r in rows)
    problems = [c.problem for c in crowd.members if c.problem] + [
        f"{r['status']}: {r.get('text', '')}" for r in rows if r["status"] != "saved"]
    actions, cpu, wall = len(rows), spent["server_cpu_s"], spent["wall_s"]

    def per_action(value: float, digits: int) -> float | None:
        return round(value / actions, digits) if actions else None

    return {
        "contributors": n, "signed_in": len(active), "actions": actions,
        "saved": statuses.get("saved", 0), "errors": actions - statuses.get("saved", 0),
        "statuses": dict(statuses), "error_sample": problems[:3],
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "ws_p50_ms": round(statistics.median(ws), 1) if ws else None,
        "ws_p95_ms": round(percentile(ws, 95), 1) if ws else None,
        "seconds": round(wall, 1), "actions_per_s": round(actions / wall, 2),
        "at_period_contributors": round(actions / wall * PERIOD_S),
        "server_cpu_s": round(cpu, 2), "cpu_s_per_action": per_action(cpu, 4),
        "server_cpu_share": round(cpu / wall, 3),
        "db_cpu_s": round(spent["db_cpu_s"], 2),
        "db_cpu_s_per_action": per_action(spent["db_cpu_s"], 4),
        "browser_cpu_s": round(spent["browser_cpu_s"], 1),
        "browser_cpu_s_per_action": per_action(spent["browser_cpu_s"], 3),
        "client_cpu_s": round(spent["client_cpu_s"], 2),
        "client_cpu_s_per_action": per_action(spent["client_cpu_s"], 4),
        "client_cpu_share": round(spent["client_cpu_s"] / wall, 3),
        "machine_busy": round(spent["machine_busy"], 3),
        "cpu_pressure": None if spent["cpu_pressure"] is None
        else round(spent["cpu_pressure"], 3),
        "rss_idle_mb": round(rss_idle, 1), "rss_signed_in_mb": round(rss_signed_in, 1),
        "rss_end_mb": round(rss_end, 1), "rss_peak_mb": round(peak[0], 1),
        "rss_per_session_mb": round((rss_end - rss_idle) / max(1, len(active)), 2),
        "sign_in_p50_s": round(statistics.median(sign_ins), 2) if sign_ins else None,
        "sign_in_max_s": round(max(sign_ins), 2) if sign_ins else None,
        "load_avg": [round(v, 2) for v in os.getloadavg()],
        **({"drafts_refused": drafts_refused} if isinstance(crowd, ProtocolCrowd) else {}),
        "_rows": rows,
    }


def check_stored(result: dict, rows: list[dict], stored: dict[str, list[str]]) -> None:
    """Every item a browser saw saved is stored once, under the id the page showed."""
    seen = {r["token"]: r for r in rows if r["status"] in ("saved", "already")}
    mine = {r["token"] for r in rows}
    result["missing"] = sum(1 for t in seen if t not in stored)
    result["duplicated"] = sum(len(stored[t]) - 1 for t in mine if len(stored.get(t, ())) > 1)
    result["wrong_id"] = sum(1 for t, r in seen.items()
                             if t in stored and r["public_id"] and r["public_id"] not in stored[t])
    result["stored_unconfirmed"] = sum(1 for t in mine if t in stored and t not in seen)


# --- the run -------------------------------------------------------------------------------------
async def run_sizes(crowd: Crowd, sizes: list[int], args, url: str, data: Path) -> dict:
    """Warm up, then each size in turn on the crowd's server (which is stopped at the end)."""
    results: dict[str, dict] = {}
    try:
        warm_rows = await crowd.warm_up()
        rss_idle = crowd.meter.rss_mb()
        for n in sizes:
            print(f"N={n}: load average {os.getloadavg()[0]:.2f} ...", flush=True)
            result = await run_size(crowd, n, rss_idle, args)
            rows = result.pop("_rows") + warm_rows
            warm_rows = []
            check_stored(result, rows, stored_tokens(url, data))
            results[str(n)] = result
            print(f"  N={n}: {result['actions']} actions, p50 {result['p50_ms']} ms, p95 "
                  f"{result['p95_ms']} ms, {result['cpu_s_per_action']} server CPU s each, "
                  f"clients' own CPU {result['client_cpu_s_per_action']} s each, errors "
                  f"{result['errors']}, missing {result['missing']}, duplicated "
                  f"{result['duplicated']}", flush=True)
    except Exception:
        print(f"--- collector log ---\n{crowd.server.log()}", file=sys.stderr)
        raise
    finally:
        await crowd.close()
        crowd.server.stop()
    return results


async def measure_browser(args, people: list[dict], url: str, data: Path, run: str, *,
                          base: int, warm: tuple[dict, int]) -> dict:
    """The sizes `args.sizes` in chromium, on a collector of their own."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await jb.launch_chromium(pw)
        try:
            server = jb.AppServer(data, db_url=url).start()
            crowd = Crowd(browser, server, people, run, base=base, warm=warm)
            return await run_sizes(crowd, args.sizes, args, url, data)
        finally:
            await browser.close()


async def measure_protocol(args, people: list[dict], url: str, data: Path, run: str, *,
                           base: int, warm: tuple[dict, int]) -> dict:
    """The sizes `args.protocol_sizes` with protocol clients, on a collector of their own."""
    server = jb.AppServer(data, db_url=url).start()
    crowd = ProtocolCrowd(server, people, run, base=base, warm=warm)
    return await run_sizes(crowd, args.protocol_sizes, args, url, data)


def summarise(sizes: dict[str, dict]) -> dict:
    """One client kind's figures at its largest N, and the projection from them."""
    measured = [r for r in sizes.values() if r["cpu_s_per_action"]]
    last = measured[-1] if measured else {}
    cpu = last.get("cpu_s_per_action")
    per_core = round(PERIOD_S / cpu) if cpu else None
    p95 = last.get("p95_ms")
    within = [r["at_period_contributors"] for r in measured
              if r["p95_ms"] is not None and r["p95_ms"] < TARGETS["p95_ms"]]
    return {
        "largest_n": last.get("contributors"), "p50_ms": last.get("p50_ms"), "p95_ms": p95,
        "served_within_p95_target": max(within) if within else None,
        "ws_p50_ms": last.get("ws_p50_ms"), "ws_p95_ms": last.get("ws_p95_ms"),
        "cpu_s_per_action": cpu, "rss_per_session_mb": last.get("rss_per_session_mb"),
        "client_cpu_s_per_action": last.get("client_cpu_s_per_action"),
        "browser_cpu_s_per_action": last.get("browser_cpu_s_per_action"),
        "action_period_s": PERIOD_S, "contributors_per_core": per_core,
        "p95_under_500ms_at_largest_n": p95 is not None and p95 < TARGETS["p95_ms"],
        "targets": TARGETS,
        "met": {"contributors_per_core": per_core is not None
                and per_core >= TARGETS["contributors_per_core"],
                "p95_ms": p95 is not None and p95 < TARGETS["p95_ms"],
                "ws_p95_ms": None if last.get("ws_p95_ms") is None
                else last["ws_p95_ms"] < TARGETS["p95_ms"]},
    }


def report(kind: str, sizes: dict[str, dict], summary: dict, cores: int) -> None:
    browser = kind == "browser"
    print(f"\n{kind} clients:")
    head = (f"{'N':>4} {'in':>4} {'actions':>8} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'max ms':>8} {'ws p50':>7} {'ws p95':>7} {'CPU s/act':>10} {'srv core':>9} "
            f"{'db s/act':>9} {'brw s/act' if browser else 'cli s/act':>10} {'busy':>6} "
            f"{'MB/sess':>8} {'missing':>8} {'dup':>4}")
    print(head)
    print("-" * len(head))
    for n, r in sizes.items():
        clients = r["browser_cpu_s_per_action"] if browser else r["client_cpu_s_per_action"]
        print(f"{n:>4} {r['signed_in']:>4} {r['actions']:>8} {r['errors']:>7} {r['p50_ms']!s:>8} "
              f"{r['p95_ms']!s:>8} {r['max_ms']!s:>8} {r['ws_p50_ms']!s:>7} "
              f"{r['ws_p95_ms']!s:>7} {r['cpu_s_per_action']!s:>10} "
              f"{r['server_cpu_share']!s:>9} {r['db_cpu_s_per_action']!s:>9} "
              f"{clients!s:>10} {r['machine_busy']:>6.0%} "
              f"{r['rss_per_session_mb']:>8} {r['missing']:>8} {r['duplicated']:>4}")
        for problem in r["error_sample"]:
            print(f"       {problem}")
    met = summary["met"]
    print(f"projected at one action per {PERIOD_S:g} s: {summary['contributors_per_core']} "
          f"contributors per core (20 / {summary['cpu_s_per_action']} CPU s per action); target "
          f">= {TARGETS['contributors_per_core']}: "
          f"{'ok' if met['contributors_per_core'] else 'MISSED'}")
    served = summary["served_within_p95_target"]
    print(f"measured with p95 < {TARGETS['p95_ms']} ms: " + (
        "no size" if served is None else
        f"the pace of {served} contributors at one action per {PERIOD_S:g} s (the busiest "
        f"such size's actions/s x {PERIOD_S:g})"))
    print(f"p95 at the largest N ({summary['largest_n']}): {summary['p95_ms']} ms; target < "
          f"{TARGETS['p95_ms']} ms: {'ok' if met['p95_ms'] else 'MISSED'}"
          + (f" (its websocket part: {summary['ws_p95_ms']} ms, "
             f"{'ok' if met['ws_p95_ms'] else 'MISSED'})" if browser else ""))
    if browser:
        print(f"note: the browsers, the Playwright driver and postgres share this machine's "
              f"{cores} cores with the server ('ws' is the websocket part of an action, from the "
              f"click's request to the run's last frame as the browser's network service saw "
              f"them; 'busy' the machine's busy share of all its cores; 'srv core' the share of "
              f"one core the server used; 'brw s/act' the browsers' and driver's CPU seconds per "
              f"action).")
    else:
        print("note: latency from sending the rerun request to receiving the run's "
              "script_finished; 'cli s/act' is this process's own CPU seconds per action (every "
              "protocol client, with their draft posts), the share of the cores the clients take "
              "from the server.")
    if summary["largest_n"]:
        r = sizes[str(summary["largest_n"])]
        used = (f"the browsers {r['browser_cpu_s'] / r['seconds']:.2f} cores" if browser else
                f"the protocol clients {r['client_cpu_share']:.2f} of a core")
        stalled = ("" if r["cpu_pressure"] is None else
                   f", some task waiting for a core {r['cpu_pressure']:.0%} of the time")
        print(f"at N={summary['largest_n']}: the machine was {r['machine_busy']:.0%} busy (load "
              f"average {r['load_avg'][0]}{stalled}), the server used "
              f"{r['server_cpu_share']:.0%} of a core, {used}, {r['actions_per_s']} actions/s.")


def code_version() -> str:
    """The commit measured, with "-dirty" when the working tree has changes."""
    import subprocess

    done = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", choices=("browser", "protocol", "both"), default="both",
                    help="chromium pages, protocol clients, or both in turn (default both; each "
                         "kind on a collector process of its own)")
    ap.add_argument("--sizes", default="10,20,30",
                    help="numbers of contributors at once in chromium, comma separated "
                         "(default 10,20,30)")
    ap.add_argument("--protocol-sizes", default="30,60,100",
                    help="numbers of protocol clients at once (default 30,60,100)")
    ap.add_argument("--seconds", type=float, default=75, help="seconds of actions at each size")
    ap.add_argument("--think-s", type=float, default=4.5,
                    help="mean seconds between one contributor's actions (jittered by a third)")
    ap.add_argument("--pg-url", default=PG_BASE, help="PostgreSQL server (a schema is made on it)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the schema and the data folder (with the collector's logs)")
    args = ap.parse_args(argv)
    kinds = ["protocol", "browser"] if args.clients == "both" else [args.clients]
    for name in ("sizes", "protocol_sizes"):
        sizes = sorted({int(v) for v in getattr(args, name).split(",") if v.strip()})
        if not sizes or sizes[0] < 1 or sizes[-1] > 1000:
            ap.error(f"--{name.replace('_', '-')}: sizes must be between 1 and 1000")
        setattr(args, name, sizes)
    if "browser" in kinds and not jb.chromium_available():
        print(f"chromium not found at {jb.CHROMIUM}: apt-get install chromium, or "
              f"--clients protocol", file=sys.stderr)
        return 2
    import psutil
    from support.pg import new_schema

    cores = psutil.cpu_count() or 1
    counts = {"browser": max(args.sizes) if "browser" in kinds else 0,
              "protocol": max(args.protocol_sizes) if "protocol" in kinds else 0}
    url, drop = new_schema(args.pg_url, "jamii_cap_")
    tmp = Path(tempfile.mkdtemp(prefix="jamii-capacity-"))
    data = tmp / "data"
    run = syllables(random.Random(time.time_ns()).randrange(len(SYLLABLES) ** 5), 5)
    results: dict[str, dict] = {}
    try:
        total = counts["browser"] + counts["protocol"] + 2
        print(f"load average {os.getloadavg()}; {cores} cores; setting up {total} "
              f"contributors ...", flush=True)
        people = make_people(url, data, total)
        # chromium's people first, then the protocol clients'; the two warm-ups' last
        ranges = {"browser": (0, counts["browser"]),
                  "protocol": (counts["browser"], counts["browser"] + counts["protocol"])}
        warm = {"browser": (people[-1], len(SYLLABLES) ** 3 - 1),
                "protocol": (people[-2], len(SYLLABLES) ** 3 - 2)}
        for kind in kinds:
            print(f"--- {kind} clients ---", flush=True)
            lo, hi = ranges[kind]
            how = measure_browser if kind == "browser" else measure_protocol
            results[kind] = asyncio.run(how(args, people[lo:hi], url, data, run, base=lo,
                                            warm=warm[kind]))
    finally:
        if args.keep:
            print(f"kept: data folder {data}, store {url}", file=sys.stderr)
        else:
            drop()
            shutil.rmtree(tmp, ignore_errors=True)

    out: dict = {"clients": kinds}
    for kind in kinds:
        summary = summarise(results[kind])
        report(kind, results[kind], summary, cores)
        out[kind] = {"sizes": results[kind], **summary}
    # the headline figures: the protocol clients' when they ran (the server's own), else
    # chromium's (the machine's)
    main_kind = "protocol" if "protocol" in kinds else "browser"
    head = out[main_kind]
    out.update({key: head[key] for key in (
        "largest_n", "p50_ms", "p95_ms", "cpu_s_per_action", "rss_per_session_mb",
        "contributors_per_core", "served_within_p95_target", "action_period_s", "targets",
        "met")})
    out["headline_clients"] = main_kind
    out["p95_under_500ms_at_largest_n"] = (out["protocol"]["p95_under_500ms_at_largest_n"]
                                           if "protocol" in kinds else None)
    out.update({"think_s": args.think_s, "seconds": args.seconds, "code": code_version(),
                "cores": cores,
                "shared_cores": "clients (browsers and driver, or the protocol clients) and "
                                "postgres on the same cores as the server"})
    print(json.dumps(out))
    broken = any(r["missing"] or r["duplicated"] or r["wrong_id"]
                 for kind in kinds for r in results[kind].values())
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
