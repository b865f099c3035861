"""Changes to a period after it was settled (RULES.md 5.7): a refund becomes a negative
adjustment and a late order a positive one, in the next settlement, counted once; a
negative net is carried and deducted at the next release."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.service_layer.earning import add_volume
from chalicelib.service_layer.reconcile import reconcile
from tests.settlement_builders import (
    Desk,
    amounts,
    buy,
    carry_fen,
    join,
    refund,
    run_item,
    shanghai,
    stored_lines,
    wallet_fen,
)


def same_report(dry: dict, real: dict) -> bool:
    """A dry run reports what the real run then does."""
    assert dry["dry_run"] is True and real["dry_run"] is False
    ignored = ("dry_run", "duration_ms")
    return {k: v for k, v in dry.items() if k not in ignored} == {k: v for k, v in real.items() if k not in ignored}


def settle_approve(desk, kind, period):
    report = desk.job(f"settle-{kind}", period=period)
    assert report["status"] == "draft", report
    desk.approve(f"{kind}-{period}")
    return report


def test_refunds_and_late_orders_adjust_the_next_month_once_and_a_negative_net_is_carried(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 10, 10))
    a = join(client, stack)
    b, c = join(client, stack, a), join(client, stack, a)
    desk.give_points(a, 2_000)
    clock.set(shanghai(2026, 10, 20))
    buy(client, stack, b, 100_000)
    october_c = buy(client, stack, c, 60_000)

    # October: groups B 100,000 and C 60,000 -> 5 % x 60,000 = 3,000, released on 10 November
    clock.set(shanghai(2026, 11, 8, 1))
    assert settle_approve(desk, "monthly", "2026-10")["totals"]["rewards_fen"] == 3_000
    clock.set(shanghai(2026, 11, 10, 3))
    assert desk.job("release-rewards")["credited_fen"] == 3_000

    # 12 November: 40,000 of C's October order is refunded: October recomputed gives
    # 5 % x 20,000 = 1,000, so November carries an adjustment of 1,000 - 3,000 = -2,000
    clock.set(shanghai(2026, 11, 12))
    refund(client, stack, c, october_c, 40_000)
    clock.set(shanghai(2026, 11, 20))
    buy(client, stack, b, 30_000)
    buy(client, stack, c, 10_000)  # November: 5 % x 10,000 = 500

    clock.set(shanghai(2026, 12, 8, 1))
    november = {(a.member_id, "small_group"): 500, (a.member_id, "adjustment:2026-10:small_group"): -2_000}
    dry = desk.job("settle-monthly", period="2026-11", dry_run=True)
    assert amounts(dry["sample_lines"]) == november
    assert dry["adjustments"] == {"periods": ["2026-10"], "lines": 1, "total_fen": -2_000}
    report = settle_approve(desk, "monthly", "2026-11")
    assert amounts(report["sample_lines"]) == november
    assert report["adjustments"] == {"periods": ["2026-10"], "lines": 1, "total_fen": -2_000}
    [adjustment] = [line for line in report["sample_lines"] if line["component"] == "adjustment"]
    assert adjustment["basis"] == {
        "for_period": "2026-10",
        "for_component": "small_group",
        "previous_fen": 3_000,
        "recomputed_fen": 1_000,
        "rules_version": "2026-11-23.1",
    }
    assert amounts(stored_lines("monthly-2026-11")) == november

    # 9 December: the shop reports an order of 25 November late (after November was settled):
    # November recomputed: B 30,000, C 10,000 + 50,000 = 60,000 (now the largest)
    # -> 5 % x 30,000 = 1,500, an adjustment of 1,500 - 500 = +1,000 in December
    clock.set(shanghai(2026, 12, 9))
    buy(client, stack, c, 50_000, occurred_at=shanghai(2026, 11, 25))

    # 10 December: November nets 500 - 2,000 = -1,500: nothing is credited, it is carried
    clock.set(shanghai(2026, 12, 10, 3))
    preview = desk.job("release-rewards", dry_run=True)
    released = desk.job("release-rewards")
    assert same_report(preview, released)
    assert (released["credited_fen"], released["carried_fen"], released["members_credited"]) == (0, -1_500, 0)
    assert (wallet_fen(a), carry_fen(a)) == (3_000, -1_500)

    clock.set(shanghai(2026, 12, 15))
    buy(client, stack, b, 100_000)
    buy(client, stack, c, 10_000)  # December: 5 % x 10,000 = 500

    # 8 January: a dry run first, then the run: the adjustment is in both, and stored once
    clock.set(shanghai(2027, 1, 8, 1))
    december = {(a.member_id, "small_group"): 500, (a.member_id, "adjustment:2026-11:small_group"): 1_000}
    assert amounts(desk.job("settle-monthly", period="2026-12", dry_run=True)["sample_lines"]) == december
    report = settle_approve(desk, "monthly", "2026-12")
    assert amounts(report["sample_lines"]) == december
    assert report["adjustments"] == {"periods": ["2026-11"], "lines": 1, "total_fen": 1_000}

    # 10 January: December's 1,500 exactly pays off the carried -1,500: nothing credited, nothing left
    clock.set(shanghai(2027, 1, 10, 3))
    preview = desk.job("release-rewards", dry_run=True)
    released = desk.job("release-rewards")
    assert released["credited_fen"] == 0 and same_report(preview, released)
    assert (wallet_fen(a), carry_fen(a)) == (3_000, 0)

    # 8 February: no earlier month changed since it was last computed: no adjustment again
    clock.set(shanghai(2027, 2, 8, 1))
    january = desk.job("settle-monthly", period="2027-01", dry_run=True)
    assert january["adjustments"] == {"periods": [], "lines": 0, "total_fen": 0} and january["sample_lines"] == []
    assert reconcile()["ok"]


def test_a_refund_after_a_settled_quarter_adjusts_the_next_quarter(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 7, 10))
    p = join(client, stack)
    x, y = join(client, stack, p), join(client, stack, p)
    r = join(client, stack)
    z = join(client, stack, r)
    desk.give_points(p, 2_000)
    desk.give_points(r, 2_000)
    clock.set(shanghai(2026, 7, 15))
    buy(client, stack, x, 6_000_000)
    clock.set(shanghai(2026, 9, 15))
    september_x = buy(client, stack, x, 6_500_000)
    buy(client, stack, y, 1_000_000)
    buy(client, stack, z, 3_950_000)

    # Q3: L(P) = 12,500,000 (weight 12, also Q10), L(R) = 3,950,000 (weight 3); T = 17,450,000
    #   Q1 pool 3 % = 523,500: P 523,500 x 12/15 = 418,800, R 523,500 x 3/15 = 104,700
    #   Q10 pool 2 % = 349,000: P alone
    clock.set(shanghai(2026, 10, 8, 2))
    report = settle_approve(desk, "quarterly", "2026-Q3")
    assert amounts(report["sample_lines"]) == {
        (p.member_id, "q1"): 418_800,
        (p.member_id, "q10"): 349_000,
        (r.member_id, "q1"): 104_700,
    }
    clock.set(shanghai(2026, 10, 10, 3))
    assert desk.job("release-rewards")["credited_fen"] == 418_800 + 349_000 + 104_700

    # 20 October: 600,000 of X's September order is refunded. Q3 recomputed: L(P) = 11,900,000
    # (weight 11), T = 16,850,000; Q1 pool 505,500: P floor(505,500 x 11/14) = 397,178,
    # R floor(505,500 x 3/14) = 108,321; Q10 pool 337,000: P.
    clock.set(shanghai(2026, 10, 20))
    refund(client, stack, x, september_x, 600_000)

    clock.set(shanghai(2027, 1, 8, 2))
    report = settle_approve(desk, "quarterly", "2026-Q4")
    assert amounts(report["sample_lines"]) == {
        (p.member_id, "adjustment:2026-Q3:q1"): 397_178 - 418_800,
        (p.member_id, "adjustment:2026-Q3:q10"): 337_000 - 349_000,
        (r.member_id, "adjustment:2026-Q3:q1"): 108_321 - 104_700,
    }
    assert report["adjustments"] == {"periods": ["2026-Q3"], "lines": 3, "total_fen": -21_622 - 12_000 + 3_621}
    assert report["totals"]["rewards_fen"] == 0  # Q4 itself had no consumption

    # 10 January: R gets 3,621 more; P's -33,622 waits for the next reward
    clock.set(shanghai(2027, 1, 10, 3))
    released = desk.job("release-rewards")
    assert (released["credited_fen"], released["carried_fen"]) == (3_621, -33_622)
    assert (wallet_fen(p), carry_fen(p)) == (767_800, -33_622)
    assert (wallet_fen(r), carry_fen(r)) == (108_321, 0)
    assert reconcile()["ok"]


def test_an_order_committed_while_the_month_was_being_settled_is_adjusted_later(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 10, 10))
    a = join(client, stack)
    b, c = join(client, stack, a), join(client, stack, a)
    desk.give_points(a, 2_000)
    clock.set(shanghai(2026, 10, 20))
    buy(client, stack, b, 100_000)
    buy(client, stack, c, 60_000)
    clock.set(shanghai(2026, 11, 8, 1))
    assert desk.job("settle-monthly", period="2026-10")["totals"]["rewards_fen"] == 3_000

    # An October order of C was being recorded when the run began: its transaction took its
    # time 10 seconds before the run read the volumes, and committed after that read.
    started = run_item("monthly-2026-10").started_at
    uow = stack.uow()
    add_volume(uow, c.member_id, "2026-10", 20_000, started - timedelta(seconds=10))
    uow.commit()

    # October recomputed: groups B 100,000 and C 80,000 -> 4,000, an adjustment of +1,000
    clock.set(shanghai(2026, 12, 8, 1))
    november = desk.job("settle-monthly", period="2026-11", dry_run=True)
    assert amounts(november["sample_lines"]) == {(a.member_id, "adjustment:2026-10:small_group"): 1_000}
    assert reconcile()["ok"]
