"""A small world for the store's tests (`tests/test_store_*.py`): a campaign with an organiser,
two consenting contributors and three reviewers, valid item contents, and a helper that races a
second connection against an open transaction."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from jamii.core.records import CompensationEntry
from jamii.core.store import OPERATOR, Store


def pr(n: int | str = 1, **extra) -> dict:
    """A valid prompt/response content, distinct for each n."""
    return {"prompt": f"Mbolea gani inafaa kwa mahindi shamba {n}?",
            "response": f"Tumia mbolea ya samadi iliyooza vizuri, kipimo {n}.", **extra}


def contextual(n: int = 1) -> dict:
    return {
        "scenario": f"Mkulima wa Kitui anauliza sokoni, shamba {n}",
        "persona": "Mkulima mdogo mwenye ekari mbili",
        "question": "Nifanye nini mahindi yakinyauka?",
        "reference_answers": ["Mwagilia asubuhi na jioni na weka matandazo."],
        "rubric": [{"name": "usefulness",
                    "anchors": ["haifai", "kidogo", "wastani", "nzuri", "bora kabisa"]}],
    }


class World:
    """A campaign with an organiser, two consenting contributors and three reviewers."""

    def __init__(self, store: Store, rates: dict | None = None):
        self.store = store
        self.org, _ = store.add_contributor(roles=["organiser"], name="Amina Organiser",
                                            actor_id=OPERATOR)
        self.campaign = store.create_campaign(
            "kilimo", "Kilimo", languages=["sw", "sn"], domains=["agriculture", "health"],
            dialects={"sw": ["Kiunguja", "Kimvita"]}, actor_id=self.org.id)
        self.consent_text = store.add_consent_text(
            self.campaign.id, "1", "en", "I agree to share what I write.", actor_id=self.org.id)
        if rates is not None:
            store.set_rate_card(self.campaign.id, rates, actor_id=self.org.id)
        self.author = self.person(["contributor"])
        self.author2 = self.person(["contributor"])
        self.reviewers = [self.person(["reviewer"]) for _ in range(3)]
        self._n = 0

    def person(self, roles, scopes=None, **profile):
        p, _ = self.store.add_contributor(roles=roles, **profile, actor_id=OPERATOR)
        self.store.accept_consent(p.id, self.consent_text.id, scopes or {
            "open_publication": True, "model_evaluation": True, "voice": True})
        return p

    def submit(self, author=None, content=None, key=None, **kw):
        self._n += 1
        kw.setdefault("kind", "prompt_response")
        kw.setdefault("language", "sw")
        return self.store.submit_item(
            campaign_id=self.campaign.id, author_id=(author or self.author).id,
            content=content or pr(f"w{self._n}"),
            client_key=f"key-{self._n}" if key is None else key, **kw)


@pytest.fixture
def world(store):
    return World(store)


RATES = {"item_accepted": {"amount": "50", "unit": "KES"},
         "review": {"amount": "5", "unit": "KES"}}


@pytest.fixture
def paid_world(store):
    return World(store, rates=RATES)


def count(store: Store, model, *where) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def run_racing(fn, *args):
    """Run `fn` on another thread (another connection) while our transaction is open.

    Waits up to 2 s: long enough for a writer that is not blocked to commit, short enough
    that a writer correctly blocked by our transaction's lock does not deadlock the test.
    """
    out: dict = {}

    def target():
        try:
            out["value"] = fn(*args)
        except Exception as exc:  # noqa: BLE001
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=2)
    return thread, out


def ledger_entries(store: Store, **where) -> list[CompensationEntry]:
    """The ledger's entries (of every campaign) with these column values, in entry order."""
    with store.read() as s:
        q = select(CompensationEntry).order_by(CompensationEntry.id)
        for k, v in where.items():
            q = q.where(getattr(CompensationEntry, k) == v)
        return list(s.scalars(q))
