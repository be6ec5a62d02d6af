"""Organiser forms turned into store calls: campaign fields, rate cards, rating settings, payouts.

Parsing is plain and forgiving about spaces, strict about meaning: every problem comes back
as (catalogue key, values) so the page can say what to fix in the organiser's language, and
nothing is written while a problem remains. The store writes the audit event of each change.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from jamii.core.langtags import LanguageTagError, normalise_tag
from jamii.core.ratings import RATER_POLICIES
from jamii.core.records import ACTIVITIES, CONSENT_SCOPES
from jamii.core.schema import ITEM_KINDS

Problem = tuple[str, dict[str, Any]]


def split_list(text: str | None) -> list[str]:
    """Comma- or line-separated entries, trimmed, empty ones dropped, order and case kept."""
    if not text:
        return []
    out: list[str] = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def _pairs(text: str | None, where: str, problems: list[Problem]) -> list[tuple[str, str]]:
    out = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            problems.append(("admin.bad_line", {"where": where, "line": n, "text": line.strip()[:60]}))
            continue
        out.append((key.strip(), value.strip()))
    return out


def parse_dialects(text: str | None, languages: list[str], problems: list[Problem]) -> dict[str, list[str]]:
    """Lines "sw = Kiunguja, Kimvita"."""
    out: dict[str, list[str]] = {}
    for tag, names in _pairs(text, "dialects", problems):
        try:
            std = normalise_tag(tag)
        except LanguageTagError:
            problems.append(("admin.bad_language", {"tag": tag}))
            continue
        if std not in languages:
            problems.append(("admin.dialect_language", {"tag": std}))
            continue
        out[std] = split_list(names)
    return out


def parse_targets(items_text: str | None, representation_text: str | None,
                  problems: list[Problem]) -> dict[str, Any]:
    """Lines "sw/agriculture = 200" and "gender:woman = 0.5"."""
    targets: dict[str, Any] = {}
    counts = {}
    for key, value in _pairs(items_text, "targets", problems):
        if not value.isdigit():
            problems.append(("admin.bad_number", {"what": key, "value": value}))
            continue
        counts[key] = int(value)
    shares = {}
    for key, value in _pairs(representation_text, "representation", problems):
        try:
            share = float(value)
        except ValueError:
            share = -1
        if not 0 <= share <= 1:
            problems.append(("admin.bad_share", {"what": key, "value": value}))
            continue
        shares[key] = share
    if counts:
        targets["items"] = counts
    if shares:
        targets["representation"] = shares
    return targets


def campaign_fields(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Check a campaign form; return the fields for create/update_campaign, and the problems."""
    problems: list[Problem] = []
    name = (values.get("name") or "").strip()
    if not name:
        problems.append(("admin.need_name", {}))
    languages = []
    for tag in split_list(values.get("languages")):
        try:
            languages.append(normalise_tag(tag))
        except LanguageTagError:
            problems.append(("admin.bad_language", {"tag": tag}))
    if not languages and not any(p[0] == "admin.bad_language" for p in problems):
        problems.append(("admin.need_language", {}))
    kinds = [k for k in (values.get("item_kinds") or []) if k in ITEM_KINDS]
    if not kinds:
        problems.append(("admin.need_kind", {}))
    try:
        min_votes = int(values.get("min_votes") or 2)
        tie = int(values.get("tie_reject_at") or 3)
        if min_votes < 1 or tie < min_votes:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(("admin.bad_rule", {}))
        min_votes, tie = 2, 3
    scopes = [s for s in (values.get("consent_scopes") or []) if s in CONSENT_SCOPES]
    fields = {
        "name": name,
        "description": (values.get("description") or "").strip(),
        "languages": languages,
        "dialects": parse_dialects(values.get("dialects"), languages, problems),
        "domains": split_list(values.get("domains")),
        "item_kinds": kinds,
        "targets": parse_targets(values.get("targets_items"), values.get("targets_representation"),
                                 problems),
        "acceptance_rule": {"min_votes": min_votes, "tie_reject_at": tie},
        "consent_scopes": scopes,
        "compensation_options": {"methods": list(values.get("methods") or []),
                                 "in_kind": split_list(values.get("in_kind"))},
    }
    return fields, problems


def dialects_text(dialects: dict[str, list[str]]) -> str:
    return "\n".join(f"{tag} = {', '.join(names)}" for tag, names in (dialects or {}).items())


def targets_text(targets: dict[str, Any]) -> tuple[str, str]:
    items = "\n".join(f"{k} = {v}" for k, v in (targets or {}).get("items", {}).items())
    rep = "\n".join(f"{k} = {v}" for k, v in (targets or {}).get("representation", {}).items())
    return items, rep


def rate_card(values: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """{activity: {amount, unit, in_kind_good, in_kind_qty}} -> the store's rate card."""
    rates: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for activity in ACTIVITIES:
        v = values.get(activity) or {}
        amount_text = str(v.get("amount") or "").strip()
        unit = str(v.get("unit") or "").strip()
        if not amount_text and not unit:
            continue  # unpaid activity
        try:
            amount = Decimal(amount_text.replace(",", "."))
            if amount < 0 or not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(("admin.bad_amount", {"activity": activity, "value": amount_text}))
            continue
        if not unit:
            problems.append(("admin.need_unit", {"activity": activity}))
            continue
        rate: dict[str, Any] = {"amount": str(amount), "unit": unit}
        good = str(v.get("in_kind_good") or "").strip()
        qty = str(v.get("in_kind_qty") or "").strip()
        if good or qty:
            try:
                q = Decimal(qty.replace(",", "."))
                if q < 0 or not good:
                    raise InvalidOperation
                rate["in_kind"] = {good: str(q)}
            except InvalidOperation:
                problems.append(("admin.bad_in_kind", {"activity": activity}))
                continue
        rates[activity] = rate
    if not rates and not problems:
        problems.append(("admin.empty_rate_card", {}))
    return rates, problems


def consent_problems(version: str, language: str, text: str) -> list[Problem]:
    problems: list[Problem] = []
    if not (version or "").strip():
        problems.append(("admin.need_version", {}))
    try:
        normalise_tag(language or "")
    except LanguageTagError:
        problems.append(("admin.bad_language", {"tag": language or ""}))
    if not (text or "").strip():
        problems.append(("admin.need_consent_text", {}))
    return problems


def rating_settings(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The organiser's rating settings form -> `Store.set_rating_settings` arguments.

    `raters` is 'reviewers' or 'consented'; a daily cap of 0 (or empty) means none."""
    problems: list[Problem] = []
    raters = values.get("raters")
    if raters not in RATER_POLICIES:
        problems.append(("admin.bad_raters", {}))
    try:
        cap = int(values.get("daily_cap") or 0)
        if cap < 0:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(("admin.bad_daily_cap", {"value": values.get("daily_cap")}))
        cap = 0
    try:
        wanted = int(values.get("ratings_per_task"))
        if not 1 <= wanted <= 50:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(("admin.bad_ratings_per_task", {"value": values.get("ratings_per_task")}))
        wanted = 3
    return {"raters": raters, "daily_cap": cap or None, "ratings_per_task": wanted}, problems


def consent_languages(campaign_languages: list[str], current_version: str | None,
                      texts: list[Any]) -> tuple[list[str], list[str], str | None]:
    """Which campaign languages have a consent text of the current version: (with, without,
    the language those without read instead, as `Store.consent_text` picks it: English, else
    the first text). A text in `sw` serves `sw-KE` readers too."""
    current = [t for t in texts if t.version == current_version]
    have = {t.language for t in current} | {t.language.split("-")[0] for t in current}
    covered = [lang for lang in campaign_languages if lang in have or lang.split("-")[0] in have]
    missing = [lang for lang in campaign_languages if lang not in covered]
    fallback = None
    if current:
        fallback = "en" if "en" in {t.language for t in current} else current[0].language
    return covered, missing, fallback


WHERE_LABELS = {"dialects": "admin.dialects", "targets": "admin.targets_items",
                "representation": "admin.targets_representation"}
"""The form field a `bad_line` problem is in -> the catalogue key of that field's label."""


def problem_values(tr, values: dict[str, Any]) -> dict[str, Any]:
    """A problem's values in the reader's language: the field and the activity are named as
    the form names them, not by their English keys (`item_accepted`)."""
    out = dict(values)
    if "where" in out and out["where"] in WHERE_LABELS:
        out["where"] = tr(WHERE_LABELS[out["where"]])
    if "activity" in out:
        out["activity"] = tr(f"activity.{out['activity']}", default=str(out["activity"]))
    return out



def invite_link(page_url: str | None, base_path: str | None, code: str) -> str | None:
    """The short link of an invite (`{app}/j/CODE`, web/serve.py) as the organiser's browser
    reaches the app: what a printed QR code carries. None when the page's address is unknown."""
    from urllib.parse import urlsplit, urlunsplit

    if not page_url:
        return None
    parts = urlsplit(page_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    base = (base_path or "").strip("/")
    path = f"/{base}/j/{code}" if base else f"/j/{code}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def invite_qr_png(link: str) -> bytes:
    """A QR code of the link (segno), large enough to print on a card and scan from a phone."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()
