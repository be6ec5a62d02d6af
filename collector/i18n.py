"""Translation catalogues for the collector: every string a contributor sees comes from here.

    tr = Translator("sw")
    tr("consent.title")                    # "Ridhaa"
    tr("contribute.saved", id="itm_1")     # placeholders use str.format names

Catalogues are YAML files `locales/<tag>.yaml` (nested keys, read as "a.b.c"). English is the
reference: a key missing in another catalogue falls back to English, and a key missing even
there shows the key itself, so a half-translated catalogue never breaks a page. Communities
can add or override catalogues without touching the package by pointing `JAMII_LOCALES` at a
folder (or several, separated by the path separator) holding more `<tag>.yaml` files.

Right-to-left scripts (Arabic, Hebrew, Thaana, N'Ko, Adlam...) are detected from the tag with
langcodes, so `dir` follows the language rather than a hand-kept list of codes.
"""

from __future__ import annotations

import os
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import langcodes
import yaml

DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
EXTRA_ENV = "JAMII_LOCALES"

RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr",
                         "Mend", "Yezi", "Avst", "Phnx", "Nbat", "Palm", "Sogd", "Hung"})


def _folders() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(EXTRA_ENV, "").split(os.pathsep) if p.strip()]
    return [LOCALES_DIR, *extra]


def _flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}{key}."))
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
        merged.update(_flatten(data))
    return merged


def catalogue(tag: str) -> dict[str, str]:
    """All strings of one language, flattened ("nav.review" -> "Review")."""
    return _catalogue(tag, tuple(_folders()))


def available_languages() -> list[str]:
    """Tags with a catalogue, English first."""
    tags = {p.stem for folder in _folders() if folder.is_dir() for p in folder.glob("*.yaml")}
    return [DEFAULT_LANGUAGE] + sorted(t for t in tags if t != DEFAULT_LANGUAGE)


def _base(tag: str) -> str | None:
    try:
        return langcodes.standardize_tag(str(tag).strip().replace("_", "-"), macro=True)
    except (langcodes.LanguageTagError, ValueError):
        return None


def resolve_language(*candidates: str | None) -> str:
    """The first candidate with a catalogue (exact tag, then its language), else English."""
    have = set(available_languages())
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
    """`t(key, **values)` in one language with English fallback."""

    def __init__(self, language: str = DEFAULT_LANGUAGE):
        self.language = resolve_language(language)
        self._own = catalogue(self.language)
        self._en = catalogue(DEFAULT_LANGUAGE)

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
