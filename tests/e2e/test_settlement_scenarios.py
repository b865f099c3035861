"""Settlements of whole months and quarters, driven through signed events and the jobs
endpoint, against rewards computed by hand (RULES.md 5.1-5.6). The engine's arithmetic is
tested on its own; here the point is what the service layer feeds it: the tree, stars at
the end of the period, frozen members, guide tiers, a quarter's three months."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from chalicelib.adapters.dynamodb.identity import MemberItem
from chalicelib.service_layer.points_ledger import balance_pk
from chalicelib.service_layer.reconcile import reconcile
from tests.builders import change_rules
from tests.settlement_builders import (
    Desk,
    amounts,
    buy,
    fresh,
    join,
    set_guide_tier,
    shanghai,
    stored_lines,
)


def registered_before(first, then) -> None:
    """Set ``first``'s registration a minute before ``then``'s."""
    later = MemberItem.get(balance_pk(then.member_id), MemberItem.SK).registered_at
    item = MemberItem.get(balance_pk(first.member_id), MemberItem.SK)
    item.update(actions=[MemberItem.registered_at.set(later - timedelta(minutes=1))])


def test_small_group_share_counts_every_group_but_the_largest_for_starred_active_members(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 10, 10))
    a = join(client, stack)
    c = join(client, stack, a)
    b = join(client, stack, a)
    f = join(client, stack, a)
    # B registered before C (their ids, minted in this order, still say C first): B's group
    # wins a tie for the largest
    registered_before(b, c)
    e1, e2 = join(client, stack, b), join(client, stack, b)
    g, h = join(client, stack, f), join(client, stack, f)
    desk.give_points(a, 2_000)
    desk.give_points(f, 2_000)
    desk.freeze(f)

    clock.set(shanghai(2026, 10, 20))
    for member, fen in [(a, 400_000), (b, 30_000), (e1, 20_000), (e2, 5_000), (c, 55_000), (g, 6_000), (h, 4_000)]:
        buy(client, stack, member, fen)
    buy(client, stack, f, 1_000)  # a frozen member's consumption still counts for the ancestors

    clock.set(shanghai(2026, 11, 8, 1))
    report = desk.job("settle-monthly", period="2026-10")
    # A (1 star): groups B+E1+E2 = 55,000, C = 55,000 (a tie: B registered first, so B's group
    # is the largest), F+G+H = 11,000; A's own 400,000 is not a group of A.
    #   small_group(A) = floor(5 * (55,000 + 11,000) / 100) = 3,300
    # B (0 stars) would have 5 % of E2's 5,000 and F (frozen) 5 % of H's 4,000: both get nothing.
    assert amounts(report["sample_lines"]) == {(a.member_id, "small_group"): 3_300}
    # whichever tied group is the largest, the amount is the same; the basis names B's
    basis = report["sample_lines"][0]["basis"]
    assert basis["largest_group_root"] == b.member_id
    assert (basis["largest_group_volume_fen"], basis["small_groups_volume_fen"], basis["groups"]) == (55_000, 66_000, 3)
    consumption = 400_000 + 30_000 + 20_000 + 5_000 + 55_000 + 6_000 + 4_000 + 1_000
    assert report["totals"]["consumption_fen"] == consumption == 521_000
    assert report["totals"]["rewards_fen"] == 3_300
    assert report["totals"]["payout_ratio"] == pytest.approx(3_300 / 521_000)
    assert report["members"] == 8
    assert amounts(stored_lines("monthly-2026-10")) == {(a.member_id, "small_group"): 3_300}
    assert reconcile()["ok"]


def test_guide_fee_is_differential_up_a_chain_of_nutritionists_and_skips_the_unstarred(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 10, 10))
    n1 = join(client, stack)
    n0 = join(client, stack, n1)
    n2 = join(client, stack, n0)
    b1 = join(client, stack, n2)
    b2 = join(client, stack, n1)
    desk.give_points(n1, 2_000)
    desk.give_points(n2, 2_000)
    set_guide_tier(n1, 3)  # 6 %
    set_guide_tier(n0, 5)  # 10 %, but 0 stars: skipped as if without a tier
    set_guide_tier(n2, 1)  # 2 %
    clock.set(shanghai(2026, 10, 20))
    buy(client, stack, b1, 100_000)
    buy(client, stack, b2, 50_000)

    clock.set(shanghai(2026, 11, 8, 1))
    report = desk.job("settle-monthly", period="2026-10")
    # B1's 100,000: N2 earns 2 % = 2,000; N0 is skipped (0 stars) and pays nothing forward;
    #   N1 earns 6 % - 2 % = 4 % = 4,000.
    # B2's 50,000, bought directly under N1: 6 % = 3,000.
    # N1 also has two groups: N0+N2+B1 = 100,000 (largest) and B2 = 50,000 -> 5 % x 50,000 = 2,500.
    assert amounts(report["sample_lines"]) == {
        (n1.member_id, "guide_fee"): 7_000,
        (n1.member_id, "small_group"): 2_500,
        (n2.member_id, "guide_fee"): 2_000,
    }
    assert report["totals"]["rewards_fen"] == 11_500 and report["totals"]["consumption_fen"] == 150_000
    assert report["totals"]["payout_ratio"] == pytest.approx(11_500 / 150_000)
    bases = {(line["member"], line["component"]): line["basis"] for line in report["sample_lines"]}
    # the basis explains each fen: per 2 % slice of the rate, the volume N1 is paid that slice on
    # (the first slice of B1's volume went to N2)
    n1_fee = bases[(n1.member_id, "guide_fee")]
    assert (n1_fee["guide_tier"], n1_fee["rate_bp"]) == (3, 600)
    assert n1_fee["slices"] == [
        {"rate_bp": 200, "diff_bp": 200, "volume_fen": 50_000},
        {"rate_bp": 400, "diff_bp": 200, "volume_fen": 150_000},
        {"rate_bp": 600, "diff_bp": 200, "volume_fen": 150_000},
    ]
    assert bases[(n2.member_id, "guide_fee")]["slices"] == [{"rate_bp": 200, "diff_bp": 200, "volume_fen": 100_000}]
    assert reconcile()["ok"]


def test_quarterly_pools_weigh_whole_ten_thousand_yuan_over_the_three_months(client, stack, clock):
    desk = Desk(client, stack)
    # store duty at 5,000 yuan instead of 100,000, so that this quarter's numbers reach it
    # (the installed container is this very object, so every request sees the new rules)
    change_rules(stack, settlement={"store_duty_threshold_fen": 500_000})
    clock.set(shanghai(2026, 7, 10))
    p = join(client, stack)
    x, y = join(client, stack, p), join(client, stack, p)
    r = join(client, stack)
    z, w = join(client, stack, r), join(client, stack, r)
    s = join(client, stack)
    v = join(client, stack, s)
    desk.give_points(p, 2_000)
    desk.give_points(r, 2_000)  # S stays at 0 stars

    clock.set(shanghai(2026, 7, 15))
    buy(client, stack, x, 6_000_000)
    buy(client, stack, p, 333)
    clock.set(shanghai(2026, 8, 15))
    buy(client, stack, x, 3_000_000)
    buy(client, stack, y, 1_000_000)
    clock.set(shanghai(2026, 9, 15))
    buy(client, stack, x, 3_500_000)
    buy(client, stack, z, 3_950_000)
    buy(client, stack, w, 100)
    buy(client, stack, v, 2_000_000)

    clock.set(shanghai(2026, 10, 8, 2))
    report = desk.job("settle-quarterly", period="2026-Q3")
    # L(P) = X's group over Jul..Sep = 6,000,000 + 3,000,000 + 3,500,000 = 12,500,000 fen:
    #   125,000 yuan, weight 12, in Q1 and in Q10 (>= 100,000 yuan)
    # L(R) = Z's 3,950,000 fen = 39,500 yuan: weight 3, Q1 only; S has 0 stars.
    # T = 333 + 12,500,000 + 1,000,000 + 3,950,000 + 100 + 2,000,000 = 19,450,433
    # Q1 pool  = floor(3 % x T) = floor(583,512.99) = 583,512, weights 12 + 3 = 15:
    #   P floor(583,512 x 12 / 15) = floor(466,809.6) = 466,809; R floor(583,512 x 3 / 15) = 116,702;
    #   remainder 583,512 - 466,809 - 116,702 = 1
    # Q10 pool = floor(2 % x T) = floor(389,008.66) = 389,008, P alone: 389,008, remainder 0
    assert amounts(report["sample_lines"]) == {
        (p.member_id, "q1"): 466_809,
        (p.member_id, "q10"): 389_008,
        (r.member_id, "q1"): 116_702,
    }
    assert report["totals"]["consumption_fen"] == 19_450_433
    assert report["totals"]["rewards_fen"] == 466_809 + 389_008 + 116_702
    assert report["totals"]["remainder_fen"] == 1
    q1 = report["engine"]["components"]["q1"]
    assert (q1["pool_fen"], q1["total_weight"], q1["remainder_fen"]) == (583_512, 15, 1)
    assert report["engine"]["components"]["q10"]["pool_fen"] == 389_008
    assert report["engine"]["components_used"] == ["q1", "q10"]
    bases = {(line["member"], line["component"]): line["basis"] for line in report["sample_lines"]}
    assert bases[(p.member_id, "q1")]["weight"] == 12 and bases[(r.member_id, "q1")]["weight"] == 3
    # P earned 855,817 fen > the 500,000 threshold: store required, and ops hear of it
    assert report["store_required"] == [p.member_id]
    alerts = stack.outbox.messages_to("ops")
    assert len(alerts) == 1 and p.member_id in alerts[0].text and "quarterly-2026-Q3" in alerts[0].text
    # the re-run does not alert again
    assert desk.job("settle-quarterly", period="2026-Q3")["already_settled"] is True
    assert len(stack.outbox.messages_to("ops")) == 1
    assert reconcile()["ok"]


def test_stars_are_those_at_the_end_of_the_period_even_if_earned_before_the_job_runs(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 10, 5))
    k = join(client, stack)
    k1, k2 = join(client, stack, k), join(client, stack, k)
    j = join(client, stack)
    j1, j2 = join(client, stack, j), join(client, stack, j)
    clock.set(shanghai(2026, 10, 20))
    desk.give_points(k, 1_800)
    desk.give_points(j, 2_000)
    buy(client, stack, k1, 10_000)
    buy(client, stack, k2, 4_000)
    buy(client, stack, j1, 10_000)
    buy(client, stack, j2, 6_000)
    lifetime_k = client.get("/v1/me", token=fresh(client, stack, k).access_token).json["points"]["lifetime"]
    assert 1_800 <= lifetime_k < 2_000

    # K crosses 2,000 lifetime points on 3 November: after October ended, before it is settled
    clock.set(shanghai(2026, 11, 3))
    desk.give_points(k, 2_000 - lifetime_k + 10)
    assert client.get("/v1/me", token=fresh(client, stack, k).access_token).json["stars"] == 1

    clock.set(shanghai(2026, 11, 8, 1))
    # J: groups 10,000 and 6,000 -> 300; K (0 stars when October ended) would have had 200
    expected = {(j.member_id, "small_group"): 300}
    assert amounts(desk.job("settle-monthly", period="2026-10", dry_run=True)["sample_lines"]) == expected
    # K's points change again in December, so the job (run late, by hand) reads the stars at
    # the end of October back from K's ledger rather than from this month's opening balance
    clock.set(shanghai(2026, 12, 1, 9))
    desk.give_points(k, 10)
    report = desk.job("settle-monthly", period="2026-10")
    assert amounts(report["sample_lines"]) == expected
    assert reconcile()["ok"]


def test_the_configured_components_and_payout_cap_reach_the_run_and_its_report(client, stack, clock):
    desk = Desk(client, stack)
    change_rules(
        stack,
        settlement={
            "components": frozenset({"small_group", "q1", "q10"}),  # guide_fee switched off
            "max_payout_ratio": Fraction(1, 100),
        },
    )
    clock.set(shanghai(2026, 10, 10))
    a = join(client, stack)
    b, c = join(client, stack, a), join(client, stack, a)
    desk.give_points(a, 2_000)
    set_guide_tier(a, 1)  # would earn 2 % x 150,000 = 3,000 with the guide fee on
    clock.set(shanghai(2026, 10, 20))
    buy(client, stack, b, 100_000)
    buy(client, stack, c, 50_000)

    clock.set(shanghai(2026, 11, 8, 1))
    report = desk.job("settle-monthly", period="2026-10")
    # small_group 5 % x 50,000 = 2,500 is 1.67 % of 150,000, over the 1 % cap: scaled by
    # 1,500 / 2,500 = 3/5 -> 1,500
    assert report["engine"]["components_requested"] == ["small_group", "guide_fee"]
    assert report["engine"]["components_used"] == ["small_group"]
    assert report["engine"]["scale_factor"] == "3/5"
    assert amounts(report["sample_lines"]) == {(a.member_id, "small_group"): 1_500}
    assert report["sample_lines"][0]["basis"]["computed_fen"] == 2_500
    assert report["totals"]["payout_ratio"] == pytest.approx(0.01)
    assert reconcile()["ok"]
