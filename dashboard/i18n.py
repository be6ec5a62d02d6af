"""The dashboard's strings: the collector's catalogues with the dashboard's own on top.

    tr = Translator("sw")
    tr("dash.nav.leaderboard")

`jamii.collector.i18n` reads `collector/locales` plus the folders in `JAMII_LOCALES`. The
dashboard adds `dashboard/locales/<tag>.yaml` between the two: its keys (and its overrides of
shared ones such as `access.*`) win over the collector's, and a community's own catalogues in
`JAMII_LOCALES` still win over both. Fallback is the collector's: own language, then English,
then the key itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from jamii.collector import i18n as _base
from jamii.collector.i18n import DEFAULT_LANGUAGE, autonym, available_languages, resolve_language

LOCALES_DIR = Path(__file__).resolve().parent / "locales"

__all__ = ["Translator", "autonym", "available_languages", "resolve_language", "LOCALES_DIR"]


def _flat(tree, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(_flat(value, f"{prefix}{key}."))
    elif tree is not None:
        out[prefix[:-1]] = str(tree)
    return out


def _load(folder: Path, tag: str) -> dict[str, str]:
    path = folder / f"{tag}.yaml"
    if not path.is_file():
        return {}
    try:
        return _flat(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (OSError, yaml.YAMLError):
        return {}  # a broken file must not take the dashboard down: English shows


def dashboard_catalogue(tag: str) -> dict[str, str]:
    """The dashboard's own strings in one language, community overrides applied last."""
    merged = _load(LOCALES_DIR, tag)
    for extra in os.environ.get(_base.EXTRA_ENV, "").split(os.pathsep):
        if extra.strip():
            merged.update(_load(Path(extra), tag))
    return merged


class Translator(_base.Translator):
    """The collector's translator reading the dashboard catalogues as well."""

    def __init__(self, language: str = DEFAULT_LANGUAGE):
        super().__init__(language)
        self._own = {**self._own, **dashboard_catalogue(self.language)}
        self._en = {**self._en, **dashboard_catalogue(DEFAULT_LANGUAGE)}
