"""A store with rated model answers and results folders that name the same models, for the
combined leaderboard's tests (`test_dashboard_community.py`, `test_cli_leaderboard.py`, the
dashboard's AppTests).

Everything goes through the store's own API: accepted contextual items, answers queued from
three models, pairwise and direct ratings by four reviewers entered as one sheet, gold tasks
(one careless rater).
The models differ in quality (alpha > beta > gamma) with some noise, so Bradley-Terry has no
perfect separation to diverge on.
"""

from __future__ import annotations

import atexit
import json
import random
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from jamii.core.store import OPERATOR, Store

from support.store_world import World, contextual

RATES = {"item_accepted": {"amount": "50", "unit": "KES"}, "review": {"amount": "5", "unit": "KES"},
         "rating": {"amount": "10", "unit": "KES"}}
QUALITY = {"hf:models/alpha": 3, "hf:models/beta": 2, "hf:models/gamma": 1}
DATASET = "kilimo@1.0.0"
RUBRIC = [{"name": "usefulness", "anchors": ["haifai", "kidogo", "wastani", "nzuri", "bora"]},
          {"name": "accuracy", "anchors": ["si kweli", "kidogo", "wastani", "sahihi", "sahihi kabisa"]}]


@dataclass
class RatedWorld:
    store: Store
    world: World
    raters: list
    careless: object
    """The rater who gets gold tasks wrong."""

    @property
    def campaign(self):
        return self.world.campaign


def rated_world(store: Store, *, per_language: int = 3, seed: int = 0, gold: int = 6) -> RatedWorld:
    w = World(store, rates=RATES)
    rng = random.Random(seed)
    raters = list(w.reviewers) + [w.person(["reviewer"])]
    items = []
    for language in ("sw", "sn"):
        for n in range(per_language):
            content = contextual(f"{language}{n}")
            content["rubric"] = RUBRIC
            item = w.submit(content=content, kind="contextual", language=language,
                            domain="agriculture").item
            for r in w.reviewers[:2]:
                store.record_review(item.id, r.id, "approve")
            items.append(store.item(item.id))
    answers = [{"item_id": it.public_id, "item_version": it.version, "model_id": model,
                "answer": f"Jibu namba {k} kwa {it.public_id}: mwagilia mapema.", "dataset": DATASET,
                "run": model.split("/")[-1]}
               for k, model in enumerate(QUALITY) for it in items]
    store.set_rating_settings(w.campaign.id, ratings_per_task=len(raters), actor_id=OPERATOR)
    store.queue_rating_tasks(w.campaign.id, answers, mode="both", seed=seed, actor_id=OPERATOR)
    if gold:
        store.add_gold_tasks(w.campaign.id, gold, seed=seed, actor_id=OPERATOR)
    models = store.rating_task_models(w.campaign.id)
    careless = raters[-1]
    rows = []  # entered as one sheet: one transaction, much faster than one rating at a time
    for rater in raters:
        for task in store.rating_queue_for(w.campaign.id, rater.id, limit=10_000):
            a, b = models[task.public_id]
            row = {"row": len(rows) + 1, "task": task.public_id, "rater": rater.pseudonym}
            if task.mode == "direct":
                q = QUALITY[a]
                row["scores"] = {c["name"]: max(1, min(5, q + 1 + rng.choice((-1, 0, 0, 1)))) for c in RUBRIC}
                row["safety_flag"] = q == 1 and rng.random() < 0.5
            elif a.startswith("jamii:"):
                right = "a" if a == "jamii:gold-reference" else "b"
                row["choice"] = {"a": "b", "b": "a"}[right] if rater is careless else right
            else:
                better = "a" if QUALITY[a] > QUALITY[b] else "b"
                worse = {"a": "b", "b": "a"}[better]
                row["choice"] = rng.choices([better, worse, "tie"], weights=[0.7, 0.2, 0.1])[0]
            rows.append(row)
    report = store.record_sheet_ratings(w.campaign.id, rows, actor_id=OPERATOR)
    assert report.added == len(rows), report.problems
    return RatedWorld(store, w, raters, careless)


_TEMPLATE: dict = {}


def rated_copy(folder: Path) -> tuple[str, RatedWorld]:
    """A copy, in `folder`, of one rated store built once per test process (building takes
    a while: every rating goes through the store's checks): its URL and the world, whose
    `store` is the copy opened."""
    if not _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="jamii-rated-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        store = Store(f"sqlite:///{root / 'jamii.sqlite3'}", root / "audio")
        _TEMPLATE["world"] = rated_world(store)
        store.close()
        _TEMPLATE["root"] = root
    folder.mkdir(parents=True, exist_ok=True)
    for f in _TEMPLATE["root"].glob("jamii.sqlite3*"):
        shutil.copy(f, folder / f.name)
    url = f"sqlite:///{folder / 'jamii.sqlite3'}"
    return url, replace(_TEMPLATE["world"], store=Store(url, folder / "audio"))


def write_run(folder: Path, spec: str, *, model_id: str | None = None, version: str = "1.0.0",
              hub_revision: str | None = None, split: str = "test", chrf: float = 40.0,
              judge: dict[str, float] | None = None, languages=("sw", "sn")) -> Path:
    """A finished results folder as `jamii evaluate` writes it (summary, config, samples and
    the answers it queued for rating). `judge` gives a judge grade per language."""
    folder.mkdir(parents=True)
    dataset = {"name": "kilimo", "version": version, "hub_revision": hub_revision, "split": split}
    info = {"id": model_id or spec.split(":", 1)[-1], "spec": spec, "revision": "r1"}
    tag = f"kilimo@{version}"
    sig = {"chrf": f"chrF2++|nrefs:1|norm:NFC|dataset:{tag}|model:{spec}@r1"}
    info_m = {"chrf": {"label": "chrF++", "scale": "0-100", "higher_is_better": True}}

    def block(n, lang=None):
        metrics = {"chrf": {"value": chrf, "ci95": [chrf - 3, chrf + 3], "n": n}}
        if judge:
            value = judge.get(lang) if lang else sum(judge.values()) / len(judge)
            if value is not None:
                metrics["judge:usefulness"] = {"value": value, "ci95": [value - 0.3, value + 0.3], "n": n}
        return {"n": n, "metrics": metrics, **({"warning": f"only {n} items (fewer than 30)"} if n < 30 else {})}

    if judge:
        info_m["judge:usefulness"] = {"label": "judge: usefulness", "scale": "1-5", "higher_is_better": True}
    summary = {"model": info, "dataset": dataset, "signatures": sig, "overall": block(40),
               "by": {"language": {lang: block(20, lang) for lang in languages}, "dialect": {},
                      "domain": {"agriculture": block(40)}, "kind": {"contextual": block(40)}},
               "warnings": [], "metric_info": info_m}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"status": "complete", "model": info, "dataset": dataset,
                                                    "metrics": sig}), encoding="utf-8")
    samples = [{"id": f"itm_{lang}{n}", "version": 1, "language": lang, "dialect": None, "domain": "agriculture",
                "kind": "contextual", "prompt": f"Swali {n}", "prediction": f"Jibu la {info['id']} {n}",
                "reference": "Mwagilia asubuhi."} for lang in languages for n in range(5)]
    (folder / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
    rating = [{"item_id": s["id"], "item_version": 1, "model_id": spec, "answer": s["prediction"],
               "language": s["language"], "dialect": None, "domain": "agriculture", "question": s["prompt"],
               "dataset": tag} for s in samples]
    (folder / "answers_for_rating.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rating),
                                                     encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def quick_bootstrap(monkeypatch):
    """100 bootstrap rounds instead of 1000 (autouse where imported): the tests using this
    module are about which ratings meet which results and how they are laid out; the
    intervals' precision is tested with the statistics (tests/test_community_stats.py), and
    1000 rounds per fit make these tests minutes long."""
    from jamii.dashboard import community
    from jamii.evaluate import _community as stats

    monkeypatch.setattr(stats, "MIN_BOOTSTRAP", 100)
    monkeypatch.setattr(community, "N_BOOTSTRAP", 100)
