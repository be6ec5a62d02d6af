"""Issue 13: the shipped Swahili and French catalogues say every word in the contributor's language.

For each app's catalogue folder (`web/locales`, `collector/locales`, `dashboard/locales`) and each
shipped non-English catalogue, every key of `en.yaml` must be there, with the same `{placeholders}`
and the same shape (text, list or mapping). The English fallback stays for community catalogues
added through JAMII_LOCALES: those may leave keys out, and the last test checks they still work.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APPS = {"web": ROOT / "web" / "locales",
        "collector": ROOT / "collector" / "locales",
        "dashboard": ROOT / "dashboard" / "locales"}
SHIPPED = ("sw", "fr")
CASES = [pytest.param(app, lang, id=f"{app}-{lang}") for app in APPS for lang in SHIPPED]


def load(app: str, tag: str) -> dict[str, Any]:
    """One catalogue file as nested YAML (it must be a mapping)."""
    data = yaml.safe_load((APPS[app] / f"{tag}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{app}/locales/{tag}.yaml is not a mapping of keys"
    return data


KINDS = ((dict, "mapping"), (list, "list"), (str, "string"))


def kind(value: Any) -> str:
    """"mapping", "list", "string", else the YAML type: an unquoted `no` is a bool, `12` an int."""
    return next((name for cls, name in KINDS if isinstance(value, cls)), type(value).__name__)


def nodes(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Every node by dotted key, mappings included ({"a": {"b": "x"}} -> "a" and "a.b").

    An empty value (None) is left out, as the apps do: English shows for it."""
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            if value is None:
                continue
            dotted = f"{prefix}{key}"
            out[dotted] = value
            out.update(nodes(value, f"{dotted}."))
    return out


def placeholders(value: Any) -> set[str]:
    """The `{field}` names a text (or every text of a list) is formatted with."""
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value))
    if not isinstance(value, str):
        return set()
    try:
        return {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
    except ValueError:
        return {"<broken braces>"}


def missing_keys(en: dict, other: dict) -> list[str]:
    """Keys English shows that `other` does not translate."""
    have = nodes(other)
    return [key for key, value in nodes(en).items() if kind(value) != "mapping" and key not in have]


def placeholder_mismatches(en: dict, other: dict) -> dict[str, tuple[set[str], set[str]]]:
    """key -> (English placeholders, translated ones) where the two sets differ."""
    have, want = nodes(other), nodes(en)
    return {key: (placeholders(want[key]), placeholders(value)) for key, value in have.items()
            if key in want and placeholders(value) != placeholders(want[key])}


def shape_mismatches(en: dict, other: dict) -> dict[str, tuple[str, str]]:
    """key -> (English kind, translated kind) where a text became a list, a mapping or a number."""
    have, want = nodes(other), nodes(en)
    return {key: (kind(want[key]), kind(value)) for key, value in have.items()
            if key in want and kind(value) != kind(want[key])}


@pytest.mark.parametrize("app", list(APPS))
def test_every_catalogue_file_loads(app):
    files = sorted(APPS[app].glob("*.yaml"))
    assert {f"{tag}.yaml" for tag in ("en", *SHIPPED)} <= {f.name for f in files}
    for path in files:
        load(app, path.stem)


@pytest.mark.parametrize(("app", "lang"), CASES)
def test_shipped_catalogue_has_every_english_key(app, lang):
    gaps = missing_keys(load(app, "en"), load(app, lang))
    assert not gaps, (f"{app}/locales/{lang}.yaml misses {len(gaps)} key(s) of en.yaml, "
                      f"shown in English: {', '.join(gaps)}")


@pytest.mark.parametrize(("app", "lang"), CASES)
def test_shipped_catalogue_keeps_english_placeholders(app, lang):
    wrong = placeholder_mismatches(load(app, "en"), load(app, lang))
    assert not wrong, f"{app}/locales/{lang}.yaml placeholders differ from en.yaml: " + "; ".join(
        f"{key}: English {sorted(en)}, {lang} {sorted(tr)}" for key, (en, tr) in wrong.items())


@pytest.mark.parametrize(("app", "lang"), CASES)
def test_shipped_catalogue_keeps_english_shapes(app, lang):
    wrong = shape_mismatches(load(app, "en"), load(app, lang))
    assert not wrong, f"{app}/locales/{lang}.yaml value types differ from en.yaml: " + "; ".join(
        f"{key}: English {en}, {lang} {tr}" for key, (en, tr) in wrong.items())


def test_the_checks_catch_a_gap():
    """The helpers report what they should, so the tests above cannot pass on nothing."""
    en = {"nav": {"review": "Review", "left": "{n} left", "steps": ["one", "two"],
                  "group": {"a": "A"}},
          "admin": {"page_of": "{first}–{last} of {total}"}}
    good = {"nav": {"review": "Kagua", "left": "{n} zimebaki", "steps": ["moja", "mbili"],
                    "group": {"a": "A"}},
            "admin": {"page_of": "{first}–{last} kati ya {total}"}}
    assert missing_keys(en, good) == []
    assert placeholder_mismatches(en, good) == {} and shape_mismatches(en, good) == {}

    gap = {"nav": {"review": "Kagua", "left": None, "steps": ["moja", "mbili"],
                   "group": {"a": "A"}}}
    assert missing_keys(en, gap) == ["nav.left", "admin.page_of"]

    misspelt = {"nav": {"left": "{m} zimebaki"},
                "admin": {"page_of": "{first}–{last} kati ya {total"}}
    assert placeholder_mismatches(en, misspelt) == {
        "nav.left": ({"n"}, {"m"}),
        "admin.page_of": ({"first", "last", "total"}, {"<broken braces>"})}

    reshaped = {"nav": {"review": ["Kagua"], "steps": "moja, mbili", "group": "A", "left": False}}
    assert shape_mismatches(en, reshaped) == {
        "nav.review": ("string", "list"), "nav.steps": ("list", "string"),
        "nav.group": ("mapping", "string"), "nav.left": ("string", "bool")}
    assert missing_keys(en, reshaped) == ["nav.group.a", "admin.page_of"]


def test_a_community_catalogue_may_leave_keys_to_english(tmp_path, monkeypatch):
    """Completeness is asked of the shipped catalogues only: JAMII_LOCALES ones still fall back."""
    from jamii.collector.i18n import Translator
    from jamii.dashboard.i18n import Translator as DashboardTranslator

    (tmp_path / "ln.yaml").write_text("nav:\n  review: Kotalela\n", encoding="utf-8")
    monkeypatch.setenv("JAMII_LOCALES", str(tmp_path))
    ln = Translator("ln")
    assert ln.language == "ln" and ln("nav.review") == "Kotalela"
    assert "field.kind" in ln.missing() and ln("field.kind") == "Kind"
    assert ln("admin.page_of", first=1, last=2, total=3) == "Entries 1–2 of 3"
    assert DashboardTranslator("ln")("sign_in.submit") == "Sign in"
    # the shipped catalogues need no fallback any more
    monkeypatch.delenv("JAMII_LOCALES")
    assert Translator("sw").missing() == [] and Translator("fr").missing() == []
    assert DashboardTranslator("sw").missing() == [] and DashboardTranslator("fr").missing() == []
