"""Who contributes: self-described profiles against representation targets, with the rule of five.

    rep = representation(campaign, store.profile_counts(campaign.id))
    rep.groups["gender"]     # value, people, share, items; small groups say "fewer than 5"
    rep.targets              # one row per campaign.targets["representation"] entry

Only people with at least one item in the campaign count, withdrawn people never. The rule of
five is the release's own (`jamii.core.disclosure.hidden_groups`): any group of fewer than five
people is shown as "fewer than 5" (people, share and items alike), never as an exact number;
when a dimension would have exactly one such group, the next smallest group is hidden too, so
that the small one cannot be worked out from the total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jamii.core.disclosure import FEWER, MIN_GROUP, hidden_groups, publishable_label, small
from jamii.core.records import Campaign

NOT_SAID = "(not said)"


@dataclass
class Representation:
    people: int | str
    """People with items, or FEWER."""
    groups: dict[str, pd.DataFrame] = field(default_factory=dict)
    """dimension -> value, people, share, items (small groups suppressed)."""
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    """target, dimension, value, goal, share, status (met / below / unknown), problem."""


def group_table(rows: list[dict[str, Any]], total: int, *, label: str = FEWER,
                not_said: str = NOT_SAID) -> pd.DataFrame:
    """One dimension's counts with the rule of five applied."""
    merged: dict[str, dict[str, int]] = {}
    for r in rows:
        value = r.get("value")
        key = publishable_label(str(value).strip()) if value not in (None, "") else not_said
        cell = merged.setdefault(key, {"people": 0, "items": 0})
        cell["people"] += int(r.get("people") or 0)
        cell["items"] += int(r.get("items") or 0)
    hidden = hidden_groups({k: v["people"] for k, v in merged.items()})
    out = []
    for key, cell in sorted(merged.items(), key=lambda kv: (kv[0] == not_said, -kv[1]["people"], kv[0])):
        if key in hidden:
            out.append({"value": key, "people": label, "share": None, "items": label})
        else:
            out.append({"value": key, "people": str(cell["people"]),
                        "share": cell["people"] / total if total else None,
                        "items": str(cell["items"])})
    return pd.DataFrame(out, columns=["value", "people", "share", "items"])


def _target_status(n: int, total: int, goal: float, hidden: bool) -> tuple[float | None, str]:
    """The share (None when hidden) and whether the goal is met, without revealing a small n."""
    if not hidden:
        share = n / total if total else 0.0
        return share, "met" if share >= goal else "below"
    if n >= MIN_GROUP and total >= MIN_GROUP:
        # hidden only to protect a smaller neighbour: met/below gives away no small number
        return None, "met" if n / total >= goal else "below"
    if total >= MIN_GROUP and goal * total >= MIN_GROUP:
        return None, "below"  # the goal needs five or more people and fewer than five are there
    return None, "unknown"


def representation(campaign: Campaign, profile_counts: dict[str, Any], *, label: str = FEWER,
                   not_said: str = NOT_SAID) -> Representation:
    """Profile counts (from `Store.profile_counts`) as suppressed tables and target checks."""
    total = int(profile_counts.get("people") or 0)
    by = profile_counts.get("by") or {}
    groups = {dim: group_table(rows, total, label=label, not_said=not_said) for dim, rows in by.items()}
    target_rows = []
    for key, goal in ((campaign.targets or {}).get("representation") or {}).items():
        row: dict[str, Any] = {"target": key, "dimension": "", "value": "", "goal": None,
                               "share": None, "status": "unknown", "problem": ""}
        dim, _, value = str(key).partition(":")
        try:
            row["goal"] = float(goal)
            if not 0 <= row["goal"] <= 1:
                raise ValueError(f"the goal of '{key}' must be a share between 0 and 1")
            if not value or dim not in by:
                raise ValueError(f"'{key}' should read 'field:value' with field one of "
                                 f"{', '.join(by) or 'gender'}")
        except (TypeError, ValueError) as exc:
            row["problem"] = str(exc)
            target_rows.append(row)
            continue
        row.update(dimension=dim, value=value)
        n = sum(int(r.get("people") or 0) for r in by[dim]
                if str(r.get("value") or "").casefold() == value.casefold())
        table = groups[dim]
        shown = table[table["value"].str.casefold() == value.casefold()]
        if total == 0:
            target_rows.append(row)  # nobody yet: status stays unknown
            continue
        if total < MIN_GROUP:
            hidden = True
        elif shown.empty:
            hidden = False  # nobody with that value: a zero share is safe to show
        else:
            hidden = shown["people"].iloc[0] == label
        row["share"], row["status"] = _target_status(n, total, row["goal"], hidden)
        target_rows.append(row)
    return Representation(
        people=label if small(total) else total, groups=groups,
        targets=pd.DataFrame(target_rows, columns=["target", "dimension", "value", "goal", "share",
                                                   "status", "problem"]))
