"""The collector and the dashboard served through nginx over HTTPS, as deploy/nginx/jamii.conf
configures a real deployment (issue 13).

The site file is rendered for the test by replacing whole lines (ports, and the certificate of
a throwaway self-signed pair made with openssl) and run by Debian's nginx unprivileged on free
ports, under a minimal nginx.conf that carries the http-level directives Debian's own
nginx.conf sets (so a site file repeating them fails here as it would on a server). Behind it:
a real `jamii collect` on a seeded store and a real `jamii dashboard` on the same store, both
listening on 127.0.0.1 only, as docs/deployment.md runs them.

The names stay the file's own (jamii.example.org, dashboard.jamii.example.org): chromium is
told they are at 127.0.0.1, so the browser's Host and Origin carry a name and a port as on a
server, which Streamlit's websocket and the app's /auth/adopt compare.

* Plain HTTP is redirected to HTTPS; a script comes back gzipped; an upload as large as the
  collector accepts passes, a larger one is refused by nginx.
* Through https://jamii.example.org:<port>/ chromium walks the contributor path: a mistyped
  invite code, then a demo code (the session cookie comes back Secure), one prompt/response
  item and one speech recording sent, the item in "My contributions", a reload still signed
  in. The browser also sends X-Real-IP and X-Forwarded-For headers of its own: the store must
  throttle and audit the sign-ins by the address nginx saw (127.0.0.1), not by what the
  browser claimed, and not as "local" (what the app calls a connection from its own machine
  without a proxy's word).
* The dashboard's name serves the dashboard.

Skipped, with the reason, without nginx or openssl (`make test` installs nginx-light through
scripts/system-deps.sh); with JAMII_REQUIRE_BROWSER=1 that is a failure instead.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

import _jamii_browser as jb
from conftest import REQUIRE
from jamii.collector.i18n import Translator
from jamii.dashboard.i18n import Translator as DashTranslator
from test_access_control import _session_cookie
from test_contributor_flow import (PEER, PEER_PROMPT, PEER_RESPONSE, TRANSCRIPT, saved_message,
                                   send_form)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy" / "nginx" / "jamii.conf"
EN = Translator("en")
DASH = DashTranslator("en")
MiB = 1024 * 1024
UPLOAD_LIMIT = 20 * MiB
"""The collector's server.maxUploadSize (collector/.streamlit/config.toml): nginx must let it through."""
FORGED = {"X-Real-IP": "203.0.113.9", "X-Forwarded-For": "198.51.100.7"}
"""What the browser claims to be; nginx must put the address it saw in their place."""
COLLECTOR, DASHBOARD = "jamii.example.org", "dashboard.jamii.example.org"
"""The names deploy/nginx/jamii.conf ships with; the test's chromium resolves both to 127.0.0.1."""
LOCAL_ONLY = {"STREAMLIT_SERVER_ADDRESS": "127.0.0.1"}
"""What `--host 127.0.0.1` sets (docs/deployment.md): the apps are reachable from this machine only."""


def app_environment(tmp_path) -> dict[str, str]:
    """The collector of the `jamii_app` fixture listens on 127.0.0.1 only (conftest.py)."""
    return dict(LOCAL_ONLY)


def _missing(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (JAMII_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    """nginx (Debian keeps it in /usr/sbin, often outside a user's PATH) and openssl."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = {name: shutil.which(name, path=search) for name in ("nginx", "openssl")}
    if not found["nginx"]:
        _missing("nginx is not installed (apt-get install nginx-light; "
                 "`make test` runs scripts/system-deps.sh)")
    if not found["openssl"]:
        _missing("openssl is not installed (apt-get install openssl)")
    return found


def render_site(*, http_port: int, https_port: int, collector_port: int, dashboard_port: int,
                cert: Path, key: Path) -> str:
    """deploy/nginx/jamii.conf with this test's ports and certificate, by whole lines.

    The names stay as shipped (chromium finds them at 127.0.0.1); the redirect names the HTTPS
    port, which a server on 443 leaves out."""
    lines = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "# no IPv6 listener in the test",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "# no IPv6 listener in the test",
        "server 127.0.0.1:8501;": f"server 127.0.0.1:{collector_port};",
        "server 127.0.0.1:8502;": f"server 127.0.0.1:{dashboard_port};",
        "ssl_certificate /etc/letsencrypt/live/jamii.example.org/fullchain.pem;": f"ssl_certificate {cert};",
        "ssl_certificate_key /etc/letsencrypt/live/jamii.example.org/privkey.pem;": f"ssl_certificate_key {key};",
        "return 301 https://$host$request_uri;": f"return 301 https://$host:{https_port}$request_uri;",
    }
    used: set[str] = set()
    out = []
    for line in SITE.read_text().splitlines():
        bare = line.strip()
        if bare in lines:
            used.add(bare)
            line = line[: len(line) - len(line.lstrip())] + lines[bare]
        out.append(line)
    gone = [line for line in lines if line not in used]
    assert not gone, f"{SITE} no longer has the lines the test replaces: {gone}"
    return "\n".join(out) + "\n"


def main_conf(tmp: Path, site: Path) -> str:
    """A minimal nginx.conf around the site, everything it writes inside `tmp`."""
    temp = "\n".join(f"    {kind}_temp_path {tmp / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would drop to nobody
    return f"""{user}error_log {tmp / 'error.log'} info;
events {{ worker_connections 256; }}
http {{
    # what Debian's /etc/nginx/nginx.conf sets in http {{}}: the site must not set them again there
    gzip on;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    log_format claims '$request_uri real=$http_x_real_ip xff=$http_x_forwarded_for';
    access_log {tmp / 'access.log'} claims;
{temp}
    include {site};
}}
"""


def self_signed(openssl: str, folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", f"/CN={COLLECTOR}",
                    "-addext", f"subjectAltName=DNS:{COLLECTOR},DNS:{DASHBOARD}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Nginx:
    """nginx in the foreground in its own process group, every file of it under `tmp`."""

    def __init__(self, binary: str, tmp: Path, conf: Path, https_port: int, http_port: int):
        self.binary, self.tmp, self.conf = binary, tmp, conf
        self.https_port, self.http_port = https_port, http_port
        self.url = f"https://{COLLECTOR}:{https_port}"
        self.dashboard_url = f"https://{DASHBOARD}:{https_port}"
        self.proc: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.tmp), "-c", str(self.conf),
                "-e", str(self.tmp / "error.log"), *extra]

    def start(self, timeout: float = 30) -> "Nginx":
        checked = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"nginx -t refused the configuration:\n{checked.stderr}"
        self.proc = subprocess.Popen(
            self.command("-g", f"daemon off; pid {self.tmp / 'nginx.pid'};"),
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if https_get(self.https_port, "/_stcore/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"/_stcore/health did not answer through nginx within {timeout}s:\n{self.log()}")

    def log(self, name: str = "error.log", tail: int = 4000) -> str:
        try:
            return (self.tmp / name).read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def wait_log(self, name: str, pattern: str, timeout: float = 15) -> str | None:
        """The first line of a log matching `pattern`, once nginx has written it."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.log(name, tail=1_000_000))
            if found or time.monotonic() > deadline:
                return found.group(0) if found else None
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGQUIT, 10), (signal.SIGKILL, 5)):  # QUIT: graceful
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None


def https_get(port: int, path: str, headers: dict | None = None, *, method: str = "GET",
              body: bytes | None = None):
    """(status, headers, raw body) of one HTTPS request to 127.0.0.1 naming the collector's
    host, certificate unchecked (it is self-signed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    try:
        conn.request(method, path, body=body,
                     headers={"Host": f"{COLLECTOR}:{port}", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def dashboard_server(tools, jamii_app):
    from test_dashboard_offline import DashboardServer

    server = DashboardServer(jamii_app.data_dir, env=LOCAL_ONLY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(tools, jamii_app, dashboard_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    cert, key = self_signed(tools["openssl"], tmp)
    http_port, https_port = jb.free_port(), jb.free_port()
    while https_port == http_port:
        https_port = jb.free_port()
    site = tmp / "jamii.conf"
    site.write_text(render_site(http_port=http_port, https_port=https_port,
                                collector_port=jamii_app.server.port,
                                dashboard_port=dashboard_server.port, cert=cert, key=key))
    conf = tmp / "nginx.conf"
    conf.write_text(main_conf(tmp, site))
    server = Nginx(tools["nginx"], tmp, conf, https_port, http_port).start()
    yield server
    server.stop()


def outward_address() -> str | None:
    """This machine's address on its network (a UDP socket is routed, nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routed like any outside address
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def named_browser(browser, speech_wav):
    """Another chromium of the session's kind that finds the site file's names at 127.0.0.1
    (no DNS, no /etc/hosts): the proxy is reached by name, as phones reach a server, so the
    Host header it passes on is checked (Streamlit refuses a websocket whose Origin differs)."""
    rules = ", ".join(f"MAP {name} 127.0.0.1" for name in (COLLECTOR, DASHBOARD))
    args = [*jb.LAUNCH_ARGS, f"--host-resolver-rules={rules}"]
    if speech_wav:
        args.append(f"--use-file-for-fake-audio-capture={speech_wav}")
    chromium = browser.browser_type.launch(executable_path=jb.CHROMIUM, headless=True, args=args)
    yield chromium
    chromium.close()


def client_hash(address: str) -> str:
    """How the store names a client: sha256 of its throttle key (jamii.core.store._signin)."""
    return hashlib.sha256(address.encode()).hexdigest()


def throttle_keys(store) -> set[str]:
    from sqlalchemy import select

    from jamii.core.records import SignInThrottle

    with store.read() as s:
        return set(s.scalars(select(SignInThrottle.key)))


def test_http_redirects_scripts_are_gzipped_and_uploads_fit(proxy, jamii_app):
    # the collector itself listens on this machine only: its port is closed on the network side
    address = outward_address()
    if address:
        with pytest.raises(OSError):
            socket.create_connection((address, jamii_app.server.port), timeout=2).close()

    # plain HTTP: a permanent redirect to the same page over HTTPS
    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
    conn.request("GET", "/?lang=sw", headers={"Host": f"{COLLECTOR}:{proxy.http_port}"})
    resp = conn.getresponse()
    assert resp.status == 301, resp.status
    assert resp.getheader("Location") == f"{proxy.url}/?lang=sw"
    conn.close()

    # a script of the page comes back gzipped through nginx
    status, _, page = https_get(proxy.https_port, "/", {"Accept-Encoding": "identity"})
    assert status == 200
    scripts = re.findall(rb'src="\.?/?(static/js/[^"]+\.js)"', page)
    assert scripts, page[:500]
    status, headers, body = https_get(proxy.https_port, "/" + scripts[0].decode(),
                                      {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip", headers
    script = gzip.decompress(body)
    assert len(body) < len(script) / 2, (len(body), len(script))
    assert "Accept-Encoding" in headers.get("vary", ""), headers
    assert "max-age" in headers.get("strict-transport-security", ""), headers

    # an upload as large as the collector accepts reaches it; a larger one nginx refuses itself
    upload = "/_stcore/upload_file/no-such-session/no-such-file"
    status = https_get(proxy.https_port, upload, method="PUT", body=b"0" * UPLOAD_LIMIT)[0]
    assert status != 413, "nginx refuses uploads the collector accepts (client_max_body_size)"
    status = https_get(proxy.https_port, upload, method="PUT", body=b"0" * (UPLOAD_LIMIT + 6 * MiB))[0]
    assert status == 413, status


def test_a_contributor_signs_in_writes_and_records_through_nginx(proxy, jamii_app, named_browser):
    store = jamii_app.store
    camp = jamii_app.campaign()
    peer = store.contributor_by_pseudonym(PEER[1])
    context = jb.new_phone_context(named_browser, ignore_https_errors=True,
                                   extra_http_headers=FORGED)
    try:
        st = jb.StPage(context.new_page(), proxy.url)

        # a mistyped code, then the right one, through the proxy (with the forged headers)
        st.goto("", lang="en")
        st.fill(st.key("sign_in_code"), "DEMO-NOPE-NOPE")
        st.click(st.button(EN("sign_in.submit"), exact=True))
        assert EN("sign_in.unknown") in st.text(), st.text()[:800]
        st.fill(st.key("sign_in_code"), PEER[0])
        st.click(st.button(EN("sign_in.submit"), exact=True))
        st.wait_text(EN("write.intro"))  # the websocket works through nginx: the app reran
        # the session cookie came back through nginx (/auth/adopt checks Origin against Host),
        # marked Secure: the app learnt from X-Forwarded-Proto that the page is on HTTPS
        cookie = _session_cookie(st)
        assert cookie["secure"] and cookie["httpOnly"], cookie

        # one prompt/response item, written and sent
        st.nav(EN("nav.write"))
        st.fill(st.key("pr_prompt"), PEER_PROMPT)
        st.fill(st.key("pr_response"), PEER_RESPONSE)
        send_form(st, EN)
        saved_message(st, EN)
        # a speech recording: an upload through nginx (Streamlit's PUT with its XSRF cookie)
        st.nav(EN("nav.speech"))
        # Streamlit's own label, exactly: the field's help button is "Help for Record"
        st.button("Record", exact=True).click()
        st.page.wait_for_timeout(3000)  # three seconds of the fake microphone
        st.click(st.button("Stop recording", exact=True))
        assert not st.errors(), st.errors()
        st.fill(st.key("sp_transcript"), TRANSCRIPT)
        send_form(st, EN)
        saved_message(st, EN)
        st.nav(EN("nav.mine"))
        assert PEER_PROMPT[:40] in st.text() and EN("status.submitted") in st.text(), st.text()[:1200]
        st.goto("", lang="en")  # a reload through nginx: still signed in, by the cookie
        st.wait_text(EN("write.intro"))
        assert not st.exceptions(), st.exceptions()
    finally:
        context.close()

    mine = [i for i in store.items(camp.id, author_id=peer.id) if i.content.get("prompt") == PEER_PROMPT]
    assert len(mine) == 1 and mine[0].status == "submitted", mine
    spoken = [i for i in store.items(camp.id, author_id=peer.id, kind="speech")
              if i.content.get("transcript") == TRANSCRIPT]
    assert len(spoken) == 1 and spoken[0].content["duration_s"] >= 2.0, spoken
    assert store.audio_path(spoken[0].content["audio_sha256"]).exists()

    # the browser did send its claims on the websocket, which the app reads them from (so what
    # follows is not vacuous); nginx logs a websocket once it has closed
    claims = proxy.wait_log("access.log", r"/_stcore/stream real=203\.0\.113\.9 xff=198\.51\.100\.7")
    assert claims, proxy.log("access.log")
    # ... and the store counted and audited the sign-ins by the address nginx saw
    keys = throttle_keys(store)
    assert "client:" + client_hash("127.0.0.1") in keys, keys
    for other in ("203.0.113.9", "198.51.100.7", "local"):
        assert "client:" + client_hash(other) not in keys, other
    failed = store.audit_events(limit=20, action_prefix="sign_in.failed")
    assert failed and failed[0]["details"]["client_sha256"] == client_hash("127.0.0.1")[:16], failed
    assert "[emerg]" not in proxy.log() and "[crit]" not in proxy.log(), proxy.log()


def test_the_dashboard_answers_under_its_own_name(proxy, named_browser):
    context = jb.new_phone_context(named_browser, ignore_https_errors=True)
    try:
        # the first run imports the statistics and fits the seeded ratings: slow on a loaded machine
        dash = jb.StPage(context.new_page(), proxy.dashboard_url, timeout_ms=90_000)
        dash.goto("", lang="en")
        dash.wait_text(DASH("dash.leaderboard.title"))
        assert not dash.exceptions(), dash.exceptions()
    finally:
        context.close()
