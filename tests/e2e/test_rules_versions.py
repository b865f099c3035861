"""Rules by version: a period is settled under the version in effect when it ended, stores
that version's name, and a late refund of it is priced with that version, whatever the
rates are when the adjustment is computed; an order earns under the version in effect when
it was paid and is refunded under that same version."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.adapters.dynamodb.points import OrderItem
from chalicelib.domain.calendar import start_of_local_day
from chalicelib.domain.rules import Rules, RulesRegistry, UnknownRulesVersion
from chalicelib.service_layer.reconcile import reconcile
from chalicelib.service_layer.settlement_run import run_settlement
from tests.builders import assert_points_reconcile, points_of
from tests.settlement_builders import Desk, amounts, buy, fresh, join, refund, run_item, shanghai, stored_lines

# version A: RULES.md's 5 % small-group share; version B, from 1 November: 4 %
A = Rules(version="A")
B = A.revised("B", start_of_local_day(date(2026, 11, 1)), settlement={"small_group_rate_bp": 400})


def october_settled_under_a(client, stack, clock):
    """A with groups B 100,000 and C 60,000 fen in October, settled on 8 November: 5 % of 60,000."""
    stack.rules_registry = RulesRegistry((A, B))
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 10, 10))
    a = join(client, stack)
    b, c = join(client, stack, a), join(client, stack, a)
    desk.give_points(a, 2_000)
    clock.set(shanghai(2026, 10, 20))
    buy(client, stack, b, 100_000)
    october_c = buy(client, stack, c, 60_000)

    clock.set(shanghai(2026, 11, 8, 1))
    assert stack.rules.version == "B"  # what is current when the job runs does not matter
    report = desk.job("settle-monthly", period="2026-10")
    assert (report["rules_version"], report["totals"]["rewards_fen"]) == ("A", 3_000)
    assert run_item("monthly-2026-10").rules_version == "A"
    desk.approve("monthly-2026-10")
    return desk, a, b, c, october_c


def test_a_late_refund_of_a_period_settled_under_the_old_rate_is_priced_at_the_old_rate(client, stack, clock):
    desk, a, b, c, october_c = october_settled_under_a(client, stack, clock)

    # 12 November, under B: 40,000 of C's October order is refunded
    clock.set(shanghai(2026, 11, 12))
    refund(client, stack, c, october_c, 40_000)
    clock.set(shanghai(2026, 11, 20))
    buy(client, stack, b, 30_000)
    buy(client, stack, c, 10_000)

    # November under B: 4 % x 10,000 = 400. October again under A: 5 % x 20,000 = 1,000,
    # an adjustment of 1,000 - 3,000 = -2,000 (under B it would have been 800 - 2,400 = -1,600)
    clock.set(shanghai(2026, 12, 8, 1))
    report = desk.job("settle-monthly", period="2026-11")
    november = {(a.member_id, "small_group"): 400, (a.member_id, "adjustment:2026-10:small_group"): -2_000}
    assert amounts(report["sample_lines"]) == november
    assert amounts(stored_lines("monthly-2026-11")) == november
    assert report["rules_version"] == "B"
    assert run_item("monthly-2026-11").rules_version == "B"
    [adjustment] = [line for line in report["sample_lines"] if line["component"] == "adjustment"]
    assert adjustment["basis"] == {
        "for_period": "2026-10",
        "for_component": "small_group",
        "previous_fen": 3_000,
        "recomputed_fen": 1_000,
        "rules_version": "A",
    }
    assert reconcile()["ok"]


def test_a_settlement_whose_stored_version_is_not_in_the_registry_stops_the_adjustment(client, stack, clock):
    *_, c, october_c = october_settled_under_a(client, stack, clock)
    october = run_item("monthly-2026-10")
    october.update(actions=[type(october).rules_version.set("2026-10-31.9")])
    clock.set(shanghai(2026, 11, 12))
    refund(client, stack, c, october_c, 40_000)

    # neither A nor B (the current rules) may stand in for a version the registry lost
    clock.set(shanghai(2026, 12, 8, 1))
    for dry_run in (True, False):
        with pytest.raises(UnknownRulesVersion, match=r"'2026-10-31\.9' is not in the registry"):
            run_settlement(stack, "monthly", "2026-11", dry_run, "schedule")
    assert stored_lines("monthly-2026-11") == []
    assert run_item("monthly-2026-11").status == "running"
    assert run_item("monthly-2026-10").snapshot_key == october.snapshot_key


def order_item(order_id: str) -> OrderItem:
    return OrderItem.get(f"ORDER#{order_id}", OrderItem.SK)


def test_an_order_earns_under_the_version_of_the_day_it_was_paid_and_is_refunded_under_it(client, stack, clock):
    # from 1 November a yuan paid earns 2 points instead of 1
    doubled = A.revised("double", start_of_local_day(date(2026, 11, 1)), earning={"purchase_points_per_yuan": 2})
    stack.rules_registry = RulesRegistry((A, doubled))
    clock.set(shanghai(2026, 10, 30))
    member = join(client, stack)
    october = buy(client, stack, member, 10_000)  # 100 yuan under A: 100 pending points
    clock.set(shanghai(2026, 11, 2))
    november = buy(client, stack, member, 10_000)  # under "double": 200
    reported_late = buy(client, stack, member, 10_000, occurred_at=shanghai(2026, 10, 31))  # paid under A: 100
    assert [order_item(o).rules_version for o in (october, november, reported_late)] == ["A", "double", "A"]
    assert points_of(client, fresh(client, stack, member))["pending"] == 400

    # half of each refunded inside the return window: 50 keep their points under A, so 50
    # go back (under "double" 50 yuan would still be due 100, and nothing would go back)
    refund(client, stack, member, october, 5_000)
    refund(client, stack, member, november, 5_000)
    refund(client, stack, member, reported_late, 5_000)
    assert points_of(client, fresh(client, stack, member))["pending"] == 50 + 100 + 50
    assert_points_reconcile(stack)


def test_an_order_stored_before_orders_named_their_version_is_refunded_under_the_first_version(client, stack, clock):
    member = join(client, stack)
    order = buy(client, stack, member, 10_000)
    order_item(order).update(actions=[OrderItem.rules_version.remove()])
    refund(client, stack, member, order, 2_500)
    assert points_of(client, fresh(client, stack, member))["pending"] == 75
