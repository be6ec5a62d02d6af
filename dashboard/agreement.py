"""Review agreement: approval rates and Krippendorff's alpha, overall and per language.

    table = agreement(store.review_votes(campaign.id))

The figures are the datasheet's own, from `jamii.core.agreement`: each unit is one item
version, alpha is computed over the units with two or more votes, and when every vote in a
group has the same verdict alpha is undefined and the table says so instead of showing a number.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jamii.core.agreement import NOTES, summary

ALL = "all"
COLUMNS = ["language", "item_versions", "votes", "approvals", "approval_rate", "units", "alpha", "note",
           "note_code"]
"""`note` is the English of `note_code` (NOTES); pages translate the code
(`dash.agreement.note_<code>`)."""


def _row(language: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    found = summary(rows, None if language == ALL else language)
    units, code = found["items_with_two_or_more_votes"], found["note"]
    return {"language": language, "item_versions": found["items_reviewed"],
            "votes": found["votes"], "approvals": found["approve_votes"],
            "approval_rate": found["approval_rate"], "units": units, "alpha": found["alpha"],
            "note": NOTES[code].format(units=units) if code else "", "note_code": code}


def agreement(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row for all languages, then one per language (from `Store.review_votes`)."""
    languages = sorted({str(r["language"]) for r in rows})
    return pd.DataFrame([_row(ALL, rows), *(_row(lang, rows) for lang in languages)],
                        columns=COLUMNS)
