"""The rule of five (Common Voice's): what a published figure about people may show.

Every table about people goes through here, whoever shows it: a release's documents
(`jamii.datasheets`) and the dashboard's representation page alike.

    hidden_groups({"woman": 4, "man": 10})   # {"woman", "man"}: 4 is small, 10 its complement
    suppress({"woman": 4, "man": 10})        # {"man": "fewer than 5", "woman": "fewer than 5"}
    suppress_count(4)                        # "fewer than 5"
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from jamii.core import checks

MIN_GROUP = 5
"""A count of fewer people than this is never published."""

FEWER = f"fewer than {MIN_GROUP}"
"""What a published table says instead of the count (or amount) of a group under five."""

NOT_SAID = "not said"
"""The group of people who left a profile field empty."""

WITHHELD = "withheld (may hold personal data)"
"""The name under which a self-described group that may hold personal data is counted."""


def small(n: int) -> bool:
    """Whether a group of `n` people is too small to publish (no one at all is no group)."""
    return 0 < n < MIN_GROUP


def hidden_groups(counts: dict[Any, int]) -> set[Any]:
    """The groups (keys of `counts`, people per group) whose figures must not be published.

    Every group of one to four people is hidden; when that hides exactly one group of several,
    the next smallest is hidden too (the complementary cell), because the hidden count would
    otherwise be the published total minus the groups shown.
    """
    hidden = {k for k, n in counts.items() if small(n)}
    rest = sorted((n, str(k)) for k, n in counts.items() if k not in hidden and n > 0)
    if len(hidden) == 1 and rest:
        hidden.add(next(k for k in counts if k not in hidden and str(k) == rest[0][1]))
    return hidden


def suppress_count(n: int) -> int | str:
    """One count of people on its own (authors, reviewers, withdrawn): FEWER for one to four."""
    return FEWER if hidden_groups({"people": n}) else n


def publishable_label(label: str) -> str:
    """A self-described group name (a region, a dialect) as a published table may print it.

    Profile answers are free text: "Mutare, piga 0712 345 678" is counted under WITHHELD,
    never printed, even when five people share it.
    """
    return WITHHELD if checks.find_pii(label) else label  # find_pii tests cheaply first


def suppress(counts: dict[Any, int]) -> dict[str, str | int]:
    """Counts of people by group, largest first, with `hidden_groups` shown as FEWER (the
    group of people who did not say is named NOT_SAID)."""
    named: Counter = Counter()
    for k, v in counts.items():
        named[NOT_SAID if k is None else publishable_label(str(k))] += v
    hidden = hidden_groups(named)
    return {k: (FEWER if k in hidden else v)
            for k, v in sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))}
