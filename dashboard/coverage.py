"""Coverage: items per language, dialect, domain and kind, by status, against campaign targets.

    counts = item_frame(store.item_counts(campaign.id))
    by_status(counts, "language")           # one row per language, one column per status
    progress(campaign, counts)              # one row per target in campaign.targets["items"]

Targets are written as "language/part/part" (e.g. "sw/agriculture", "sw/Kimvita/health",
"sn/speech"): the first part is the language tag, each other part a domain, dialect or item
kind of the campaign. Only accepted items count toward a target; items still in review are
shown next to them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jamii.core.records import ITEM_STATUSES

DIMENSIONS = ("language", "dialect", "domain", "kind")
NONE_LABEL = "(none)"
IN_REVIEW = ("submitted", "needs_edit")


def item_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The store's item counts as a frame (missing dialect/domain shown as "(none)")."""
    frame = pd.DataFrame(rows, columns=[*DIMENSIONS, "status", "n"])
    for col in ("dialect", "domain"):
        frame[col] = frame[col].fillna(NONE_LABEL)
    frame["n"] = frame["n"].astype(int)
    return frame


def by_status(counts: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Items per value of `dimension`, one column per status plus `total`, largest first."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}: use one of {', '.join(DIMENSIONS)}")
    table = counts.pivot_table(index=dimension, columns="status", values="n", aggfunc="sum",
                               fill_value=0)
    statuses = [s for s in ITEM_STATUSES if s in table.columns]
    table = table.reindex(columns=statuses, fill_value=0)
    table["total"] = table.sum(axis=1)
    table.columns.name = None
    return table.sort_values("total", ascending=False).reset_index()


def status_totals(counts: pd.DataFrame) -> dict[str, int]:
    """Items per status over the whole campaign (every status present, zero if none)."""
    found = counts.groupby("status")["n"].sum().to_dict()
    return {s: int(found.get(s, 0)) for s in ITEM_STATUSES}


def parse_target(key: str, campaign) -> dict[str, str]:
    """"sw/Kimvita/health" -> {"language": "sw", "dialect": "Kimvita", "domain": "health"}.

    Raises ValueError naming the part that is neither a domain, a dialect of that language,
    nor an item kind of the campaign.
    """
    parts = [p.strip() for p in str(key).split("/") if p.strip()]
    if not parts:
        raise ValueError("an empty target key")
    spec = {"language": parts[0]}
    dialects = {d.casefold(): d for d in (campaign.dialects or {}).get(parts[0], [])}
    domains = {d.casefold(): d for d in campaign.domains or []}
    kinds = {k.casefold(): k for k in campaign.item_kinds or []}
    for part in parts[1:]:
        low = part.casefold()
        for dim, known in (("domain", domains), ("dialect", dialects), ("kind", kinds)):
            if low in known and dim not in spec:
                spec[dim] = known[low]
                break
        else:
            raise ValueError(f"'{part}' in target '{key}' is not a domain, dialect or item kind "
                             "of this campaign")
    return spec


def _matches(frame: pd.DataFrame, spec: dict[str, str]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for dim, value in spec.items():
        col = frame[dim].astype(str)
        if dim == "language":
            mask &= (col == value) | col.str.startswith(value + "-")
        else:
            mask &= col.str.casefold() == value.casefold()
    return mask


def progress(campaign, counts: pd.DataFrame) -> pd.DataFrame:
    """One row per item target: accepted and in-review counts, and the share of the target met.

    Columns: target, language, dialect, domain, kind, goal, accepted, in_review, rejected,
    progress (accepted / goal, capped at 1 for bars), problem (why a key could not be read).
    """
    targets = ((campaign.targets or {}).get("items") or {})
    rows = []
    for key, goal in targets.items():
        row: dict[str, Any] = {"target": key, "language": "", "dialect": "", "domain": "",
                               "kind": "", "goal": 0, "accepted": 0, "in_review": 0,
                               "rejected": 0, "progress": 0.0, "problem": ""}
        try:
            spec = parse_target(key, campaign)
            row["goal"] = int(goal)
            if row["goal"] <= 0:
                raise ValueError(f"the goal of '{key}' must be a positive number of items")
        except (TypeError, ValueError) as exc:
            row["problem"] = str(exc)
            rows.append(row)
            continue
        row.update(spec)
        hit = counts[_matches(counts, spec)] if not counts.empty else counts
        row["accepted"] = int(hit.loc[hit["status"] == "accepted", "n"].sum())
        row["in_review"] = int(hit.loc[hit["status"].isin(IN_REVIEW), "n"].sum())
        row["rejected"] = int(hit.loc[hit["status"] == "rejected", "n"].sum())
        row["progress"] = min(1.0, row["accepted"] / row["goal"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["target", *DIMENSIONS, "goal", "accepted", "in_review",
                                       "rejected", "progress", "problem"])
