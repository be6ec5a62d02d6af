"""The rule of five in built releases: every table about people, read from the published files.

Each table holds a group of exactly four people (hidden: "fewer than 5", amounts "suppressed")
and one of exactly five (shown), and a lone group of four whose complementary cell is hidden
with it, so that no hidden figure can be worked out from a published total. The fixture
(`tests/support/rule_of_five.py`) says what each of its three releases must publish.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jamii.core.store import Store
from jamii.datasheets import build_release
from tests.support.release_store import ANSWERS
from tests.support.rule_of_five import EXPECTED, FEWER, SLUGS, build_rule_of_five_store

DOCUMENTS = ("README.md", "DATASHEET.md", "DATA_STATEMENT.md", "compensation.md", "croissant.json")


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> dict[str, Path]:
    """The three campaigns' releases, built once (SQLite)."""
    root = tmp_path_factory.mktemp("rule_of_five")
    store = Store(f"sqlite:///{root / 'jamii.sqlite3'}", root / "audio")
    try:
        build_rule_of_five_store(store)
        out = {}
        for slug in SLUGS:
            out[slug] = root / slug
            # the load_dataset and mlcroissant checks change no document: left to test_datasheets_build
            build_release(store, slug, "1.0.0", out[slug], answers=ANSWERS, validate=False)
        yield out
    finally:
        store.close()


def _read(folder: Path, name: str) -> str:
    return (folder / name).read_text("utf-8")


def _between(text: str, start: str, end: str) -> str:
    assert start in text and end in text, (start, end)
    return text.split(start, 1)[1].split(end, 1)[0]


def _statement_profiles(section: str) -> dict[str, dict[str, str]]:
    """`- **gender:** man: 9; woman: fewer than 5` lines -> {"gender": {"man": "9", ...}}."""
    out = {}
    for field, rest in re.findall(r"^- \*\*(.+?):\*\* (.*)$", section, re.MULTILINE):
        out[field] = dict(part.rsplit(": ", 1) for part in rest.split("; ")) \
            if rest != "not recorded" else {}
    return out


def _croissant_reviewers(folder: Path) -> tuple[str, dict[str, dict[str, str]]]:
    """croissant.json's annotator demographics: (people, field -> value -> people)."""
    doc = json.loads(_read(folder, "croissant.json"))
    (key,) = [k for k in doc if k.lower().endswith("annotatordemographics")]
    value = doc[key][0] if isinstance(doc[key], list) else doc[key]
    head, *fields = value.split(" (self-described")[0].split("; ")
    out = {}
    for part in fields:
        field, entries = part.split(": ", 1)
        groups = {}
        for entry in entries.split(", "):
            if entry.endswith(" " + FEWER):
                groups[entry[:-len(FEWER) - 1]] = FEWER
            else:
                name, n = entry.rsplit(" ", 1)
                groups[name] = n
        out[field.replace("_", " ")] = groups
    assert head.endswith(" people"), head
    return head[:-len(" people")], out


def _compensation_rows(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    """compensation.md's totals table: (activity, unit) -> column -> cell."""
    table = _between(_read(folder, "compensation.md"), "## Totals by activity and language", "Totals cover")
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
        assert cells.pop("language") == "sw"
        rows[(cells.pop("activity"), cells.pop("unit"))] = cells
    return rows


@pytest.mark.parametrize("slug", SLUGS)
def test_counts_of_authors_reviewers_and_withdrawn_people(releases, slug):
    """Four people are "fewer than 5" in every document that counts them; five are 5."""
    want, folder = EXPECTED[slug], releases[slug]
    statement = _read(folder, "DATA_STATEMENT.md")
    assert re.search(r"The authors of the items in this release: (.+?) people\.", statement)[1] == want.authors
    assert re.search(r"The peer reviewers of the campaign: (.+?) people,", statement)[1] == want.reviewers
    for name in ("DATASHEET.md", "README.md"):
        who = re.search(r"Community members: (.+?) authors and (.+?) reviewers in this release",
                        _read(folder, name))
        assert (who[1], who[2]) == (want.authors, want.reviewers), name
    assert re.search(r"^(.+?) community reviewers, paid per review", _read(folder, "README.md"),
                     re.MULTILINE)[1] == want.reviewers
    assert _croissant_reviewers(folder)[0] == want.reviewers
    withdrawn = re.search(r"Withdrawn contributors so far: (.+?)\.", _read(folder, "DATASHEET.md"))
    assert withdrawn[1] == want.withdrawn


@pytest.mark.parametrize("slug", SLUGS)
def test_demographics_of_authors_and_reviewers(releases, slug):
    """Gender, age band, region and dialect: a group of four hidden, of five shown; a lone
    group of four takes the next smallest with it (`tano`: woman 4 hides man 10, whose count
    is the published total minus the women)."""
    want, folder = EXPECTED[slug], releases[slug]
    statement = _read(folder, "DATA_STATEMENT.md")
    assert _statement_profiles(_between(statement, "## 6.", "## 7.")) == want.author_profiles
    assert _statement_profiles(_between(statement, "## 7.", "## 8.")) == want.reviewer_profiles
    assert _croissant_reviewers(folder)[1] == want.reviewer_profiles


@pytest.mark.parametrize("slug", SLUGS)
def test_dialect_speakers(releases, slug):
    """Speakers per dialect go through the same rule: in `tano` four Kimvita speakers are
    hidden and so are the ten Kiunguja speakers, who with them make up the 14 authors."""
    want, folder = EXPECTED[slug], releases[slug]
    section = _between(_read(folder, "DATA_STATEMENT.md"), "## 5.", "## 6.")
    speakers = dict(re.findall(r"(\w+) \([\d,]+ items?, speakers: ([^)]+)\)", section))
    assert speakers == want.speakers


@pytest.mark.parametrize("slug", SLUGS)
def test_compensation_cells(releases, slug):
    """A total shared by four people, and its complement within the activity, are suppressed;
    one shared by five is shown; "of which paid" is suppressed when four people were paid."""
    want, folder = EXPECTED[slug], releases[slug]
    assert _compensation_rows(folder) == want.compensation


@pytest.mark.parametrize("slug", SLUGS)
def test_hidden_figures_appear_nowhere(releases, slug):
    """What the tables hide is not published in any other form or place either."""
    folder = releases[slug]
    text = "\n".join(_read(folder, name) for name in DOCUMENTS)
    for secret in EXPECTED[slug].secrets:
        assert secret not in text, secret
