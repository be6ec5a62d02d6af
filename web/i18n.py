"""Translation catalogues for both apps: every string a person sees comes from one of them.

Each app binds a `Translator` to its catalogues in a few lines (`collector/i18n.py`,
`dashboard/i18n.py`):

    class Translator(i18n.Translator):
        catalogues = i18n.Catalogues(Path(__file__).resolve().parent / "locales")

    tr = Translator("sw")
    tr("consent.title")                    # "Ridhaa"
    tr("contribute.saved", id="itm_1")     # placeholders use str.format names

Catalogues are YAML files `<tag>.yaml` (nested keys, read as "a.b.c"), merged in this order,
later folders winning: `web/locales` (what both apps show: sign-in, account controls, refusals,
the names of record values), then the app's own `locales/`, then the folders in `JAMII_LOCALES`
(separated by the path separator), where a community adds or overrides catalogues without
touching the package. English is the reference: a key missing in another language falls back
to English, and a key missing even there shows the key itself, so a half-translated catalogue
never breaks a page; a broken file is skipped.

Right-to-left scripts (Arabic, Hebrew, Thaana, N'Ko, Adlam...) are detected from the tag with
langcodes, so `dir` follows the language rather than a hand-kept list of codes.
"""

from __future__ import annotations

import os
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import langcodes
import yaml

DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
EXTRA_ENV = "JAMII_LOCALES"

RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr",
                         "Mend", "Yezi", "Avst", "Phnx", "Nbat", "Palm", "Sogd", "Hung"})


def flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    """Nested catalogue keys as dotted ones: {"nav": {"review": "Review"}} -> {"nav.review": ...}.

    A key whose value is empty (None) is left out, so English shows for it."""
    out: dict[str, str] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif tree is not None:
        out[prefix[:-1]] = str(tree)
    return out


@lru_cache(maxsize=64)
def _catalogue(tag: str, folders: tuple[Path, ...]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for folder in folders:
        path = folder / f"{tag}.yaml"
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue  # a broken community file must not take the app down: English shows
        merged.update(flatten(data))
    return merged


_listed: dict[tuple[Path, ...], tuple[tuple, list[str]]] = {}
"""Folders -> (their `_stamp`s, the tags found in them): `Catalogues.available_languages`."""


def _stamp(folder: Path) -> tuple[int, int, int] | None:
    try:
        found = folder.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_ino, found.st_dev


class Catalogues:
    """One app's catalogue folders: the shared `web/locales`, then `folders`, then JAMII_LOCALES."""

    def __init__(self, *folders: Path):
        self.own = (LOCALES_DIR, *folders)

    def folders(self) -> list[Path]:
        """Where catalogues are read, later folders winning (JAMII_LOCALES read on every call)."""
        extra = [Path(p) for p in os.environ.get(EXTRA_ENV, "").split(os.pathsep) if p.strip()]
        return [*self.own, *extra]

    def catalogue(self, tag: str) -> dict[str, str]:
        """All strings of one language, flattened ("nav.review" -> "Review")."""
        return _catalogue(tag, tuple(self.folders()))

    def available_languages(self) -> list[str]:
        """Tags with a catalogue, English first. The folders are listed again only when one
        of them changed (a file added, removed or renamed changes its modification time):
        each page run asks several times."""
        folders = tuple(self.folders())
        stamp = tuple(_stamp(folder) for folder in folders)
        kept = _listed.get(folders)
        if kept is None or kept[0] != stamp:
            tags = {p.stem for folder in folders if folder.is_dir()
                    for p in folder.glob("*.yaml")}
            kept = (stamp, [DEFAULT_LANGUAGE] + sorted(t for t in tags if t != DEFAULT_LANGUAGE))
            _listed[folders] = kept
        return list(kept[1])

    def resolve_language(self, *candidates: str | None) -> str:
        """The first candidate with a catalogue (exact tag, then its language), else English."""
        have = set(self.available_languages())
        for cand in candidates:
            if not cand:
                continue
            std = _base(cand)
            if not std:
                continue
            if std in have:
                return std
            language = langcodes.Language.get(std).language
            if language in have:
                return language
        return DEFAULT_LANGUAGE


def _base(tag: str) -> str | None:
    try:
        return langcodes.standardize_tag(str(tag).strip().replace("_", "-"), macro=True)
    except (langcodes.LanguageTagError, ValueError):
        return None


def is_rtl(tag: str) -> bool:
    """True when the language's usual script is written right to left."""
    try:
        script = langcodes.Language.get(_base(tag) or tag).maximize().script
    except Exception:  # noqa: BLE001 - an odd tag is simply not RTL
        return False
    return script in RTL_SCRIPTS


def autonym(tag: str) -> str:
    """The language's name in itself ("Kiswahili", "français"), for the language picker."""
    try:
        name = langcodes.Language.get(tag).autonym()
    except Exception:  # noqa: BLE001
        return tag
    return name[:1].upper() + name[1:] if name else tag


class _Keep(dict):
    """Leave unknown placeholders as they are instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _format(template: str, values: dict[str, Any]) -> str | None:
    """The template filled in, or None when a translation's braces are broken."""
    if not values:
        return template
    try:
        return string.Formatter().vformat(template, (), _Keep(values))
    except (ValueError, IndexError, AttributeError, KeyError, TypeError):
        return None


class Translator:
    """`t(key, **values)` in one language with English fallback.

    An app subclasses it with its own `catalogues`; this base reads only `web/locales`."""

    catalogues: ClassVar[Catalogues] = Catalogues()

    def __init__(self, language: str = DEFAULT_LANGUAGE):
        self.language = self.catalogues.resolve_language(language)
        self._own = self.catalogues.catalogue(self.language)
        self._en = self.catalogues.catalogue(DEFAULT_LANGUAGE)

    @property
    def rtl(self) -> bool:
        return is_rtl(self.language)

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def has(self, key: str) -> bool:
        return key in self._own or key in self._en

    def missing(self) -> list[str]:
        """English keys this catalogue does not translate (for translators)."""
        return sorted(set(self._en) - set(self._own))

    def __call__(self, key: str, default: str | None = None, **values: Any) -> str:
        for table in (self._own, self._en):
            text = table.get(key)
            if text is not None:
                out = _format(text, values)
                if out is not None:
                    return out
        if default is not None:
            return _format(default, values) or default
        return key

    t = __call__


def direction_css(tr: Translator) -> str:
    """A style block that turns the app right to left for RTL languages.

    User text (inputs and shown items) always gets `unicode-bidi: plaintext`, so a Hebrew answer
    in an English interface, or an English name in an Arabic one, lays out by its own script.
    """
    css = [
        "textarea, input[type='text'], [data-testid='stText'], .jamii-user-text "
        "{ unicode-bidi: plaintext; text-align: start; }",
    ]
    if tr.rtl:
        css.append("[data-testid='stMain'], [data-testid='stSidebar'] "
                   "{ direction: rtl; text-align: right; }")
    return "<style>" + "\n".join(css) + "</style>"
