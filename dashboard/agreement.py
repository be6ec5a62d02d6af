"""Review agreement: approval rates and Krippendorff's alpha, overall and per language.

    table = agreement(store.review_votes(campaign.id))

Each unit is one item version; its votes are the reviewers' verdicts (approve, reject, edit),
a nominal scale. Alpha is computed with the `krippendorff` library from per-unit verdict
counts, over the units with two or more votes (a single vote cannot agree or disagree). When
every vote in a group has the same verdict, alpha is undefined (no variation to agree on) and
the table says so instead of showing a number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

VERDICTS = ("approve", "reject", "edit")
ALL = "all"
MIN_UNITS_NOTE = 10
COLUMNS = ["language", "item_versions", "votes", "approvals", "approval_rate", "units", "alpha", "note",
           "note_code"]
NOTES = {
    "no_reviews": "no reviews yet",
    "no_units": "no item version has two or more votes yet",
    "no_variation": "every vote gave the same verdict: alpha is undefined (no variation)",
    "undefined": "alpha is undefined for these votes",
    "few_units": "only {units} item versions with two or more votes: read with caution",
}
"""note_code -> English note; pages translate the code (`dash.agreement.note_<code>`)."""


def alpha(value_counts: np.ndarray) -> tuple[float | None, str]:
    """Krippendorff's alpha (nominal) from a units x verdicts count matrix, and a note code."""
    import krippendorff

    counts = np.asarray(value_counts, dtype=float)
    counts = counts[counts.sum(axis=1) >= 2] if counts.size else counts.reshape(0, len(VERDICTS))
    if counts.shape[0] == 0:
        return None, "no_units"
    used = counts.sum(axis=0) > 0
    if used.sum() < 2:
        return None, "no_variation"
    value = float(krippendorff.alpha(value_counts=counts[:, used], level_of_measurement="nominal"))
    if np.isnan(value):
        return None, "undefined"
    return value, "" if counts.shape[0] >= MIN_UNITS_NOTE else "few_units"


def _row(language: str, votes: pd.DataFrame) -> dict[str, Any]:
    matrix = votes[list(VERDICTS)].to_numpy(dtype=float)
    total = int(matrix.sum())
    approvals = int(votes["approve"].sum())
    value, code = alpha(matrix)
    units = int((matrix.sum(axis=1) >= 2).sum())
    return {"language": language, "item_versions": int(len(votes)), "votes": total,
            "approvals": approvals, "approval_rate": approvals / total if total else None,
            "units": units, "alpha": value, "note": NOTES[code].format(units=units) if code else "",
            "note_code": code}


def agreement(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row for all languages, then one per language (from `Store.review_votes`)."""
    votes = pd.DataFrame(rows, columns=["item_id", "version", "language", *VERDICTS])
    if votes.empty:
        return pd.DataFrame([{**dict.fromkeys(COLUMNS), "language": ALL, "item_versions": 0,
                              "votes": 0, "approvals": 0, "units": 0,
                              "note": NOTES["no_reviews"], "note_code": "no_reviews"}],
                            columns=COLUMNS)
    out = [_row(ALL, votes)]
    for language, group in votes.groupby("language", sort=True):
        out.append(_row(str(language), group))
    return pd.DataFrame(out, columns=COLUMNS)
