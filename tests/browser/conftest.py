"""Fixtures for the collector's real-browser tests (Debian chromium driven by Playwright).

* `jamii_app` (one per test module): a temporary data folder, `jamii init` (store + seeds),
  `jamii collect --port <free port>` in its own process group, and an open `Store` on the same
  database, for creating people and reading outcomes. The group is killed afterwards.
* `browser` (one per session): headless chromium at /usr/bin/chromium with the flags of
  TESTING.md and a fake microphone playing a Swahili clip made with espeak-ng.
* `new_st(...)`: a fresh browser context (phone viewport 420x900, microphone allowed) wrapped
  in `StPage`, the Streamlit helpers of `_jamii_browser.py`.

Every test here is marked `browser`. Without /usr/bin/chromium they are skipped with the
reason, unless JAMII_REQUIRE_BROWSER=1, which turns the skip into a failure (CI).

Screenshots: the flow tests call `st.shot("01-join-sw")`. They are written to the folder named
by JAMII_SCREENSHOTS_DIR (use `docs/screenshots` to refresh the committed ones) and otherwise
to a temporary folder, so that an ordinary `make test` leaves the working tree unchanged.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _jamii_browser as jb  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("JAMII_REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _need_browser() -> None:
    problems = []
    if not jb.chromium_available():
        problems.append(f"{jb.CHROMIUM} is missing (apt-get install chromium; "
                        "`make test` runs scripts/system-deps.sh)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        problems.append("the playwright package is missing (pip install -e '.[dev]')")
    if not problems:
        return
    reason = "browser tests need " + "; ".join(problems)
    if REQUIRE:
        pytest.fail(f"{reason} (JAMII_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@dataclass
class JamiiApp:
    url: str
    data_dir: Path
    store: object
    server: jb.AppServer
    init_output: str
    extra: dict = field(default_factory=dict)

    def campaign(self, slug: str = "mazao-na-afya"):
        return self.store.campaign(slug)

    def person(self, *, roles=("contributor",), consent: dict | None = None,
               language: str = "sw", **profile):
        """A new person with a fresh invite code; with consent={scope: bool} they have accepted."""
        from jamii.core.store import OPERATOR

        person, code = self.store.add_contributor(roles=list(roles), **profile,
                                                  actor_id=OPERATOR)
        if consent is not None:
            camp = self.campaign()
            text = self.store.consent_text(camp.id, language)
            self.store.accept_consent(person.id, text.id, consent)
        return person, code


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory) -> Path:
    chosen = os.environ.get("JAMII_SCREENSHOTS_DIR")
    if chosen:
        path = Path(chosen)
        path = path if path.is_absolute() else REPO / path
    else:
        path = tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path | None:
    try:
        return jb.make_speech_wav(tmp_path_factory.mktemp("speech"))
    except Exception:  # noqa: BLE001 - the fake microphone then plays its beep instead
        return None


@pytest.fixture(scope="session")
def browser(speech_wav):
    _need_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = jb.launch_chromium(pw, speech_wav)
    except Exception as exc:  # noqa: BLE001
        pw.stop()
        if REQUIRE:
            raise
        pytest.skip(f"chromium did not start: {exc}")
    yield chromium
    chromium.close()
    pw.stop()


def start_app(tmp: Path, env: dict[str, str] | None = None) -> JamiiApp:
    """Seeded store + collector in `tmp` (modules that need other settings call this)."""
    _need_browser()
    from jamii.core.store import Store

    data = tmp / "data"
    out = jb.init_store(data)
    server = jb.AppServer(data, env=env).start()
    store = Store.open(data_dir=data)
    return JamiiApp(url=server.url, data_dir=data, store=store, server=server, init_output=out)


@pytest.fixture(scope="module")
def jamii_app(tmp_path_factory, request):
    """A seeded store and the collector serving it, shared by the tests of one module.

    A module may define `app_environment(tmp_path) -> dict` for extra environment variables
    of the app (for example JAMII_LOCALES with a community catalogue)."""
    tmp = tmp_path_factory.mktemp("jamii")
    setup = getattr(request.module, "app_environment", None)
    app = start_app(tmp, env=setup(tmp) if setup else None)
    yield app
    app.store.close()
    app.server.stop()


@pytest.fixture(scope="session")
def failures_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser-failures")


@pytest.fixture
def new_st(browser, jamii_app, screenshots_dir, failures_dir, request):
    """Factory: a fresh phone-sized context and page on the app (one per simulated person)."""
    contexts = []

    def make(**context_options) -> jb.StPage:
        ctx = jb.new_phone_context(browser, **context_options)
        contexts.append(ctx)
        page = ctx.new_page()
        return jb.StPage(page, jamii_app.url, screenshots_dir)

    yield make
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        # keep evidence of a failure in pytest's temporary folder
        for i, ctx in enumerate(contexts):
            for j, page in enumerate(ctx.pages):
                try:
                    path = failures_dir / f"{request.node.name}-{i}-{j}.png"
                    page.screenshot(path=str(path))
                    print(f"\nscreenshot of the failure: {path}")
                except Exception:  # noqa: BLE001
                    pass
        print(f"\n--- collector log (tail) ---\n{jamii_app.server.log()}")
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def st(new_st) -> jb.StPage:
    """One phone-sized page on the app."""
    return new_st()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
