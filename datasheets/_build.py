"""`build_release`: gates, files and validation, into a temporary folder renamed into place
only when everything passed; the Release record is written last."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jinja2

from jamii.core.items import campaign_outgoing_texts
from jamii.core.store import OPERATOR, Store
from jamii.datasheets import (_answers, _bundle, _card, _croissant, _datasheet, _licenses,
                              _parquet, _statement)
from jamii.datasheets import _collect
from jamii.datasheets._collect import Facts, campaign_facts, collect, gather_facts
from jamii.datasheets._context import Context
from jamii.datasheets._gates import language_problem, scan_pii

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


class ReleaseRefused(Exception):
    """The release was not built; `reasons` lists every gate that failed."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("release refused:\n" + "\n".join(f"- {r}" for r in reasons))


@dataclass
class ReleaseResult:
    folder: Path
    version: str
    items: int
    files: dict[tuple[str, str], int]
    removed: dict[str, int]
    bundle_sha256: str
    changes: dict[str, int] = field(default_factory=dict)


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("jamii.datasheets", "templates"),
                              autoescape=False, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def bundle_sha256(root: Path) -> str:
    """sha256 over every file's relative path and sha256, in path order."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        h.update(f"{rel}\0{_croissant.sha256_file(path)}\n".encode())
    return h.hexdigest()


def _validate_loads(root: Path, kinds: list[str], files: dict[tuple[str, str], int]) -> list[str]:
    """`datasets.load_dataset(root, kind, streaming=True)` for every config, read to the end.

    Streaming resolves the card's configs, splits and features exactly as a download does and
    reads every row through the `datasets` parquet builder, in arrow batches: nothing is
    copied into a cache, so a release of a million rows is checked in flat memory. Every split
    must yield as many rows as were written, with the columns of the kind's schema.
    """
    from tqdm import tqdm

    # tqdm makes its class lock on first use; configs loading at once in threads raced to it
    # ("type object 'tqdm' has no attribute '_lock'"), so it is made before they start
    tqdm.get_lock()
    with ThreadPoolExecutor(max(1, len(kinds)), thread_name_prefix="jamii-validate") as pool:
        # one config per thread: arrow decodes parquet without holding the GIL
        return [p for found in pool.map(lambda k: _validate_config(root, k, files), kinds) for p in found]


def _validate_config(root: Path, kind: str, files: dict[tuple[str, str], int]) -> list[str]:
    import datasets

    problems = []
    try:
        loaded = datasets.load_dataset(str(root), kind, streaming=True)
        expected = {split: n for (k, split), n in files.items() if k == kind}
        if set(loaded) != set(expected):
            return [f"load_dataset({kind}) finds splits {sorted(loaded)}, expected {sorted(expected)}"]
        for split, part in loaded.items():
            rows = 0
            for table in part.with_format("arrow").iter(batch_size=10_000):
                rows += table.num_rows
            if rows != expected[split]:
                problems.append(f"load_dataset({kind}) reads {rows:,} rows from {split}, "
                                f"expected {expected[split]:,}")
            if list(part.features) != _parquet.arrow_schema(kind).names:
                problems.append(f"load_dataset({kind}) {split} has columns {list(part.features)}")
    except Exception as exc:  # noqa: BLE001 - any failure to load is a refusal
        problems.append(f"datasets.load_dataset fails on config '{kind}': {exc}")
    return problems


def _without_torch() -> None:
    """In the validating process, before `datasets` loads: a streaming `load_dataset` would
    otherwise import torch (seconds, and hundreds of MB) for nothing."""
    os.environ["USE_TORCH"] = "0"
    import datasets  # noqa: F401


class _Validator:
    """Where `_validate_loads` runs: a thread of this process for a small release; for a large
    one (from PARALLEL_MIN_ITEMS items), a fresh process started when the workers are done,
    which imports `datasets` without torch while the documents are written."""

    def __init__(self, items: int):
        if items >= max(1, _collect.PARALLEL_MIN_ITEMS):
            import multiprocessing

            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_without_torch)
            self.pool.submit(int)  # start it now: its imports overlap the documents
        else:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="jamii-validate")

    def __enter__(self) -> "_Validator":
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, root: Path, kinds: list[str], files: dict[tuple[str, str], int]) -> Future:
        return self.pool.submit(_validate_loads, root, kinds, files)


def _facts_and_imports(store: Store, camp, validate: bool) -> Facts:
    facts = campaign_facts(store, camp)
    if validate:
        # not torch, which streaming `load_dataset` imports when it is installed: loaded now,
        # it would add to the workers' peak memory (a large release validates in a process of
        # its own, without torch)
        import datasets  # noqa: F401
        import mlcroissant  # noqa: F401
    return facts


def _out_anchor(out: Path) -> tuple[Path, str | None]:
    """The nearest existing ancestor of `out`, and why a release cannot be written there."""
    anchor = out.parent.absolute()
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    if not anchor.is_dir():
        return anchor, f"--out {out}: {anchor} is a file, not a folder: choose another place"
    if not os.access(anchor, os.W_OK | os.X_OK):
        return anchor, (f"--out {out}: cannot write in {anchor} (permission denied): choose a "
                        "folder you can write to")
    return anchor, None


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; the ones created, outermost first."""
    missing = []
    for path in [folder, *folder.parents]:
        if path.exists():
            break
        missing.append(path)
    folder.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def template_for(store: Store, campaign: str | int, *, markdown: bool = False) -> str:
    """The answers file, pre-filled with what the records say (figures as of now)."""
    camp = store.campaign(campaign)
    tmp = Path(tempfile.mkdtemp(prefix="jamii-template-"))
    try:
        found = collect(store, camp, tmp, exclude_flagged=True, licence_id=camp.licence_plan)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ctx = Context(found, gather_facts(store, camp, found), _licenses.LICENCES["cc-by-4.0"], {},
                  "0.0.0", date.today())
    return _answers.template(_datasheet.record_answers(ctx), markdown=markdown, campaign=camp.slug,
                             defaults={"about.pretty_name": camp.name})


def _campaign_pii(store: Store, camp) -> list[str]:
    """A contact slipped into a campaign's own texts is refused like one in an item."""
    texts = campaign_outgoing_texts(camp, store.rate_cards(camp.id))
    return [f"the {f.field} holds what looks like {f.kind.replace('_', ' ')} ({f.masked}): it is "
            "published in every release; remove it on the organiser's campaign page"
            for f in scan_pii(texts)]


def build_release(store: Store, campaign: str | int, version: str, out: str | Path, *,
                  licence: str | None = None, answers: str | Path | dict | None = None,
                  exclude_flagged: bool = False, actor_id: int | None = None,
                  validate: bool = True) -> ReleaseResult:
    """Build the release folder `out` (DESIGN section 6) or raise ReleaseRefused with every reason."""
    out = Path(out)
    reasons: list[str] = []
    camp = store.campaign(campaign)
    lic = _licenses.resolve(licence or camp.licence_plan)
    if isinstance(lic, str):
        reasons.append(lic)
        lic = _licenses.LICENCES[_licenses.DEFAULT_LICENCE]
    if not _SEMVER.match(version or ""):
        reasons.append(f"version '{version}' is not a semantic version such as 1.0.0")
    elif store.release_exists(camp.id, version):
        reasons.append(f"release {version} of '{camp.slug}' exists already: choose a new version")
    if out.exists():
        reasons.append(f"{out} exists already: choose a new folder (a release is never overwritten)")
    for tag in camp.languages or []:
        problem = language_problem(tag)
        if problem:
            reasons.append(f"campaign language: {problem}")
    reasons += _campaign_pii(store, camp)
    try:
        given = answers if isinstance(answers, dict) else _answers.load(answers)
    except _answers.AnswersError as exc:
        reasons.append(str(exc))
        given = {}

    anchor, problem = _out_anchor(out)
    if problem:
        reasons.append(problem)
    # built beside `out` (in its nearest existing ancestor, so that missing parents are made
    # only when the release passes); where that cannot be written, the gates still run in a
    # private temporary folder, to list every reason
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=None if problem else anchor))
    try:
        # the campaign's facts and the validators' imports are ready by the time the items
        # are: they take a thread of this process, which waits on the workers meanwhile
        with ThreadPoolExecutor(1, thread_name_prefix="jamii-release") as side:
            early = side.submit(_facts_and_imports, store, camp, validate)
            found = collect(store, camp, tmp, exclude_flagged=exclude_flagged, licence_id=lic.id)
            facts = gather_facts(store, camp, found, early.result())
        ctx = Context(found, facts, lic, given, version, date.today())
        recorded = set(_datasheet.record_answers(ctx))
        reasons += _datasheet.missing_answers(recorded, given, needs_benefit=lic.needs_benefit)
        for tag, problem in sorted(found.bad_languages.items()):
            reasons.append(f"items in language '{tag}': {problem}")
        if found.pii_blocking:
            by_item: dict[str, list[str]] = {}
            for item_id, hit in found.pii_blocking:
                by_item.setdefault(item_id, []).append(f"{hit.kind} in {hit.field} ({hit.masked})")
            for item_id, hits in sorted(by_item.items()):
                reasons.append(f"item {item_id} may hold personal data: {'; '.join(hits)}. "
                               "Have an organiser check and clear it, or pass --exclude-flagged")
        if not found.total:
            reasons.append("no item passes the gates: nothing to release")
        if reasons:
            raise ReleaseRefused(reasons)

        gone = _bundle.withdrawals(ctx)
        with _Validator(found.total if validate else 0) as validator:
            env = _env()
            (tmp / "README.md").write_text(_card.render(ctx, env, withdrawn=gone), "utf-8")
            (tmp / "DATASHEET.md").write_text(_datasheet.render(ctx, env, withdrawn=gone), "utf-8")
            (tmp / "DATA_STATEMENT.md").write_text(_statement.render(ctx, env), "utf-8")
            _bundle.write_licence(ctx, tmp)
            _bundle.write_consent(ctx, tmp)
            _bundle.write_compensation(ctx, tmp, env)
            delta = _bundle.changes(ctx)
            _bundle.write_changelog(ctx, tmp, delta, gone)
            _bundle.write_withdrawn(tmp, gone)
            _bundle.write_citation(ctx, tmp)
            # `load_dataset` reads every row while Croissant hashes the files
            loads = validator.submit(tmp, found.kinds(), found.files) if validate else None
            (tmp / "croissant.json").write_text(
                json.dumps(_croissant.build(ctx, tmp), indent=2, ensure_ascii=False), "utf-8")
            if validate:
                problems = _card.card_problems((tmp / "README.md").read_text("utf-8"))
                problems += _croissant.problems(tmp / "croissant.json")
                problems += loads.result()
                if problems:
                    raise ReleaseRefused(problems)

        digest = bundle_sha256(tmp)
        made = _make_parents(out.parent)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        store.record_release(camp.id, version, lic.id, item_versions=found.item_versions,
                             withdrawn_ids=_bundle.withdrawn_ids(gone), bundle_sha256=digest,
                             actor_id=OPERATOR if actor_id is None else actor_id)
    except BaseException:
        # a release the store does not record is no release: leave nothing behind
        shutil.rmtree(out, ignore_errors=True)
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return ReleaseResult(out, version, found.total, dict(found.files), ctx.removed(), digest,
                         {k: len(v) for k, v in delta.items()})
