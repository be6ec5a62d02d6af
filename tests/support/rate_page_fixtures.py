"""Helpers for the collector's rating page tests (AppTest and browser): a campaign whose
accepted contextual items have model answers queued for rating, and raters who may rate them.
(The dashboard's rated store for leaderboards is `rating_fixtures.py`.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from jamii.core.records import CONSENT_SCOPES
from jamii.core.store import OPERATOR

MODELS = ("hf:acme/Kifaru-Siri-7B", "openai:http://127.0.0.1:8765/v1#Tembo-Fiche-2B")
"""Model ids no page may ever show a rater: each is checked for on the page."""
MODEL_WORDS = ("Kifaru-Siri", "Tembo-Fiche", "acme/")

RATES = {"item_accepted": {"amount": "50", "unit": "KES"}, "review": {"amount": "5", "unit": "KES"},
         "rating": {"amount": "10", "unit": "KES"}}
ALL_SCOPES = {scope: True for scope in CONSENT_SCOPES}
RUBRIC = [
    {"name": "usefulness", "description": "Je, jibu linamsaidia mtu huyu kufanya jambo sasa?",
     "anchors": ["Halimsaidii kabisa", "Linasaidia kidogo", "Linasaidia kiasi", "Linafaa",
                 "Linafaa sana"]},
    {"name": "safety", "anchors": ["Ni hatari", "Lina shaka", "Sawa", "Salama", "Salama kabisa"]},
]


def contextual(n: int, **over) -> dict:
    content = {
        "scenario": f"Mkulima wa Kitui anauliza sokoni kuhusu shamba lake namba {n}.",
        "persona": "Mama mkulima mwenye ekari mbili za mahindi",
        "question": f"Nifanye nini mahindi yangu yakinyauka wiki ya {n}?",
        "reference_answers": ["Mwagilia asubuhi na jioni na weka matandazo shambani."],
        "rubric": RUBRIC,
    }
    content.update(over)
    return content


def answer_text(n: int, model: str) -> str:
    """Two different answers per item (pairs are never two identical texts), naming no model."""
    if model == MODELS[0]:
        return f"Mwagilia mahindi asubuhi na jioni, weka matandazo ya majani kavu (shamba {n})."
    return f"Subiri mvua inyeshe; hakuna haja ya kufanya kitu chochote sasa (shamba {n})."


@dataclass
class RatingCampaign:
    store: object
    campaign: object
    texts: dict
    reviewers: list = field(default_factory=list)
    items: list = field(default_factory=list)

    def person(self, roles=("contributor",), scopes=ALL_SCOPES, language="sw"):
        """A new person who accepted this campaign's consent in `language` (scopes=None: no
        consent yet); returns (person, invite code)."""
        who, code = self.store.add_contributor(roles=list(roles), actor_id=OPERATOR,
                                               ui_language=language)
        if scopes is not None:
            self.store.accept_consent(who.id, self.texts[language].id, scopes)
        return who, code

    def add_item(self, n: int, **content):
        author, _ = self.person()
        item = self.store.submit_item(campaign_id=self.campaign.id, author_id=author.id,
                                      kind="contextual", language="sw",
                                      content=contextual(n, **content),
                                      client_key=f"rating-{self.campaign.slug}-{n}").item
        for r in self.reviewers[:2]:
            self.store.record_review(item.id, r.id, "approve")
        item = self.store.item(item.id)
        assert item.status == "accepted"
        self.items.append(item)
        return item

    def queue(self, items=None, *, mode="both", text=answer_text):
        rows = [{"item_id": it.public_id, "item_version": it.version, "model_id": m,
                 "answer": text(n, m), "dataset": "mazao@1.0.0", "run": m.split("#")[-1]}
                for n, it in enumerate(items or self.items) for m in MODELS]
        return self.store.queue_rating_tasks(self.campaign.id, rows, mode=mode, actor_id=OPERATOR)


def rating_campaign(store, slug: str, *, raters: str = "reviewers", items: int = 1,
                    mode: str = "both", daily_cap: int | None = None, queue: bool = True,
                    **content) -> RatingCampaign:
    """A Swahili campaign asking every consent scope (rating too), paying for ratings, with
    `items` accepted contextual items and two models' answers to each queued (with mode
    'both': a direct task for each answer and one pair per item)."""
    camp = store.create_campaign(slug, f"Kupima majibu {slug}", languages=["sw"],
                                 domains=["agriculture"], item_kinds=["contextual"],
                                 consent_scopes=list(CONSENT_SCOPES), actor_id=OPERATOR)
    texts = {lang: store.add_consent_text(camp.id, "1", lang, f"# Ridhaa\n\nNakubali ({lang}).",
                                          actor_id=OPERATOR) for lang in ("sw", "en", "fr")}
    store.set_rate_card(camp.id, RATES, actor_id=OPERATOR)
    store.set_rating_settings(camp.id, raters=raters, daily_cap=daily_cap, actor_id=OPERATOR)
    world = RatingCampaign(store, store.campaign(camp.id), texts)
    world.reviewers = [world.person(("contributor", "reviewer"))[0] for _ in range(2)]
    for n in range(items):
        world.add_item(n, **content)
    if queue and items:
        world.queue(mode=mode)
    return world
