"""Guide tiers (RULES.md 5.4) on hand-made facts; the expected tier is read off the table."""

from chalicelib.domain.guides import Assessment, GuideFacts, evaluate, qualifying_tier
from chalicelib.domain.rules import SettlementRules

RULES = SettlementRules()


def facts(assessment=Assessment.PASSED, lectures=0, guided=0, volume=0, tier=0, certified=True):
    return GuideFacts(certified, assessment, lectures, guided, volume, tier)


def test_tier_1_needs_certificate_and_a_passed_assessment():
    assert qualifying_tier(facts(), [], RULES) == 1
    assert qualifying_tier(facts(assessment=None), [], RULES) == 0
    assert qualifying_tier(facts(certified=False), [], RULES) == 0


def test_tier_2_needs_10000_yuan_of_group_volume_and_5_guided_members():
    assert qualifying_tier(facts(volume=1_000_000, guided=5), [], RULES) == 2
    assert qualifying_tier(facts(volume=999_999, guided=5), [], RULES) == 1
    assert qualifying_tier(facts(volume=1_000_000, guided=4), [], RULES) == 1


def test_tier_3_needs_two_mentees_of_tier_2_and_5_lectures():
    base = facts(volume=1_000_000, guided=5, lectures=5)
    assert qualifying_tier(base, [2, 3], RULES) == 3
    assert qualifying_tier(base, [2, 1], RULES) == 2


def test_tier_4_and_5_stand_on_their_own_conditions():
    # no group volume, so not even tier 2 - yet tier 4 by its own row
    assert qualifying_tier(facts(Assessment.EXCELLENT, lectures=10), [2, 2, 2], RULES) == 4
    assert qualifying_tier(facts(Assessment.PASSED, lectures=10), [2, 2, 2], RULES) == 1
    assert qualifying_tier(facts(Assessment.OUTSTANDING, lectures=15), [4, 4], RULES) == 5
    assert qualifying_tier(facts(Assessment.OUTSTANDING, lectures=14), [4, 4], RULES) == 1


def test_evaluation_never_lowers_and_sees_the_children_new_tiers():
    # 0 mentors 1 and 2; both reach tier 2 in this same evaluation, which lifts 0 to tier 3
    qualified_2 = facts(volume=1_000_000, guided=5)
    members = [facts(volume=1_000_000, guided=5, lectures=5), qualified_2, qualified_2, facts(tier=4)]
    tiers = evaluate(members, children=[[1, 2], [], [], []], order_children_first=[1, 2, 0, 3], rules=RULES)
    assert tiers == [3, 2, 2, 4]
