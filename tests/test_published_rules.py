"""The dashboard and the datasheet publish the same figures from one store (issue 11, item 1).

Each rule a datasheet promises lives once, in `jamii.core`: the rule of five
(`core/disclosure.py`), Krippendorff's alpha (`core/agreement.py` over `Store.review_votes`),
the compensation totals (`Store.compensation_totals`) and the profile fields
(`core.records.DEMOGRAPHIC_FIELDS`). On the rule-of-five store (`tests/support/rule_of_five.py`),
with reviews that disagree added so that alpha is a number, the dashboard's suppressed
demographic tables, alpha and compensation totals equal the release's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from jamii.core.disclosure import NOT_SAID
from jamii.core.records import DEMOGRAPHIC_FIELDS
from jamii.core.store import Store
from jamii.dashboard import agreement, compensation, representation
from jamii.datasheets import _licenses
from jamii.datasheets._collect import collect, gather_facts
from jamii.datasheets._context import ACTIVITY_NAMES, Context
from tests.support.rule_of_five import BIG, SLUGS, build_rule_of_five_store


def _disagree(store: Store, slug: str) -> None:
    """Three more items in `slug` by its first authors, on which its reviewers disagree."""
    camp = store.campaign(slug)
    people = [p for p in store.contributors() if p.pseudonym.startswith(f"{slug}-")]
    for n, verdicts in enumerate((("approve", "reject", "approve"), ("reject", "approve", "reject"),
                                  ("approve", "approve"))):
        author, reviewers = people[n], people[n + 1:n + 1 + len(verdicts)]
        item = store.submit_item(
            campaign_id=camp.id, author_id=author.id, kind="prompt_response", language="sw",
            content={"prompt": f"Tofauti ya maoni namba {n}: mvua ya vuli huanza lini?",
                     "response": f"Jibu la majaribio namba {n}.", "task_type": "open_qa"},
            client_key=f"{slug}-disagree-{n}", dialect=None, domain="agriculture").item
        for reviewer, verdict in zip(reviewers, verdicts):
            store.record_review(item.id, reviewer.id, verdict,
                                reasons=["unclear"] if verdict == "reject" else None)


@pytest.fixture
def published(store, tmp_path) -> dict[str, tuple[Store, Context]]:
    """Each campaign of the rule-of-five store with the release's view of it."""
    build_rule_of_five_store(store)
    _disagree(store, BIG)
    out = {}
    for slug in SLUGS:
        camp = store.campaign(slug)
        found = collect(store, camp, tmp_path / slug, exclude_flagged=False)
        ctx = Context(found, gather_facts(store, camp, found), _licenses.LICENCES["cc-by-4.0"], {},
                      "1.0.0", date.today())
        out[slug] = (store, ctx)
    return out


def _dashboard_table(table) -> dict[str, str]:
    return {("not said" if v == representation.NOT_SAID else v): p
            for v, p in zip(table["value"], table["people"])}


@pytest.mark.parametrize("slug", SLUGS)
def test_the_same_suppressed_demographic_tables(published, slug):
    store, ctx = published[slug]
    rep = representation.representation(ctx.campaign, store.profile_counts(ctx.campaign.id))
    assert list(rep.groups) == list(DEMOGRAPHIC_FIELDS)
    release = ctx.demographics("authors")
    for field in DEMOGRAPHIC_FIELDS:
        assert _dashboard_table(rep.groups[field]) == {
            "not said" if k == NOT_SAID else k: str(v) for k, v in release[field].items()}, field
    assert str(rep.people) == str(ctx.people("authors"))


@pytest.mark.parametrize("slug", SLUGS)
def test_the_same_agreement(published, slug):
    store, ctx = published[slug]
    table = agreement.agreement(store.review_votes(ctx.campaign.id)).set_index("language")
    shown, release = table.loc[agreement.ALL], ctx.facts.agreement
    if slug == BIG:
        assert -1 < release["alpha"] < 1 and shown["alpha"] == pytest.approx(release["alpha"])
    else:  # every vote approves: no variation, so no alpha on either side
        assert release["alpha"] is None and shown["alpha"] is None
    assert (shown["votes"], shown["item_versions"], shown["units"]) == (
        release["votes"], release["items_reviewed"], release["items_with_two_or_more_votes"])
    assert shown["approval_rate"] == pytest.approx(release["approval_rate"])


@pytest.mark.parametrize("slug", SLUGS)
def test_the_same_compensation_totals(published, slug):
    store, ctx = published[slug]
    table = compensation.totals(store.compensation_totals(ctx.campaign.id),
                                by=("activity", "language"))
    names = {v: k for k, v in ACTIVITY_NAMES.items()}
    released = ctx.compensation()
    assert {(names[r["activity"]], r["language"], r["unit"]) for r in released} == set(
        zip(table["activity"], table["language"], table["unit"]))
    for row in released:
        cell = table.set_index(["activity", "language", "unit"]).loc[
            (names[row["activity"]], row["language"], row["unit"])]
        earned = cell["owed"] + cell["approved"] + cell["paid"]  # the release leaves failed out
        if row["amount"] != "suppressed":
            assert Decimal(row["amount"].replace(",", "")) == Decimal(f"{earned:.2f}")
        if row["paid"] != "suppressed":
            assert Decimal(row["paid"].replace(",", "")) == Decimal(f"{cell['paid']:.2f}")
    assert any(r["amount"] != "suppressed" for r in released) or slug == BIG
