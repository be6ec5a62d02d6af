"""When peer reviews decide an item: pure functions, so the rule can be tested and shown.

The default is Common Voice's clip rule (collection study, CV-ds): accepted at two or more
votes with more approvals than rejections; rejected at two or more with more rejections, or at
three or more votes tied. A campaign may raise the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RULE = {"min_votes": 2, "tie_reject_at": 3}


@dataclass(frozen=True)
class AcceptanceRule:
    min_votes: int = 2
    """Votes (approvals + rejections) needed before any decision."""
    tie_reject_at: int = 3
    """A tie with this many votes or more rejects the item."""

    def __post_init__(self) -> None:
        if self.min_votes < 1:
            raise ValueError("min_votes must be at least 1")
        if self.tie_reject_at < self.min_votes:
            raise ValueError("tie_reject_at cannot be below min_votes")

    @classmethod
    def from_campaign(cls, params: dict | None) -> "AcceptanceRule":
        merged = {**DEFAULT_RULE, **(params or {})}
        return cls(int(merged["min_votes"]), int(merged["tie_reject_at"]))

    def describe(self) -> str:
        return (
            f"accepted at {self.min_votes} or more votes with more approvals than rejections; "
            f"rejected at {self.min_votes} or more with more rejections, "
            f"or at {self.tie_reject_at} or more votes tied"
        )


def decide(approvals: int, rejections: int, rule: AcceptanceRule = AcceptanceRule()) -> str | None:
    """Return "accepted", "rejected" or None (still open) for the votes so far."""
    votes = approvals + rejections
    if votes < rule.min_votes:
        return None
    if approvals > rejections:
        return "accepted"
    if rejections > approvals:
        return "rejected"
    return "rejected" if votes >= rule.tie_reject_at else None
