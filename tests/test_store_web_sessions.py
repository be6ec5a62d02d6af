"""The store's `core/store/_web_sessions.py`: a sign-in that survives a reload, and ends for
good on sign-out. On SQLite and PostgreSQL (the `store` fixture), on a real migrated store."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from jamii.core.records import WebSession
from jamii.core.store import OPERATOR, Forbidden
from jamii.core.store._web_sessions import HANDOFF_SECONDS


@pytest.fixture
def people(store):
    amina, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    baraka, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    organiser, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    return amina, baraka, organiser


def _age(store, column: str, by: timedelta) -> None:
    """Move every session's `column` back in time by `by` (what a month of not opening the
    app, or a page left open, looks like to the store)."""
    with store.write() as s:
        for row in s.scalars(select(WebSession)):
            setattr(row, column, getattr(row, column) - by)


def _signed_in(store, person):
    session_id, handoff = store.start_web_session(person.id, actor_id=person.id)
    return session_id, store.adopt_web_session(handoff)


def test_a_hand_off_becomes_a_cookie_token_once_and_only_hashes_are_kept(store, people):
    amina, _, _ = people
    session_id, handoff = store.start_web_session(amina.id, actor_id=amina.id)
    token = store.adopt_web_session(handoff)
    assert token and len(token) >= 43  # 256 random bits
    assert store.adopt_web_session(handoff) is None  # a second use (a replayed page) gets nothing
    person, found = store.web_session_person(token)
    assert (person.id, found) == (amina.id, session_id)
    with store.read() as s:
        row = s.get(WebSession, session_id)
        assert token not in (row.token_sha256, row.handoff_sha256) and row.handoff_sha256 is None


def test_junk_guesses_and_a_stale_hand_off_sign_nobody_in(store, people):
    amina, _, _ = people
    for junk in (None, "", "x" * 5000, 42, "ü" * 43, "A" * 43):
        assert store.adopt_web_session(junk) is None
        assert store.web_session_person(junk) is None
    _, handoff = store.start_web_session(amina.id, actor_id=amina.id)
    _age(store, "created_at", timedelta(seconds=HANDOFF_SECONDS + 1))  # the page sat open
    assert store.adopt_web_session(handoff) is None


def test_only_the_person_starts_their_session(store, people):
    amina, baraka, organiser = people
    for actor in (baraka.id, organiser.id, None, OPERATOR, True):
        with pytest.raises(Forbidden):
            store.start_web_session(amina.id, actor_id=actor)


def test_two_requests_racing_with_one_hand_off_get_one_token(store, people):
    amina, _, _ = people
    _, handoff = store.start_web_session(amina.id, actor_id=amina.id)
    barrier, tokens = threading.Barrier(4), []

    def adopt():
        barrier.wait()
        tokens.append(store.adopt_web_session(handoff))

    threads = [threading.Thread(target=adopt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len([t for t in tokens if t]) == 1


def test_sign_out_ends_one_browser_and_everywhere_ends_all(store, people):
    amina, baraka, organiser = people
    phone, phone_token = _signed_in(store, amina)
    laptop, laptop_token = _signed_in(store, amina)
    with pytest.raises(Forbidden):  # nobody else signs amina's phone out
        store.end_web_session(phone, actor_id=baraka.id)
    assert store.end_web_session(phone, actor_id=amina.id) is True
    assert store.web_session_person(phone_token) is None
    assert store.web_session_person(laptop_token)[0].id == amina.id
    assert store.end_web_session(phone, actor_id=amina.id) is False  # already ended
    _, third_token = _signed_in(store, amina)
    with pytest.raises(Forbidden):
        store.end_all_web_sessions(amina.id, actor_id=baraka.id)
    assert store.end_all_web_sessions(amina.id, actor_id=amina.id) == 2
    assert store.web_session_person(laptop_token) is None and store.web_session_person(third_token) is None
    _, again = _signed_in(store, amina)  # an organiser can sign a lost phone out too
    assert store.end_all_web_sessions(amina.id, actor_id=organiser.id) == 1
    assert store.web_session_person(again) is None
    actions = [e["action"] for e in store.audit_events(action_prefix="session.")]
    assert actions.count("session.end_all") == 2 and "session.end" in actions


def test_a_session_unused_for_its_idle_days_ends(store, people):
    amina, _, _ = people
    session_id, token = _signed_in(store, amina)
    _age(store, "last_seen_at", timedelta(days=31))
    assert store.web_session_person(token, idle_days=60)[0].id == amina.id  # a longer setting
    _age(store, "last_seen_at", timedelta(days=31))
    assert store.web_session_person(token) is None  # over 30 days of inactivity
    assert store.web_session_person(token, idle_days=365) is None  # and it stays ended
    with store.read() as s:
        assert s.scalar(select(WebSession.revoked_at).where(WebSession.id == session_id)) is not None


def test_a_withdrawn_person_still_comes_back_to_read_their_own_page(store, people):
    amina, _, _ = people
    _, token = _signed_in(store, amina)
    store.withdraw(amina.id, actor_id=amina.id)
    person, session_id = store.web_session_person(token)
    assert person.withdrawn_at is not None  # the pages refuse the rest, from the store
    assert store.end_web_session(session_id, actor_id=amina.id)  # and they can still sign out
    assert store.web_session_person(token) is None


def test_the_page_knows_when_its_hand_off_has_become_the_cookie(store, people):
    """The page posts its hand-off on every run until the store says it was used (or can no
    longer be): a run cut short must not leave a signed-in person without their cookie."""
    amina, _, _ = people
    session_id, handoff = store.start_web_session(amina.id, actor_id=amina.id)
    assert store.web_session_adopted(session_id) is False
    store.adopt_web_session(handoff)
    assert store.web_session_adopted(session_id) is True
    other, _ = store.start_web_session(amina.id, actor_id=amina.id)
    _age(store, "created_at", timedelta(seconds=HANDOFF_SECONDS + 1))
    assert store.web_session_adopted(other) is True  # stale: stop posting it
    assert store.web_session_adopted(None) is True and store.web_session_adopted(10**9) is True


def test_a_bad_idle_setting_is_named_in_the_log_and_the_default_used(monkeypatch, caplog):
    from jamii.web import session

    monkeypatch.setenv(session.IDLE_DAYS_ENV, "7")
    assert session.idle_days() == 7
    for bad in ("thirty", "0", "-5", "99999"):
        monkeypatch.setenv(session.IDLE_DAYS_ENV, bad)
        caplog.clear()
        assert session.idle_days() == 30
        assert "JAMII_SESSION_IDLE_DAYS" in caplog.text and "from 1 to 3650" in caplog.text
