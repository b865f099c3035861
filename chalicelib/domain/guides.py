"""Guide tiers of nutritionists (指导星级, RULES.md 5.4).

| tier | conditions |
|---|---|
| 1 | approved certificate; lecture assessment passed |
| 2 | tier 1; group volume >= 10,000 yuan in the evaluation window; guided 5 members |
| 3 | tier 2; mentors 2 direct referrals of tier >= 2; 5 public lectures |
| 4 | certificate; assessment "excellent"; mentors 3 of tier >= 2; 10 lectures |
| 5 | certificate; assessment "outstanding"; mentors 2 of tier >= 4; 15 lectures |

Decision: tiers 4 and 5 list their own conditions (certificate included) and so do not
require tier 3 ("except where noted"). Evaluation only raises a tier; ops lower one.
A member's tier depends on the new tiers of their direct referrals, so members are
evaluated children first (reverse preorder), which reaches the fixpoint in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .rules import SettlementRules


class Assessment(StrEnum):
    PASSED = "passed"
    EXCELLENT = "excellent"
    OUTSTANDING = "outstanding"


_RANK = {None: 0, Assessment.PASSED: 1, Assessment.EXCELLENT: 2, Assessment.OUTSTANDING: 3}


@dataclass(frozen=True)
class GuideFacts:
    certified: bool
    assessment: Assessment | None
    lectures: int
    guided_members: int
    group_volume_fen: int
    current_tier: int


def qualifying_tier(facts: GuideFacts, child_tiers: Sequence[int], rules: SettlementRules) -> int:
    """The highest tier the facts support (ignoring the current tier)."""
    if not facts.certified:
        return 0
    assessed = _RANK[facts.assessment]
    mentors_2 = sum(1 for tier in child_tiers if tier >= 2)
    mentors_4 = sum(1 for tier in child_tiers if tier >= 4)
    tier = 1 if assessed >= 1 else 0
    if (
        tier == 1
        and facts.group_volume_fen >= rules.tier2_group_volume_fen
        and (facts.guided_members >= rules.tier2_guided_members)
    ):
        tier = 2
    if tier == 2 and mentors_2 >= 2 and facts.lectures >= 5:
        tier = 3
    if assessed >= 2 and mentors_2 >= 3 and facts.lectures >= 10:
        tier = max(tier, 4)
    if assessed >= 3 and mentors_4 >= 2 and facts.lectures >= 15:
        tier = 5
    return tier


def evaluate(
    facts: Sequence[GuideFacts],
    children: Sequence[Sequence[int]],
    order_children_first: Sequence[int],
    rules: SettlementRules,
) -> list[int]:
    """New tiers for everyone: never below the current tier (only ops lower a tier)."""
    tiers = [f.current_tier for f in facts]
    for member in order_children_first:
        child_tiers = [tiers[child] for child in children[member]]
        tiers[member] = max(facts[member].current_tier, qualifying_tier(facts[member], child_tiers, rules))
    return tiers
