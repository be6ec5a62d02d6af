"""Compensation totals by activity, language, unit and status: never per person.

    rows = store.compensation_totals(campaign.id)
    totals(rows, by=("activity",))          # per activity and unit, with owed/approved/paid
    totals(rows, by=("language", "status")) # any grouping; unit is always kept apart

Amounts in different units (KES, airtime, seed packs) are never added together: every table
keeps `unit` as a column. No row names or counts people.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

import pandas as pd

from jamii.core.records import PAYMENT_STATUSES

GROUPINGS = ("activity", "language", "status")
NONE_LABEL = "(none)"


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The store's ledger sums as a frame (people counts dropped: nothing here is per person)."""
    df = pd.DataFrame(rows, columns=["activity", "language", "unit", "status", "amount",
                                     "quantity", "entries"])
    df["language"] = df["language"].fillna(NONE_LABEL)
    return df


def totals(rows: list[dict[str, Any]], by: Iterable[str] = ("activity",), *,
           pivot_status: bool = True) -> pd.DataFrame:
    """Sums grouped by `by` plus unit; with `pivot_status`, one amount column per status.
    """
    by = [b for b in by if b != "unit"]
    bad = [b for b in by if b not in GROUPINGS]
    if bad:
        raise ValueError(f"cannot group by {bad}: use {', '.join(GROUPINGS)}")
    df = frame(rows)
    keys = [*by, "unit"]
    if pivot_status and "status" not in by:
        if df.empty:
            return pd.DataFrame(columns=[*keys, *PAYMENT_STATUSES, "total", "entries"])
        table = df.pivot_table(index=keys, columns="status", values="amount", aggfunc=_dsum,
                               fill_value=Decimal(0))
        table = table.reindex(columns=list(PAYMENT_STATUSES), fill_value=Decimal(0))
        table.columns.name = None
        # failed payments are not owed any more until moved back; the total is what was earned
        table["total"] = table[["owed", "approved", "paid", "failed"]].apply(
            lambda r: sum(r, Decimal(0)), axis=1)
        table["entries"] = df.groupby(keys)["entries"].sum()
        out = table.reset_index()
    else:
        if df.empty:
            return pd.DataFrame(columns=[*keys, "amount", "quantity", "entries"])
        out = (df.groupby(keys, sort=True)
               .agg(amount=("amount", _dsum), quantity=("quantity", _dsum), entries=("entries", "sum"))
               .reset_index())
    for col in out.columns:
        if len(out) and isinstance(out[col].iloc[0], Decimal):
            out[col] = out[col].map(lambda d: float(round(d, 2)))
    return out


def _dsum(values) -> Decimal:
    return sum((Decimal(str(v)) for v in values), Decimal(0))


def by_status(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Amount per status and unit (owed, approved, paid, failed), for the headline figures."""
    return totals(rows, by=("status",), pivot_status=False)
