"""Community ratings at scale: the Bradley-Terry fit, every dashboard page's aggregates, and the
dashboard's first render, on a store with 1,000,000 items and 200,000 ratings.

    python benchmarks/ratings.py [--items 1000000] [--ratings 200000] [--models 20] [--cache DIR]

Setup (not measured): `release_build.py`'s store of N accepted items (a quarter contextual),
then, with bulk core SQL, answers of M models to 10,000 contextual items, pair tasks and direct
tasks, and the ratings (three quarters pairwise, drawn from a Bradley-Terry model with known
strengths and 10% ties; one quarter direct, four rubric criteria), each by a different rater of
2,000; and M results folders (config.json and summary.json as `jamii evaluate` writes them, on
the same dataset version) for the automatic column.

Measured, in this process unless said:
- `read_s`: `community.Ratings.read` (the store's counted pairwise and direct ratings);
- `fit_s`: `bradley_terry` on every pairwise vote with 1,000 bootstrap rounds;
- `aggregates_s`: what each dashboard page computes from the store and the results when
  nothing is kept, by page (`aggregates_by_page_s`), with the community fits of the leaderboard
  counted apart (`leaderboard_fit_s`); `rating_aggregates_s` is the part of the pages this
  issue added (the ratings read, the organiser's ratings page, the stamp and filter values);
- `served_aggregates_s`: what a page view computes once the slow aggregates are kept
  (`dashboard/snapshots.py`: the leaderboard's board, the ratings page, the review votes) and
  the data has not changed: stamps, kept values read from disk by a new process, the quick
  queries;
- `first_render_s`: `jamii dashboard` on this store in its own process, headless chromium
  opening the leaderboard: seconds from navigation until the first table is on screen (the
  automatic scores, shown before the community fit), and until the community scores and a
  chart are (`community_render_s`), on a fresh server with nothing kept; then the same on a
  restarted server that reads the kept board from the data folder (`restart_*`); and, as the
  baseline, a bare Streamlit page with one table of the same size opened the same way in the
  same run (`baseline_render_s`, and the ratios `*_vs_baseline`).

Last line, JSON, with the targets (fit < 5 s, aggregates < 1 s, first render < 3 s) printed,
never asserted. A check fails the script (exit 1): the fit must recover the simulated order of
the models' strengths (Kendall's tau >= 0.9).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

TARGETS = {"fit_s": 5.0, "aggregates_s": 1.0, "first_render_s": 3.0}
RATING_PAGES = ("ratings_stamp", "rated_values", "ratings_read", "ratings_page")
"""What the leaderboard's community rows and the organiser's ratings page compute besides the
fits (`rating_aggregates_s`); the older pages (coverage, representation, review agreement,
compensation) are the rest of `aggregates_s`."""
CONTEXTUAL_ITEMS = 10_000
CRITERIA = ("usefulness", "relevance", "accuracy", "safety")
DATASET = "bench@1.0.0"


def model_ids(n: int) -> list[str]:
    return [f"hf:bench/model-{i:02d}" for i in range(n)]


def add_ratings(store, campaign_id: int, n_ratings: int, n_models: int, seed: int = 11) -> list[float]:
    """Answers, tasks and ratings by bulk insert; returns the true strengths (logits)."""
    import numpy as np
    from sqlalchemy import insert, select

    from jamii.core.records import Contributor, Item, ModelAnswer, Rating, RatingTask

    rng = np.random.default_rng(seed)
    strengths = np.linspace(-1.0, 1.0, n_models)
    models = model_ids(n_models)
    now = datetime.now(timezone.utc)
    with store.read() as s:
        items = list(s.execute(select(Item.id, Item.version).where(
            Item.campaign_id == campaign_id, Item.kind == "contextual").order_by(Item.id)
            .limit(CONTEXTUAL_ITEMS)).all())
        raters = list(s.scalars(select(Contributor.id).where(Contributor.pseudonym.like("p-%"))))
    answer_rows, answer_id = [], {}
    next_id = 1
    for item_id, version in items:
        for m, model in enumerate(models):
            answer_rows.append({"id": next_id, "item_id": item_id, "item_version": version,
                                "model_id": model, "answer": f"jibu {m} {item_id}",
                                "answer_sha256": f"{item_id:032d}{m:032d}", "dataset": DATASET,
                                "reveals_model": False, "created_at": now})
            answer_id[(item_id, m)] = next_id
            next_id += 1
    per_task = 3
    n_pair = n_ratings * 3 // 4 // per_task
    n_direct = (n_ratings - n_pair * per_task) // per_task
    tasks, ratings = [], []
    task_id = 1
    for t in range(n_pair + n_direct):
        item_id, _ = items[t % len(items)]
        if t < n_pair:
            a, b = rng.choice(n_models, size=2, replace=False)
            key = f"pair:{min(answer_id[(item_id, a)], answer_id[(item_id, b)])}:" \
                  f"{max(answer_id[(item_id, a)], answer_id[(item_id, b)])}"
            tasks.append({"id": task_id, "public_id": f"rt-{task_id:010x}", "campaign_id": campaign_id,
                          "mode": "pair", "item_id": item_id, "answer_a_id": answer_id[(item_id, a)],
                          "answer_b_id": answer_id[(item_id, b)], "task_key": f"{key}:{t}",
                          "gold": None, "created_at": now})
            p_a = 1 / (1 + np.exp(strengths[b] - strengths[a]))
            for r in rng.choice(len(raters), size=per_task, replace=False):
                u = rng.random()
                choice = "tie" if u < 0.1 else ("a" if rng.random() < p_a else "b")
                ratings.append({"task_id": task_id, "rater_id": raters[r], "answer_id": answer_id[(item_id, a)],
                                "other_answer_id": answer_id[(item_id, b)], "preferred": choice, "scores": {},
                                "safety_flag": False, "comment": "", "source": "collector", "created_at": now})
        else:
            m = int(rng.integers(n_models))
            tasks.append({"id": task_id, "public_id": f"rt-{task_id:010x}", "campaign_id": campaign_id,
                          "mode": "direct", "item_id": item_id, "answer_a_id": answer_id[(item_id, m)],
                          "answer_b_id": None, "task_key": f"direct:{answer_id[(item_id, m)]}:{t}",
                          "gold": None, "created_at": now})
            level = 3 + strengths[m]
            for r in rng.choice(len(raters), size=per_task, replace=False):
                scores = {c: int(min(5, max(1, round(level + rng.normal(0, 1))))) for c in CRITERIA}
                ratings.append({"task_id": task_id, "rater_id": raters[r], "answer_id": answer_id[(item_id, m)],
                                "other_answer_id": None, "preferred": None, "scores": scores,
                                "safety_flag": bool(rng.random() < 0.05), "comment": "", "source": "collector",
                                "created_at": now})
        task_id += 1
    chunk = 20_000
    with store.write() as s:
        for table, rows in ((ModelAnswer, answer_rows), (RatingTask, tasks), (Rating, ratings)):
            for start in range(0, len(rows), chunk):
                s.execute(insert(table), rows[start:start + chunk])
    return list(strengths)


def write_results(folder: Path, n_models: int) -> None:
    """One results folder per model, shaped as `jamii evaluate` writes it (overall and by
    language), on the rated dataset version."""
    rng = random.Random(3)
    for i, model in enumerate(model_ids(n_models)):
        run = folder / f"model-{i:02d}"
        run.mkdir(parents=True, exist_ok=True)
        dataset = {"name": DATASET.split("@")[0], "version": DATASET.split("@")[1], "split": "test"}
        def block(v):
            return {"n": 5000, "metrics": {"chrf": {"value": v, "ci95": [v - 1, v + 1], "n": 5000},
                                           "judge:usefulness": {"value": 2 + i / 10, "ci95": [1.9 + i / 10, 2.1 + i / 10],
                                                                "n": 2500}}}
        value = 20 + i + rng.random()
        summary = {"model": {"spec": model, "id": model.split(":", 1)[1], "revision": "r1"},
                   "dataset": dataset, "n_samples": 5000, "signatures": {"chrf": "chrF2++|bench"},
                   "overall": block(value), "by": {"language": {"sw": block(value + 1), "sn": block(value - 1)}},
                   "warnings": [], "metric_info": {"chrf": {"label": "chrF++", "scale": "0-100",
                                                            "higher_is_better": True}}}
        config = {"model": summary["model"], "dataset": dataset, "status": "complete"}
        (run / "summary.json").write_text(json.dumps(summary))
        (run / "config.json").write_text(json.dumps(config))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def page_aggregates(store, campaign, results: Path) -> tuple[dict[str, float], float]:
    """Seconds per dashboard page for what it computes, and the leaderboard's community fits."""
    from jamii.dashboard import agreement, community, coverage, representation
    from jamii.dashboard.leaderboard import load_runs

    cid = campaign.id
    out: dict[str, float] = {}
    _, out["coverage"] = timed(lambda: coverage.progress(campaign, coverage.item_frame(store.item_counts(cid))))
    _, out["representation"] = timed(lambda: representation.representation(
        campaign, store.profile_counts(cid), label="<5", not_said="-"))
    _, out["agreement"] = timed(lambda: agreement.agreement(store.review_votes(cid)))
    _, out["compensation"] = timed(lambda: store.compensation_totals(cid))
    _, out["ratings_stamp"] = timed(lambda: store.ratings_stamp(cid))
    _, out["rated_values"] = timed(lambda: store.rated_values(cid))
    ratings, out["ratings_read"] = timed(lambda: community.Ratings.read(store, cid))
    _, out["ratings_page"] = timed(lambda: (community.progress(store.rating_progress(cid)),
                                            community.gold_accuracy(store.gold_results(cid)),
                                            community.rating_agreement(ratings)))
    runs, out["results_read"] = timed(lambda: load_runs(results)[0])
    _, fit = timed(lambda: community.combined_board(ratings, runs))
    return out, fit


BASELINE_APP = """
import pandas as pd
import streamlit as st

st.title("Leaderboard")
st.dataframe(pd.DataFrame({"model": [f"model-{i:02d}" for i in range(20)] * 4,
                           "metric": ["chrf", "judge", "arena", "safety"] * 20,
                           "value": [float(i) for i in range(80)]}), hide_index=True)
"""
"""The baseline: a bare Streamlit page with one table of the leaderboard's size, opened the same
way in the same run (what any Streamlit page costs on this machine before jamii does anything)."""


def _wait_healthy(url: str) -> None:
    import urllib.request
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)


def _serve_and_open(cmd: list[str], env: dict, log, path: str, community: bool) -> tuple[float, float | None]:
    """Start a Streamlit server (`cmd`, which takes `--server.port`-style `--port`), open `path`
    in headless chromium: seconds until the first table is on screen, and (`community`) until
    the community scores' vote count and a chart are."""
    from playwright.sync_api import sync_playwright

    from tests.browser import _jamii_browser as jb

    port = jb.free_port()
    proc = subprocess.Popen([*cmd, str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url)
        with sync_playwright() as pw:
            browser = jb.launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            t0 = time.perf_counter()
            page.goto(url + path)
            page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=180_000)
            first, complete = time.perf_counter() - t0, None
            if community:
                page.get_by_text("pairwise votes", exact=False).first.wait_for(timeout=180_000)
                page.locator("[data-testid='stVegaLiteChart'], [data-testid='stArrowVegaLiteChart']").first \
                    .wait_for(timeout=180_000)
                complete = time.perf_counter() - t0
            browser.close()
        return first, complete
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def baseline_render(folder: Path) -> float:
    script = folder / "baseline_app.py"
    script.write_text(BASELINE_APP)
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true", "--server.port"]
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    return _serve_and_open(cmd, env, subprocess.DEVNULL, "", community=False)[0]


def _open_leaderboard(data: Path, db_url: str, results: Path) -> tuple[float, float]:
    """`jamii dashboard` on the store, its leaderboard opened (`_serve_and_open`)."""
    from tests.browser import _jamii_browser as jb

    env = {**jb.app_env(data, db_url), "JAMII_RESULTS": str(results)}
    with open(data / "dashboard.log", "ab") as log:
        return _serve_and_open(jb.jamii_command() + ["dashboard", "--port"], env, log, "/leaderboard",
                               community=True)


def first_render(data: Path, db_url: str, results: Path) -> dict[str, float]:
    """The leaderboard on a fresh server with nothing computed (`first_render_s`: the
    automatic scores, shown before the community fit; `community_render_s`), then on a
    restarted server that finds the computed board in the data folder (`restart_*`)."""
    shutil.rmtree(data / "cache", ignore_errors=True)
    baseline = baseline_render(data)
    first, community_s = _open_leaderboard(data, db_url, results)
    again, again_community = _open_leaderboard(data, db_url, results)
    return {"baseline_render_s": baseline, "first_render_s": first, "community_render_s": community_s,
            "restart_first_render_s": again, "restart_community_render_s": again_community,
            "first_render_vs_baseline": first / baseline, "restart_render_vs_baseline": again / baseline}


def served_aggregates(store, campaign, results: Path, folder: Path) -> float:
    """What a dashboard view computes once every slow aggregate is kept (`dashboard/snapshots.py`)
    and the data has not changed since: the stamps, the kept values read by a new process
    from disk, and the quick queries (coverage, representation, compensation, gold)."""
    from jamii.dashboard import community, coverage, representation
    from jamii.dashboard.leaderboard import OVERALL, load_runs
    from jamii.dashboard.snapshots import Snapshots

    cid = campaign.id
    runs = load_runs(results)[0]
    slow = {"board": lambda: community.combined_board(community.Ratings.read(store, cid), runs),
            "rating_numbers": lambda: (community.progress(store.rating_progress(cid)),
                                       community.rating_agreement(community.Ratings.read(store, cid))),
            "review_votes": lambda: store.review_votes(cid)}
    stamps = {"board": lambda: store.ratings_stamp(cid), "rating_numbers": lambda: store.ratings_stamp(cid),
              "review_votes": lambda: store.reviews_stamp(cid)}
    keeper = Snapshots(folder, quick=0.0)
    for name, compute in slow.items():
        keeper.get(name, (cid, OVERALL), stamps[name](), compute)
    t0 = time.perf_counter()
    reader = Snapshots(folder, quick=0.0)  # a new process: memory empty, files on disk
    for name, compute in slow.items():
        assert reader.get(name, (cid, OVERALL), stamps[name](), compute).fresh
    coverage.progress(campaign, coverage.item_frame(store.item_counts(cid)))
    representation.representation(campaign, store.profile_counts(cid), label="<5", not_said="-")
    store.compensation_totals(cid)
    community.gold_accuracy(store.gold_results(cid))
    store.rated_values(cid)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--ratings", type=int, default=200_000)
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep the generated item store here and reuse it (the items take minutes)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)

    from scipy.stats import kendalltau

    from release_build import _cached_setup
    from jamii.evaluate._community import bradley_terry

    tmp = Path(tempfile.mkdtemp(prefix="jamii-ratings-"))
    try:
        print(f"building a store with {args.items:,} items ...", flush=True)
        t0 = time.perf_counter()
        store, campaign, _ = _cached_setup(args.cache, tmp, args.items)
        truth = add_ratings(store, campaign.id, args.ratings, args.models)
        results = tmp / "results"
        write_results(results, args.models)
        print(f"set up in {time.perf_counter() - t0:.0f} s", flush=True)

        from jamii.dashboard import community

        ratings, read_s = timed(lambda: community.Ratings.read(store, campaign.id))
        votes = store.pairwise_votes(campaign.id)
        board, fit_s = timed(lambda: bradley_terry(votes, n_bootstrap=1000, seed=0))
        fitted = {s.model: s.score for s in board.strengths}
        tau = kendalltau([truth[i] for i in range(args.models)],
                         [fitted[m] for m in model_ids(args.models)]).statistic
        pages, leaderboard_fit_s = page_aggregates(store, campaign, results)
        aggregates_s = sum(pages.values())
        rating_aggregates_s = sum(v for k, v in pages.items() if k in RATING_PAGES)
        served_s = served_aggregates(store, campaign, results, tmp / "snapshots")
        render = {} if args.no_browser else first_render(tmp, store.url, results)
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    result = {"items": args.items, "ratings": args.ratings, "pairwise_votes": int(board.n_votes),
              "models": args.models, "read_s": round(read_s, 3), "fit_s": round(fit_s, 3),
              "fit_recovers_order_tau": round(float(tau), 3),
              "aggregates_s": round(aggregates_s, 3), "rating_aggregates_s": round(rating_aggregates_s, 3),
              "aggregates_by_page_s": {k: round(v, 3) for k, v in pages.items()},
              "leaderboard_fit_s": round(leaderboard_fit_s, 3),
              "served_aggregates_s": round(served_s, 3),
              **{k: round(v, 2) for k, v in render.items()}, "first_render_s": render.get("first_render_s"),
              "load_avg": os.getloadavg()[0], "targets": TARGETS}
    print()
    if result["first_render_s"] is not None:
        result["first_render_s"] = round(result["first_render_s"], 2)
    for key, target in (("fit_s", "fit_s"), ("aggregates_s", "aggregates_s"),
                        ("rating_aggregates_s", "aggregates_s"), ("served_aggregates_s", "aggregates_s"),
                        ("first_render_s", "first_render_s"), ("restart_first_render_s", "first_render_s"),
                        ("restart_community_render_s", "first_render_s")):
        value = result.get(key)
        flag = "-" if value is None else ("ok" if value <= TARGETS[target] else "OVER")
        print(f"{key:<28} {value!s:>8}  target {TARGETS[target]} s  {flag}")
    for key in ("baseline_render_s", "first_render_vs_baseline", "restart_render_vs_baseline"):
        if key in result:
            print(f"{key:<28} {result[key]!s:>8}")
    print(json.dumps(result))
    return 0 if tau >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
