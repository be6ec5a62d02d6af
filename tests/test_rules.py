"""The acceptance rule (`jamii.core.rules.decide`): Common Voice's by default, configurable."""

from __future__ import annotations

import pytest

from jamii.core.rules import DEFAULT_RULE, AcceptanceRule, decide

CV = AcceptanceRule()


@pytest.mark.parametrize("approvals, rejections, expected", [
    (0, 0, None),
    (1, 0, None),            # one vote never decides
    (0, 1, None),
    (2, 0, "accepted"),
    (0, 2, "rejected"),
    (1, 1, None),            # 1-1 stays open
    (2, 1, "accepted"),
    (1, 2, "rejected"),
    (3, 0, "accepted"),
    (0, 3, "rejected"),
    (2, 2, "rejected"),      # tied at 3 or more votes rejects
    (3, 3, "rejected"),
    (3, 2, "accepted"),
    (2, 3, "rejected"),
    (10, 9, "accepted"),
])
def test_common_voice_rule(approvals, rejections, expected):
    assert decide(approvals, rejections) == expected
    assert decide(approvals, rejections, CV) == expected


@pytest.mark.parametrize("rule, approvals, rejections, expected", [
    (AcceptanceRule(min_votes=3, tie_reject_at=4), 2, 0, None),
    (AcceptanceRule(min_votes=3, tie_reject_at=4), 3, 0, "accepted"),
    (AcceptanceRule(min_votes=3, tie_reject_at=4), 2, 1, "accepted"),
    (AcceptanceRule(min_votes=3, tie_reject_at=4), 1, 2, "rejected"),
    (AcceptanceRule(min_votes=3, tie_reject_at=4), 2, 2, "rejected"),
    (AcceptanceRule(min_votes=2, tie_reject_at=6), 2, 2, None),
    (AcceptanceRule(min_votes=2, tie_reject_at=6), 3, 3, "rejected"),
    (AcceptanceRule(min_votes=1, tie_reject_at=1), 1, 0, "accepted"),
    (AcceptanceRule(min_votes=1, tie_reject_at=1), 0, 1, "rejected"),
    (AcceptanceRule(min_votes=2, tie_reject_at=2), 1, 1, "rejected"),
])
def test_campaign_rules(rule, approvals, rejections, expected):
    assert decide(approvals, rejections, rule) == expected


def test_from_campaign_defaults_to_common_voice():
    assert AcceptanceRule.from_campaign(None) == CV
    assert AcceptanceRule.from_campaign({}) == CV
    assert CV.min_votes == DEFAULT_RULE["min_votes"] == 2
    assert CV.tie_reject_at == DEFAULT_RULE["tie_reject_at"] == 3
    assert AcceptanceRule.from_campaign({"min_votes": "3"}) == AcceptanceRule(3, 3)
    assert AcceptanceRule.from_campaign({"min_votes": 3, "tie_reject_at": 5}) == AcceptanceRule(3, 5)


@pytest.mark.parametrize("params", [{"min_votes": 0}, {"min_votes": 4, "tie_reject_at": 3}])
def test_impossible_rules_are_refused(params):
    with pytest.raises(ValueError):
        AcceptanceRule.from_campaign(params)


def test_describe_says_the_rule_in_words():
    text = AcceptanceRule(3, 4).describe()
    assert "3 or more votes" in text and "4 or more votes tied" in text


def test_decisions_are_monotonic_in_votes():
    """Adding votes to a decided tally never reopens it under the default rule."""
    for a in range(8):
        for r in range(8):
            if decide(a, r) is not None:
                assert decide(a + 1, r) is not None and decide(a, r + 1) is not None
