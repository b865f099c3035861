"""The reconciliation every points scenario ends with must itself catch a broken ledger."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.points import PointsBalanceItem, PointsEntryItem
from chalicelib.service_layer.points_ledger import balance_pk
from chalicelib.service_layer.reconcile import mismatch_count, reconcile
from tests.builders import post_event, register


def test_reconcile_reports_a_balance_that_differs_from_its_entries(client, stack):
    member = register(client, stack)
    post_event(client, stack, "challenge.won", member.member_id)
    assert reconcile()["points"]["ok"] is True

    balance = PointsBalanceItem.get(balance_pk(member.member_id), PointsBalanceItem.SK)
    balance.update(actions=[PointsBalanceItem.lifetime.add(1)])

    report = reconcile()["points"]
    assert report["ok"] is False
    assert report["mismatches"] == [{"member_id": member.member_id, "problems": ["lifetime 73 != entries 72"]}]


def test_reconcile_reports_points_that_no_entry_issued(client, stack):
    member = register(client, stack)
    entry = next(PointsEntryItem.query(balance_pk(member.member_id), PointsEntryItem.sk.startswith("PLEDGER#")))
    entry.delete()  # a lost ledger entry: the balance is no longer explained

    report = reconcile()["points"]
    assert report["ok"] is False
    assert report["mismatches"][0]["member_id"] == member.member_id


def test_the_alarmed_mismatch_count_is_zero_for_a_sound_ledger_and_counts_each_broken_account(client, stack):
    first, second = register(client, stack), register(client, stack)
    assert mismatch_count(reconcile()) == 0

    for member in (first, second):
        balance = PointsBalanceItem.get(balance_pk(member.member_id), PointsBalanceItem.SK)
        balance.update(actions=[PointsBalanceItem.lifetime.add(1)])

    assert mismatch_count(reconcile()) == 2
