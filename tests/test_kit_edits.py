"""An item edited in the field after an earlier bundle brought it to the central store
(issue 14: "an edit names its parent version; a stale parent is a conflict").

The author revises an item the central store already holds from the kit's first bundle. The
next bundle's edit names the version it replaced (by version and content hash): applied when the
central store still holds that very version, undecided; a conflict, listed and not applied,
when the central store changed or decided it meanwhile. An older bundle arriving after the
edit changes nothing.

Central stores on SQLite and PostgreSQL (the `store` fixture); the field store is SQLite.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from jamii.core.kit.bundles import merge_bundle, write_bundle
from jamii.core.records import ItemRevision
from jamii.core.store import OPERATOR
from tests.test_kit_create import ANSWER, central  # noqa: F401 - fixture
from tests.test_kit_field_trip import kit_out, nothing_added

FIRST = {"prompt": "Mahindi hupandwa lini Kitui?", "response": ANSWER, "task_type": "open_qa"}
FIELD_EDIT = {**FIRST, "response": "Mwanzoni mwa mvua za vuli, Oktoba au Novemba."}
CENTRAL_EDIT = {**FIRST, "response": "Baada ya mvua ya kwanza kunyesha vizuri."}


@contextmanager
def out_and_back_once(store, camp, people, tmp_path):
    """A kit goes out, Amina writes one item, the first bundle is merged; the block then acts
    with the field store still open (field, Amina there, the item's public id)."""
    with kit_out(store, camp.id, tmp_path) as field:
        amina = field.sign_in_with_code(people["amina"][1])
        item = field.submit_item(campaign_id=camp.id, author_id=amina.id, kind="prompt_response",
                                 language="sw", content=FIRST, client_key="edit-1").item
        write_bundle(field, tmp_path / "first.bundle", actor_id=OPERATOR)
        first = merge_bundle(store, tmp_path / "first.bundle", actor_id=OPERATOR)
        assert first.added["items"] == 1 and not first.conflicts
        yield field, amina, item.public_id


def second_bundle_merged(store, field, tmp_path):
    """The field's next bundle, written and merged: the merge's report."""
    write_bundle(field, tmp_path / "second.bundle", actor_id=OPERATOR)
    return merge_bundle(store, tmp_path / "second.bundle", actor_id=OPERATOR)


def revisions(store, public_id: str) -> list[tuple[int, dict]]:
    item_id = store.item(public_id).id
    with store.read() as s:
        return [(r.version, r.content) for r in s.scalars(
            select(ItemRevision).where(ItemRevision.item_id == item_id).order_by(ItemRevision.version))]


def test_a_field_edit_of_the_version_the_central_store_holds_is_applied(central, tmp_path):
    store, camp, people = central
    with out_and_back_once(store, camp, people, tmp_path) as (field, amina, public_id):
        field.accept_edit(field.item(public_id).id, amina.id, FIELD_EDIT)
        report = second_bundle_merged(store, field, tmp_path)
    assert not report.conflicts, report.conflicts
    assert report.edited == [{"public_id": public_id, "version": 2}]
    item = store.item(public_id)
    assert (item.version, item.content["response"], item.status) == (2, FIELD_EDIT["response"],
                                                                     "submitted")
    assert revisions(store, public_id) == [(1, FIRST)]  # the replaced version kept, as centrally
    # the same bundle again, and the older one arriving late: nothing changes, nothing listed
    for late in ("second", "first"):
        again = merge_bundle(store, tmp_path / f"{late}.bundle", actor_id=OPERATOR)
        assert nothing_added(again) and not again.conflicts and not again.edited, late
    assert store.item(public_id).version == 2 and len(revisions(store, public_id)) == 1


def test_an_edit_of_a_version_changed_centrally_meanwhile_is_a_listed_conflict(central, tmp_path):
    store, camp, people = central
    with out_and_back_once(store, camp, people, tmp_path) as (field, amina, public_id):
        # centrally, Amina (at the central office) revises her item; in the field, the same item
        store.accept_edit(store.item(public_id).id, people["amina"][0].id, CENTRAL_EDIT)
        field.accept_edit(field.item(public_id).id, amina.id, FIELD_EDIT)
        report = second_bundle_merged(store, field, tmp_path)
    [conflict] = report.conflicts
    assert conflict["public_id"] == public_id and "changed since" in conflict["why"]
    assert not report.edited
    assert store.item(public_id).content["response"] == CENTRAL_EDIT["response"]  # not overwritten


def test_an_edit_of_an_item_decided_centrally_meanwhile_is_a_listed_conflict(central, tmp_path):
    store, camp, people = central
    store.update_campaign(camp.id, acceptance_rule={"min_votes": 1, "tie_reject_at": 3},
                          actor_id=OPERATOR)
    with out_and_back_once(store, camp, people, tmp_path) as (field, amina, public_id):
        store.record_review(store.item(public_id).id, people["reviewer"].id, "approve")
        assert store.item(public_id).status == "accepted"
        field.accept_edit(field.item(public_id).id, amina.id, FIELD_EDIT)
        report = second_bundle_merged(store, field, tmp_path)
    [conflict] = report.conflicts
    assert conflict["public_id"] == public_id and "decided" in conflict["why"]
    item = store.item(public_id)
    assert (item.status, item.version, item.content) == ("accepted", 1, FIRST)


def test_an_edit_that_names_no_parent_is_a_stale_parent(central, tmp_path, monkeypatch):
    """A hand-edited laptop (or an older jamii) sends a new version without naming the one it
    replaced: never applied on trust."""
    from jamii.core.store import _kit_merge

    store, camp, people = central
    with out_and_back_once(store, camp, people, tmp_path) as (field, amina, public_id):
        field.accept_edit(field.item(public_id).id, amina.id, FIELD_EDIT)
        monkeypatch.setattr(_kit_merge.KitMergeStore, "_earlier_versions",
                            staticmethod(lambda s, items: {}))
        report = second_bundle_merged(store, field, tmp_path)
    [conflict] = report.conflicts
    assert "stale parent" in conflict["why"]
    assert store.item(public_id).content == FIRST


def test_a_field_review_of_an_edit_that_was_not_applied_is_not_counted(central, tmp_path):
    """Centrally and in the field the item reached version 2, with different texts. The field
    reviewer's approval of the field's version 2 must not count as a vote on the central one,
    which they never read."""
    store, camp, people = central
    store.update_campaign(camp.id, acceptance_rule={"min_votes": 1, "tie_reject_at": 3},
                          actor_id=OPERATOR)
    with out_and_back_once(store, camp, people, tmp_path) as (field, amina, public_id):
        store.accept_edit(store.item(public_id).id, people["amina"][0].id, CENTRAL_EDIT)
        field.accept_edit(field.item(public_id).id, amina.id, FIELD_EDIT)
        reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
        field.record_review(field.item(public_id).id, reviewer.id, "approve")
        assert field.item(public_id).status == "accepted"  # in the field, on its own text
        report = second_bundle_merged(store, field, tmp_path)
    assert {c["table"] for c in report.conflicts} == {"items", "reviews"}
    assert report.added["reviews"] == 0
    item = store.item(public_id)
    assert (item.status, item.content["response"]) == ("submitted", CENTRAL_EDIT["response"])
    assert store.reviews_of(item.id) == []


def test_an_edit_takes_away_the_organisers_personal_data_clearance(central, tmp_path):
    """An organiser cleared the first text's flagged number ("a public hotline"). Their word
    was about that text: an edit, made centrally or in the field, is scanned afresh at release,
    so a personal number written into it is never published on the old clearance."""
    store, camp, people = central
    organiser, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    with out_and_back_once(store, camp, people, tmp_path) as (field, amina, public_id):
        store.clear_pii([store.item(public_id).id], actor_id=organiser.id, note="public hotline")
        assert store.item(public_id).pii_cleared_by == organiser.id
        field.accept_edit(field.item(public_id).id, amina.id, FIELD_EDIT)
        report = second_bundle_merged(store, field, tmp_path)
    assert report.edited and store.item(public_id).pii_cleared_by is None
    # the same for an edit made centrally
    store.clear_pii([store.item(public_id).id], actor_id=organiser.id, note="public hotline")
    store.accept_edit(store.item(public_id).id, people["amina"][0].id, CENTRAL_EDIT)
    assert store.item(public_id).pii_cleared_by is None
