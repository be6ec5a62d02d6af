"""`POST /drafts` (web/draft_route.py) on a real `jamii collect`: the texts a page's script
sends as they are typed become its person's draft, merged with what the server kept; nobody
else's page, no page without the session cookie, and nothing a form could not have typed."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))

import _jamii_browser as jb  # noqa: E402
from test_serve import serving  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from jamii.core.store import OPERATOR, Store

    data = tmp_path_factory.mktemp("drafts-route") / "data"
    jb.init_store(data)
    store = Store(f"sqlite:///{data / 'jamii.sqlite3'}", data / "audio")
    camp = store.campaigns()[0].id
    people = []
    for _ in range(2):
        person, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
        _, handoff = store.start_web_session(person.id, actor_id=person.id)
        people.append((person.id, store.adopt_web_session(handoff)))
    with serving(data, "collect") as url:
        yield url, store, camp, people
    store.close()


def post(url: str, body: object, *, token: str | None, origin: str | None = "same") -> int:
    host = url.split("://", 1)[1]
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = f"http://{host}" if origin == "same" else origin
    if token:
        headers["Cookie"] = f"jamii_session={token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/drafts", data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_typed_texts_join_the_persons_draft(world):
    url, store, camp, [(amina, token), _] = world
    store.save_draft(amina, camp, "pr", {"pr_task_type": "open_qa", "_key": "pr:1"}, actor_id=amina)
    body = {"form": "pr", "campaign": camp, "fields": {"pr_prompt": "Mvua za masika huanza lini?",
                                                       "pr_response": "", "_key": "pr:1"}}
    assert post(url, body, token=token) == 204
    assert store.draft(amina, camp, "pr", actor_id=amina).fields == {
        "pr_task_type": "open_qa", "pr_prompt": "Mvua za masika huanza lini?", "pr_response": "",
        "_key": "pr:1"}


def test_only_the_apps_own_pages_with_a_live_session_may_post(world):
    url, store, camp, [_, (baraka, token)] = world
    body = {"form": "cx", "campaign": camp, "fields": {"cx_question": "Nipande lini?"}}
    assert post(url, body, token=token, origin="https://evil.example") == 403
    assert post(url, body, token=token, origin=None) == 403
    assert post(url, body, token=None) == 403
    assert post(url, body, token="A" * 43) == 403  # a forged cookie signs nobody in
    assert store.draft(baraka, camp, "cx", actor_id=baraka) is None
    assert post(url, body, token=token) == 204
    assert store.draft(baraka, camp, "cx", actor_id=baraka).fields == {"cx_question": "Nipande lini?"}


@pytest.mark.parametrize("body", [
    b"not json",
    b"\xff\xfe",
    {"form": "pr", "campaign": 1},
    {"form": "PR", "campaign": 1, "fields": {}},
    {"form": "pr", "campaign": True, "fields": {}},
    {"form": "pr", "campaign": 1, "fields": {"cx_question": "another form's field"}},
    {"form": "pr", "campaign": 1, "fields": {"pr_prompt": ["not", "text"]}},
    {"form": "pr", "campaign": 1, "fields": {"pr_prompt": None}},
    {"form": "pr", "campaign": 99999, "fields": {"pr_prompt": "no such campaign"}},
    {"form": "pr", "campaign": 1, "fields": {f"pr_{i}": "x" for i in range(150)}},
    {"form": "pr", "campaign": 1, "fields": {"pr_prompt": "x" * 600_000}},
])
def test_what_no_form_typed_is_refused_and_nothing_is_kept(world, body):
    url, store, camp, [_, (baraka, token)] = world
    store.clear_draft(baraka, camp, "pr", actor_id=baraka)
    if isinstance(body, dict) and type(body.get("campaign")) is int and body["campaign"] == 1:
        body = {**body, "campaign": camp}
    assert post(url, body, token=token) == 400
    assert store.draft(baraka, camp, "pr", actor_id=baraka) is None


def test_a_withdrawn_person_keeps_no_draft(world):
    from jamii.core.store import OPERATOR

    url, store, camp, _ = world
    person, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    _, handoff = store.start_web_session(person.id, actor_id=person.id)
    token = store.adopt_web_session(handoff)
    store.withdraw(person.id, actor_id=person.id)
    body = {"form": "pr", "campaign": camp, "fields": {"pr_prompt": "baada ya kujiondoa"}}
    assert post(url, body, token=token) == 400
    assert store.own_data(person.id)["drafts"] == []


def test_empty_texts_empty_a_draft_but_start_none(world):
    """A post that lands after a submit cleared the draft (typed a moment before the tap)
    must not leave an empty draft behind; emptying a live draft's text is kept."""
    url, store, camp, [(amina, token), _] = world
    store.clear_draft(amina, camp, "sp", actor_id=amina)
    empty = {"form": "sp", "campaign": camp, "fields": {"sp_transcript": " ", "_key": "sp:2"}}
    assert post(url, empty, token=token) == 204
    assert store.draft(amina, camp, "sp", actor_id=amina) is None
    typed = {"form": "sp", "campaign": camp, "fields": {"sp_transcript": "Habari", "_key": "sp:2"}}
    assert post(url, typed, token=token) == 204
    assert post(url, empty, token=token) == 204
    assert store.draft(amina, camp, "sp", actor_id=amina).fields["sp_transcript"] == " "


def test_typing_keeps_the_session_cookie_alive(world):
    """A person writing for hours without a page load stays signed in: each kept draft sets
    the cookie again for a fresh idle period; a refused post sets nothing."""
    url, _, camp, [(amina, token), _] = world
    host = url.split("://", 1)[1]

    def send(body: dict, cookie: str) -> tuple[int, str | None]:
        request = urllib.request.Request(
            f"{url}/drafts", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Origin": f"http://{host}",
                     "Cookie": f"jamii_session={cookie}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers.get("set-cookie")
        except urllib.error.HTTPError as refused:
            return refused.code, refused.headers.get("set-cookie")

    body = {"form": "pr", "campaign": camp, "fields": {"pr_prompt": "Bado naandika..."}}
    status, cookie = send(body, token)
    assert status == 204 and cookie and cookie.startswith(f"jamii_session={token};")
    assert f"Max-Age={30 * 86400}" in cookie and "HttpOnly" in cookie
    assert send(body, "B" * 43) == (403, None)
