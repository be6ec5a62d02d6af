"""Reviewers' agreement: the one Krippendorff's alpha that a datasheet and the dashboard show.

    patterns = store.review_votes(campaign.id)   # verdict patterns, counted per language
    summary(patterns)                             # every language: alpha, votes, rates
    summary(patterns, language="sw")              # one language

Each unit is one reviewed item version; its votes are the reviewers' verdicts (approve,
reject, edit), a nominal scale. Alpha is computed with the `krippendorff` library from
per-unit verdict counts, over the units with two or more votes (a single vote cannot agree or
disagree). When every such vote has the same verdict, alpha is undefined (no variation to
agree on): it is None, never a number, and the note code says why.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from jamii.core.records import VERDICTS

MIN_UNITS_NOTE = 10
"""Below this many units with two or more votes, alpha is shown with a caution."""

NOTES = {
    "no_reviews": "no reviews yet",
    "no_units": "no item version has two or more votes yet",
    "no_variation": "every vote gave the same verdict: alpha is undefined (no variation)",
    "undefined": "alpha is undefined for these votes",
    "few_units": "only {units} item versions with two or more votes: read with caution",
}
"""Note code -> English note (the dashboard translates the code)."""


def value_counts(patterns: Iterable[dict[str, Any]], language: str | None = None) -> np.ndarray:
    """Units x verdicts counts from `Store.review_votes` rows (one row per verdict pattern and
    language, with how many item versions had it), of one language or of all."""
    rows = [p for p in patterns if language is None or p["language"] == language]
    counts = np.asarray([[p[v] for v in VERDICTS] for p in rows], dtype=float)
    return np.repeat(counts.reshape(-1, len(VERDICTS)), [int(p["item_versions"]) for p in rows],
                     axis=0)


def alpha(counts: np.ndarray) -> tuple[float | None, str]:
    """Krippendorff's alpha (nominal) from a units x verdicts count matrix, and a note code
    ("" when there is nothing to say)."""
    import krippendorff

    counts = np.asarray(counts, dtype=float)
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


def summary(patterns: Iterable[dict[str, Any]], language: str | None = None) -> dict[str, Any]:
    """Alpha, its note code, the units and the vote totals and rates, of one language or all."""
    matrix = value_counts(patterns, language)
    totals = dict(zip(VERDICTS, (int(n) for n in matrix.sum(axis=0))))
    votes = sum(totals.values())
    value, note = alpha(matrix) if votes else (None, "no_reviews")
    return {
        "alpha": value,
        "note": note,
        "items_reviewed": int(len(matrix)),
        "items_with_two_or_more_votes": int((matrix.sum(axis=1) >= 2).sum()),
        "votes": votes,
        **{f"{v}_votes": n for v, n in totals.items()},
        "mean_votes_per_item": votes / len(matrix) if len(matrix) else 0.0,
        "approval_rate": totals["approve"] / votes if votes else None,
        "rejection_rate": totals["reject"] / votes if votes else None,
        "edit_rate": totals["edit"] / votes if votes else None,
    }
