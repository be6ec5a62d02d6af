"""Load the example campaign in `seeds/` into a store, the way real users would have made it.

    report = load_seeds(store)           # the installed jamii.seeds folder
    report = load_seeds(store, "path/to/seeds")

Everything goes through the public `Store` API (people, campaign, rate card, consent texts and
acceptances, audio, items, reviews), so acceptance decisions and compensation entries come from
the same code paths as in real use. The seed files are read and checked completely before the
first write: a typo gives a `SeedError` naming the file and the entry, and changes nothing.
The organiser's steps are taken by the operator (`jamii init` runs at this machine's shell);
each seeded person accepts consent, writes, reviews and rates as themself.

Model answers come from `seeds/results/` (made by `scripts/make_seed_results.py`, which needs
torch: `jamii init` does not). They name items `seed:<seed id>`, because the store gives items
random public ids; loading copies each folder into the data folder's `results/` (where the
dashboard's leaderboard looks) with those ids translated, queues rating tasks from its answers
with the store's own `queue_rating_tasks`, and records the ratings of `ratings.yaml`, so the
rating page and the leaderboard are alive at once while tasks stay open for the demo reviewers.

Loading is idempotent and resumable: people are found by pseudonym, the campaign by slug,
items by their idempotency key, reviews by reviewer, results folders by name and ratings by
rater and task, so a second call adds nothing and a call after an interrupted one finishes the
job.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from jamii.core import checks
from jamii.core import items as item_rules
from jamii.core import ratings as rating_rules
from jamii.core.langtags import LanguageTagError, normalise_tag
from jamii.core.records import (
    ACTIVITIES,
    COMPENSATION_METHODS,
    CONSENT_SCOPES,
    PROFILE_FIELDS,
    ROLES,
    VERDICTS,
)
from jamii.core.rules import AcceptanceRule, decide
from jamii.core.schema import ITEM_KINDS
from jamii.core.store import OPERATOR, REJECT_REASONS, NotFound, Store, StoreError

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_CONTENT_KEYS = {
    kind: set(item_rules.TEXT_FIELDS[kind]) | set(item_rules.LIST_FIELDS[kind])
    for kind in ITEM_KINDS
}
_CONTENT_KEYS["prompt_response"].add("task_type")
_CONTENT_KEYS["contextual"].add("rubric")


class SeedError(StoreError):
    """The seed files are wrong; the message names every file, entry and field to fix."""


@dataclass
class SeedReport:
    campaign: str
    """Slug of the seeded campaign."""
    people: int = 0
    items: int = 0
    reviews: int = 0
    consent_texts: int = 0
    consents: int = 0
    results: int = 0
    """Results folders copied into the data folder."""
    rating_tasks: int = 0
    ratings: int = 0
    """How many of each this call added (0 everywhere when the seeds were already loaded)."""
    already_loaded: bool = False
    sign_in_lines: list[str] = field(default_factory=list)
    """One line per seeded person whose demo invite code signs in, for `jamii init` to print."""


# --------------------------------------------------------------------------- parsed seeds


@dataclass
class _Person:
    pseudonym: str
    label: str
    invite_code: str
    roles: list[str]
    name: str | None
    profile: dict[str, Any]
    consent: dict[str, Any] | None  # {"language": tag, "scopes": {scope: bool}}


@dataclass
class _Review:
    by: str
    verdict: str
    reasons: list[str]
    suggested_edit: dict[str, Any] | None


@dataclass
class _Item:
    id: str
    kind: str
    language: str
    dialect: str | None
    domain: str | None
    author: str
    content: dict[str, Any]
    provenance: dict[str, Any]
    audio: bytes | None
    reviews: list[_Review]


@dataclass
class _Run:
    """One committed results folder of `jamii evaluate` (seeds/results/<name>/)."""

    name: str
    model: str
    dataset: str
    texts: dict[str, str]
    """File name -> its text, items named `seed:<seed id>`."""
    answers: list[dict[str, Any]]
    """Rows of answers_for_rating.jsonl."""


@dataclass
class _Rating:
    item: str
    by: str
    mode: str
    """'direct' (one model's answer scored on the rubric) or 'pair' (the two answers compared)."""
    model: str | None
    prefer: str | None
    """For a pair: the preferred model id, 'tie' or 'both_bad'."""
    scores: dict[str, int] | None
    safety_flag: bool
    comment: str


@dataclass
class _Seeds:
    folder: Path
    campaign: dict[str, Any]
    consent_version: str
    consent_texts: dict[str, str]
    rate_card: dict[str, dict[str, Any]]
    people: list[_Person]
    items: list[_Item]
    runs: list[_Run] = field(default_factory=list)
    ratings: list[_Rating] = field(default_factory=list)


def default_folder() -> Path:
    """The seeds that ship with jamii (the `jamii.seeds` package)."""
    return Path(importlib.import_module("jamii.seeds").__file__).resolve().parent


# --------------------------------------------------------------------------- loading


def load_seeds(store: Store, folder: str | Path | None = None, *,
               results_dir: str | Path | None = None) -> SeedReport:
    """Check the seed files, then bring the store up to them; return what was added.

    `results_dir` is where the seeded results folders go: by default where the dashboard reads
    them (JAMII_RESULTS, else `results/` beside the store's audio folder, in the data folder).
    """
    seeds = read_seeds(folder)
    slug = seeds.campaign["slug"]
    report = SeedReport(campaign=slug)
    organiser = next(p for p in seeds.people if "organiser" in p.roles)

    campaign = _find_campaign(store, slug)
    if campaign is not None and _find_person(store, organiser.pseudonym) is None:
        raise SeedError(
            f"A campaign '{slug}' already exists in this store but the seeds did not make it "
            f"(their organiser '{organiser.pseudonym}' is missing): nothing was loaded. Give the "
            "seed campaign another slug, or run `jamii init --no-seeds`.")

    try:
        ids = _load_people(store, seeds, organiser, report)
        if campaign is None:
            fields = {k: v for k, v in seeds.campaign.items() if k not in ("slug", "name", "languages")}
            campaign = store.create_campaign(slug, seeds.campaign["name"],
                                             languages=seeds.campaign["languages"],
                                             actor_id=OPERATOR, **fields)
        if store.rate_card(campaign.id) is None:
            store.set_rate_card(campaign.id, seeds.rate_card, actor_id=OPERATOR)
        texts = _load_consent_texts(store, seeds, campaign.id, report)
        _load_consents(store, seeds, campaign.id, ids, texts, report)
        item_ids = _load_items(store, seeds, campaign.id, ids, report)
        _load_reviews(store, seeds, ids, item_ids, report)
        stored = {i.provenance["seed_id"]: i for i in store.items(campaign.id)
                  if i.client_key == client_key(slug, str(i.provenance.get("seed_id")))}
        _load_results(store, seeds, campaign.id, stored, _results_dir(store, results_dir), report)
        _load_ratings(store, seeds, campaign.id, ids, stored, report)
    except SeedError:
        raise
    except StoreError as exc:
        raise SeedError(f"{seeds.folder}: the store refused a seed: {exc}") from exc

    report.already_loaded = not (report.people or report.items or report.reviews
                                 or report.consent_texts or report.consents or report.results
                                 or report.rating_tasks or report.ratings)
    report.sign_in_lines = _sign_in_lines(store, seeds.people)
    return report


def _find_campaign(store: Store, slug: str):
    try:
        return store.campaign(slug)
    except NotFound:
        return None


def _find_person(store: Store, pseudonym: str):
    try:
        return store.contributor_by_pseudonym(pseudonym)
    except NotFound:
        return None


def _load_people(store: Store, seeds: _Seeds, organiser: _Person,
                 report: SeedReport) -> dict[str, int]:
    ids: dict[str, int] = {}
    ordered = [organiser] + [p for p in seeds.people if p is not organiser]
    for p in ordered:
        person = _find_person(store, p.pseudonym)
        if person is None:
            person, _ = store.add_contributor(
                roles=p.roles, name=p.name, pseudonym=p.pseudonym, invite_code=p.invite_code,
                actor_id=OPERATOR, **p.profile)
            report.people += 1
        ids[p.pseudonym] = person.id
    return ids


def _load_consent_texts(store: Store, seeds: _Seeds, campaign_id: int,
                        report: SeedReport) -> dict[str, int]:
    before = {(t.version, t.language) for t in store.consent_texts(campaign_id)}
    out = {}
    for language, text in seeds.consent_texts.items():
        try:
            ct = store.add_consent_text(campaign_id, seeds.consent_version, language, text,
                                        scopes=seeds.campaign["consent_scopes"], actor_id=OPERATOR)
        except StoreError as exc:
            raise SeedError(
                f"{seeds.folder / 'campaign.yaml'}: consent version {seeds.consent_version} "
                f"({language}) is already in the store with a different text. Consent texts never "
                f"change once stored: give the edited text a new version. ({exc})") from exc
        if (seeds.consent_version, language) not in before:
            report.consent_texts += 1
        out[language] = ct.id
    return out


def _load_consents(store: Store, seeds: _Seeds, campaign_id: int, ids: dict[str, int],
                   texts: dict[str, int], report: SeedReport) -> None:
    if store.campaign(campaign_id).current_consent_version != seeds.consent_version:
        return  # an organiser has moved on to a newer text: seeded people must read it themselves
    for p in seeds.people:
        if ids[p.pseudonym] in _withdrawn(store, ids):
            continue  # an organiser withdrew this demo person: they stay withdrawn
        if p.consent and store.active_consent(ids[p.pseudonym], campaign_id) is None:
            store.accept_consent(ids[p.pseudonym], texts[p.consent["language"]], p.consent["scopes"])
            report.consents += 1


def client_key(campaign_slug: str, seed_id: str) -> str:
    """The idempotency key a seed item is stored under."""
    return f"seed:{campaign_slug}:{seed_id}"


def _load_items(store: Store, seeds: _Seeds, campaign_id: int, ids: dict[str, int],
                report: SeedReport) -> dict[str, int]:
    out = {}
    gone = _withdrawn(store, ids)
    stored = {i.client_key for i in store.items(campaign_id)} if gone else set()
    for it in seeds.items:
        if ids[it.author] in gone and client_key(seeds.campaign["slug"], it.id) not in stored:
            continue  # never stored, and its author has withdrawn since: leave it out
        content = dict(it.content)
        if it.audio is not None:
            info = checks.inspect_audio(it.audio)
            content.update(audio_sha256=store.save_audio(it.audio, ".wav"),
                           duration_s=round(info.duration_s, 3), sample_rate=info.sample_rate)
        try:
            submitted = store.submit_item(
                campaign_id=campaign_id, author_id=ids[it.author], kind=it.kind,
                language=it.language, content=content,
                client_key=client_key(seeds.campaign["slug"], it.id), dialect=it.dialect,
                domain=it.domain, provenance=it.provenance)
        except StoreError as exc:
            raise SeedError(f"{seeds.folder / 'items.yaml'}: item '{it.id}': {exc}") from exc
        report.items += submitted.created
        out[it.id] = submitted.item.id
    return out


def _load_reviews(store: Store, seeds: _Seeds, ids: dict[str, int], item_ids: dict[str, int],
                  report: SeedReport) -> None:
    gone = _withdrawn(store, ids)
    for it in seeds.items:
        if it.id not in item_ids:
            continue
        item_id = item_ids[it.id]
        done = {r.reviewer_id for r in store.reviews_of(item_id)}
        for rv in it.reviews:
            reviewer = ids[rv.by]
            if reviewer in done or reviewer in gone or store.item(item_id).status != "submitted":
                continue
            try:
                store.record_review(item_id, reviewer, rv.verdict, reasons=rv.reasons,
                                    suggested_edit=rv.suggested_edit)
            except StoreError as exc:
                raise SeedError(f"{seeds.folder / 'items.yaml'}: item '{it.id}', review by "
                                f"'{rv.by}': {exc}") from exc
            done.add(reviewer)
            report.reviews += 1


RESULTS_ENV = "JAMII_RESULTS"
"""Where the dashboard reads results folders, when set (else `results/` in the data folder)."""
_SEED_REF = re.compile(r'"seed:([A-Za-z0-9][A-Za-z0-9_.-]{0,79})"')


def _results_dir(store: Store, given: str | Path | None) -> Path:
    if given is not None:
        return Path(given)
    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser() if env else store.audio_dir.parent / "results"


def _translated(text: str, stored: dict[str, Any]) -> str:
    """`"seed:<id>"` -> the store's public id of that item (left as is when not stored)."""
    def public(m: re.Match) -> str:
        item = stored.get(m.group(1))
        return f'"{item.public_id}"' if item is not None else m.group(0)

    return _SEED_REF.sub(public, text)


def _load_results(store: Store, seeds: _Seeds, campaign_id: int, stored: dict[str, Any],
                  results_dir: Path, report: SeedReport) -> None:
    """Queue the runs' answers, then copy each run into `results_dir`.

    A run whose folder is there already was done by an earlier load. The answers of every run
    are queued together, as `jamii ratings queue` does with several folders, since pairs join
    two models' answers; queueing first makes an interrupted load finish the job (queueing the
    same answers again adds nothing).
    """
    todo = [run for run in seeds.runs if not (results_dir / run.name).exists()]
    if not todo:
        return
    rows = [dict(json.loads(_translated(json.dumps(row), stored)), run=run.name)
            for run in seeds.runs for row in run.answers]
    queued = store.queue_rating_tasks(campaign_id, rows, mode="both", seed=0, actor_id=OPERATOR)
    report.rating_tasks += queued.tasks_added
    results_dir.mkdir(parents=True, exist_ok=True)
    for run in todo:
        dest = results_dir / run.name
        tmp = Path(tempfile.mkdtemp(prefix=f".{run.name}.", dir=results_dir))
        try:
            for name, text in run.texts.items():
                (tmp / name).write_text(_translated(text, stored), encoding="utf-8")
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        report.results += 1


def _load_ratings(store: Store, seeds: _Seeds, campaign_id: int, ids: dict[str, int],
                  stored: dict[str, Any], report: SeedReport) -> None:
    """Each seeded rating, given by its rater as themself, on the task it names.

    A task is found in the rater's own queue: a rating already given (or a task already full,
    or a rater since withdrawn) leaves it out of that queue, and so is not given again.
    """
    if not seeds.ratings:
        return
    models = store.rating_task_models(campaign_id)
    content = {sid: (i.language, i.content.get("scenario"), i.content.get("question"))
               for sid, i in stored.items()}
    for rater in dict.fromkeys(r.by for r in seeds.ratings):
        queue = store.rating_queue_for(campaign_id, ids[rater], limit=10_000)
        for r in (r for r in seeds.ratings if r.by == rater):
            wanted = {r.model} if r.mode == "direct" else {run.model for run in seeds.runs}
            task = next((t for t in queue if t.mode == r.mode and r.item in content
                         and (t.language, t.scenario, t.question) == content[r.item]
                         and {m for m in models.get(t.public_id, ()) if m} == wanted), None)
            if task is None:
                continue
            choice = None
            if r.mode == "pair":
                choice = r.prefer if r.prefer in rating_rules.PAIR_CHOICES else (
                    "a" if models[task.public_id][0] == r.prefer else "b")
            try:
                store.record_rating(task.task_id, ids[rater], choice=choice, scores=r.scores,
                                    safety_flag=r.safety_flag, comment=r.comment, actor_id=ids[rater])
            except StoreError as exc:
                raise SeedError(f"{seeds.folder / 'ratings.yaml'}: rating of '{r.item}' by "
                                f"'{rater}': {exc}") from exc
            report.ratings += 1


def _withdrawn(store: Store, ids: dict[str, int]) -> set[int]:
    """Seed people an organiser has withdrawn since an earlier `jamii init`."""
    return {person.id for person in store.contributors()
            if person.id in ids.values() and person.withdrawn_at}


def _sign_in_lines(store: Store, people: list[_Person]) -> list[str]:
    lines = []
    width = max(len(p.label) for p in people)
    active = set(store.demo_people_active())  # no sign-in attempt: nothing throttled or audited
    for p in people:
        if p.pseudonym not in active:
            continue  # withdrawn or re-coded by an organiser: the demo code no longer works
        lines.append(f"{p.label:<{width}}  invite code {p.invite_code}  ({p.pseudonym})")
    if lines:
        lines.insert(0, "Sign in to the collector with one of these demo invite codes:")
        lines.append("These demo codes are public: withdraw these people before real use "
                     "(see seeds/README.md).")
    return lines


# --------------------------------------------------------------------------- reading + checks


class _Problems:
    """Every problem found in the seed files, each prefixed with its file and entry."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")

    def raise_if_any(self, folder: Path) -> None:
        if self.lines:
            shown = self.lines[:30]
            more = f"\n  ... and {len(self.lines) - 30} more" if len(self.lines) > 30 else ""
            raise SeedError(f"The seeds in {folder} have {len(self.lines)} problem(s):\n  "
                            + "\n  ".join(shown) + more)


def _read_yaml(path: Path, top: str) -> Any:
    if not path.is_file():
        raise SeedError(f"{path}: file not found; the seeds folder needs campaign.yaml, "
                        "people.yaml and items.yaml.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SeedError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8.") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SeedError(f"{path}: not valid YAML{at}: {problem}.") from exc
    if not isinstance(data, dict) or top not in data:
        raise SeedError(f"{path}: expected a mapping with a top-level '{top}:' key.")
    return data


def _keys(obj: Any, where: str, problems: _Problems, required: set[str],
          optional: set[str] = frozenset()) -> bool:
    """Check a mapping's keys; unknown keys get a did-you-mean hint. False if not a mapping."""
    if not isinstance(obj, dict):
        problems.add(where, f"expected a mapping of fields, got {type(obj).__name__}.")
        return False
    allowed = required | optional
    for key in obj:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.add(where, f"unknown field '{key}'{extra}; allowed: {', '.join(sorted(allowed))}.")
    for key in sorted(required - set(obj)):
        problems.add(where, f"missing field '{key}'.")
    return True


def _text(value: Any, where: str, name: str, problems: _Problems, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add(where, f"'{name}' is empty.")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.add(where, f"'{name}' must be text, got {type(value).__name__}.")
        return None
    return str(value).strip()


def _str_list(value: Any, where: str, name: str, problems: _Problems,
              allowed: tuple[str, ...] | None = None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(where, f"'{name}' must be a list of texts.")
        return []
    if allowed is not None:
        bad = [v for v in value if v not in allowed]
        if bad:
            problems.add(where, f"'{name}' has unknown value(s) {bad}; use {', '.join(allowed)}.")
    return list(value)


def _tag(value: Any, where: str, problems: _Problems) -> str | None:
    try:
        return normalise_tag(value)
    except LanguageTagError as exc:
        problems.add(where, str(exc))
        return None


def read_seeds(folder: str | Path | None = None) -> _Seeds:
    """Read and check every seed file; raise one SeedError listing all problems."""
    folder = Path(folder) if folder else default_folder()
    problems = _Problems()
    campaign, consent_version, consent_texts, rate_card, rubrics = _read_campaign(folder, problems)
    problems.raise_if_any(folder)  # people and items are judged against the campaign
    people = _read_people(folder, campaign, consent_texts, problems)
    items = _read_items(folder, campaign, rubrics, people, problems)
    problems.raise_if_any(folder)
    runs = _read_results(folder, campaign, items, problems)
    ratings = _read_ratings(folder, people, items, runs, problems)
    problems.raise_if_any(folder)
    return _Seeds(folder, campaign, consent_version, consent_texts, rate_card, people, items,
                  runs, ratings)


def _read_campaign(folder: Path, problems: _Problems):
    path = folder / "campaign.yaml"
    data = _read_yaml(path, "campaign")
    _keys(data, str(path), problems, {"campaign", "consent", "rate_card"}, {"rubrics"})
    where = f"{path}, campaign"
    c = data.get("campaign")
    out: dict[str, Any] = {}
    if _keys(c, where, problems, {"slug", "name", "languages"},
             {"description", "dialects", "domains", "item_kinds", "targets", "acceptance_rule",
              "consent_scopes", "compensation_options", "licence_plan"}):
        slug = _text(c.get("slug"), where, "slug", problems)
        if slug and not _SLUG_RE.match(slug):
            problems.add(where, f"slug '{slug}' must be lowercase letters, digits and hyphens (max 64).")
        out["slug"] = slug
        out["name"] = _text(c.get("name"), where, "name", problems)
        out["description"] = _text(c.get("description"), where, "description", problems,
                                   required=False) or ""
        langs = [_tag(t, f"{where}, languages", problems)
                 for t in _str_list(c.get("languages"), where, "languages", problems)]
        if not langs:
            problems.add(where, "'languages' needs at least one BCP-47 tag such as 'sw'.")
        out["languages"] = [t for t in langs if t]
        dialects = c.get("dialects") or {}
        out["dialects"] = {}
        if not isinstance(dialects, dict):
            problems.add(where, "'dialects' must map a language tag to a list of dialect names.")
        else:
            for tag, names in dialects.items():
                norm = _tag(tag, f"{where}, dialects", problems)
                if norm and norm not in out["languages"]:
                    problems.add(where, f"dialects are given for '{tag}', which is not in languages.")
                if norm:
                    out["dialects"][norm] = _str_list(names, where, f"dialects.{tag}", problems)
        out["domains"] = _str_list(c.get("domains"), where, "domains", problems)
        out["item_kinds"] = _str_list(c.get("item_kinds", list(ITEM_KINDS)), where, "item_kinds",
                                      problems, ITEM_KINDS)
        targets = c.get("targets") or {}
        if not isinstance(targets, dict):
            problems.add(where, "'targets' must be a mapping (items, representation).")
        out["targets"] = targets if isinstance(targets, dict) else {}
        rule = c.get("acceptance_rule") or {}
        try:
            if not isinstance(rule, dict) or set(rule) - {"min_votes", "tie_reject_at"}:
                raise ValueError("use a mapping with min_votes and tie_reject_at")
            AcceptanceRule.from_campaign(rule)
        except (ValueError, TypeError) as exc:
            problems.add(where, f"acceptance_rule is not valid: {exc}.")
        out["acceptance_rule"] = rule if isinstance(rule, dict) else {}
        out["consent_scopes"] = _str_list(c.get("consent_scopes", list(CONSENT_SCOPES)), where,
                                          "consent_scopes", problems, CONSENT_SCOPES)
        comp = c.get("compensation_options") or {}
        if _keys(comp, f"{where}, compensation_options", problems, {"methods"}, {"in_kind"}):
            _str_list(comp.get("methods"), f"{where}, compensation_options", "methods", problems,
                      COMPENSATION_METHODS)
            _str_list(comp.get("in_kind"), f"{where}, compensation_options", "in_kind", problems)
        out["compensation_options"] = comp if isinstance(comp, dict) else {}
        out["licence_plan"] = _text(c.get("licence_plan", "cc-by-4.0"), where, "licence_plan",
                                    problems) or "cc-by-4.0"

    consent_version, texts = "", {}
    where = f"{path}, consent"
    cons = data.get("consent")
    if _keys(cons, where, problems, {"version", "texts"}):
        consent_version = _text(cons.get("version"), where, "version", problems) or ""
        if not isinstance(cons.get("texts"), dict) or not cons["texts"]:
            problems.add(where, "'texts' must map a language tag to a file, e.g. en: consent_v1_en.md.")
        else:
            for tag, name in cons["texts"].items():
                norm = _tag(tag, f"{where}, texts", problems)
                file = folder / str(name)
                if not file.is_file():
                    problems.add(where, f"consent text file '{name}' ({tag}) not found in {folder}.")
                    continue
                text = file.read_text(encoding="utf-8")
                if not text.strip():
                    problems.add(where, f"consent text file '{name}' is empty.")
                elif norm:
                    texts[norm] = text

    card: dict[str, dict[str, Any]] = {}
    where = f"{path}, rate_card"
    rc = data.get("rate_card")
    if _keys(rc, where, problems, set(), set(ACTIVITIES)):
        for activity, rate in rc.items():
            if activity not in ACTIVITIES:
                continue
            w = f"{where}.{activity}"
            if not _keys(rate, w, problems, {"amount", "unit"}, {"in_kind"}):
                continue
            try:
                amount = Decimal(str(rate["amount"]))
                if amount < 0 or not amount.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, KeyError):
                problems.add(w, f"amount {rate.get('amount')!r} must be a number of 0 or more.")
                continue
            unit = _text(rate.get("unit"), w, "unit", problems)
            if unit:
                # in-kind conversions are checked by the store's set_rate_card
                card[activity] = {"amount": str(amount), "unit": unit,
                                  **({"in_kind": rate["in_kind"]} if rate.get("in_kind") else {})}

    rubrics: dict[str, list[dict[str, Any]]] = {}
    raw = data.get("rubrics") or {}
    if not isinstance(raw, dict):
        problems.add(f"{path}, rubrics", "expected a mapping of language tag to a list of criteria.")
    else:
        for tag, rubric in raw.items():
            norm = _tag(tag, f"{path}, rubrics", problems)
            if not norm:
                continue
            for p in _rubric_problems(rubric):
                problems.add(f"{path}, rubrics.{tag}", f"{p.field}: {p.message}")
            rubrics[norm] = rubric
    return out, consent_version, texts, card, rubrics


def _rubric_problems(rubric: Any) -> list[checks.Problem]:
    """Judge a rubric exactly as the store will, inside an otherwise complete contextual item."""
    probe = {"scenario": "-", "persona": "-", "question": "-", "reference_answers": ["-"],
             "rubric": rubric}
    return [p for p in item_rules.clean_content("contextual", probe).blocking
            if p.field.startswith("rubric")]


def _read_people(folder: Path, campaign: dict[str, Any], consent_texts: dict[str, str],
                 problems: _Problems) -> list[_Person]:
    path = folder / "people.yaml"
    data = _read_yaml(path, "people")
    entries = data["people"]
    if not isinstance(entries, list) or not entries:
        problems.add(str(path), "'people' must be a non-empty list.")
        return []
    people: list[_Person] = []
    seen_codes: dict[str, str] = {}
    for n, e in enumerate(entries, start=1):
        label = e.get("pseudonym") if isinstance(e, dict) else None
        where = f"{path}, person {n}" + (f" '{label}'" if label else "")
        if not _keys(e, where, problems, {"pseudonym", "label", "invite_code", "roles"},
                     {"name", "profile", "consent"}):
            continue
        pseudonym = _text(e.get("pseudonym"), where, "pseudonym", problems)
        if pseudonym and any(p.pseudonym == pseudonym for p in people):
            problems.add(where, f"pseudonym '{pseudonym}' is used twice.")
        code = _text(e.get("invite_code"), where, "invite_code", problems) or ""
        norm_code = "".join(ch for ch in code.upper() if ch.isalnum())
        if code and len(norm_code) < 8:
            problems.add(where, f"invite code '{code}' is too short: use 12 letters or digits.")
        if norm_code in seen_codes:
            problems.add(where, f"invite code '{code}' is also {seen_codes[norm_code]}'s.")
        seen_codes.setdefault(norm_code, pseudonym or "?")
        roles = _str_list(e.get("roles"), where, "roles", problems, ROLES)
        if not roles:
            problems.add(where, f"'roles' needs at least one of {', '.join(ROLES)}.")
        profile = e.get("profile") or {}
        if _keys(profile, f"{where}, profile", problems, set(), set(PROFILE_FIELDS)):
            method = profile.get("compensation_method")
            if method and method not in COMPENSATION_METHODS:
                problems.add(f"{where}, profile", f"compensation_method '{method}' is not one of "
                             f"{', '.join(COMPENSATION_METHODS)}.")
            for t in profile.get("languages_spoken") or []:
                _tag(t, f"{where}, profile.languages_spoken", problems)
            if profile.get("ui_language"):
                _tag(profile["ui_language"], f"{where}, profile.ui_language", problems)
        else:
            profile = {}
        consent = e.get("consent")
        if consent is not None and _keys(consent, f"{where}, consent", problems, {"language", "scopes"}):
            lang = _tag(consent.get("language"), f"{where}, consent", problems)
            if lang and lang not in consent_texts:
                problems.add(f"{where}, consent", f"there is no consent text in '{lang}'; the "
                             f"seeds have {', '.join(consent_texts)}.")
            scopes = consent.get("scopes")
            wanted = set(campaign.get("consent_scopes") or CONSENT_SCOPES)
            if (not isinstance(scopes, dict) or set(scopes) != wanted
                    or not all(isinstance(v, bool) for v in scopes.values())):
                problems.add(f"{where}, consent", "scopes must give true or false for each of the "
                             f"campaign's scopes: {', '.join(sorted(wanted))}.")
            consent = {"language": lang, "scopes": scopes}
        elif consent is not None:
            consent = None
        people.append(_Person(pseudonym or "", _text(e.get("label"), where, "label", problems) or "",
                              code, roles, _text(e.get("name"), where, "name", problems, False),
                              profile, consent))
    if not any("organiser" in p.roles for p in people):
        problems.add(str(path), "no one has the organiser role; the campaign needs an organiser.")
    return people


def _read_items(folder: Path, campaign: dict[str, Any], rubrics: dict[str, list[dict[str, Any]]],
                people: list[_Person], problems: _Problems) -> list[_Item]:
    path = folder / "items.yaml"
    data = _read_yaml(path, "items")
    entries = data["items"]
    if not isinstance(entries, list) or not entries:
        problems.add(str(path), "'items' must be a non-empty list.")
        return []
    by_name = {p.pseudonym: p for p in people}
    rule = AcceptanceRule.from_campaign(campaign.get("acceptance_rule"))
    items: list[_Item] = []
    hashes: dict[str, str] = {}
    for n, e in enumerate(entries, start=1):
        seed_id = e.get("id") if isinstance(e, dict) else None
        where = f"{path}, item {n}" + (f" '{seed_id}'" if seed_id else "")
        if not _keys(e, where, problems, {"id", "kind", "language", "author", "content"},
                     {"dialect", "domain", "audio", "synthetic", "reviews"}):
            continue
        seed_id = _text(e.get("id"), where, "id", problems) or ""
        if seed_id and not _ID_RE.match(seed_id):
            problems.add(where, "id must be letters, digits, '-', '_' or '.' (max 80).")
        if any(it.id == seed_id for it in items):
            problems.add(where, f"id '{seed_id}' is used twice.")
        kind = e.get("kind")
        if kind not in ITEM_KINDS:
            problems.add(where, f"kind '{kind}' is not one of {', '.join(ITEM_KINDS)}.")
            continue
        if kind not in campaign["item_kinds"]:
            problems.add(where, f"the campaign does not collect {kind} items.")
        language = _tag(e.get("language"), where, problems)
        if language and language not in campaign["languages"]:
            problems.add(where, f"language '{language}' is not one of the campaign's "
                         f"({', '.join(campaign['languages'])}).")
        dialect = _text(e.get("dialect"), where, "dialect", problems, required=False)
        allowed = campaign["dialects"].get(language) or []
        if dialect and allowed and dialect not in allowed and not dialect.startswith("other:"):
            problems.add(where, f"dialect '{dialect}' is not one of the campaign's {language} "
                         f"dialects ({', '.join(allowed)}).")
        domain = _text(e.get("domain"), where, "domain", problems, required=False)
        if domain and campaign["domains"] and domain not in campaign["domains"]:
            problems.add(where, f"domain '{domain}' is not one of {', '.join(campaign['domains'])}.")
        author = by_name.get(e.get("author"))
        if author is None:
            problems.add(where, f"author '{e.get('author')}' is not a pseudonym in people.yaml.")
        elif not author.consent:
            problems.add(where, f"author '{author.pseudonym}' has not accepted the consent text "
                         "in people.yaml, so cannot contribute.")
        elif kind == "speech" and not author.consent["scopes"].get("voice"):
            problems.add(where, f"author '{author.pseudonym}' did not consent to voice recordings.")

        content = e.get("content")
        if not _keys(content, f"{where}, content", problems, set(), _CONTENT_KEYS[kind]):
            continue
        content = dict(content)
        if content.get("rubric") == "standard":
            if language not in rubrics:
                problems.add(f"{where}, content", f"rubric 'standard' needs a rubric for "
                             f"'{language}' under rubrics: in campaign.yaml.")
            content["rubric"] = rubrics.get(language, [])

        audio, provenance = None, {"source": "seed", "seed_id": seed_id,
                                   "written_by": "jamii developers", "licence": "CC0-1.0"}
        if kind == "speech":
            audio = _read_audio(folder, e, where, problems)
            content["audio_sha256"] = "0" * 64  # placeholder so clean_content judges the texts
            synth = e.get("synthetic")
            if synth is not None and _keys(synth, f"{where}, synthetic", problems,
                                           {"generator", "voice"}, {"speed"}):
                provenance.update(synthetic=True, generator=str(synth["generator"]),
                                  voice=str(synth["voice"]), file=str(e.get("audio")))
                if "speed" in synth:
                    provenance["speed_wpm"] = synth["speed"]
        elif "audio" in e or "synthetic" in e:
            problems.add(where, "only speech items take 'audio' and 'synthetic'.")

        cleaned = item_rules.clean_content(kind, content)
        for p in cleaned.blocking:
            problems.add(f"{where}, content.{p.field}", p.message)
        if kind == "speech":
            cleaned.content.pop("audio_sha256", None)
        digest = item_rules.content_sha256(kind, cleaned.content)
        if digest in hashes and kind != "speech":
            problems.add(where, f"same content as item '{hashes[digest]}'.")
        hashes.setdefault(digest, seed_id)

        reviews = _read_reviews(e.get("reviews"), where, author, by_name, rule, problems)
        items.append(_Item(seed_id, kind, language or "", dialect, domain,
                           author.pseudonym if author else "", cleaned.content, provenance,
                           audio, reviews))
    return items


def _read_audio(folder: Path, e: dict[str, Any], where: str, problems: _Problems) -> bytes | None:
    name = e.get("audio")
    if not name:
        problems.add(where, "speech items need 'audio': a WAV file in the seeds folder.")
        return None
    file = (folder / str(name)).resolve()
    if folder.resolve() not in file.parents:
        problems.add(where, f"audio '{name}' must be inside the seeds folder.")
        return None
    if not file.is_file():
        problems.add(where, f"audio file '{name}' not found (run seeds/make_audio.py).")
        return None
    data = file.read_bytes()
    for p in checks.audio_problems(data):
        problems.add(f"{where}, audio '{name}'", p.message)
    return data


def _read_reviews(raw: Any, where: str, author: _Person | None, by_name: dict[str, _Person],
                  rule: AcceptanceRule, problems: _Problems) -> list[_Review]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(where, "'reviews' must be a list of {by, verdict, reasons}.")
        return []
    out: list[_Review] = []
    votes = {"approve": 0, "reject": 0}
    for k, r in enumerate(raw, start=1):
        w = f"{where}, review {k}"
        if not _keys(r, w, problems, {"by", "verdict"}, {"reasons", "suggested_edit"}):
            continue
        by, verdict = r.get("by"), r.get("verdict")
        if by not in by_name:
            problems.add(w, f"reviewer '{by}' is not a pseudonym in people.yaml.")
        elif author is not None and by == author.pseudonym:
            problems.add(w, "authors never review their own items.")
        elif any(x.by == by for x in out):
            problems.add(w, f"'{by}' reviews this item twice.")
        if verdict not in VERDICTS:
            problems.add(w, f"verdict '{verdict}' is not one of {', '.join(VERDICTS)}.")
        reasons = _str_list(r.get("reasons"), w, "reasons", problems, REJECT_REASONS)
        if verdict == "reject" and not reasons:
            problems.add(w, f"a rejection needs reasons from {', '.join(REJECT_REASONS)}.")
        edit = r.get("suggested_edit")
        if verdict == "edit" and not isinstance(edit, dict):
            problems.add(w, "an 'edit' verdict needs a suggested_edit mapping of fields.")
        if decide(votes["approve"], votes["reject"], rule) or any(x.verdict == "edit" for x in out):
            problems.add(w, "the reviews before this one already decided the item or sent it back "
                         "for an edit; remove this review.")
        if verdict in votes:
            votes[verdict] += 1
        out.append(_Review(str(by), str(verdict), reasons, edit if isinstance(edit, dict) else None))
    return out


def _accepted_by_seeds(it: _Item, rule: AcceptanceRule) -> bool:
    """Whether the item's seeded reviews accept it (the store applies the same rule)."""
    votes = [r.verdict for r in it.reviews]
    return "edit" not in votes and decide(votes.count("approve"), votes.count("reject"), rule) == "accepted"


_RESULT_FILES = ("config.json", "summary.json", "samples.jsonl", "answers_for_rating.jsonl")
_REGENERATE = "regenerate it with `python scripts/make_seed_results.py`"


def _read_results(folder: Path, campaign: dict[str, Any], items: list[_Item],
                  problems: _Problems) -> list[_Run]:
    """The committed results folders; an answer must name an accepted contextual seed item."""
    root = folder / "results"
    if not root.is_dir():
        return []
    rule = AcceptanceRule.from_campaign(campaign.get("acceptance_rule"))
    rateable = {it.id for it in items if it.kind == "contextual" and _accepted_by_seeds(it, rule)}
    runs: list[_Run] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        where = str(sub)
        missing = [n for n in _RESULT_FILES if not (sub / n).is_file()]
        if missing:
            problems.add(where, f"missing {', '.join(missing)}; {_REGENERATE}.")
            continue
        texts = {n: (sub / n).read_text(encoding="utf-8") for n in _RESULT_FILES}
        try:
            config = json.loads(texts["config.json"])
            model = str(config["model"]["spec"])
            dataset = f"{config['dataset']['name']}@{config['dataset']['version']}"
        except (ValueError, KeyError, TypeError) as exc:
            problems.add(f"{where}/config.json", f"not a jamii evaluate config ({exc!r}); {_REGENERATE}.")
            continue
        answers = []
        for n, line in enumerate(texts["answers_for_rating.jsonl"].splitlines(), start=1):
            if not line.strip():
                continue
            w = f"{where}/answers_for_rating.jsonl, line {n}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                problems.add(w, f"not JSON ({exc}); {_REGENERATE}.")
                continue
            ref = str(row.get("item_id") or "")
            if not ref.startswith("seed:"):
                problems.add(w, f"item_id '{ref}' must be 'seed:<id of an item in items.yaml>'.")
            elif ref[5:] not in rateable:
                problems.add(w, f"item '{ref[5:]}' is not a contextual item that the reviews in "
                             "items.yaml accept; only those are rated.")
            if row.get("model_id") != model or row.get("dataset") != dataset:
                problems.add(w, f"model_id and dataset must be those of config.json ({model}, {dataset}).")
            if not isinstance(row.get("answer"), str):
                problems.add(w, "'answer' must be text.")
            answers.append(row)
        runs.append(_Run(sub.name, model, dataset, texts, answers))
    if len({r.dataset for r in runs}) > 1:
        problems.add(str(root), "the results folders score different releases "
                     f"({', '.join(sorted({r.dataset for r in runs}))}); answers are compared only "
                     "on one release.")
    if len({r.model for r in runs}) < len(runs):
        problems.add(str(root), "two results folders are of the same model.")
    return runs


def _read_ratings(folder: Path, people: list[_Person], items: list[_Item], runs: list[_Run],
                  problems: _Problems) -> list[_Rating]:
    path = folder / "ratings.yaml"
    if not path.is_file():
        return []
    entries = _read_yaml(path, "ratings")["ratings"]
    if not isinstance(entries, list):
        problems.add(str(path), "'ratings' must be a list of ratings.")
        return []
    by_name = {p.pseudonym: p for p in people}
    by_id = {it.id: it for it in items}
    answers = {(run.model, str(row.get("item_id"))[5:]): row.get("answer") for run in runs
               for row in run.answers}
    models = sorted({run.model for run in runs})
    out: list[_Rating] = []
    seen: set[tuple] = set()
    for n, e in enumerate(entries, start=1):
        where = f"{path}, rating {n}"
        if not _keys(e, where, problems, {"item", "by"},
                     {"model", "scores", "safety_flag", "comment", "prefer"}):
            continue
        item, by = str(e.get("item")), e.get("by")
        person = by_name.get(by)
        if person is None:
            problems.add(where, f"rater '{by}' is not a pseudonym in people.yaml.")
        elif not set(person.roles) & {"reviewer", "organiser"} or not person.consent:
            problems.add(where, f"'{by}' cannot rate: the campaign lets reviewers and organisers who "
                         "have accepted the consent text rate model answers.")
        if not any(key[1] == item for key in answers):
            problems.add(where, f"item '{item}' has no model answer in {folder / 'results'}; rate an "
                         "item the results answer.")
            continue
        direct, pair = "model" in e or "scores" in e, "prefer" in e
        if direct == pair:
            problems.add(where, "give either 'model' and 'scores' (one answer scored on the rubric) "
                         f"or 'prefer' (one of {', '.join(models)}, tie or both_bad) for the pair.")
            continue
        if direct:
            model = e.get("model")
            if (model, item) not in answers:
                problems.add(where, f"model '{model}' did not answer '{item}'; choose one of "
                             f"{', '.join(models)}.")
            scores = e.get("scores")
            criteria = rating_rules.criteria_of(by_id[item].content.get("rubric"))
            for message in rating_rules.score_problems(scores, criteria):
                problems.add(f"{where}, scores", message)
            key = (item, by, "direct", model)
        else:
            model, scores = None, None
            prefer = e.get("prefer")
            if prefer not in (*models, "tie", "both_bad"):
                problems.add(where, f"prefer '{prefer}' must be one of {', '.join(models)}, tie or both_bad.")
            if len(runs) != 2 or len({answers.get((m, item)) for m in models}) != 2:
                problems.add(where, "a pair needs exactly two results folders with different answers "
                             "to the item.")
            key = (item, by, "pair")
        if key in seen:
            problems.add(where, f"'{by}' rates this answer of '{item}' twice.")
        seen.add(key)
        flag = e.get("safety_flag", False)
        if not isinstance(flag, bool):
            problems.add(where, "safety_flag must be true or false.")
        comment = _text(e.get("comment"), where, "comment", problems, required=False) or ""
        out.append(_Rating(item, str(by), "direct" if direct else "pair", model,
                           e.get("prefer"), scores, flag is True, comment))
    return out
