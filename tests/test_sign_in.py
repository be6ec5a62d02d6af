"""Sign-in that resists guessing: throttle per login and per client, audited failures, equal
work for unknown logins, stated argon2 parameters, bad characters refused, the demo banner.

Store tests run on SQLite and PostgreSQL (the `store` fixture); the collector's pages are
driven with Streamlit's AppTest.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.collector_fixtures import APP, seeded_store  # noqa: E402
from support.pg import pg_schema_url  # noqa: E402

from jamii.web import session  # noqa: E402
from jamii.core.records import AuditEvent, ContributorContact, SignInThrottle, utcnow  # noqa: E402
from jamii.core.store import OPERATOR, Store  # noqa: E402
from jamii.core.store import _signin  # noqa: E402
from jamii.core.store._passwords import MEMORY_COST_KIB, PARALLELISM, TIME_COST  # noqa: E402
from jamii.core.store._signin import BadSignInInput, Throttle, TooManyAttempts  # noqa: E402

SECRET = "mahindi-na-maharage"


class Clock:
    """The store's sign-in clock, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(store):
    c = Clock()
    store.sign_in_clock = c
    return c


@pytest.fixture
def verifies(monkeypatch):
    """How many argon2 verifies the sign-in ran."""
    calls = []
    real = _signin.verify_password

    def counting(stored, password):
        calls.append(1)
        return real(stored, password)

    monkeypatch.setattr(_signin, "verify_password", counting)
    return calls


def amina(store, login="amina", password=SECRET):
    person, _ = store.add_contributor(login_name=login, password=password, actor_id=OPERATOR)
    return person


def failures(store) -> list[AuditEvent]:
    with store.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in.failed")
                              .order_by(AuditEvent.id)))


# --- throttle -------------------------------------------------------------------------------


def test_five_wrong_passwords_block_the_login_with_doubling_pauses(store, clock, verifies):
    who = amina(store)
    for _ in range(5):
        assert store.sign_in_with_password("amina", "wrong-password!", client="10.0.0.1") is None
    # the right password now waits: no argon2 is run for a refused attempt
    ran = len(verifies)
    with pytest.raises(TooManyAttempts) as refused:
        store.sign_in_with_password("amina", SECRET, client="10.0.0.2")
    assert len(verifies) == ran
    assert 55 <= refused.value.retry_after <= 60
    assert str(refused.value) == "Too many attempts: try again in 1 minute."
    clock.advance(61)
    assert store.sign_in_with_password("amina", "wrong again!!", client="10.0.0.1") is None
    with pytest.raises(TooManyAttempts) as refused:
        store.sign_in_with_password("amina", SECRET, client="10.0.0.1")
    assert str(refused.value) == "Too many attempts: try again in 2 minutes."
    clock.advance(121)
    assert store.sign_in_with_password("amina", SECRET, client="10.0.0.1").id == who.id
    # a success clears the login's count: five more mistakes are allowed again
    for _ in range(4):
        assert store.sign_in_with_password("amina", "wrong-password!") is None
    assert store.sign_in_with_password("amina", SECRET).id == who.id


def test_unknown_logins_are_blocked_like_real_ones(store, clock):
    amina(store)
    outcomes = {}
    for login in ("amina", "nobody-here"):
        for _ in range(5):
            assert store.sign_in_with_password(login, "wrong-password!") is None
        with pytest.raises(TooManyAttempts) as refused:
            store.sign_in_with_password(login, "wrong-password!")
        outcomes[login] = str(refused.value)
    assert outcomes["amina"] == outcomes["nobody-here"]


def test_a_quiet_hour_forgets_old_failures(store, clock):
    who = amina(store)
    for _ in range(4):
        store.sign_in_with_password("amina", "wrong-password!")
    clock.advance(3601)
    for _ in range(4):
        assert store.sign_in_with_password("amina", "wrong-password!") is None
    assert store.sign_in_with_password("amina", SECRET).id == who.id


def test_client_throttle_spans_codes_and_logins_and_spares_other_clients(store, clock, verifies):
    store.client_throttle = Throttle(threshold=4)
    who, code = store.add_contributor(actor_id=OPERATOR)
    amina(store)
    assert store.sign_in_with_code("AAAA-BBBB-CCCC", client="198.51.100.9") is None
    assert store.sign_in_with_code("AAAA-BBBB-CCCD", client="198.51.100.9") is None
    assert store.sign_in_with_password("amina", "wrong-password!", client="198.51.100.9") is None
    assert store.sign_in_with_password("zawadi", "wrong-password!", client="198.51.100.9") is None
    ran = len(verifies)
    with pytest.raises(TooManyAttempts):
        store.sign_in_with_code(code, client="198.51.100.9")  # even the right code waits
    with pytest.raises(TooManyAttempts):
        store.sign_in_with_password("amina", SECRET, client="198.51.100.9")
    assert len(verifies) == ran
    assert store.sign_in_with_code(code, client="203.0.113.5").id == who.id
    assert store.sign_in_with_password("amina", SECRET, client="203.0.113.5") is not None


def test_successful_sign_ins_never_block_a_busy_client(store, clock):
    """A classroom behind one address: many people signing in is not guessing."""
    store.client_throttle = Throttle(threshold=3)
    people = [store.add_contributor(actor_id=OPERATOR) for _ in range(8)]
    for person, code in people:
        assert store.sign_in_with_code(code, client="192.0.2.1").id == person.id
    assert store.sign_in_with_code("NOPE-NOPE-NOPE", client="192.0.2.1") is None
    assert store.sign_in_with_code(people[0][1], client="192.0.2.1").id == people[0][0].id


def test_every_process_on_the_store_shares_the_count(store, store_url, tmp_path):
    amina(store)
    other = Store(store_url, tmp_path / "audio2")  # a second collector process on one database
    try:
        for _ in range(3):
            assert store.sign_in_with_password("amina", "wrong-password!") is None
        for _ in range(2):
            assert other.sign_in_with_password("amina", "wrong-password!") is None
        with pytest.raises(TooManyAttempts):
            store.sign_in_with_password("amina", SECRET)
        with pytest.raises(TooManyAttempts):
            other.sign_in_with_password("amina", SECRET)
    finally:
        other.close()


def test_a_global_cap_on_failures_bounds_argon2_across_logins_and_clients(store, clock,
                                                                          verifies, monkeypatch):
    """Cycling login names and client addresses slips past both per-key throttles; the cap on
    failures across all of them still refuses, before argon2, for the rest of the minute."""
    monkeypatch.setattr(_signin, "GLOBAL_FAILURES_PER_MINUTE", 6)
    who, code = store.add_contributor(actor_id=OPERATOR)
    her = amina(store)
    assert store.sign_in_with_password("amina", SECRET, client="192.0.2.1").id == her.id
    for i in range(5):
        assert store.sign_in_with_password(f"login-{i}", "wrong-password!",
                                           client=f"198.51.100.{i}") is None
    # a success in between neither counts nor resets the count
    assert store.sign_in_with_password("amina", SECRET, client="192.0.2.2") is not None
    assert store.sign_in_with_code("NOPE-NOPE-NOPE", client="198.51.100.77") is None  # sixth
    ran = len(verifies)
    with pytest.raises(TooManyAttempts) as refused:
        store.sign_in_with_password("login-new", "wrong-password!", client="203.0.113.99")
    assert str(refused.value) == "Too many attempts: try again in 1 minute."
    with pytest.raises(TooManyAttempts):
        store.sign_in_with_password("amina", SECRET, client="203.0.113.100")
    with pytest.raises(TooManyAttempts):
        store.sign_in_with_code(code)  # codes and clientless attempts count and wait too
    assert len(verifies) == ran  # no argon2 ran for a refused attempt
    with store.read() as s:  # shared through the store like the per-key counts
        assert s.get(SignInThrottle, "global").failures == 6
    clock.advance(61)  # the next minute opens again
    assert store.sign_in_with_password("amina", SECRET, client="203.0.113.99") is not None
    assert store.sign_in_with_code(code).id == who.id
    assert len(verifies) == ran + 1


def test_the_global_cap_is_shared_by_every_process_on_the_store(store, store_url, tmp_path,
                                                                monkeypatch):
    monkeypatch.setattr(_signin, "GLOBAL_FAILURES_PER_MINUTE", 3)
    other = Store(store_url, tmp_path / "audio2")
    try:
        assert store.sign_in_with_code("AAAA-AAAA-AAA1", client="10.0.0.1") is None
        assert other.sign_in_with_code("AAAA-AAAA-AAA2", client="10.0.0.2") is None
        assert store.sign_in_with_code("AAAA-AAAA-AAA3", client="10.0.0.3") is None
        with pytest.raises(TooManyAttempts):
            other.sign_in_with_code("AAAA-AAAA-AAA4", client="10.0.0.4")
    finally:
        other.close()


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_threshold(store, verifies):
    amina(store)
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def guess(i: int) -> None:
        start.wait()
        try:
            store.sign_in_with_password("amina", f"guess-number-{i}")
            outcomes.append("checked")
        except TooManyAttempts:
            outcomes.append("refused")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("checked") == 5 and outcomes.count("refused") == 3
    assert len(verifies) == 5


# --- audit ----------------------------------------------------------------------------------


def test_failures_are_audited_without_the_login_or_the_password(store, clock):
    amina(store)
    store.sign_in_with_password("amina", "not-the-secret-1", client="10.9.8.7")
    store.sign_in_with_code("ZZZZ-ZZZZ-ZZZZ", client="10.9.8.7")
    assert store.sign_in_with_password("amina", SECRET) is not None
    events = failures(store)
    assert [e.details["method"] for e in events] == ["password", "code"]
    assert events[0].details["login_sha256"] and events[0].details["client_sha256"]
    assert events[0].actor_id is None
    written = json.dumps([e.details for e in events])
    for secret in ("amina", "not-the-secret-1", "ZZZZ", "10.9.8.7"):
        assert secret not in written
    for _ in range(5):
        store.sign_in_with_password("amina", "not-the-secret-2")
    assert "blocked_seconds" not in failures(store)[-2].details
    assert failures(store)[-1].details["blocked_seconds"] == 60


# --- equal work -----------------------------------------------------------------------------


def test_unknown_and_known_logins_take_the_same_time(store, monkeypatch):
    """Median of 15 unknown-login attempts vs 15 wrong passwords for a real login: < 20 ms.

    Attempts alternate, so a busy machine slows both alike; a round spoiled by other work on
    the machine is measured again (up to three rounds). A real difference, such as an argon2
    verify at other parameters for real logins (130 ms here), fails every round."""
    store.login_throttle = Throttle(threshold=10_000)
    monkeypatch.setattr(_signin, "GLOBAL_FAILURES_PER_MINUTE", 10_000)
    amina(store)
    for login in ("amina", "nobody", "amina", "nobody"):  # warm up both paths
        store.sign_in_with_password(login, "wrong-password!")
    gaps = []
    for round_ in range(3):
        known, unknown = [], []
        for i in range(15):
            for login, times in (("amina", known), (f"nobody-{round_}-{i}", unknown)):
                began = time.perf_counter()
                assert store.sign_in_with_password(login, "wrong-password!") is None
                times.append(time.perf_counter() - began)
        gaps.append(abs(statistics.median(known) - statistics.median(unknown)))
        if gaps[-1] < 0.020:
            break
    assert min(gaps) < 0.020, [f"{g * 1000:.1f} ms" for g in gaps]


def test_argon2_parameters_are_stated_and_old_hashes_upgrade_on_sign_in(store):
    from argon2 import PasswordHasher

    who = amina(store)
    with store.read() as s:
        made = s.get(ContributorContact, who.id).password_hash
    assert f"m={MEMORY_COST_KIB},t={TIME_COST},p={PARALLELISM}" in made
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(SECRET)
    with store.write() as s:
        s.get(ContributorContact, who.id).password_hash = old
    assert store.sign_in_with_password("amina", SECRET).id == who.id
    with store.read() as s:
        upgraded = s.get(ContributorContact, who.id).password_hash
    assert upgraded != old and "m=19456,t=2,p=1" in upgraded
    assert store.sign_in_with_password("amina", SECRET).id == who.id


# --- bad characters -------------------------------------------------------------------------


TYPE_AGAIN = "cannot be typed"
IP = "10.1.1.1"


@pytest.mark.parametrize("call, field, says", [
    (lambda s: s.sign_in_with_code("DEMO-ORGA\x00-NISR", client=IP), "code", TYPE_AGAIN),
    (lambda s: s.sign_in_with_code("ABCD\u202eEFGH", client=IP), "code", "(U+202E)"),
    (lambda s: s.sign_in_with_password("ami\x00na", SECRET, client=IP), "login", TYPE_AGAIN),
    (lambda s: s.sign_in_with_password("amina\n", SECRET, client=IP), "login", "(U+000A)"),
    (lambda s: s.sign_in_with_password("a" * 500, SECRET, client=IP), "login", "at most 120"),
    (lambda s: s.sign_in_with_password("amina", "mahindi\x00", client=IP), "password",
     TYPE_AGAIN),
    (lambda s: s.sign_in_with_password("amina", "broken \ud800", client=IP), "password",
     TYPE_AGAIN),
])
def test_nul_and_control_characters_are_refused_before_the_database(store, call, field, says):
    amina(store)
    with pytest.raises(BadSignInInput) as refused:
        call(store)
    assert refused.value.field == field and says in str(refused.value)
    with store.read() as s:  # nothing counted, nothing audited: the input never got that far
        assert s.scalars(select(SignInThrottle)).all() == []
    assert failures(store) == []
    assert store.sign_in_with_password("amina", "p\u00e4ss\tword with tab") is None  # typable


# --- demo people ----------------------------------------------------------------------------


def test_demo_people_are_listed_until_withdrawn(tmp_path):
    store = seeded_store(tmp_path / "data")
    try:
        active = store.demo_people_active()
        assert "demo-mratibu" in active and len(active) == len(_signin.demo_code_hashes()) > 1
        ours, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
        assert ours.pseudonym not in store.demo_people_active()
        for pseudonym in active[:-1]:
            store.withdraw(store.contributor_by_pseudonym(pseudonym).id, actor_id=OPERATOR)
        assert store.demo_people_active() == active[-1:]
        store.withdraw(store.contributor_by_pseudonym(active[-1]).id, actor_id=OPERATOR)
        assert store.demo_people_active() == []
    finally:
        store.close()


# --- who the client is ----------------------------------------------------------------------


def test_client_address_believes_proxy_headers_only_from_this_machine():
    spoof = {"X-Forwarded-For": "1.1.1.1"}
    assert session.client_address("203.0.113.9", spoof) == "203.0.113.9"
    proxied = {"x-forwarded-for": "1.1.1.1, 198.51.100.4"}
    assert session.client_address(None, proxied) == "198.51.100.4"
    assert session.client_address(None, {"X-Real-IP": "198.51.100.5"}) == "198.51.100.5"
    assert session.client_address(None, {}) == "local"


def test_client_address_prefers_the_proxys_x_real_ip_to_a_forged_forwarded_for():
    """nginx's common setup sets only `X-Real-IP $remote_addr` and passes the browser's own
    X-Forwarded-For through: the browser must not choose its key with it."""
    forged = {"X-Real-IP": "203.0.113.7", "X-Forwarded-For": "6.6.6.1"}
    assert session.client_address(None, forged) == "203.0.113.7"
    forged_hops = {"x-real-ip": " 203.0.113.7 ", "x-forwarded-for": "6.6.6.1, 6.6.6.2"}
    assert session.client_address(None, forged_hops) == "203.0.113.7"
    # only X-Forwarded-For: the hop the nearest proxy appended, never the first
    assert session.client_address(None, {"X-Forwarded-For": "6.6.6.1, 203.0.113.8"}) \
        == "203.0.113.8"
    assert session.client_address(None, {"X-Real-IP": " ", "X-Forwarded-For": "6.6.6.1,"}) \
        == "6.6.6.1"


def test_ipv6_clients_are_keyed_by_their_64_and_ipv4_by_the_whole_address():
    one = session.client_address("2001:db8:1:2:aaaa:bbbb:cccc:1")
    assert one == "2001:db8:1:2::/64"
    assert session.client_address("2001:DB8:1:2::ffff") == one
    assert session.client_address(None, {"X-Real-IP": "2001:db8:1:2:1:2:3:4"}) == one
    assert session.client_address(None, {"X-Forwarded-For": "1.1.1.1, 2001:db8:1:2::9"}) == one
    assert session.client_address("2001:db8:1:3::1") == "2001:db8:1:3::/64"  # the next /64
    assert session.client_address("fe80::1%eth0") == "fe80::/64"
    assert session.client_address("::ffff:198.51.100.4") == "198.51.100.4"  # IPv4 in IPv6
    assert session.client_address("198.51.100.4") == "198.51.100.4"
    assert session.client_address("198.51.100.5") == "198.51.100.5"
    assert session.client_address("not-an-address") == "not-an-address"
    assert session.client_address(None, {"X-Real-IP": "proxy.example"}) == "proxy.example"
    assert session.client_address(None, {}) == "local"


def test_the_store_throttles_a_whole_ipv6_64_as_one_client(store, clock, verifies):
    """Every address of one ordinary /64 is one key, even when a caller passes the address."""
    store.client_throttle = Throttle(threshold=4)
    amina(store)
    for i in range(4):
        assert store.sign_in_with_password(f"guess-{i}", "wrong-password!",
                                           client=f"2001:db8:77:1::{i + 1:x}") is None
    ran = len(verifies)
    with pytest.raises(TooManyAttempts):
        store.sign_in_with_password("amina", SECRET, client="2001:db8:77:1:ffff::99")
    assert len(verifies) == ran
    assert store.sign_in_with_password("amina", SECRET, client="2001:db8:77:2::1") is not None


# --- the collector's pages ------------------------------------------------------------------


@pytest.fixture
def collector(monkeypatch, tmp_path):
    """Run the collector on a store given by URL (or a seeded SQLite one in JAMII_DATA)."""
    def make(url: str | None = None, lang: str = "en", person_id: int | None = None) -> AppTest:
        monkeypatch.setenv("JAMII_DATA", str(tmp_path / "data"))
        if url:
            monkeypatch.setenv("JAMII_DB", url)
        else:
            monkeypatch.delenv("JAMII_DB", raising=False)
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.query_params["lang"] = lang
        if person_id is not None:
            at.session_state["contributor_id"] = person_id
        return at

    st.cache_resource.clear()
    yield make
    st.cache_resource.clear()


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


def test_nul_in_the_sign_in_page_on_postgres_is_a_message_not_a_crash(collector, tmp_path):
    url, drop = pg_schema_url()
    store = Store(url, tmp_path / "audio")
    try:
        who = amina(store)
        at = collector(url).run()
        at.text_input(key="sign_in_code").input("DEMO\x00ORGA-NISR")
        at.button[0].click().run()
        assert not at.exception
        assert "invite code holds a character" in errors(at)
        at.text_input(key="sign_in_login").input("amina\x00")
        at.text_input(key="sign_in_password").input(SECRET)
        at.button(key="FormSubmitter:sign_in_password_form-Sign in").click().run()
        assert not at.exception and "login name holds a character" in errors(at)
        assert "contributor_id" not in at.session_state
        # the page still works for the next person
        at.text_input(key="sign_in_login").input("amina")
        at.button(key="FormSubmitter:sign_in_password_form-Sign in").click().run()
        assert not at.exception and at.session_state["contributor_id"] == who.id
    finally:
        store.close()
        st.cache_resource.clear()
        drop()


@pytest.fixture
def amina_in_data(tmp_path):
    """The SQLite store the collector and dashboard open from JAMII_DATA, with amina's login."""
    store = Store.open(data_dir=tmp_path / "data")
    amina(store)
    yield store
    store.close()


def try_password(at: AppTest, password: str, *, submit: str, prefix: str = "sign_in_",
                 times: int = 1, says: str | None = None) -> AppTest:
    """Send amina's login with `password` through a sign-in page's password form."""
    at.text_input(key=f"{prefix}login").input("amina")
    for _ in range(times):
        at.text_input(key=f"{prefix}password").input(password)
        at.button(key=f"FormSubmitter:{prefix}password_form-{submit}").click().run()
        assert not at.exception
        if says:
            assert says in errors(at)
    return at


def test_sign_in_page_says_when_to_try_again_in_swahili(collector, amina_in_data):
    at = collector(lang="sw").run()
    try_password(at, "wrong-password!", submit="Ingia", times=5, says="halijulikani")
    try_password(at, SECRET, submit="Ingia")
    assert "Majaribio mengi mno: jaribu tena baada ya dakika 1" in errors(at)
    assert "contributor_id" not in at.session_state


def test_organiser_pages_warn_while_demo_people_are_active(collector, tmp_path):
    store = seeded_store(tmp_path / "data")
    try:
        ours, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
        at = collector(person_id=ours.id).run()
        for page in ("org_people", "org_audit"):
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception
            banner = "\n".join(w.value for w in at.warning)
            assert "Demo people with public invite codes are still active" in banner
            assert "demo-mratibu" in banner and "jamii users withdraw" in banner
        at.switch_page("views/mine.py").run()  # not an organiser page
        assert not any("public invite codes" in w.value for w in at.warning)
        for pseudonym in store.demo_people_active():
            store.withdraw(store.contributor_by_pseudonym(pseudonym).id, actor_id=OPERATOR)
        at.switch_page("views/org_people.py").run()
        assert not at.exception
        assert not any("public invite codes" in w.value for w in at.warning)
        assert at.title[0].value == "People"
    finally:
        store.close()


def test_jamii_init_warns_while_demo_people_are_active(tmp_path):
    from click.testing import CliRunner

    from jamii.cli import cli

    url = f"sqlite:///{tmp_path / 'jamii.sqlite3'}"

    def init(*extra):
        return CliRunner().invoke(cli, ["init", *extra, "--db", url, "--data-dir", str(tmp_path)],
                                  catch_exceptions=False)

    first = init()
    assert first.exit_code == 0
    warning = [line for line in first.output.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and "demo-mratibu" in warning[0]
    assert "jamii users withdraw" in warning[0]
    store = Store(url, tmp_path / "audio")
    try:
        for pseudonym in store.demo_people_active():
            store.withdraw(store.contributor_by_pseudonym(pseudonym).id, actor_id=OPERATOR)
    finally:
        store.close()
    again = init("--no-seeds")
    assert again.exit_code == 0 and "Warning:" not in again.output


def test_collector_and_dashboard_share_the_count_and_the_dashboard_says_so(collector,
                                                                          amina_in_data):
    at = collector(lang="fr").run()
    try_password(at, "wrong-password!", submit="Se connecter", times=3, says="inconnu")
    dash = AppTest.from_file(str(APP.parents[1] / "dashboard" / "app.py"), default_timeout=30)
    dash.query_params["lang"] = "fr"
    dash.run()
    dash.switch_page("views/sign_in.py").run()
    try_password(dash, "wrong-password!", submit="Se connecter", prefix="dash_", times=2,
                 says="inconnu")
    try_password(dash, SECRET, submit="Se connecter", prefix="dash_")
    assert "contributor_id" not in dash.session_state
    assert "Trop de tentatives : réessayez dans 1 minute(s)" in errors(dash)
    assert "connexion au collecteur" in errors(dash)  # the dashboard's own wording
