"""The seeds: what a new user sees after `jamii init`, on SQLite and PostgreSQL.

The seeds are loaded into a real store through the store's own API; these tests then read the
store the way the collector would (sign in, consent, campaign, review queue, earnings).
"""

from __future__ import annotations

import hashlib
import io
import shutil
from decimal import Decimal

import pytest
import soundfile
import yaml
from click.testing import CliRunner

from jamii.cli import cli
from jamii.core.seeding import SeedError, client_key, default_folder, load_seeds, read_seeds
from jamii.core.store import Store

SLUG = "mazao-na-afya"
NEWCOMER_CODE = "DEMO-MWAN-AJUM"
CODES = {
    "DEMO-ORGA-NISR": "demo-mratibu",
    "DEMO-REVI-EWER": "demo-mkaguzi",
    "DEMO-REVI-EWSN": "demo-muongorori",
    "DEMO-ZAWA-DI01": "demo-zawadi",
    "DEMO-TEND-AI02": "demo-tendai",
    "DEMO-BARA-KA03": "demo-baraka",
    NEWCOMER_CODE: "demo-mwanajumuiya",
}


@pytest.fixture
def seeded(store):
    report = load_seeds(store)
    return store, report, store.campaign(SLUG)


def _counts(store: Store, campaign_id: int) -> dict:
    return {
        "people": len(store.contributors()),
        "items": len(store.items(campaign_id)),
        "reviews": sum(len(store.reviews_of(i.id)) for i in store.items(campaign_id)),
        "ledger": len(store.ledger(campaign_id)),
        "consent_texts": len(store.consent_texts(campaign_id)),
        "consents": sum(store.active_consent(p.id, campaign_id) is not None
                        for p in store.contributors()),
        "rate_cards": store.rate_card(campaign_id).version,
    }


def test_the_campaign_a_new_user_sees(seeded):
    store, report, camp = seeded
    assert report.campaign == SLUG and not report.already_loaded
    assert camp.languages == ["sw", "sn"]
    assert set(camp.domains) == {"agriculture", "health"}
    assert set(camp.item_kinds) == {"prompt_response", "contextual", "speech"}
    assert "Kiunguja" in camp.dialects["sw"] and "Manyika" in camp.dialects["sn"]
    assert camp.consent_scopes == ["open_publication", "model_evaluation", "voice"]
    assert camp.targets["representation"]["gender:woman"] == 0.5
    assert camp.licence_plan == "cc-by-4.0"
    assert "seed pack" in camp.compensation_options["in_kind"]
    rates = store.rate_card(camp.id).rates
    assert rates["item_accepted"] == {"amount": "50", "unit": "KES", "in_kind": {"seed pack": "0.25"}}
    assert set(rates) == {"item_accepted", "review", "rating", "recording_minute"}
    # every kind in both languages and both domains
    items = store.items(camp.id)
    assert {i.kind for i in items} == {"prompt_response", "contextual", "speech"}
    assert {(i.language, i.domain) for i in items} >= {
        ("sw", "agriculture"), ("sw", "health"), ("sn", "agriculture"), ("sn", "health")}
    for i in items:
        assert i.provenance["source"] == "seed" and i.provenance["seed_id"]
    ctx = [i for i in items if i.kind == "contextual"]
    for i in ctx:
        assert [c["name"] for c in i.content["rubric"]] == ["usefulness", "relevance", "accuracy", "safety"]
        assert all(len(c["anchors"]) == 5 for c in i.content["rubric"])
        assert i.content["red_flags"] and i.content["reference_answers"]


def test_consent_texts_in_english_and_swahili(seeded):
    store, _, camp = seeded
    texts = store.consent_texts(camp.id)
    assert {(t.version, t.language) for t in texts} == {("1", "en"), ("1", "sw")}
    assert camp.current_consent_version == "1"
    sw = store.consent_text(camp.id, "sw")
    en = store.consent_text(camp.id, "en")
    assert sw.language == "sw" and "Ukijiondoa" in sw.text and "CC BY 4.0" in sw.text
    assert en.language == "en" and "cannot be recalled" in en.text
    assert set(sw.scopes) == {"open_publication", "model_evaluation", "voice"}
    # a Shona reader gets English (no Shona text yet), as the README says
    assert store.consent_text(camp.id, "sn").language == "en"


def test_invite_codes_sign_in_and_the_newcomer_meets_the_consent_step(seeded):
    store, report, camp = seeded
    for code, pseudonym in CODES.items():
        person = store.sign_in_with_code(code)
        assert person is not None and person.pseudonym == pseudonym
        assert store.sign_in_with_code(code.lower().replace("-", "")).id == person.id
        assert any(code in line for line in report.sign_in_lines)
    assert "organiser" in store.sign_in_with_code("DEMO-ORGA-NISR").roles
    newcomer = store.sign_in_with_code(NEWCOMER_CODE)
    assert store.active_consent(newcomer.id, camp.id) is None
    for code in set(CODES) - {NEWCOMER_CODE}:
        assert store.active_consent(store.sign_in_with_code(code).id, camp.id) is not None
    # the newcomer accepts the Swahili text, then can contribute like anyone
    ct = store.consent_text(camp.id, "sw")
    store.accept_consent(newcomer.id, ct.id, {s: True for s in ct.scopes})
    sub = store.submit_item(campaign_id=camp.id, author_id=newcomer.id, kind="prompt_response",
                            language="sw", domain="agriculture", client_key="newcomer-1",
                            content={"prompt": "Mbegu za mahindi zipandwe kina gani?",
                                     "response": "Kina cha sentimita tano hivi."})
    assert sub.created


def test_open_items_wait_in_the_newcomers_review_queue(seeded):
    store, _, camp = seeded
    by_status: dict[str, int] = {}
    for i in store.items(camp.id):
        by_status[i.status] = by_status.get(i.status, 0) + 1
    assert by_status["accepted"] >= 3 and by_status["rejected"] == 1 and by_status["submitted"] >= 5
    newcomer = store.sign_in_with_code(NEWCOMER_CODE)
    queue = store.review_queue(camp.id, newcomer.id, limit=100)
    assert len(queue) == by_status["submitted"]
    assert {i.language for i in queue} == {"sw", "sn"}
    assert "speech" in {i.kind for i in queue}
    # a reviewer sees open items except their own and those they already reviewed
    reviewer = store.sign_in_with_code("DEMO-REVI-EWER")
    theirs = store.review_queue(camp.id, reviewer.id, limit=100)
    assert theirs and len(theirs) < len(queue)
    # reviewing from the queue works the real way
    first = queue[0]
    store.record_review(first.id, newcomer.id, "approve")
    assert first.id not in {i.id for i in store.review_queue(camp.id, newcomer.id, limit=100)}


def test_decisions_were_made_by_reviews_and_paid_from_the_ledger(seeded):
    store, _, camp = seeded
    ledger = store.ledger(camp.id)
    rejected = store.items(camp.id, status="rejected")
    assert len(rejected) == 1
    assert {r.verdict for r in store.reviews_of(rejected[0].id)} == {"reject"}
    assert "inaccurate" in store.reviews_of(rejected[0].id)[0].reasons
    for item in store.items(camp.id, status="accepted"):
        votes = [r.verdict for r in store.reviews_of(item.id)]
        assert votes.count("approve") >= 2
        earned = [e for e in ledger if e.item_id == item.id and e.activity == "item_accepted"]
        assert len(earned) == 1 and earned[0].contributor_id == item.author_id
        author = store.contributor(item.author_id)
        if author.compensation_method == "in_kind":  # paid in the good the rate card names
            assert (earned[0].amount, earned[0].unit) == (Decimal("0.25"), "seed pack")
        elif author.compensation_method == "airtime":  # the currency's worth, paid as airtime
            assert (earned[0].amount, earned[0].unit) == (Decimal(50), "KES airtime")
        else:
            assert (earned[0].amount, earned[0].unit) == (Decimal(50), "KES")
        if item.kind == "speech":
            minutes = [e for e in ledger if e.item_id == item.id and e.activity == "recording_minute"]
            assert len(minutes) == 1 and minutes[0].amount > 0
    no_pay = [e for e in ledger if e.activity == "item_accepted"
              and e.item_id in {i.id for i in rejected}]
    assert no_pay == []
    # every review earned an entry; the volunteer organiser's are recorded at zero
    reviews = [r for i in store.items(camp.id) for r in store.reviews_of(i.id)]
    assert len([e for e in ledger if e.activity == "review"]) == len(reviews)
    organiser = store.contributor_by_pseudonym("demo-mratibu")
    assert all(e.amount == 0 for e in store.earnings(organiser.id))
    tendai = store.contributor_by_pseudonym("demo-tendai")
    assert tendai.compensation_method == "in_kind" and tendai.compensation_choice == "seed pack"
    assert any(e.activity == "item_accepted" for e in store.earnings(tendai.id))


def test_speech_audio_is_content_addressed_synthetic_and_decodes(seeded):
    store, _, camp = seeded
    speech = store.items(camp.id, kind="speech")
    assert len(speech) >= 2
    for item in speech:
        digest = item.content["audio_sha256"]
        path = store.audio_path(digest)
        assert path.is_file()
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        samples, rate = soundfile.read(io.BytesIO(data))
        assert rate == item.content["sample_rate"] == 16000 and samples.ndim == 1
        assert 2.0 <= item.content["duration_s"] <= 6.0
        assert abs(len(samples) / rate - item.content["duration_s"]) < 0.01
        assert item.provenance["synthetic"] is True
        assert item.provenance["generator"].startswith("espeak-ng ")
        assert item.language == "sw" and item.content["transcript"]
    # the committed clips stay small
    total = sum(p.stat().st_size for p in (default_folder() / "audio").glob("*.wav"))
    assert total < 310_000


def test_loading_twice_adds_nothing(seeded):
    store, first, camp = seeded
    before = _counts(store, camp.id)
    again = load_seeds(store)
    assert again.already_loaded
    assert (again.people, again.items, again.reviews, again.consents, again.consent_texts) == (0, 0, 0, 0, 0)
    assert again.sign_in_lines == first.sign_in_lines
    assert _counts(store, camp.id) == before


def test_an_interrupted_load_is_finished_by_the_next(store, tmp_path):
    """A load stopped after the people and campaign (simulated by a seed folder without items'
    reviews, and so without the results and ratings that need them) is completed by a full load,
    with nothing doubled."""
    partial = tmp_path / "seeds"
    shutil.copytree(default_folder(), partial, ignore=shutil.ignore_patterns(
        "__pycache__", "*.py", "results", "ratings.yaml"))
    data = yaml.safe_load((partial / "items.yaml").read_text(encoding="utf-8"))
    for it in data["items"]:
        it.pop("reviews", None)
    data["items"] = data["items"][:5]
    (partial / "items.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    first = load_seeds(store, partial)
    assert first.items == 5 and first.reviews == 0
    full = load_seeds(store, default_folder())
    camp = store.campaign(SLUG)
    assert not full.already_loaded and full.people == 0 and full.items == len(read_seeds().items) - 5
    assert len(store.items(camp.id)) == len(read_seeds().items)
    assert len(store.items(camp.id, status="accepted")) >= 3
    assert load_seeds(store).already_loaded


def test_a_typo_names_the_file_and_the_entry_and_writes_nothing(sqlite_store, tmp_path):
    bad = tmp_path / "seeds"
    shutil.copytree(default_folder(), bad, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    text = (bad / "items.yaml").read_text(encoding="utf-8")
    text = text.replace("      prompt: Ni njia gani za kujikinga", "      promt: Ni njia gani za kujikinga", 1)
    text = text.replace("verdict: reject, reasons: [inaccurate]}", "verdict: reject}", 1)
    (bad / "items.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SeedError) as err:
        load_seeds(sqlite_store, bad)
    msg = str(err.value)
    assert "items.yaml" in msg and "'sw-pr-malaria-kinga'" in msg
    assert "unknown field 'promt'" in msg and "did you mean 'prompt'" in msg
    assert "'sw-pr-can-kupanda', review 1" in msg and "needs reasons" in msg
    assert sqlite_store.campaigns() == [] and sqlite_store.contributors() == []

    people = (default_folder() / "people.yaml").read_text(encoding="utf-8")
    (bad / "items.yaml").write_text((default_folder() / "items.yaml").read_text(encoding="utf-8"),
                                    encoding="utf-8")
    (bad / "people.yaml").write_text(people.replace("compensation_method: airtime",
                                                    "compensation_method: airtme", 1), encoding="utf-8")
    with pytest.raises(SeedError, match=r"people.yaml, person 3 'demo-muongorori', profile: "
                                        r"compensation_method 'airtme'"):
        load_seeds(sqlite_store, bad)
    (bad / "people.yaml").write_text(people, encoding="utf-8")
    (bad / "campaign.yaml").write_text("campaign: [unclosed\n", encoding="utf-8")
    with pytest.raises(SeedError, match=r"campaign.yaml: not valid YAML at line"):
        load_seeds(sqlite_store, bad)
    assert sqlite_store.contributors() == []


def test_seed_ids_are_the_idempotency_keys(seeded):
    store, _, camp = seeded
    for seed in read_seeds().items:
        assert store.item(store.items(camp.id)[0].id)  # store is readable
        found = [i for i in store.items(camp.id) if i.client_key == client_key(SLUG, seed.id)]
        assert len(found) == 1 and found[0].provenance["seed_id"] == seed.id


def test_jamii_init_prints_the_sign_in_lines(tmp_path, monkeypatch):
    monkeypatch.delenv("JAMII_RESULTS", raising=False)
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'jamii.sqlite3'}"
    args = ["init", "--db", url, "--data-dir", str(tmp_path)]
    out = runner.invoke(cli, args, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert f"campaign '{SLUG}'" in out.output
    for code in CODES:
        assert code in out.output
    assert "organiser" in out.output and "before real use" in out.output
    again = runner.invoke(cli, args, catch_exceptions=False)
    assert again.exit_code == 0 and "already loaded" in again.output
    store = Store(url, tmp_path / "audio")
    try:
        camp = store.campaign(SLUG)
        assert len(store.items(camp.id)) == len(read_seeds().items)
        for item in store.items(camp.id, kind="speech"):
            assert store.audio_path(item.content["audio_sha256"]).is_file()
        # the results land where the dashboard looks (the data folder), their tasks in the store
        assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
            "tiny-swahili-long", "tiny-swahili-short"]
        assert sum(p["ratings"] for p in store.rating_progress(camp.id)) == len(read_seeds().ratings)
    finally:
        store.close()


def test_loading_again_after_the_demo_people_are_withdrawn_keeps_them_withdrawn(seeded):
    """The demo banner's advice (withdraw the demo people) must not break the next `jamii init`,
    nor bring them back: no new consent, no sign-in line, no sign-in attempt audited."""
    from jamii.core.store import OPERATOR

    store, _, camp = seeded
    for pseudonym in CODES.values():
        store.withdraw(store.contributor_by_pseudonym(pseudonym).id, actor_id=OPERATOR,
                       reason="demo people off before real use")
    assert store.demo_people_active() == []
    before = _counts(store, camp.id)
    again = load_seeds(store)
    assert again.sign_in_lines == []
    assert again.consents == 0 and _counts(store, camp.id) == before
    assert all(store.contributor_by_pseudonym(p).withdrawn_at for p in CODES.values())
    assert not store.audit_events(action_prefix="sign_in")


# --------------------------------------------------------------------------- committed results


def _accepted_seed_ids(kind: str) -> set[str]:
    """Seed ids of `kind` that the seeds' own reviews accept under the campaign's rule."""
    from jamii.core.rules import AcceptanceRule, decide

    seeds = read_seeds()
    rule = AcceptanceRule.from_campaign(seeds.campaign.get("acceptance_rule"))
    return {it.id for it in seeds.items if it.kind == kind and decide(
        sum(r.verdict == "approve" for r in it.reviews),
        sum(r.verdict == "reject" for r in it.reviews), rule) == "accepted"}


def _results_folders():
    return sorted(p for p in (default_folder() / "results").iterdir() if p.is_dir())


def _jsonl(path):
    import json

    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_enough_contextual_items_are_accepted_for_rating(seeded):
    store, _, camp = seeded
    accepted = [i for i in store.items(camp.id, kind="contextual") if i.status == "accepted"]
    assert len(accepted) >= 3
    assert {i.provenance["seed_id"] for i in accepted} == _accepted_seed_ids("contextual")
    assert {i.language for i in accepted} == {"sw", "sn"}


def test_committed_results_name_accepted_seed_items_of_one_release_by_two_models():
    """seeds/results/ (made by scripts/make_seed_results.py) name items by seed id, never by a release id
    the store made at random, and both runs scored the same release."""
    import json

    folders = _results_folders()
    assert len(folders) == 2, folders
    accepted = _accepted_seed_ids("contextual")
    datasets, models = set(), set()
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == [
            "answers_for_rating.jsonl", "config.json", "samples.jsonl", "summary.json"]
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        rows = _jsonl(folder / "answers_for_rating.jsonl")
        assert {r["item_id"] for r in rows} == {f"seed:{i}" for i in accepted}, folder.name
        assert all(r["answer"].strip() and r["model_id"] == config["model"]["spec"] for r in rows)
        assert "chrf" in summary["overall"]["metrics"]
        assert summary["signatures"]["chrf"].startswith("chrF2++")  # chrF++, word order 2
        datasets.add((config["dataset"]["name"], config["dataset"]["version"]))
        models.add(config["model"]["spec"])
        for path in folder.iterdir():
            text = path.read_text(encoding="utf-8")
            assert "itm_" not in text and "/tmp" not in text and "/home/" not in text, path
    assert len(datasets) == 1
    assert models == {f"hf:{f.name}" for f in folders}


def test_committed_results_carry_judge_grades_for_both_models():
    """Each run graded every accepted contextual answer with the tiny local judge (`hf:tiny-judge`):
    the leaderboard shows judge grades beside chrF++."""
    import json

    contextual = len(_accepted_seed_ids("contextual"))
    for folder in _results_folders():
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        assert summary["judge"]["model"]["spec"] == "hf:tiny-judge", folder.name
        assert (summary["judge"]["judged"], summary["judge"]["parse_failures"]) == (contextual, 0)
        metrics = summary["overall"]["metrics"]
        for criterion in ("usefulness", "relevance", "accuracy", "safety"):
            assert metrics[f"judge:{criterion}"]["n"] == contextual, (folder.name, criterion)
        assert "judge:safety_flag" in metrics


# --------------------------------------------------------------------------- ratings at init


def _rating_counts(store: Store, campaign_id: int) -> dict:
    progress = store.rating_progress(campaign_id)
    return {"tasks": sum(p["tasks"] for p in progress), "ratings": sum(p["ratings"] for p in progress),
            "ledger": len(store.ledger(campaign_id)), "audit": len(store.audit_events())}


def _results_tree(root) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_copies_the_results_with_store_ids_queues_tasks_and_loads_ratings(sqlite_store, tmp_path):
    import json

    from jamii.dashboard.leaderboard import leaderboard, load_runs

    results = tmp_path / "results"
    report = load_seeds(sqlite_store, results_dir=results)
    store, camp = sqlite_store, sqlite_store.campaign(SLUG)
    seeds = read_seeds()
    assert report.results == len(seeds.runs) == 2
    by_public = {i.public_id: i for i in store.items(camp.id)}
    for run in seeds.runs:
        folder = results / run.name
        assert sorted(p.name for p in folder.iterdir()) == sorted(run.texts)
        text = "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
        assert '"seed:' not in text
        rows = _jsonl(folder / "answers_for_rating.jsonl")
        assert {by_public[r["item_id"]].provenance["seed_id"] for r in rows} == _accepted_seed_ids("contextual")
        assert all(by_public[r["item_id"]].status == "accepted" for r in rows)
        samples = _jsonl(folder / "samples.jsonl")
        assert all(s["id"] in by_public for s in samples)
        assert json.loads((folder / "config.json").read_text(encoding="utf-8"))["model"]["spec"] == run.model
    # the dashboard's leaderboard reads them as it reads any results folder
    runs, skipped = load_runs(results)
    assert len(runs) == 2 and not skipped
    board = leaderboard(runs).metric("chrf")
    assert list(board["model"]) == ["tiny-swahili-long", "tiny-swahili-short"]
    # every accepted contextual item: one direct task per model and one pair
    contextual = len(_accepted_seed_ids("contextual"))
    assert report.rating_tasks == contextual * 3 == _rating_counts(store, camp.id)["tasks"]
    assert report.ratings == len(seeds.ratings) > 0
    scores, _safety = store.direct_ratings(camp.id)
    votes = store.pairwise_votes(camp.id)
    assert len(scores) and len(votes)
    assert set(scores["model"]) <= {r.model for r in seeds.runs}
    # each seeded pair vote counts for the model ratings.yaml names, whichever side it was shown on
    for r in (r for r in seeds.ratings if r.mode == "pair" and r.prefer.startswith("hf:")):
        rater = store.contributor_by_pseudonym(r.by).id
        mine = votes[votes["rater"] == rater]
        assert any((v.model_a if v.preferred == "a" else v.model_b) == r.prefer
                   for v in mine.itertuples() if v.preferred in ("a", "b"))
    # ratings are paid by the rate card, like any rating
    assert len([e for e in store.ledger(camp.id) if e.activity == "rating"]) == len(seeds.ratings)
    # and tasks stay open for the demo reviewers
    for code in ("DEMO-REVI-EWER", "DEMO-REVI-EWSN", "DEMO-ORGA-NISR"):
        rater = store.sign_in_with_code(code)
        assert store.rating_queue_for(camp.id, rater.id, limit=100), code


def test_loading_ratings_twice_adds_nothing(sqlite_store, tmp_path):
    results = tmp_path / "results"
    load_seeds(sqlite_store, results_dir=results)
    camp = sqlite_store.campaign(SLUG)
    before, tree = _rating_counts(sqlite_store, camp.id), _results_tree(results)
    again = load_seeds(sqlite_store, results_dir=results)
    assert again.already_loaded and (again.results, again.rating_tasks, again.ratings) == (0, 0, 0)
    assert _rating_counts(sqlite_store, camp.id) == before
    assert _results_tree(results) == tree


def test_a_load_interrupted_before_the_ratings_is_finished_by_the_next(sqlite_store, tmp_path):
    """The first load had no ratings.yaml (an older jamii, or stopped before the ratings); the
    next one adds the ratings and nothing else."""
    partial = tmp_path / "seeds"
    shutil.copytree(default_folder(), partial, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (partial / "ratings.yaml").unlink()
    results = tmp_path / "results"
    first = load_seeds(sqlite_store, partial, results_dir=results)
    assert first.ratings == 0 and first.rating_tasks > 0
    full = load_seeds(sqlite_store, results_dir=results)
    assert (full.results, full.rating_tasks, full.ratings) == (0, 0, len(read_seeds().ratings))


def test_withdrawn_demo_raters_give_no_seeded_ratings(sqlite_store, tmp_path):
    from jamii.core.store import OPERATOR

    load_seeds(sqlite_store, results_dir=tmp_path / "first")
    camp = sqlite_store.campaign(SLUG)
    for pseudonym in CODES.values():
        sqlite_store.withdraw(sqlite_store.contributor_by_pseudonym(pseudonym).id, actor_id=OPERATOR,
                              reason="demo people off before real use")
    before = _rating_counts(sqlite_store, camp.id)["ratings"]
    again = load_seeds(sqlite_store, results_dir=tmp_path / "second")
    assert again.ratings == 0 and _rating_counts(sqlite_store, camp.id)["ratings"] == before


def test_bad_ratings_and_results_name_the_file_and_the_entry_and_write_nothing(sqlite_store, tmp_path):
    bad = tmp_path / "seeds"
    shutil.copytree(default_folder(), bad, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    good = (bad / "ratings.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(good)
    direct = next(n for n, r in enumerate(data["ratings"]) if "scores" in r)
    pair = next(n for n, r in enumerate(data["ratings"]) if "prefer" in r)
    data["ratings"][direct]["scores"]["usefulness"] = 7
    data["ratings"][direct]["model"] = "hf:tiny-swahili-huge"
    data["ratings"][pair]["prefer"] = "hf:nobody"
    data["ratings"].append({"item": "sn-ctx-fivha", "by": "demo-zawadi", "prefer": "tie"})
    (bad / "ratings.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SeedError) as err:
        load_seeds(sqlite_store, bad, results_dir=tmp_path / "results")
    msg = str(err.value)
    assert f"ratings.yaml, rating {direct + 1}, scores: The score for usefulness" in msg
    assert f"ratings.yaml, rating {direct + 1}: model 'hf:tiny-swahili-huge' did not answer" in msg
    assert f"ratings.yaml, rating {pair + 1}: prefer 'hf:nobody' must be one of" in msg
    n = len(data["ratings"])
    assert f"rating {n}: 'demo-zawadi' cannot rate" in msg
    assert f"rating {n}: item 'sn-ctx-fivha' has no model answer" in msg
    assert sqlite_store.campaigns() == [] and not (tmp_path / "results").exists()

    # results that answer an item the seeds do not accept
    (bad / "ratings.yaml").write_text(good, encoding="utf-8")
    run = sorted(p for p in (bad / "results").iterdir() if p.is_dir())[0]
    answers = run / "answers_for_rating.jsonl"
    answers.write_text(answers.read_text(encoding="utf-8").replace(
        '"seed:sw-ctx-kuhara-usiku"', '"seed:sn-ctx-fivha"', 1), encoding="utf-8")
    with pytest.raises(SeedError, match=rf"{run.name}/answers_for_rating.jsonl, line \d+: item "
                                        r"'sn-ctx-fivha' is not a contextual item that the reviews"):
        load_seeds(sqlite_store, bad, results_dir=tmp_path / "results")
    assert sqlite_store.campaigns() == [] and not (tmp_path / "results").exists()
