"""The store's `core/store/_people.py`: contributors, sign-in codes, passwords, roles, profiles.

On SQLite and on PostgreSQL (the `store` fixture runs each test on both), on a real,
migrated store. Nothing is mocked.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from jamii.core.records import ContributorContact
from jamii.core.store import OPERATOR, StoreError


# --------------------------------------------------------------------------------- contributors


def test_invite_code_sign_in_ignores_case_and_dashes(store):
    person, code = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    assert len(code.replace("-", "")) == 12
    assert store.sign_in_with_code(code).id == person.id
    assert store.sign_in_with_code(code.lower().replace("-", "")).id == person.id
    assert store.sign_in_with_code(" " + code.lower().replace("-", " ") + " ").id == person.id
    assert store.sign_in_with_code("AAAA-BBBB-CCCC") is None
    assert store.sign_in_with_code("") is None
    with store.read() as s:  # stored hashed, never in clear
        raw = s.execute(text("SELECT invite_code_sha256 FROM contributors")).scalar()
    assert code not in raw and len(raw) == 64


def test_password_sign_in_stores_only_an_argon2_hash(store):
    person, _ = store.add_contributor(roles=["organiser"], login_name="amina",
                                      password="mahindi-na-maharage", actor_id=OPERATOR)
    with store.read() as s:
        stored = s.execute(text("SELECT password_hash FROM contributor_contacts")).scalar()
    assert stored.startswith("$argon2")
    assert "mahindi-na-maharage" not in stored
    assert store.sign_in_with_password("amina", "mahindi-na-maharage").id == person.id
    assert store.sign_in_with_password("amina", "wrong-password!") is None
    assert store.sign_in_with_password("nobody", "mahindi-na-maharage") is None


def test_set_password_requires_length_and_unique_login(store):
    a, _ = store.add_contributor(roles=["organiser"], login_name="amina", password="x" * 12,
                                 actor_id=OPERATOR)
    b, _ = store.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    with pytest.raises(StoreError, match="10 characters"):
        store.set_password(b.id, "baraka", "short", actor_id=a.id)
    with pytest.raises(StoreError, match="taken"):
        store.set_password(b.id, "amina", "long-enough-pw", actor_id=a.id)
    store.set_password(b.id, "baraka", "long-enough-pw", actor_id=a.id)
    assert store.sign_in_with_password("baraka", "long-enough-pw").id == b.id
    with pytest.raises(StoreError, match="taken"):
        store.add_contributor(login_name="amina", password="y" * 12, actor_id=OPERATOR)


def test_contact_details_live_only_in_contributor_contacts(store):
    person, _ = store.add_contributor(roles=["contributor"], name="Baraka Mwangi",
                                      email="baraka@example.org", phone="+254712345678",
                                      gender="man", region="Kitui", actor_id=OPERATOR)
    with store.read() as s:
        row = s.execute(text("SELECT * FROM contributors")).mappings().one()
        contact = s.get(ContributorContact, person.id)
    flat = " ".join(str(v) for v in row.values())
    for private in ("Baraka", "baraka@example.org", "+254712345678"):
        assert private not in flat
    assert "name" not in row and "email" not in row and "phone" not in row
    assert (contact.name, contact.email, contact.phone) == (
        "Baraka Mwangi", "baraka@example.org", "+254712345678")
    assert row["gender"] == "man" and row["pseudonym"].startswith("c-")


def test_roles_and_profile_are_validated(store):
    with pytest.raises(StoreError, match="Unknown role"):
        store.add_contributor(roles=["admin"], actor_id=OPERATOR)
    with pytest.raises(StoreError, match="Unknown profile field"):
        store.add_contributor(roles=["contributor"], shoe_size="42", actor_id=OPERATOR)
    with pytest.raises(StoreError, match="compensation method"):
        store.add_contributor(roles=["contributor"], compensation_method="cheque",
                              actor_id=OPERATOR)
    p, _ = store.add_contributor(roles=["contributor"], languages_spoken=["swh", "en"],
                                 actor_id=OPERATOR)
    assert p.languages_spoken == ["sw", "en"]
    assert store.update_profile(p.id, region="Kitui", actor_id=p.id).region == "Kitui"
    assert store.update_profile(p.id, region="", actor_id=p.id).region is None
