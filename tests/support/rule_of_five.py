"""Three campaigns whose releases pin the rule of five in every table about people.

Each table a release publishes about people (author and reviewer demographics, dialect
speakers, the counts of authors, reviewers and withdrawn people, compensation cells) holds a
group of exactly four people and one of exactly five, and a group of four that is the only small
one of its table, whose count could be worked out from a published total unless the next
smallest group (its complementary cell) is hidden too. `EXPECTED` says what each release must
publish; `build_rule_of_five_store` seeds the store.

- `tano` (14 people, each writes one item and reviews two others'): the demographic tables,
  dialect speakers and compensation cells of 4 and their complements; withdrawn: 0.
- `wakaguzi-wanne` (5 authors with two items each, 4 of them review; 4 people withdrew): 5
  authors shown, 4 reviewers and 4 withdrawn hidden; a compensation cell of 5 shown, whose
  "of which paid" covers 4 people and is hidden; 5 speakers of Kiamu shown.
- `waandishi-wanne` (4 authors, 5 reviewers; 5 people withdrew): 4 authors hidden, 5 reviewers
  and 5 withdrawn shown; a review cell of 5 people all paid, paid shown.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from jamii.core.store import OPERATOR

FEWER = "fewer than 5"
SUPPRESSED = "suppressed"

BIG, FOUR_REVIEWERS, FOUR_AUTHORS = "tano", "wakaguzi-wanne", "waandishi-wanne"
SLUGS = (BIG, FOUR_REVIEWERS, FOUR_AUTHORS)

ITEM_RATE, REVIEW_RATE = 50, 10

WORDS = (
    "mahindi maharagwe mtama mpunga muhogo viazi ndizi nazi embe chungwa nanasi papai mbolea "
    "samadi mboji udongo mvua jua upepo ukame mafuriko shamba bustani ghala soko bei mbegu "
    "jembe panga trekta ng'ombe mbuzi kondoo kuku bata nguruwe maziwa mayai nyama samaki ziwa "
    "mto kisima bomba maji homa kikohozi malaria kliniki daktari muuguzi dawa chanjo mtoto "
    "mama baba bibi babu shule mwalimu kijiji mji barabara basi pikipiki baiskeli simu redio "
    "habari wiki mwezi mwaka asubuhi mchana jioni usiku leo kesho jana mapema haraka polepole"
).split()


def _text(seed: int, n: int) -> str:
    """A sentence of `n` words no other seed shares many word pairs with (no near duplicates)."""
    words = random.Random(seed).sample(WORDS, n)
    return " ".join(words).capitalize()


# --------------------------------------------------------------------------- tano: 14 people

# person i of `tano` (author of item i, reviewer of items i-1 and i-2)
BIG_PEOPLE = [
    {
        "gender": "woman" if i < 4 else "man",  # 4 | 10: the lone small group and its complement
        "age_band": "18-24" if i < 4 else "25-34" if i < 9 else "35-44" if i < 12 else "45-54",  # 4 5 3 2
        "region": "Unguja" if i < 5 else "Pwani",  # 5 | 9: both shown
        "dialect": "Kimvita" if i >= 10 else "Kiunguja",  # 4 | 10: lone small group, complement
        "compensation_method": "airtime" if i in (1, 6, 11, 13) else "mobile_money",  # 4 | 10
    }
    for i in range(14)
]

BIG_DEMOGRAPHICS = {
    "gender": {"man": FEWER, "woman": FEWER},
    "age band": {"25-34": "5", "18-24": FEWER, "35-44": FEWER, "45-54": FEWER},
    "region": {"Pwani": "9", "Unguja": "5"},
    "dialect": {"Kiunguja": FEWER, "Kimvita": FEWER},
}
"""What DATA_STATEMENT.md (sections 6 and 7) and croissant.json publish for `tano`'s authors and
reviewers (the same 14 people)."""


@dataclass(frozen=True)
class Expected:
    authors: str
    reviewers: str
    withdrawn: str
    speakers: dict[str, str]
    """Dialect -> speakers, as DATA_STATEMENT.md section 5 gives them."""
    author_profiles: dict[str, dict[str, str]]
    """Field -> value -> people, as DATA_STATEMENT.md section 6 gives them."""
    reviewer_profiles: dict[str, dict[str, str]]
    """The same for reviewers (section 7 and croissant.json's annotator demographics)."""
    compensation: dict[tuple[str, str], dict[str, str]]
    """(activity, unit) -> the row of compensation.md (language sw)."""
    secrets: tuple[str, ...] = ()
    """Figures of hidden groups that must appear nowhere in the release's documents."""


def _row(quantity: str, amount: str, paid: str, people: str) -> dict[str, str]:
    return {"quantity": quantity, "amount owed or paid": amount, "of which paid": paid,
            "people": people}


def _one_group(people: str, gender: str, age_band: str, dialect: str) -> dict[str, dict[str, str]]:
    return {"gender": {gender: people}, "age band": {age_band: people}, "region": {"Pwani": people},
            "dialect": {dialect: people}}


HIDDEN_ROW = _row(SUPPRESSED, SUPPRESSED, SUPPRESSED, FEWER)

EXPECTED = {
    BIG: Expected(
        authors="14", reviewers="14", withdrawn="0",
        speakers={"Kiunguja": FEWER, "Kimvita": FEWER},
        author_profiles=BIG_DEMOGRAPHICS, reviewer_profiles=BIG_DEMOGRAPHICS,
        compensation={
            # airtime: 4 people; mobile money (10 people) is its complement in each activity,
            # since accepted items and review votes are published and the rates are known
            ("accepted item", "KES airtime"): HIDDEN_ROW,
            ("accepted item", "KES"): HIDDEN_ROW,
            ("peer review", "KES airtime"): HIDDEN_ROW,
            ("peer review", "KES"): HIDDEN_ROW,
        },
        # 4 airtime authors' 200 KES, the other 10's 500 KES; 4 x 2 reviews x 10 = 80 KES,
        # 10 x 2 x 10 = 200 KES
        secrets=("200.00", "500.00", "80.00", "woman: 4", "man: 10", "Kimvita: 4",
                 "Kiunguja: 10", "18-24: 4", "speakers: 4", "speakers: 10"),
    ),
    FOUR_REVIEWERS: Expected(
        authors="5", reviewers=FEWER, withdrawn=FEWER,
        speakers={"Kiamu": "5"},
        author_profiles=_one_group("5", "woman", "25-34", "Kiamu"),
        reviewer_profiles=_one_group(FEWER, "woman", "25-34", "Kiamu"),
        compensation={
            # 10 accepted items by 5 people; one item each of 4 of them paid: the paid part is 4
            # people's 200 KES, and the total minus it would be a fifth's share with them
            ("accepted item", "KES"): _row("10.00", "500.00", SUPPRESSED, "5"),
            # 20 reviews by 4 people
            ("peer review", "KES"): HIDDEN_ROW,
        },
        secrets=("200.00", "300.00", "20.00", "4 reviewers", "4 community reviewers",
                 "so far: 4"),
    ),
    FOUR_AUTHORS: Expected(
        authors=FEWER, reviewers="5", withdrawn="5",
        speakers={"Kimvita": FEWER},
        author_profiles=_one_group(FEWER, "man", "35-44", "Kimvita"),
        reviewer_profiles=_one_group("5", "man", "35-44", "Kimvita"),
        compensation={
            ("accepted item", "KES"): HIDDEN_ROW,  # 4 items by 4 people
            ("peer review", "KES"): _row("8.00", "80.00", "80.00", "5"),  # 8 reviews, all paid
        },
        secrets=("200.00", "4 authors", "release: 4 people", "speakers: 4"),
    ),
}


# --------------------------------------------------------------------------- seeding


def _campaign(store, slug: str, dialects: list[str]):
    camp = store.create_campaign(
        slug, f"Kanuni ya watano: {slug}", languages=["sw"], actor_id=OPERATOR,
        dialects={"sw": dialects}, domains=["agriculture"], item_kinds=["prompt_response"],
        description="Farming questions in Swahili, for the rule of five.",
        consent_scopes=["open_publication", "model_evaluation"])
    ct = store.add_consent_text(camp.id, "1", "sw", "Ninakubali kazi yangu ichapishwe wazi. "
                                "Naweza kujiondoa wakati wowote.", actor_id=OPERATOR)
    store.set_rate_card(camp.id, {"item_accepted": {"amount": ITEM_RATE, "unit": "KES"},
                                  "review": {"amount": REVIEW_RATE, "unit": "KES"}},
                        actor_id=OPERATOR)
    return camp, ct


class _Seeder:
    def __init__(self, store):
        self.store = store
        self.n = 0

    def person(self, ct, slug: str, roles=("contributor", "reviewer"), **profile):
        self.n += 1
        person, _ = self.store.add_contributor(roles=list(roles), pseudonym=f"{slug}-{self.n:02d}",
                                               actor_id=OPERATOR, **profile)
        self.store.accept_consent(person.id, ct.id, {"open_publication": True,
                                                     "model_evaluation": True})
        return person

    def item(self, camp, author, dialect: str | None):
        self.n += 1
        return self.store.submit_item(
            campaign_id=camp.id, author_id=author.id, kind="prompt_response", language="sw",
            content={"prompt": _text(self.n, 12) + "?", "response": _text(10_000 + self.n, 9) + ".",
                     "task_type": "open_qa"},
            client_key=f"{camp.slug}-{self.n}", dialect=dialect, domain="agriculture").item

    def review(self, item, *reviewers):
        for r in reviewers:
            self.store.record_review(item.id, r.id, "approve")

    def withdrawn(self, camp, ct, count: int):
        """`count` people who each wrote an item and then withdrew."""
        for _ in range(count):
            leaver = self.person(ct, camp.slug, roles=("contributor",), gender="woman")
            self.item(camp, leaver, None)
            self.store.withdraw(leaver.id, actor_id=OPERATOR, reason="asked to leave")

    def pay(self, camp, entries) -> None:
        ids = [e.id for e in entries]
        self.store.move_payments(ids, "approved", actor_id=OPERATOR)
        self.store.move_payments(ids, "paid", actor_id=OPERATOR, reference=f"{camp.slug}-batch-1")


def build_rule_of_five_store(store) -> dict[str, int]:
    """Seed the three campaigns; returns slug -> campaign id."""
    seed = _Seeder(store)
    ids = {}

    camp, ct = _campaign(store, BIG, ["Kiunguja", "Kimvita"])
    people = [seed.person(ct, BIG, **profile) for profile in BIG_PEOPLE]
    for i, author in enumerate(people):
        item = seed.item(camp, author, BIG_PEOPLE[i]["dialect"])
        seed.review(item, people[(i + 1) % 14], people[(i + 2) % 14])
    ids[BIG] = camp.id

    camp, ct = _campaign(store, FOUR_REVIEWERS, ["Kiamu"])
    authors = [seed.person(ct, FOUR_REVIEWERS, gender="woman", age_band="25-34", region="Pwani",
                           dialect="Kiamu", compensation_method="mobile_money") for _ in range(5)]
    reviewers = authors[:4]
    for i, author in enumerate(authors):
        others = [r for r in reviewers if r.id != author.id]
        for k in range(2):
            seed.review(seed.item(camp, author, "Kiamu"), others[k], others[k + 1])
    seed.withdrawn(camp, ct, 4)
    first_item_of = {}
    for e in store.ledger(camp.id):
        if e.activity == "item_accepted":
            first_item_of.setdefault(e.contributor_id, e)
    seed.pay(camp, [first_item_of[a.id] for a in authors[:4]])
    ids[FOUR_REVIEWERS] = camp.id

    camp, ct = _campaign(store, FOUR_AUTHORS, ["Kimvita"])
    authors = [seed.person(ct, FOUR_AUTHORS, gender="man", age_band="35-44", region="Pwani",
                           dialect="Kimvita", compensation_method="mobile_money") for _ in range(4)]
    fifth = seed.person(ct, FOUR_AUTHORS, roles=("reviewer",), gender="man", age_band="35-44",
                        region="Pwani", dialect="Kimvita", compensation_method="mobile_money")
    c0, c1, c2, c3 = authors
    for author, pair in ((c0, (c1, fifth)), (c1, (c2, fifth)), (c2, (c3, c0)), (c3, (c0, fifth))):
        seed.review(seed.item(camp, author, "Kimvita"), *pair)
    seed.withdrawn(camp, ct, 5)
    seed.pay(camp, [e for e in store.ledger(camp.id) if e.activity == "review"])
    ids[FOUR_AUTHORS] = camp.id
    return ids
