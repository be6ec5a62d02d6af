"""The store checks who acts on every mutation, whoever its caller is (issue 10, item 6).

Every public method of `Store` is listed here as a reader or a mutator: a method added
without being listed fails the first test, so none can slip past the actor check. Each
mutator is called with a plain contributor, a withdrawn organiser and no one (None) as the
actor; each call must be refused with `Forbidden` and change nothing in any table. The same
call by the right actor then succeeds, so the refusals are about the actor, not the call.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from sqlalchemy import MetaData, select

from jamii.core.store import OPERATOR, Forbidden, Store, StoreError

READERS = {
    "active_consent", "audit_events", "check_actor", "campaign", "campaigns", "compensation_totals",
    "consent_text", "consent_texts", "consents_of", "contributor", "contributor_by_pseudonym",
    "contributors", "earnings", "find_same_content", "flagged_items", "item", "item_counts",
    "items", "latest_rubric", "ledger", "ledger_count", "ledger_ids", "ledger_rows",
    "ledger_totals", "my_items", "open_review_count", "own_data", "people_overview",
    "profile_counts", "rate_card", "rate_cards", "rate_cards_by_id", "release_audio",
    "release_candidates",
    "release_consent_texts", "release_contents", "release_exists", "release_partitions",
    "release_profile_counts", "release_rate_cards", "release_reviewer_ids",
    "release_status_counts", "release_withdrawn_people",
    "releases", "review_queue", "review_queue_for", "review_votes", "reviews_by_item",
    "reviews_of", "status_counts", "language_ok", "audio_path", "demo_people_active",
    "rating_settings", "may_rate", "rating_queue_for", "open_rating_count", "open_rating_tasks",
    "pairwise_votes", "direct_ratings", "rating_progress", "ratings_stamp", "reviews_stamp", "rated_values", "web_session_active",
    "web_session_adopted", "draft", "session_idle_days", "field_kit", "kits",
    "kit_records", "kit_token_ok",
    "api_tokens",
    "gold_results", "rating_task_models", "viewer_records",
}
"""Methods that read records and change none."""

INFRASTRUCTURE = {"open", "close", "read", "write", "tables"}
"""Opening, closing and transactions: library plumbing, not a user's action (`write` hands
the caller a raw session; only the store's own modules and test set-up use it)."""

BEFORE_SIGN_IN = {"sign_in_with_code", "sign_in_with_password", "sign_in_clock", "adopt_web_session",
                  "web_session_person", "api_token_campaign"}
"""Sign-in: there is no actor yet; guessing is throttled instead (core/store/_signin.py), and a
web session is found by the 256-bit secret the browser holds (core/store/_web_sessions.py)."""

EMPTY_STORE_ONLY = {"load_kit"}
"""Refused on any store that holds a campaign (as this module's world does), so its actor
check is tested where a store is new: tests/test_kit_create.py (a contributor is refused)."""

FIELD_STORE_ONLY = {"apply_kit_news"}
"""Refused on a store not made from a kit (this module's world is central), so its actor check
is tested on a field store: tests/test_kit_news.py (a contributor is refused, nothing changes)."""

FILES = {"save_audio"}
"""Writes a content-addressed audio file that no record points to until `submit_item`
(which checks its author) stores the item; the file alone is in no release or page."""


@dataclass
class World:
    store: Store
    campaign: int
    organiser: int
    withdrawn_organiser: int
    contributor: int
    other: int
    reviewer: int
    newcomer: int
    consent_text: int
    item: int
    entry: int
    task: int
    task_public_id: str
    release_version: str = "1.0.0"
    web_session: int = 0
    """A signed-in browser session of `other`."""


PHONE = "+255712345678"


@pytest.fixture
def world(store) -> World:
    camp = store.create_campaign("kilimo", "Kilimo", languages=["sw"], domains=["agriculture"],
                                 consent_scopes=["open_publication"], actor_id=OPERATOR)
    ct = store.add_consent_text(camp.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    store.set_rate_card(camp.id, {"review": {"amount": 10, "unit": "KES"}}, actor_id=OPERATOR)

    def person(roles, **kw):
        who, _ = store.add_contributor(roles=roles, actor_id=OPERATOR, **kw)
        return who.id

    org = person(["organiser"])
    gone = person(["organiser"])
    alice, bob, newcomer = person(["contributor"]), person(["contributor"]), person(["contributor"])
    rev = person(["reviewer"], phone=PHONE)
    for who in (alice, bob, rev, gone):
        store.accept_consent(who, ct.id, {"open_publication": True})
    store.withdraw(gone, actor_id=OPERATOR, reason="left the project")
    item = store.submit_item(campaign_id=camp.id, author_id=bob, kind="prompt_response",
                             language="sw", content=_content("Mvua za masika huanza lini?"),
                             client_key="k-bob-1").item
    store.record_review(item.id, rev, "approve")  # one vote: the item stays open
    entry = store.ledger(camp.id)[0].id
    store.move_payments([entry], "approved", actor_id=OPERATOR)
    store.record_release(camp.id, "1.0.0", "cc-by-4.0", item_versions={}, withdrawn_ids=[],
                         bundle_sha256="0" * 64, actor_id=OPERATOR)
    asked = store.submit_item(campaign_id=camp.id, author_id=bob, kind="contextual", language="sw",
                              content=_contextual(), client_key="k-bob-ctx", accepted=True,
                              actor_id=OPERATOR).item
    store.queue_rating_tasks(camp.id, [_answer(asked, "hf:a", "Panda mwezi wa tatu."),
                                       _answer(asked, "hf:b", "Subiri mvua ya kwanza.")],
                             mode="pairwise", actor_id=OPERATOR)
    task = store.open_rating_tasks(camp.id)[0]
    web_session, _ = store.start_web_session(bob, actor_id=bob)
    store.save_draft(bob, camp.id, "cx", {"cx_question": "Nipande lini?"}, actor_id=bob)
    store.issue_kit(camp.id, actor_id=OPERATOR, note="Kitui hall")
    store.issue_api_token(camp.id, "Kitui laptop", actor_id=org)
    return World(store, camp.id, org, gone, alice, bob, rev, newcomer, ct.id, item.id, entry,
                 task.task_id, task.public_id, web_session=web_session)


def _contextual() -> dict[str, Any]:
    return {"scenario": "Mkulima wa Kitui sokoni", "persona": "Mkulima mdogo",
            "question": "Nipande mahindi lini?", "reference_answers": ["Panda mvua zikianza."],
            "rubric": [{"name": "usefulness", "anchors": ["1", "2", "3", "4", "5"]}]}


def _answer(item, model: str, text: str) -> dict[str, Any]:
    return {"item_id": item.public_id, "item_version": item.version, "model_id": model,
            "answer": text, "dataset": "kilimo@1.0.0"}


def _content(prompt: str) -> dict[str, Any]:
    return {"prompt": prompt, "response": "Kwa kawaida mwezi wa tatu hadi wa tano.",
            "task_type": "open_qa"}


def _import_row(key: str) -> dict[str, Any]:
    return {"kind": "prompt_response", "language": "sw", "content": _content(f"Swali {key}?"),
            "client_key": key, "provenance": {"source": "import", "file": "x.csv"}}


@dataclass(frozen=True)
class Mutator:
    call: Callable[[World, Any], Any]
    """Make the call with this actor; everything else in it is valid."""
    good: Callable[[World], Any] = lambda w: OPERATOR
    """An actor for whom the same call succeeds."""
    plain_contributor: bool = True
    """False where the actor is the person the call is about (accepting one's own consent)."""


MUTATORS: dict[str, Mutator] = {
    "create_campaign": Mutator(lambda w, a: w.store.create_campaign(
        "afya", "Afya", languages=["sw"], actor_id=a)),
    "update_campaign": Mutator(lambda w, a: w.store.update_campaign(
        w.campaign, name="Kilimo bora", actor_id=a)),
    "set_rate_card": Mutator(lambda w, a: w.store.set_rate_card(
        w.campaign, {"review": {"amount": 1000, "unit": "KES"}}, actor_id=a)),
    "add_contributor": Mutator(lambda w, a: w.store.add_contributor(
        roles=["organiser"], pseudonym="mpya", actor_id=a)),
    "set_password": Mutator(lambda w, a: w.store.set_password(
        w.other, "bob", "a long enough secret", actor_id=a)),
    "set_roles": Mutator(lambda w, a: w.store.set_roles(w.other, ["organiser"], actor_id=a)),
    "update_profile": Mutator(lambda w, a: w.store.update_profile(
        w.other, region="Pwani", actor_id=a)),
    "withdraw": Mutator(lambda w, a: w.store.withdraw(w.other, actor_id=a, reason="no")),
    "add_consent_text": Mutator(lambda w, a: w.store.add_consent_text(
        w.campaign, "2", "sw", "Nakubali tena.", actor_id=a)),
    "accept_consent": Mutator(
        lambda w, a: w.store.accept_consent(a, w.consent_text, {"open_publication": True}),
        good=lambda w: w.newcomer, plain_contributor=False),
    "submit_item": Mutator(lambda w, a: w.store.submit_item(
        campaign_id=w.campaign, author_id=w.contributor, kind="prompt_response", language="sw",
        content=_content("Mbolea ya samadi huwekwa lini?"), client_key="k-accepted",
        accepted=True, actor_id=a)),
    "submit_items_bulk": Mutator(lambda w, a: w.store.submit_items_bulk(
        campaign_id=w.campaign, author_id=w.contributor, items=[_import_row("imp-1")],
        actor_id=a)),
    "import_author": Mutator(lambda w, a: w.store.import_author("import-abc", actor_id=a)),
    "record_review": Mutator(lambda w, a: w.store.record_review(
        w.item, a, "reject", reasons=["unclear"]), good=lambda w: w.organiser),
    "accept_edit": Mutator(lambda w, a: w.store.accept_edit(
        w.item, a, {"prompt": "Masika huanza mwezi gani?"}), good=lambda w: w.other),
    "move_payments": Mutator(lambda w, a: w.store.move_payments(
        [w.entry], "paid", reference="MPESA-1", actor_id=a)),
    "payout_csv": Mutator(lambda w, a: w.store.payout_csv(w.campaign, actor_id=a)),
    "clear_pii": Mutator(lambda w, a: w.store.clear_pii([w.item], actor_id=a, note="a hotline"),
                         good=lambda w: w.organiser),
    "record_release": Mutator(lambda w, a: w.store.record_release(
        w.campaign, "2.0.0", "cc-by-4.0", item_versions={}, withdrawn_ids=[],
        bundle_sha256="1" * 64, actor_id=a)),
    "record_publication": Mutator(lambda w, a: w.store.record_publication(
        w.campaign, "1.0.0", "org/kilimo", "abc123", actor_id=a)),
    "set_rating_settings": Mutator(lambda w, a: w.store.set_rating_settings(
        w.campaign, raters="consented", actor_id=a)),
    "queue_rating_tasks": Mutator(lambda w, a: w.store.queue_rating_tasks(
        w.campaign, [_rows_of(w)], actor_id=a)),
    "add_gold_tasks": Mutator(lambda w, a: w.store.add_gold_tasks(w.campaign, 1, actor_id=a)),
    "mark_gold": Mutator(lambda w, a: w.store.mark_gold(w.task, "a", actor_id=a)),
    "record_rating": Mutator(lambda w, a: w.store.record_rating(
        w.task, w.reviewer, choice="a", actor_id=a), good=lambda w: w.reviewer),
    "start_web_session": Mutator(lambda w, a: w.store.start_web_session(w.other, actor_id=a),
                                 good=lambda w: w.other),
    "end_web_session": Mutator(lambda w, a: w.store.end_web_session(w.web_session, actor_id=a),
                               good=lambda w: w.other),
    "end_all_web_sessions": Mutator(lambda w, a: w.store.end_all_web_sessions(w.other, actor_id=a)),
    "save_draft": Mutator(lambda w, a: w.store.save_draft(
        w.other, w.campaign, "pr", {"pr_prompt": "Habari za shamba"}, actor_id=a), good=lambda w: w.other),
    "clear_draft": Mutator(lambda w, a: w.store.clear_draft(w.other, w.campaign, "cx", actor_id=a),
                           good=lambda w: w.other),
    "issue_kit": Mutator(lambda w, a: w.store.issue_kit(w.campaign, actor_id=a)),
    "merge_kit_rows": Mutator(lambda w, a: w.store.merge_kit_rows(
        w.store.kits(w.campaign)[0].id, "people", [], actor_id=a)),
    "kit_news": Mutator(lambda w, a: w.store.kit_news(w.store.kits(w.campaign)[0].id, actor_id=a)),
    "issue_api_token": Mutator(lambda w, a: w.store.issue_api_token(w.campaign, actor_id=a),
                               good=lambda w: w.organiser),
    "revoke_api_token": Mutator(lambda w, a: w.store.revoke_api_token(
        w.store.api_tokens(w.campaign, actor_id=OPERATOR)[0].id, actor_id=a)),
    "set_session_idle_days": Mutator(lambda w, a: w.store.set_session_idle_days(7, actor_id=a)),
    "record_sheet_ratings": Mutator(lambda w, a: w.store.record_sheet_ratings(
        w.campaign, [{"row": 2, "task": w.task_public_id, "rater": _pseudonym(w, w.reviewer),
                      "choice": "b"}], actor_id=a)),
}


def _rows_of(w: World) -> dict[str, Any]:
    item = next(i for i in w.store.items(w.campaign) if i.kind == "contextual")
    return _answer(item, "hf:c", "Jibu jipya")


def _pseudonym(w: World, person: int) -> str:
    return w.store.contributor(person).pseudonym


def _public_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(Store, callable) if not name.startswith("_")}


def snapshot(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table: any insert, update or delete shows as a difference."""
    meta = MetaData()
    meta.reflect(store.engine)
    with store.engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
                for name, table in meta.tables.items()}


def test_every_public_method_is_classified():
    lists = [READERS, INFRASTRUCTURE, BEFORE_SIGN_IN, FILES, EMPTY_STORE_ONLY, FIELD_STORE_ONLY,
             set(MUTATORS)]
    classified = set().union(*lists)
    unlisted = _public_methods() - classified
    assert not unlisted, (f"classify {sorted(unlisted)} in tests/test_store_actors.py: a reader, "
                          "or a mutator (with the actor check) in MUTATORS")
    assert not (classified - _public_methods()), "a listed method no longer exists"
    assert sum(map(len, lists)) == len(classified), "a method is listed twice"


@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_mutator_refuses_wrong_actors_and_changes_nothing(world, name):
    m = MUTATORS[name]
    actors = {"a withdrawn organiser": world.withdrawn_organiser, "no one": None}
    if m.plain_contributor:
        actors["a plain contributor"] = world.contributor
    before = snapshot(world.store)
    for label, actor in actors.items():
        with pytest.raises(Forbidden):
            m.call(world, actor)
        assert snapshot(world.store) == before, f"{name} by {label} changed the store"
    m.call(world, m.good(world))  # the same call by the right actor goes through
    assert snapshot(world.store) != before


@pytest.mark.parametrize("name", sorted(n for n, m in MUTATORS.items()
                                        if "actor_id" in inspect.signature(getattr(Store, n)).parameters
                                        and n != "submit_item"))
def test_a_missing_actor_is_a_type_error(world, name):
    """No default grants power: leaving the actor out is a programming error, not the operator."""
    kwargs = {p.name: None for p in inspect.signature(getattr(Store, name)).parameters.values()
              if p.kind is p.KEYWORD_ONLY and p.default is p.empty and p.name != "actor_id"}
    args = [None] * sum(1 for p in inspect.signature(getattr(Store, name)).parameters.values()
                        if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty
                        and p.name != "self")
    with pytest.raises(TypeError, match="actor_id"):
        getattr(world.store, name)(*args, **kwargs)


# --- the issue's examples, before and after ---------------------------------------------------
def test_a_contributor_cannot_make_themself_organiser(world):
    store = world.store
    with pytest.raises(Forbidden, match="Only organisers"):
        store.set_roles(world.contributor, ["organiser"], actor_id=world.contributor)
    assert store.contributor(world.contributor).roles == ["contributor"]
    assert not store.audit_events(action_prefix="contributor.roles")
    store.set_roles(world.contributor, ["contributor", "reviewer"], actor_id=world.organiser)
    assert store.contributor(world.contributor).roles == ["contributor", "reviewer"]
    [event] = store.audit_events(action_prefix="contributor.roles")
    assert event["actor"] == store.contributor(world.organiser).pseudonym


def test_a_withdrawn_author_cannot_resubmit_an_edit(world):
    store = world.store
    assert store.accept_edit(world.item, world.other, {"prompt": "Masika huanza lini?"}).version == 2
    store.withdraw(world.other, actor_id=world.other, reason="")
    before = store.item(world.item)
    with pytest.raises(Forbidden, match="withdrawn"):
        store.accept_edit(world.item, world.other, {"prompt": "Masika huanza mwezi gani?"})
    after = store.item(world.item)
    assert (after.version, after.content) == (2, before.content)


def test_a_contributor_cannot_withdraw_someone_else(world):
    store = world.store
    with pytest.raises(Forbidden):
        store.withdraw(world.other, actor_id=world.contributor, reason="spite")
    assert store.contributor(world.other).withdrawn_at is None
    assert store.active_consent(world.other, world.campaign) is not None
    store.withdraw(world.contributor, actor_id=world.contributor, reason="")  # themself: yes
    assert store.contributor(world.contributor).withdrawn_at is not None


def test_a_contributor_cannot_export_payment_accounts(world):
    store = world.store
    with pytest.raises(Forbidden) as refused:
        store.payout_csv(world.campaign, actor_id=world.contributor)
    assert PHONE not in str(refused.value) and PHONE not in repr(refused.value)
    assert not store.audit_events(action_prefix="payout.export")
    assert PHONE in store.payout_csv(world.campaign, actor_id=world.organiser)


def test_privileged_submission_needs_an_organiser(world):
    """An author may submit their own item, not store it as accepted or as cleared of PII."""
    store = world.store
    common = dict(campaign_id=world.campaign, author_id=world.contributor, kind="prompt_response",
                  language="sw", content=_content("Mahindi hupandwa lini?"))
    with pytest.raises(Forbidden):
        store.submit_item(client_key="k1", pii_cleared_by=world.contributor, **common)
    with pytest.raises(Forbidden):  # the clearance must name an organiser, not the operator's
        store.submit_item(client_key="k1", pii_cleared_by=world.contributor,
                          actor_id=OPERATOR, **common)
    assert not store.items(world.campaign, author_id=world.contributor)
    done = store.submit_item(client_key="k1", pii_cleared_by=world.organiser, accepted=True,
                             actor_id=world.organiser, **common)
    assert (done.item.status, done.item.pii_cleared_by) == ("accepted", world.organiser)
    plain = store.submit_item(client_key="k2", **{**common, "content": _content("Na mtama?")})
    assert plain.item.status == "submitted"


def test_operator_actions_are_audited_as_the_operator(world):
    store = world.store
    store.set_roles(world.contributor, ["reviewer"], actor_id=OPERATOR)
    [event] = store.audit_events(action_prefix="contributor.roles")
    assert event["actor"] == "" and event["details"]["operator"] is True


def test_the_operator_cannot_clear_personal_data_alone(world):
    with pytest.raises(Forbidden, match="Name the organiser"):
        world.store.clear_pii([world.item], actor_id=OPERATOR, note="public hotline")
    assert world.store.item(world.item).pii_cleared_by is None


# --- free text the store takes is checked before anything is written -----------------------------
BAD_VALUES = {"NUL": "Kilimo\x00bora", "bidi override": "Kilimo \u202ebora",
              "zero-width only": "\u200b\u200b"}

TEXT_FIELDS: dict[str, tuple[str, Callable[[World, str], Any]]] = {
    "campaign slug": ("short name", lambda w, v: w.store.create_campaign(
        v, "Afya", languages=["sw"], actor_id=OPERATOR)),
    "campaign name": ("name", lambda w, v: w.store.create_campaign(
        "afya", v, languages=["sw"], actor_id=OPERATOR)),
    "campaign description": ("description", lambda w, v: w.store.create_campaign(
        "afya", "Afya", languages=["sw"], description=v, actor_id=OPERATOR)),
    "campaign dialect": ("dialect of sw", lambda w, v: w.store.create_campaign(
        "afya", "Afya", languages=["sw"], dialects={"sw": ["Kiunguja", v]}, actor_id=OPERATOR)),
    "campaign domain": ("domain", lambda w, v: w.store.create_campaign(
        "afya", "Afya", languages=["sw"], domains=["health", v], actor_id=OPERATOR)),
    "new campaign name": ("name", lambda w, v: w.store.update_campaign(
        w.campaign, name=v, actor_id=OPERATOR)),
    "new description": ("description", lambda w, v: w.store.update_campaign(
        w.campaign, description=v, actor_id=OPERATOR)),
    "new dialects": ("dialect of sw", lambda w, v: w.store.update_campaign(
        w.campaign, dialects={"sw": [v]}, actor_id=OPERATOR)),
    "new domains": ("domain", lambda w, v: w.store.update_campaign(
        w.campaign, domains=[v], actor_id=OPERATOR)),
    "person's name": ("name", lambda w, v: w.store.add_contributor(name=v, actor_id=OPERATOR)),
    "login name": ("login name", lambda w, v: w.store.add_contributor(
        login_name=v, password="a long enough secret", actor_id=OPERATOR)),
    "pseudonym": ("pseudonym", lambda w, v: w.store.add_contributor(pseudonym=v,
                                                                     actor_id=OPERATOR)),
    "phone": ("phone", lambda w, v: w.store.add_contributor(phone=v, actor_id=OPERATOR)),
    "profile at sign-up": ("region", lambda w, v: w.store.add_contributor(
        region=v, actor_id=OPERATOR)),
    "region": ("region", lambda w, v: w.store.update_profile(
        w.contributor, region=v, actor_id=w.contributor)),
    "gender": ("gender", lambda w, v: w.store.update_profile(
        w.contributor, gender=v, actor_id=w.contributor)),
    "profile dialect": ("dialect", lambda w, v: w.store.update_profile(
        w.contributor, dialect=v, actor_id=w.contributor)),
    "compensation choice": ("compensation choice", lambda w, v: w.store.update_profile(
        w.contributor, compensation_choice=v, actor_id=w.contributor)),
    "password login": ("login name", lambda w, v: w.store.set_password(
        w.contributor, v, "a long enough secret", actor_id=w.contributor)),
    "rate unit": ("unit of review", lambda w, v: w.store.set_rate_card(
        w.campaign, {"review": {"amount": 5, "unit": v}}, actor_id=OPERATOR)),
    "consent text": ("consent text", lambda w, v: w.store.add_consent_text(
        w.campaign, "2", "sw", v, actor_id=OPERATOR)),
    "consent version": ("consent version", lambda w, v: w.store.add_consent_text(
        w.campaign, v, "sw", "Nakubali tena.", actor_id=OPERATOR)),
    "withdrawal reason": ("reason", lambda w, v: w.store.withdraw(
        w.contributor, reason=v, actor_id=w.contributor)),
    "payout reference": ("payout reference", lambda w, v: w.store.move_payments(
        [w.entry], "paid", reference=v, actor_id=OPERATOR)),
    "clearance note": ("note", lambda w, v: w.store.clear_pii(
        [w.item], note=v, actor_id=w.organiser)),
    "import pseudonym": ("pseudonym", lambda w, v: w.store.import_author(v, actor_id=OPERATOR)),
}


@pytest.mark.parametrize("field", sorted(TEXT_FIELDS))
def test_bad_text_is_refused_naming_the_field(world, field):
    label, call = TEXT_FIELDS[field]
    before = snapshot(world.store)
    for what, value in BAD_VALUES.items():
        with pytest.raises(StoreError) as refused:
            call(world, value)
        assert not isinstance(refused.value, Forbidden)
        assert f"The {label} " in str(refused.value), (what, str(refused.value))
        assert snapshot(world.store) == before, f"{field} with {what} changed the store"
    call(world, "Pwani ya Kaskazini")  # an ordinary value goes through
