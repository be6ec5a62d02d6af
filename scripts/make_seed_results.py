"""Regenerate `seeds/results/`: two tiny local models evaluated on a release of the seeded campaign.

    python scripts/make_seed_results.py            # rewrite seeds/results/<model>/
    python scripts/make_seed_results.py --check    # regenerate in a temporary folder and compare

Why this exists: `make run` should open on a rating page with answers waiting and a leaderboard
with rows in it, but `make run` installs no torch and downloads no model. So the answers are made
here, once, by jamii's own code (the seeds loaded into a temporary store, `build_release`,
`jamii.evaluate.evaluate`), and the results folders are committed; `jamii init` copies them into
the data folder. This script needs the `[models]` extra (torch, transformers); nothing else does.
It lives here, not in `seeds/`, because `jamii.seeds` is the bottom layer (data only) and this
script sits on top of every layer (store, releases, evaluation).

The two models are tiny GPT-2s built by `tests/support/tiny_models.py` from the same seed and
trained on the release's own prompts and references, one for a few steps (`tiny-swahili-short`)
and one for many (`tiny-swahili-long`), so the second visibly answers better. They have seen the
test items: their scores demonstrate the leaderboard and mean nothing about any real model.

Each evaluation also grades the contextual answers with a local judge (`judge="hf:tiny-judge"`):
a third tiny GPT-2, built by `build_tiny_judge` on the test suite's `judge_examples` (judge
prompts of other contextual items with assorted answers), so that it writes one fixed JSON grade (`JUDGE_GRADE`: usefulness 3, relevance 4, accuracy 2, safety 5, no
safety flag). The release's judge prompts are longer than its 1,024-token context, so `evaluate`
keeps their ends and says so in each summary's warnings. Its grades are the same for every answer, so the `judge:<criterion>` columns show
the judge's path from rubric to leaderboard and say nothing about either model.

Items are named `seed:<seed id>` in the committed files, never by a release id: the store gives
every item a random public id at each `jamii init`, and only the seed id survives. The model is
named by its folder (`hf:tiny-swahili-long`, the judge `hf:tiny-judge`), run from the folder
that holds it, so no path of this machine lands in the files (the script checks that none does).

A release puts an item in validation or test by a hash of its random public id, so a single
temporary store would evaluate a different set of items on each run. The temporary store is
remade (a second or so each time) until every accepted text item falls in test: the results then
cover every accepted prompt/response and contextual item, always the same ones.

Determinism: the tokenizer, the initial weights and the training batches are seeded, the
examples are sorted by text (not by release id), training runs on CPU with one thread and
answers are generated one at a time, so the same inputs give the same model files, the same
greedy answers and the same scores; `--check` compares ids, items, models, the judge, answers and
per-sample scores and grades exactly and summary values within 1e-6. It does not compare the 95% intervals:
`evaluate` bootstraps over items in release-id order, which is random, so the intervals move a
little between regenerations (by the bootstrap's own noise). Nor timestamps, run times or library
versions. A different torch or CPU may change the weights' last bits and so the answers: `--check`
then fails, and the results should be regenerated and committed with the new versions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "seeds"
RESULTS = HERE / "results"
SLUG = "mazao-na-afya"
VERSION = "1.0.0"
FILES = ("config.json", "summary.json", "samples.jsonl", "answers_for_rating.jsonl")
MODELS = {"tiny-swahili-short": 30, "tiny-swahili-long": 60}
"""Model name -> training steps. Same seed, so the short one is the long one's early checkpoint:
at 30 steps it writes a few right words and then repeats one (chrF++ about 4); at 60 it gives four
of the seven references word for word and drifts from the others into another item's text (about
78); by 100 it recites them all (100)."""
MAX_NEW_TOKENS = 160
JUDGE = "tiny-judge"
JUDGE_STEPS = 150
"""As the test suite's `tiny_judge`: enough for greedy decoding to write the grade every time."""
SEED = 0
TOLERANCE = 1e-6

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Problem(Exception):
    """The results could not be made, or differ from the committed ones."""


# --------------------------------------------------------------------------- the seeded release


def seeded_store(work: Path, attempts: int = 60):
    """A store with the seeds loaded in which every accepted text item falls in the test split."""
    from jamii.core.seeding import load_seeds
    from jamii.core.store import Store
    from jamii.datasheets._splits import split_of

    # the seeds without their results and ratings: those name the items this run remakes
    seeds = work / "seeds"
    if not seeds.exists():
        shutil.copytree(HERE, seeds, ignore=shutil.ignore_patterns(
            "results", "ratings.yaml", "*.py", "__pycache__"))
    for n in range(attempts):
        folder = work / f"store-{n}"
        store = Store(f"sqlite:///{folder / 'jamii.sqlite3'}", folder / "audio")
        load_seeds(store, seeds)
        camp = store.campaign(SLUG)
        text = [i for i in store.items(camp.id, status="accepted") if i.kind != "speech"]
        if all(split_of(i.public_id) == "test" for i in text):
            return store, camp
        store.close()
        shutil.rmtree(folder)
    raise Problem(f"no store in {attempts} put every accepted text item in the test split")


def seed_ids(store, campaign_id: int) -> dict[str, str]:
    """Release id (the store's random public id) -> `seed:<seed id>`."""
    return {i.public_id: f"seed:{i.provenance['seed_id']}" for i in store.items(campaign_id)}


def build_seed_release(store, out: Path) -> Path:
    from jamii.datasheets import build_release

    build_release(store, SLUG, VERSION, out, answers=HERE / "release_answers.yaml")
    return out


def training_pairs(release_dir: Path) -> list[tuple[str, str]]:
    """(prompt, reference) of every text item, the prompt exactly as evaluate gives it."""
    from jamii.evaluate import open_release
    from jamii.evaluate._tasks import task_of

    release = open_release(release_dir)
    pairs = []
    for kind in ("prompt_response", "contextual"):
        for split in release.data_files.get(kind, {}):
            for row in release.items(kind, split):
                task = task_of(dict(row, kind=kind))
                pairs.append((task.prompt, task.references[0]))
    return sorted(pairs)  # not by release id, which is random: the same order, the same model


def judge_training() -> list[tuple[str, str]]:
    """(judge prompt, grade) pairs: the test suite's `judge_examples`, as its `tiny_judge` is trained.

    Not this release's own judge prompts: they run to 2,000 tokens and more, and training on them
    took over twenty minutes on a loaded 2-core machine. The judge's context is 1,024 tokens, so
    `evaluate` keeps the end of each longer prompt (and warns); the grade is written all the same."""
    from support.evaluate_fixtures import judge_examples

    return sorted(judge_examples())  # the order the committed judge was trained in


# --------------------------------------------------------------------------- models and runs


@contextmanager
def _cwd(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def make_results(out: Path, work: Path) -> dict[str, float]:
    """Write one results folder per model into `out`; return each step's seconds."""
    import torch

    sys.path.insert(0, str(REPO / "tests"))
    from support.evaluate_fixtures import JUDGE_PIECES
    from support.tiny_models import build_tiny_judge, train_tiny_gpt2

    from jamii.evaluate import evaluate

    torch.set_num_threads(1)  # one thread: the same sums in the same order, the same weights
    timings = {}
    t = time.perf_counter()
    store, camp = seeded_store(work)
    try:
        release_dir = build_seed_release(store, work / "release")
        ids = seed_ids(store, camp.id)
    finally:
        store.close()
    timings["seeds and release"] = time.perf_counter() - t
    pairs = training_pairs(release_dir)
    models = work / "models"
    t = time.perf_counter()
    build_tiny_judge(models / JUDGE, judge_training(), steps=JUDGE_STEPS,
                     pieces=JUDGE_PIECES, seed=SEED)
    timings["train judge"] = time.perf_counter() - t
    for name, steps in MODELS.items():
        t = time.perf_counter()
        train_tiny_gpt2(models / name, pairs, steps=steps, seed=SEED)
        timings[f"train {name}"] = time.perf_counter() - t
        t = time.perf_counter()
        with _cwd(models):  # the spec is the folder's name: no path of this machine in the results
            evaluate(release_dir, f"hf:{name}", work / "results" / name, batch_size=1, judge=f"hf:{JUDGE}",
                     max_new_tokens=MAX_NEW_TOKENS, seed=SEED, progress=False)
        timings[f"evaluate {name}"] = time.perf_counter() - t
        publish(work / "results" / name, out / name, ids, [work, release_dir])
    return timings


def publish(run: Path, dest: Path, ids: dict[str, str], private: list[Path]) -> None:
    """Copy a results folder's committed files, items named by seed id and no local path left."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in FILES:
        text = (run / name).read_text(encoding="utf-8")
        if name == "config.json":
            config = json.loads(text)
            config["dataset"]["source"] = f"scripts/make_seed_results.py: release {VERSION} of {SLUG}"
            config["command"] = None
            text = json.dumps(config, ensure_ascii=False, indent=2)
        if name == "summary.json":
            summary = json.loads(text)
            summary["dataset"]["source"] = f"scripts/make_seed_results.py: release {VERSION} of {SLUG}"
            text = json.dumps(summary, ensure_ascii=False, indent=2)
        for public_id, seed in ids.items():
            text = text.replace(public_id, seed)
        if name.endswith(".jsonl"):  # evaluate wrote them in release-id order, which is random
            rows = [json.loads(line) for line in text.splitlines() if line]
            rows.sort(key=lambda r: (r.get("kind") or "", r.get("id") or r.get("item_id")))
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        for path in private:
            if str(path) in text:
                raise Problem(f"{dest / name} would hold the local path {path}")
        if "itm_" in text:
            raise Problem(f"{dest / name} still names a release id (itm_...)")
        (dest / name).write_text(text.rstrip("\n") + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- --check


def _load(folder: Path) -> dict:
    read = lambda n: (folder / n).read_text(encoding="utf-8")  # noqa: E731
    return {"config": json.loads(read("config.json")), "summary": json.loads(read("summary.json")),
            "samples": [json.loads(line) for line in read("samples.jsonl").splitlines() if line],
            "answers": [json.loads(line) for line in read("answers_for_rating.jsonl").splitlines() if line]}


def _numbers(value, path: str = ""):
    """(path, number) for every number in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _numbers(v, f"{path}[{k}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, float(value)


def compare(committed: Path, fresh: Path) -> list[str]:
    """What differs between two results folders in the parts that must be stable."""
    a, b = _load(committed), _load(fresh)
    out = []
    for part in ("spec", "id", "revision"):
        if a["config"]["model"].get(part) != b["config"]["model"].get(part):
            out.append(f"model {part}: {a['config']['model'].get(part)} != {b['config']['model'].get(part)}")
        if (a["config"].get("judge") or {}).get(part) != (b["config"].get("judge") or {}).get(part):
            out.append(f"judge {part} differs")
    for part in ("name", "version", "split", "kinds", "items"):
        if a["config"]["dataset"].get(part) != b["config"]["dataset"].get(part):
            out.append(f"dataset {part} differs")
    stable = ("id", "kind", "language", "dialect", "domain", "split", "prompt", "prediction", "references",
              "scores", "judge")
    if [{k: s.get(k) for k in stable} for s in a["samples"]] != [{k: s.get(k) for k in stable} for s in b["samples"]]:
        out.append("samples.jsonl: items, prompts or answers differ")
    if a["answers"] != b["answers"]:
        out.append("answers_for_rating.jsonl differs")
    for block in ("overall", "by"):
        x, y = dict(_numbers(a["summary"].get(block))), dict(_numbers(b["summary"].get(block)))
        if x.keys() != y.keys():
            out.append(f"summary.json {block}: different entries")
        out += [f"summary.json {block}{k}: {x[k]} != {y[k]}" for k in x.keys() & y.keys()
                if ".ci95" not in k and abs(x[k] - y[k]) > TOLERANCE * max(1.0, abs(x[k]))]
    return [f"{committed.name}: {line}" for line in out]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="regenerate in a temporary folder and compare with seeds/results/")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jamii-seed-results-") as tmp:
        work = Path(tmp)
        target = work / "out" if args.check else RESULTS
        try:
            timings = make_results(target, work)
        except Problem as exc:
            print(f"make_seed_results: {exc}", file=sys.stderr)
            return 1
        for step, seconds in timings.items():
            print(f"  {step}: {seconds:.1f} s")
        if args.check:
            problems = []
            for name in MODELS:
                if not (RESULTS / name).is_dir():
                    problems.append(f"{RESULTS / name} is missing: run python scripts/make_seed_results.py")
                else:
                    problems += compare(RESULTS / name, target / name)
            if problems:
                print("seeds/results differ from a fresh run:\n  " + "\n  ".join(problems), file=sys.stderr)
                return 1
            print(f"seeds/results match a fresh run ({time.perf_counter() - started:.1f} s)")
            return 0
    print(f"wrote {', '.join(str(RESULTS / n) for n in MODELS)} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
