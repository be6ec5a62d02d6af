"""BCP-47 language tags, validated and normalised with langcodes.

Communities write tags in many spellings (`swh`, `sw`, `SW`, `kiswahili`); one normal form
keeps counts, splits and dataset cards from splitting a language in two.
"""

from __future__ import annotations

from functools import lru_cache

import langcodes


class LanguageTagError(ValueError):
    """A language tag that is not valid BCP-47, with a message saying what to write instead."""


@lru_cache(maxsize=4096)
def normalise_tag(tag: str) -> str:
    """Return the canonical BCP-47 form: `swh` -> `sw`, `zul` -> `zu`, `sn-zw` -> `sn-ZW`.

    Macrolanguage members collapse to the macrolanguage (`swh` is "Swahili (individual
    language)", which users mean as `sw`), as langcodes' `macro=True` does.
    """
    if not isinstance(tag, str) or not tag.strip():
        raise LanguageTagError("the language tag is empty: write a BCP-47 tag such as 'sw' or 'sn'")
    raw = tag.strip().replace("_", "-")
    if not raw.isprintable():  # a NUL or control character crashed langcodes' parser
        raise LanguageTagError(
            f"{tag!r} is not a valid BCP-47 language tag: tags are letters, digits and hyphens "
            "such as 'sw' (Swahili) or 'sn-ZW'")
    try:
        std = langcodes.standardize_tag(raw, macro=True)
    except (langcodes.LanguageTagError, ValueError):  # UnicodeError is a ValueError
        std = None
    if std is None or not langcodes.tag_is_valid(std) or std == "und":
        hint = _suggest(raw)
        extra = f" (did you mean '{hint}'?)" if hint else ""
        raise LanguageTagError(
            f"'{tag}' is not a valid BCP-47 language tag{extra}: use a code such as 'sw' (Swahili),"
            " 'sn' (Shona) or 'yo' (Yoruba)"
        )
    return std


def _suggest(text: str) -> str | None:
    """Guess a tag from a language name, so 'Swahili' or 'Kiswahili' gets a helpful hint."""
    try:
        found = langcodes.find(text)
    except LookupError:
        return None
    return str(found) if found else None


def iso639(tag: str) -> str:
    """The ISO 639 code of a tag's language (two letters when one exists), for dataset cards."""
    return langcodes.Language.get(normalise_tag(tag)).language


def display_name(tag: str, in_language: str = "en") -> str:
    """A human name for the tag, in the given interface language when the data has one."""
    try:
        return langcodes.Language.get(tag).display_name(in_language)
    except Exception:  # noqa: BLE001 - a name is cosmetic; never break a page on it
        return tag
