"""The dashboard's strings: the shared catalogues (`jamii.web.i18n`), `dashboard/locales` on top.

    tr = Translator("sw")
    tr("dash.nav.leaderboard")

Folders, in the order they win: `JAMII_LOCALES`, `dashboard/locales` (its own keys, and its
overrides of shared ones such as `access.*`), `web/locales`; fallback is own language, then
English, then the key itself (see `jamii.web.i18n`).
"""

from __future__ import annotations

from pathlib import Path

from jamii.web import i18n

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
CATALOGUES = i18n.Catalogues(LOCALES_DIR)

available_languages = CATALOGUES.available_languages
resolve_language = CATALOGUES.resolve_language

__all__ = ["Translator", "LOCALES_DIR", "available_languages", "resolve_language"]


class Translator(i18n.Translator):
    """`t(key, **values)` over the dashboard's catalogues, with English fallback."""

    catalogues = CATALOGUES
