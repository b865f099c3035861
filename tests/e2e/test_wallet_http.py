"""The wallet and spending over HTTP (RULES.md 3.4, 4): exchange windows, withdrawals and
finance's review, the points mall, the lucky draw, charity, aibi at the shop, closing an
account and staff adjustments. Every scenario ends with a clean reconciliation.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.builders import close_account, decide_review, keyed, post_event
from tests.wallet_builders import (
    Desk,
    add_payout_account,
    assert_reconciled,
    error_code,
    give_aibi,
    give_points,
    open_window,
    person,
    ready_to_withdraw,
    signed,
)

START_POINTS = 60  # 50 for registering + 10 for the day's first session


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


@pytest.fixture(autouse=True)
def _reconciled_after_each_scenario(stack):
    yield
    assert_reconciled()


def ledger(who, path="/v1/me/wallet/ledger"):
    response = who.get(path)
    assert response.status_code == 200, response.body
    return response.json["entries"]


# --- exchange -------------------------------------------------------------------------------------
def test_exchange_is_open_only_inside_its_window(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    starts = clock.now() + timedelta(hours=1)
    assert open_window(desk, starts, starts + timedelta(hours=1)).status_code == 201

    before = member.post("/v1/me/exchange", {"points": 100})
    assert before.status_code == 409 and error_code(before) == "exchange_closed"

    clock.set(starts)  # the first instant of the window
    r = member.post("/v1/me/exchange", {"points": 300})
    assert r.status_code == 200, r.body
    assert (r.json["points_debited"], r.json["aibi_credited_fen"]) == (300, 300)

    clock.set(starts + timedelta(hours=1))  # ends_at itself is already outside
    after = member.post("/v1/me/exchange", {"points": 100})
    assert after.status_code == 409 and error_code(after) == "exchange_closed"
    me = member.me()
    assert me["points"]["available"] == START_POINTS + 1_000 - 300
    assert me["wallet"] == {"balance_fen": 300, "held_fen": 0}


def test_overlapping_exchange_windows_are_refused_but_touching_ones_are_fine(clock, desk):
    now = clock.now()
    assert open_window(desk, now, now + timedelta(days=2)).status_code == 201
    overlap = open_window(desk, now + timedelta(days=1), now + timedelta(days=3))
    assert overlap.status_code == 409 and error_code(overlap) == "window_overlaps"
    inside = open_window(desk, now + timedelta(hours=1), now + timedelta(hours=2))
    assert inside.status_code == 409 and error_code(inside) == "window_overlaps"
    assert open_window(desk, now + timedelta(days=2), now + timedelta(days=3)).status_code == 201


def test_per_member_cap_of_a_window_counts_each_member_separately(client, stack, clock, desk):
    alice, bob = person(client, stack), person(client, stack)
    give_points(desk, alice, 2_000)
    give_points(desk, bob, 2_000)
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1), cap=1_000).status_code == 201

    assert alice.post("/v1/me/exchange", {"points": 600}).status_code == 200
    over = alice.post("/v1/me/exchange", {"points": 500})  # 600 + 500 > 1000
    assert over.status_code == 422 and error_code(over) == "exchange_cap_exceeded"
    assert alice.post("/v1/me/exchange", {"points": 400}).status_code == 200  # exactly 1000
    assert error_code(alice.post("/v1/me/exchange", {"points": 100})) == "exchange_cap_exceeded"
    assert bob.post("/v1/me/exchange", {"points": 1_000}).status_code == 200
    assert alice.wallet()["balance_fen"] == 1_000 and bob.wallet()["balance_fen"] == 1_000
    assert alice.points() == START_POINTS + 2_000 - 1_000


def test_exchange_refuses_odd_amounts_and_more_than_the_balance(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 240)  # 60 + 240 = 300 points
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    odd = member.post("/v1/me/exchange", {"points": 150})
    assert odd.status_code == 422 and error_code(odd) == "not_multiple_of_100"
    short = member.post("/v1/me/exchange", {"points": 400})
    assert short.status_code == 422 and error_code(short) == "insufficient_points"
    assert member.me()["points"]["available"] == 300 and member.wallet() == {"balance_fen": 0, "held_fen": 0}
    assert member.post("/v1/me/exchange", {"points": 300}).status_code == 200
    assert member.points() == 0 and member.wallet()["balance_fen"] == 300


def test_points_debt_blocks_exchange(client, stack, clock, desk):
    member = person(client, stack)
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=30)).status_code == 201
    paid = {"order_id": "o-debt", "gross_fen": 100_000, "paid_fen": 100_000}  # 1000 yuan -> 1000 pending points
    assert post_event(client, stack, "order.paid", member.id, paid).status_code == 202
    clock.advance(days=8)  # past the 7-day return window
    assert desk.run_job("release-pending", "ops").status_code == 202
    available = member.points()
    assert available >= 1_000
    spend = available // 100 * 100
    assert member.post("/v1/me/exchange", {"points": spend}).status_code == 200
    refund = {"order_id": "o-debt", "refund_fen": 100_000}
    assert post_event(client, stack, "order.refunded", member.id, refund).status_code == 202
    me = member.me()
    # the refund takes back 1000 points from what the exchange left: the rest is debt
    assert me["points"]["available"] == available - spend - 1_000 < 0
    blocked = member.post("/v1/me/exchange", {"points": 100})
    assert blocked.status_code == 422 and error_code(blocked) == "points_debt"
    assert member.wallet()["balance_fen"] == spend


def test_a_frozen_member_cannot_exchange(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    assert desk.post(f"/v1/admin/members/{member.id}/freeze", "ops", {"reason": "fraud check"}).status_code == 200
    frozen = member.post("/v1/me/exchange", {"points": 100})
    assert frozen.status_code == 403 and error_code(frozen) == "account_frozen"
    assert member.points() == START_POINTS + 1_000
    assert desk.post(f"/v1/admin/members/{member.id}/unfreeze", "ops", {"reason": "cleared"}).status_code == 200
    assert member.post("/v1/me/exchange", {"points": 100}).status_code == 200


def test_exchange_debits_points_and_credits_aibi_in_one_write_with_one_reference(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 5_000)
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    failed = member.post("/v1/me/exchange", {"points": 6_000})
    assert failed.status_code == 422
    points_entries_before = len(ledger(member, "/v1/me/points/ledger"))
    assert ledger(member) == []  # the failed exchange wrote neither side

    r = member.post("/v1/me/exchange", {"points": 2_500}, key="exchange-key-1")
    assert r.status_code == 200, r.body
    again = member.post("/v1/me/exchange", {"points": 2_500}, key="exchange-key-1")
    assert again.status_code == 200 and again.json == r.json
    reused = member.post("/v1/me/exchange", {"points": 100}, key="exchange-key-1")
    assert reused.status_code == 422 and error_code(reused) == "idempotency_key_reused"

    points_entries = ledger(member, "/v1/me/points/ledger")
    assert len(points_entries) == points_entries_before + 1
    assert points_entries[0]["kind"] == "exchange" and points_entries[0]["points"] == -2_500
    [aibi] = ledger(member)
    assert (aibi["kind"], aibi["amount_fen"], aibi["balance_after_fen"]) == ("exchange", 2_500, 2_500)
    assert aibi["ref"] == points_entries[0]["ref"] == r.json["exchange_id"]
    assert member.points() == START_POINTS + 5_000 - 2_500


# --- withdrawals ------------------------------------------------------------------------------------
def test_withdrawal_needs_approved_kyc_and_a_payout_account_in_the_verified_name(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 50_000)
    no_kyc = member.post("/v1/me/withdrawals", {"amount_fen": 10_000})
    assert no_kyc.status_code == 403 and error_code(no_kyc) == "kyc_required"
    r = member.post("/v1/me/kyc", {"real_name": "李四", "id_number": "11010519491231002X"})
    assert r.status_code == 202
    pending_kyc = member.post("/v1/me/withdrawals", {"amount_fen": 10_000})
    assert pending_kyc.status_code == 403 and error_code(pending_kyc) == "kyc_required"
    assert decide_review(client, desk.token("ops"), "kyc", member.id).status_code == 200

    no_account = member.post("/v1/me/withdrawals", {"amount_fen": 10_000})
    assert no_account.status_code == 422 and error_code(no_account) == "payout_account_required"
    add_payout_account(member, holder="王五")
    other_name = member.post("/v1/me/withdrawals", {"amount_fen": 10_000})
    assert other_name.status_code == 422 and error_code(other_name) == "payout_account_required"
    assert member.wallet() == {"balance_fen": 50_000, "held_fen": 0}
    add_payout_account(member, holder="李四")
    assert member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).status_code == 201


def test_withdrawal_amount_rules_minimum_balance_and_daily_limit(client, stack, clock, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 1_000_000)
    low = member.post("/v1/me/withdrawals", {"amount_fen": 9_999})
    assert low.status_code == 422 and error_code(low) == "below_minimum"
    big = member.post("/v1/me/withdrawals", {"amount_fen": 1_000_001})
    assert big.status_code == 422 and error_code(big) == "insufficient_balance"
    assert member.wallet() == {"balance_fen": 1_000_000, "held_fen": 0}
    give_aibi(desk, member, 5_000_000)
    # the daily limit is 5,000,000 fen (50,000 aibi) per Shanghai calendar day
    assert member.post("/v1/me/withdrawals", {"amount_fen": 3_000_000}).status_code == 201
    over = member.post("/v1/me/withdrawals", {"amount_fen": 2_000_001})
    assert over.status_code == 422 and error_code(over) == "daily_limit_exceeded"
    assert member.post("/v1/me/withdrawals", {"amount_fen": 2_000_000}).status_code == 201
    assert member.wallet() == {"balance_fen": 1_000_000, "held_fen": 5_000_000}
    assert error_code(member.post("/v1/me/withdrawals", {"amount_fen": 10_000})) == "daily_limit_exceeded"
    clock.advance(hours=14)  # 10:00 + 14 h = 00:00 the next day in Shanghai
    assert member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).status_code == 201
    assert member.wallet() == {"balance_fen": 990_000, "held_fen": 5_010_000}


def test_withdrawal_quotes_fee_and_payout_exactly(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 50_000)
    held = 0
    # fee = ceil(A / 10): 1000, 1000.1 -> 1001, 1000.9 -> 1001, 1001; payout = A - fee
    for amount_fen, fee_fen, payout_fen in [
        (10_000, 1_000, 9_000),
        (10_001, 1_001, 9_000),
        (10_009, 1_001, 9_008),
        (10_010, 1_001, 9_009),
    ]:
        r = member.post("/v1/me/withdrawals", {"amount_fen": amount_fen})
        assert r.status_code == 201, r.body
        assert r.json["status"] == "pending"
        assert (r.json["amount_fen"], r.json["fee_fen"], r.json["payout_fen"]) == (amount_fen, fee_fen, payout_fen)
        held += amount_fen
    balance = 50_000 - held  # 50000 - (10000 + 10001 + 10009 + 10010) = 50000 - 40020 = 9980
    assert member.wallet() == {"balance_fen": balance, "held_fen": held} == {"balance_fen": 9_980, "held_fen": 40_020}


def test_withdrawal_approved_then_paid_leaves_the_wallet_and_is_audited(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 30_000)
    r = member.post("/v1/me/withdrawals", {"amount_fen": 12_345}, key="withdraw-0001")
    assert r.status_code == 201, r.body
    retry = member.post("/v1/me/withdrawals", {"amount_fen": 12_345}, key="withdraw-0001")
    assert retry.status_code == 201 and retry.json == r.json
    assert member.wallet() == {"balance_fen": 30_000 - 12_345, "held_fen": 12_345}
    wid = r.json["withdrawal_id"]

    early = desk.post(f"/v1/admin/withdrawals/{wid}/paid", "admin", {"reference": "BANK-0"})
    assert early.status_code == 409 and error_code(early) == "invalid_state"
    approved = desk.post(f"/v1/admin/withdrawals/{wid}/approve", "finance", {"reason": "ok"}, headers={})
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    twice = desk.post(f"/v1/admin/withdrawals/{wid}/approve", "finance", {"reason": "ok"})
    assert twice.status_code == 409 and error_code(twice) == "invalid_state"
    paid = desk.post(
        f"/v1/admin/withdrawals/{wid}/paid", "admin", {"reference": "BANK-1"}, headers={"Idempotency-Key": "pay-0001"}
    )
    assert paid.status_code == 200, paid.body
    assert (paid.json["status"], paid.json["reference"], paid.json["payout_fen"]) == ("paid", "BANK-1", 11_110)
    replay = desk.post(
        f"/v1/admin/withdrawals/{wid}/paid", "admin", {"reference": "BANK-1"}, headers={"Idempotency-Key": "pay-0001"}
    )
    assert replay.status_code == 200 and replay.json == paid.json
    again = desk.post(f"/v1/admin/withdrawals/{wid}/paid", "admin", {"reference": "BANK-2"})
    assert again.status_code == 409
    late_reject = desk.post(f"/v1/admin/withdrawals/{wid}/reject", "finance", {"reason": "too late"})
    assert late_reject.status_code == 409 and error_code(late_reject) == "already_posted"
    assert member.wallet() == {"balance_fen": 30_000 - 12_345, "held_fen": 0}

    [listed] = member.get("/v1/me/withdrawals").json["withdrawals"]
    assert (listed["withdrawal_id"], listed["status"], listed["reference"]) == (wid, "paid", "BANK-1")
    assert listed["payout_account"].endswith("1234") and "6222" not in listed["payout_account"]
    audit = desk.get(f"/v1/admin/audit?target_id={wid}", "admin").json["entries"]
    steps = sorted((entry["action"], entry["before"]["status"], entry["after"]["status"]) for entry in audit)
    assert all(entry["after"]["amount_fen"] == 12_345 for entry in audit)
    assert steps == [
        ("withdrawal.approve", "pending", "approved"),
        ("withdrawal.paid", "approved", "paid"),
        ("withdrawal.request", None, "pending"),
    ]


def test_rejected_withdrawal_returns_the_hold_and_cannot_then_be_paid(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 25_000)
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 20_000}).json["withdrawal_id"]
    assert member.wallet() == {"balance_fen": 5_000, "held_fen": 20_000}
    assert desk.post(f"/v1/admin/withdrawals/{wid}/approve", "finance", {"reason": "ok"}).status_code == 200
    rejected = desk.post(f"/v1/admin/withdrawals/{wid}/reject", "finance", {"reason": "account closed at bank"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert member.wallet() == {"balance_fen": 25_000, "held_fen": 0}
    again = desk.post(f"/v1/admin/withdrawals/{wid}/reject", "finance", {"reason": "again"})
    assert again.status_code == 409 and error_code(again) == "already_voided"
    paid = desk.post(f"/v1/admin/withdrawals/{wid}/paid", "admin", {"reference": "X"})
    assert paid.status_code == 409
    assert member.wallet() == {"balance_fen": 25_000, "held_fen": 0}
    actions = {e["action"] for e in desk.get(f"/v1/admin/audit?target_id={wid}", "admin").json["entries"]}
    assert {"withdrawal.approve", "withdrawal.reject"} <= actions


def test_only_finance_or_admin_review_withdrawals(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 10_000)
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).json["withdrawal_id"]
    for role in ("ops", "auditor"):
        for action, body in (("approve", {"reason": "x"}), ("reject", {"reason": "x"}), ("paid", {"reference": "x"})):
            refused = desk.post(f"/v1/admin/withdrawals/{wid}/{action}", role, body)
            assert refused.status_code == 403, (role, action, refused.body)
        assert desk.get("/v1/admin/withdrawals", role).status_code == 403
    as_member = client.post(f"/v1/admin/withdrawals/{wid}/approve", token=member.token, json_body={"reason": "x"})
    assert as_member.status_code == 403
    assert member.wallet() == {"balance_fen": 0, "held_fen": 10_000}
    assert desk.post(f"/v1/admin/withdrawals/{wid}/approve", "admin", {"reason": "ok"}).status_code == 200
    unknown = desk.post("/v1/admin/withdrawals/01JUNKNOWN00000000000000000/approve", "finance", {"reason": "x"})
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"


def test_member_list_and_finance_queue_follow_the_review(client, stack, clock, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 40_000)
    first = member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).json["withdrawal_id"]
    clock.advance(seconds=1)
    second = member.post("/v1/me/withdrawals", {"amount_fen": 15_000}).json["withdrawal_id"]
    mine = member.get("/v1/me/withdrawals").json
    assert [w["withdrawal_id"] for w in mine["withdrawals"]] == [second, first]  # newest first
    assert mine["next_cursor"] is None

    def queue(status):
        return [
            w["withdrawal_id"]
            for w in desk.get(f"/v1/admin/withdrawals?status={status}", "finance").json["withdrawals"]
        ]

    assert queue("pending") == [first, second]  # oldest first
    assert desk.post(f"/v1/admin/withdrawals/{first}/approve", "finance", {"reason": "ok"}).status_code == 200
    assert queue("pending") == [second] and queue("approved") == [first]
    assert desk.post(f"/v1/admin/withdrawals/{first}/paid", "admin", {"reference": "B-1"}).status_code == 200
    assert desk.post(f"/v1/admin/withdrawals/{second}/reject", "finance", {"reason": "no"}).status_code == 200
    assert queue("pending") == [] and queue("approved") == []
    statuses = {w["withdrawal_id"]: w["status"] for w in member.get("/v1/me/withdrawals").json["withdrawals"]}
    assert statuses == {first: "paid", second: "rejected"}


def test_wallet_ledger_shows_each_change_with_its_running_balance(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 30_000)  # +30000 -> 30000
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 12_000}).json["withdrawal_id"]  # 18000 held 12000
    assert desk.post(f"/v1/admin/withdrawals/{wid}/reject", "finance", {"reason": "no"}).status_code == 200  # 30000
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).json["withdrawal_id"]  # 20000 held 10000
    assert desk.post(f"/v1/admin/withdrawals/{wid}/approve", "finance", {"reason": "ok"}).status_code == 200
    assert desk.post(f"/v1/admin/withdrawals/{wid}/paid", "admin", {"reference": "B"}).status_code == 200  # 20000
    entries = ledger(member)
    assert [(e["kind"], e["amount_fen"], e["balance_after_fen"], e["held_after_fen"]) for e in entries] == [
        ("withdrawal_paid", 0, 20_000, 0),
        ("withdrawal_hold", -10_000, 20_000, 10_000),
        ("withdrawal_returned", 12_000, 30_000, 0),
        ("withdrawal_hold", -12_000, 18_000, 12_000),
        ("adjust", 30_000, 30_000, 0),
    ]
    page = member.get("/v1/me/wallet/ledger?limit=2").json
    assert [e["id"] for e in page["entries"]] == [e["id"] for e in entries[:2]] and page["next_cursor"]
    rest = member.get(f"/v1/me/wallet/ledger?limit=200&cursor={page['next_cursor']}").json
    assert [e["id"] for e in rest["entries"]] == [e["id"] for e in entries[2:]]


# --- closing an account -------------------------------------------------------------------------------
def test_account_closes_only_with_an_empty_wallet_and_no_open_withdrawal(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 10_000)
    refused = close_account(client, member.token, "moving")
    assert refused.status_code == 409 and error_code(refused) == "account_not_closable"
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).json["withdrawal_id"]
    assert member.wallet() == {"balance_fen": 0, "held_fen": 10_000}
    refused = close_account(client, member.token, "moving")
    assert refused.status_code == 409 and error_code(refused) == "account_not_closable"
    assert desk.post(f"/v1/admin/withdrawals/{wid}/approve", "finance", {"reason": "ok"}).status_code == 200
    assert error_code(close_account(client, member.token, "moving")) == "account_not_closable"
    assert desk.post(f"/v1/admin/withdrawals/{wid}/paid", "admin", {"reference": "B"}).status_code == 200
    assert close_account(client, member.token, "moving").status_code == 204


def test_account_with_only_points_and_no_wallet_closes(client, stack):
    member = person(client, stack)
    assert close_account(client, member.token, "not for me").status_code == 204


# --- staff adjustments of aibi --------------------------------------------------------------------------
def test_aibi_adjustments_are_finance_only_and_never_make_the_wallet_negative(client, stack, desk):
    member = person(client, stack)
    body = {"member_id": member.id, "amount_fen": 5_000, "reason": "goodwill"}

    def correct(role, body):
        return desk.post("/v1/admin/adjustments", role, body, headers=keyed())

    for role in ("ops", "auditor"):
        assert correct(role, body).status_code == 403
    points_as_finance = correct("finance", {**body, "amount_fen": None, "points": 10})
    assert points_as_finance.status_code == 403
    r = correct("finance", body)
    assert r.status_code == 201 and r.json["balance_after"] == 5_000
    too_much = correct("finance", {**body, "amount_fen": -5_001})
    assert too_much.status_code == 422 and error_code(too_much) == "insufficient_balance"
    both = correct("finance", {**body, "points": 10})
    assert both.status_code == 400
    zero = correct("finance", {**body, "amount_fen": 0})
    assert zero.status_code == 400
    r = correct("finance", {**body, "amount_fen": -2_000, "reason": "correction"})
    assert r.status_code == 201 and r.json["balance_after"] == 3_000
    assert member.wallet() == {"balance_fen": 3_000, "held_fen": 0}
    audit = desk.get(f"/v1/admin/audit?target_id={member.id}", "admin").json["entries"]
    amounts = sorted(e["after"]["amount_fen"] for e in audit if e["action"] == "adjustment")
    assert amounts == [-2_000, 5_000]
    unknown = correct("finance", {**body, "member_id": "nobody"})
    assert unknown.status_code == 404


# --- points mall ---------------------------------------------------------------------------------------
def make_item(desk, stock, options=None):
    options = options or [{"points": 500}, {"points": 40, "cash_fen": 6_000}, {"points": 200, "cash_fen": 1_000}]
    r = desk.post("/v1/admin/mall/items", "ops", {"name": "五常大米", "options": options, "stock": stock})
    assert r.status_code == 201, r.body
    return r.json["item_id"]


def stock_of(member, item_id):
    [item] = [i for i in member.get("/v1/mall/items").json["items"] if i["item_id"] == item_id]
    return item["stock"]


def order_state(member, order_id):
    [order] = [o for o in member.get("/v1/me/mall/orders").json["orders"] if o["order_id"] == order_id]
    return order["state"]


def payment_event(client, stack, member, type_, order_id):
    return post_event(client, stack, type_, member.id, {"order_id": order_id})


def restock(client, desk, item_id, body, key=None):
    headers = {"Idempotency-Key": key} if key else None
    return client.patch(f"/v1/admin/mall/items/{item_id}", token=desk.token("ops"), json_body=body, headers=headers)


def test_a_restock_needs_a_key_and_adds_its_stock_once_per_key(client, stack, desk):
    member = person(client, stack)
    item_id = make_item(desk, stock=5)
    unkeyed = restock(client, desk, item_id, {"add_stock": 10, "reason": "delivery"})
    assert unkeyed.status_code == 400 and error_code(unkeyed) == "idempotency_key_required"
    assert stock_of(member, item_id) == 5

    first = restock(client, desk, item_id, {"add_stock": 10, "reason": "delivery"}, key="restock-0001")
    assert first.status_code == 200 and first.json["stock"] == 15, first.body
    resubmitted = restock(client, desk, item_id, {"add_stock": 10, "reason": "delivery"}, key="restock-0001")
    assert resubmitted.status_code == 200 and resubmitted.json == first.json
    assert stock_of(member, item_id) == 15
    other = restock(client, desk, item_id, {"add_stock": 11, "reason": "delivery"}, key="restock-0001")
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
    below = restock(client, desk, item_id, {"add_stock": -16, "reason": "count"}, key="restock-0002")
    assert below.status_code == 409 and error_code(below) == "out_of_stock"
    assert stock_of(member, item_id) == 15
    # a rename changes no quantity and needs no key
    renamed = restock(client, desk, item_id, {"name": "东北大米", "reason": "typo"})
    assert renamed.status_code == 200 and (renamed.json["name"], renamed.json["stock"]) == ("东北大米", 15)


def test_concurrent_resubmits_of_one_restock_add_its_stock_once(client, stack, desk):
    member = person(client, stack)
    item_id = make_item(desk, stock=5)
    token = desk.token("ops")

    def resubmit(_):
        return client.patch(
            f"/v1/admin/mall/items/{item_id}",
            token=token,
            json_body={"add_stock": 10, "reason": "delivery"},
            headers={"Idempotency-Key": "restock-twins"},
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(resubmit, range(6)))
    assert [r.status_code for r in responses] == [200] * 6
    assert {r.json["stock"] for r in responses} == {15}
    assert stock_of(member, item_id) == 15
    [entry] = [e for e in desk.get(f"/v1/admin/audit?target_id={item_id}", "admin").json["entries"]
               if e["action"] == "mall.item.update"]
    assert (entry["before"]["stock"], entry["after"]["add_stock"]) == (5, 10)


def test_a_restock_racing_checkouts_leaves_the_exact_stock_it_answers(client, stack, desk):
    members = [person(client, stack) for _ in range(6)]
    for member in members:
        give_points(desk, member, 500)
    item_id = make_item(desk, stock=6)
    token = desk.token("ops")
    calls = [
        lambda m=m: client.post("/v1/me/mall/orders", token=m.token, json_body={"item_id": item_id, "option_id": "o1"})
        for m in members
    ]
    calls.append(
        lambda: client.patch(
            f"/v1/admin/mall/items/{item_id}",
            token=token,
            json_body={"add_stock": 4, "reason": "delivery"},
            headers={"Idempotency-Key": "restock-race"},
        )
    )
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        responses = list(pool.map(lambda call: call(), calls))
    assert [r.status_code for r in responses[:-1]] == [201] * 6
    assert responses[-1].status_code == 200, responses[-1].body
    # 6 + 4 - 6: whatever the interleaving, every unit is counted once
    assert stock_of(members[0], item_id) == 4
    # the stock it answered was exact when written: between 4 (after every checkout) and 10 (before any)
    assert 4 <= responses[-1].json["stock"] <= 10
    assert_reconciled()


def test_mall_item_lists_every_price_option(client, stack, desk):
    member = person(client, stack)
    item_id = make_item(desk, stock=5)
    [item] = member.get("/v1/mall/items").json["items"]
    assert item["item_id"] == item_id and item["stock"] == 5
    assert [(o["option_id"], o["points"], o["cash_fen"]) for o in item["options"]] == [
        ("o1", 500, 0),
        ("o2", 40, 6_000),
        ("o3", 200, 1_000),
    ]


def test_points_only_checkout_spends_at_once_and_takes_stock(client, stack, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    item_id = make_item(desk, stock=3)
    r = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1", "quantity": 2})
    assert r.status_code == 201, r.body
    assert (r.json["state"], r.json["points"], r.json["cash_fen"], r.json["expires_at"]) == ("posted", 1_000, 0, None)
    assert member.points() == START_POINTS + 1_000 - 2 * 500
    assert stock_of(member, item_id) == 1
    late = payment_event(client, stack, member, "payment.failed", r.json["order_id"])
    assert late.status_code == 409 and error_code(late) == "already_posted"
    assert stock_of(member, item_id) == 1


def test_mixed_checkout_holds_points_for_30_minutes_until_payment_succeeds(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    item_id = make_item(desk, stock=2)
    r = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o2"})
    assert r.status_code == 201, r.body
    order = r.json
    assert (order["state"], order["points"], order["cash_fen"]) == ("pending", 40, 6_000)
    created = clock.now()
    assert order["expires_at"].startswith((created + timedelta(minutes=30)).isoformat()[:19])
    assert member.points() == START_POINTS + 1_000 - 40
    assert stock_of(member, item_id) == 1

    assert payment_event(client, stack, member, "payment.succeeded", order["order_id"]).status_code == 202
    assert order_state(member, order["order_id"]) == "posted"
    assert member.points() == START_POINTS + 1_000 - 40 and stock_of(member, item_id) == 1
    again = payment_event(client, stack, member, "payment.succeeded", order["order_id"])
    assert again.status_code == 409 and error_code(again) == "already_posted"
    failed = payment_event(client, stack, member, "payment.failed", order["order_id"])
    assert failed.status_code == 409 and error_code(failed) == "already_posted"
    kinds = [e["kind"] for e in ledger(member, "/v1/me/points/ledger")[:2]]
    assert kinds == ["capture", "hold"]


def test_failed_payment_releases_points_and_stock_and_a_late_success_is_already_voided(client, stack, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    item_id = make_item(desk, stock=1)
    order_id = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o3"}).json["order_id"]
    assert member.points() == START_POINTS + 1_000 - 200 and stock_of(member, item_id) == 0
    sold_out = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1"})
    assert sold_out.status_code == 409 and error_code(sold_out) == "out_of_stock"

    assert payment_event(client, stack, member, "payment.failed", order_id).status_code == 202
    assert order_state(member, order_id) == "voided"
    assert member.points() == START_POINTS + 1_000 and stock_of(member, item_id) == 1
    late = payment_event(client, stack, member, "payment.succeeded", order_id)
    assert late.status_code == 409 and error_code(late) == "already_voided"
    assert member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1"}).status_code == 201


def test_expire_job_releases_mall_holds_older_than_30_minutes_and_restocks(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    item_id = make_item(desk, stock=1)
    order_id = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o2"}).json["order_id"]
    checked_out = clock.now()
    clock.set(checked_out + timedelta(minutes=20))
    desk.sign_in("ops")
    clock.set(checked_out + timedelta(minutes=29, seconds=59))
    report = desk.run_job("expire-points", "ops").json
    assert report["holds_released"] == 0
    assert order_state(member, order_id) == "pending" and stock_of(member, item_id) == 0

    clock.set(checked_out + timedelta(minutes=31))
    late = payment_event(client, stack, member, "payment.succeeded", order_id)
    assert late.status_code == 409 and error_code(late) == "hold_expired"
    report = desk.run_job("expire-points", "ops").json
    assert report["holds_released"] == 1
    assert order_state(member, order_id) == "expired"
    assert member.points() == START_POINTS + 1_000 and stock_of(member, item_id) == 1
    assert desk.run_job("expire-points", "ops").json["holds_released"] == 0
    late = payment_event(client, stack, member, "payment.succeeded", order_id)
    assert late.status_code == 409 and error_code(late) == "hold_expired"


def test_checkout_refuses_unknown_items_and_missing_points(client, stack, desk):
    member = person(client, stack)
    item_id = make_item(desk, stock=5)
    unknown = member.post("/v1/me/mall/orders", {"item_id": "nope", "option_id": "o1"})
    assert unknown.status_code == 404
    no_option = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o9"})
    assert no_option.status_code == 404
    poor = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1"})  # 500 > 60 points
    assert poor.status_code == 422 and error_code(poor) == "insufficient_points"
    too_many = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o2", "quantity": 6})
    assert too_many.status_code == 409 and error_code(too_many) == "out_of_stock"
    assert stock_of(member, item_id) == 5 and member.points() == START_POINTS


def test_points_released_from_a_hold_after_their_month_ended_expire_instead_of_returning(client, stack, clock):
    clock.set(datetime(2025, 11, 15, 2, 0, tzinfo=UTC))
    desk = Desk(client, stack)
    member = person(client, stack)
    give_points(desk, member, 940)  # 60 + 940 = 1000 points in the lot that ends 2026-11-30
    clock.set(datetime(2026, 11, 30, 15, 45, tzinfo=UTC))  # 23:45 on 30 November in Shanghai
    item_id = make_item(desk, stock=1, options=[{"points": 500, "cash_fen": 100}])
    # signing in again on 30 November: +10 points that last until 2027-11-30
    order_id = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1"}).json["order_id"]
    assert member.points() == 1_010 - 500
    clock.set(datetime(2026, 11, 30, 16, 5, tzinfo=UTC))  # 00:05 on 1 December: the November lot is over
    assert payment_event(client, stack, member, "payment.failed", order_id).status_code == 202
    me = member.me()
    # the 500 returned points and the 500 left in their lot all expired; what remains is the
    # 30 November login (10) and the 1 December login of this new session (10)
    assert me["points"]["available"] == 20
    assert [e["on"] for e in me["points"]["expiring"]] == ["2027-11-30", "2027-12-31"]
    assert stock_of(member, item_id) == 1


# --- lucky draw -------------------------------------------------------------------------------------------
def make_campaign(desk, clock, prizes, *, daily_limit=3, cost=100, starts=None, ends=None):
    now = clock.now()
    body = {
        "name": "双十一",
        "points_per_draw": cost,
        "daily_limit": daily_limit,
        "starts_at": (starts or now - timedelta(hours=1)).isoformat(),
        "ends_at": (ends or now + timedelta(days=3)).isoformat(),
        "prizes": [{"name": p["prize_id"], **p} for p in prizes],
    }
    r = desk.post("/v1/admin/draws", "ops", body)
    assert r.status_code == 201, r.body
    return r.json["campaign_id"]


def test_a_certain_prize_wins_until_its_stock_is_gone_then_nothing(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    prizes = [{"prize_id": "p", "kind": "points", "value": 30, "probability_bp": 10_000, "stock": 2}]
    campaign = make_campaign(desk, clock, prizes, daily_limit=3)
    won = []
    for _ in range(3):
        r = member.post(f"/v1/me/draws/{campaign}")
        assert r.status_code == 201, r.body
        won.append(r.json["prize"]["prize_id"] if r.json["prize"] else None)
    assert won == ["p", "p", None]
    # 3 draws at 100 points; two prizes of 30 points
    assert member.points() == START_POINTS + 1_000 - 3 * 100 + 2 * 30
    limit = member.post(f"/v1/me/draws/{campaign}")
    assert limit.status_code == 422 and error_code(limit) == "daily_limit_exceeded"
    campaign_view = member.get(f"/v1/draws/{campaign}").json
    assert campaign_view["prizes"][0]["stock"] == 0
    log = desk.get(f"/v1/admin/draws/{campaign}/draws", "ops").json["draws"]
    assert len(log) == 3 and all(d["member_id"] == member.id and d["points_spent"] == 100 for d in log)
    assert sorted(d["prize_id"] or "-" for d in log) == ["-", "p", "p"]
    assert all(0 <= d["roll"] < 10_000 for d in log)

    clock.advance(days=1)  # a new Shanghai day: the limit starts again
    assert member.post(f"/v1/me/draws/{campaign}").status_code == 201


def test_a_zero_percent_prize_never_wins(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    prizes = [
        {"prize_id": "never", "kind": "aibi", "value": 10_000, "probability_bp": 0, "stock": 100},
        {"prize_id": "never2", "kind": "goods", "probability_bp": 0, "stock": 100},
    ]
    campaign = make_campaign(desk, clock, prizes, daily_limit=10)
    results = [member.post(f"/v1/me/draws/{campaign}").json["prize"] for _ in range(10)]
    assert results == [None] * 10
    assert member.wallet()["balance_fen"] == 0
    assert len(desk.get(f"/v1/admin/draws/{campaign}/draws", "ops").json["draws"]) == 10


def test_aibi_ticket_topup_and_goods_prizes_are_delivered(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    for kind, value in (("aibi", 888), ("ticket", 0), ("topup", 0), ("goods", 0)):
        prizes = [{"prize_id": kind, "kind": kind, "value": value, "probability_bp": 10_000, "stock": 1}]
        campaign = make_campaign(desk, clock, prizes)
        prize = member.post(f"/v1/me/draws/{campaign}").json["prize"]
        assert prize["kind"] == kind
        if kind in ("ticket", "topup"):
            assert isinstance(prize["redemption_code"], str) and len(prize["redemption_code"]) >= 8
        else:
            assert prize["redemption_code"] is None
    assert member.wallet() == {"balance_fen": 888, "held_fen": 0}
    [entry] = ledger(member)
    assert (entry["kind"], entry["amount_fen"]) == ("prize", 888)
    assert member.points() == START_POINTS + 1_000 - 4 * 100


def test_draws_only_while_the_campaign_is_open_and_only_with_points(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 140)  # 200 points: two draws
    now = clock.now()
    prizes = [{"prize_id": "g", "kind": "goods", "probability_bp": 5_000, "stock": 10}]
    campaign = make_campaign(
        desk, clock, prizes, starts=now + timedelta(hours=1), ends=now + timedelta(hours=2), daily_limit=5
    )
    early = member.post(f"/v1/me/draws/{campaign}")
    assert early.status_code == 409 and error_code(early) == "campaign_closed"
    clock.set(now + timedelta(hours=1))
    assert member.post(f"/v1/me/draws/{campaign}").status_code == 201
    assert member.post(f"/v1/me/draws/{campaign}").status_code == 201
    poor = member.post(f"/v1/me/draws/{campaign}")
    assert poor.status_code == 422 and error_code(poor) == "insufficient_points"
    give_points(desk, member, 100)
    clock.set(now + timedelta(hours=2))
    late = member.post(f"/v1/me/draws/{campaign}")
    assert late.status_code == 409 and error_code(late) == "campaign_closed"
    assert member.points() == 100
    assert len(desk.get(f"/v1/admin/draws/{campaign}/draws", "ops").json["draws"]) == 2
    assert member.post("/v1/me/draws/unknown-campaign").status_code == 404


# --- charity -------------------------------------------------------------------------------------------------
def test_charity_seats_never_overfill_and_a_full_team_is_reported_once(client, stack, desk):
    alice, bob = person(client, stack), person(client, stack)
    give_points(desk, alice, 20_000)
    give_points(desk, bob, 20_000)
    r = desk.post("/v1/admin/charity", "ops", {"name": "爱心妈妈", "seats": 3, "points_per_seat": 5_000})
    assert r.status_code == 201
    project = r.json["project_id"]
    r = alice.post(f"/v1/me/charity/{project}", {"seats": 2})
    assert r.status_code == 201 and (r.json["points"], r.json["seats_left"]) == (10_000, 1)
    over = bob.post(f"/v1/me/charity/{project}", {"seats": 2})
    assert over.status_code == 409 and error_code(over) == "project_full"
    assert bob.points() == START_POINTS + 20_000
    assert not any("Charity project full" in m.text for m in stack.outbox.messages_to("ops"))
    r = bob.post(f"/v1/me/charity/{project}", {})
    assert r.status_code == 201 and r.json["seats_left"] == 0
    full = alice.post(f"/v1/me/charity/{project}", {"seats": 1})
    assert full.status_code == 409 and error_code(full) == "project_full"
    alerts = [m for m in stack.outbox.messages_to("ops") if "Charity project full" in m.text]
    assert len(alerts) == 1 and project in alerts[0].text
    [listed] = alice.get("/v1/charity").json["projects"]
    assert (listed["seats_taken"], listed["full"]) == (3, True)
    assert alice.points() == START_POINTS + 20_000 - 10_000 and bob.points() == START_POINTS + 20_000 - 5_000


def test_charity_pledge_without_enough_points_takes_no_seat(client, stack, desk):
    member = person(client, stack)
    project = desk.post("/v1/admin/charity", "ops", {"name": "x", "seats": 16, "points_per_seat": 5_000}).json[
        "project_id"
    ]
    poor = member.post(f"/v1/me/charity/{project}", {"seats": 1})
    assert poor.status_code == 422 and error_code(poor) == "insufficient_points"
    assert member.get("/v1/charity").json["projects"][0]["seats_taken"] == 0
    assert member.post("/v1/me/charity/nope", {"seats": 1}).status_code == 404


# --- aibi at the shop -----------------------------------------------------------------------------------------
def shop(client, stack, path, body=None):
    return signed(client, stack, f"/v1/shop/aibi-payments{path}", body)


def test_shop_hold_capture_and_refunds(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 10_000)
    hold = {"order_id": "shop-1", "member_id": member.id, "amount_fen": 7_000}
    r = shop(client, stack, "", hold)
    assert r.status_code == 201 and r.json["state"] == "pending"
    assert member.wallet() == {"balance_fen": 3_000, "held_fen": 7_000}
    same = shop(client, stack, "", hold)
    assert same.status_code == 200 and same.json == r.json
    mismatch = shop(client, stack, "", {**hold, "amount_fen": 7_001})
    assert mismatch.status_code == 409 and error_code(mismatch) == "payment_mismatch"
    uncaptured = shop(client, stack, "/shop-1/refunds", {"refund_id": "rf-0", "amount_fen": 1})
    assert uncaptured.status_code == 409
    assert member.wallet() == {"balance_fen": 3_000, "held_fen": 7_000}

    captured = shop(client, stack, "/shop-1/capture")
    assert captured.status_code == 200 and captured.json["state"] == "posted"
    assert shop(client, stack, "/shop-1/capture").json["state"] == "posted"  # asking again is harmless
    voided = shop(client, stack, "/shop-1/void")
    assert voided.status_code == 409 and error_code(voided) == "already_posted"
    assert member.wallet() == {"balance_fen": 3_000, "held_fen": 0}

    r = shop(client, stack, "/shop-1/refunds", {"refund_id": "rf-1", "amount_fen": 2_500})
    assert r.status_code == 201 and r.json["refunded_fen"] == 2_500
    replay = shop(client, stack, "/shop-1/refunds", {"refund_id": "rf-1", "amount_fen": 2_500})
    assert replay.status_code == 201 and replay.json == r.json
    beyond = shop(client, stack, "/shop-1/refunds", {"refund_id": "rf-2", "amount_fen": 4_501})  # 2500 + 4501 > 7000
    assert beyond.status_code == 422 and error_code(beyond) == "refund_exceeds_paid"
    r = shop(client, stack, "/shop-1/refunds", {"refund_id": "rf-3", "amount_fen": 4_500})  # exactly 7000
    assert r.status_code == 201 and r.json["refunded_fen"] == 7_000
    assert member.wallet() == {"balance_fen": 3_000 + 7_000, "held_fen": 0}
    kinds = [e["kind"] for e in ledger(member)]
    assert kinds == ["refund", "refund", "payment_captured", "payment_hold", "adjust"]


def test_shop_void_returns_the_aibi_and_a_late_capture_is_already_voided(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 5_000)
    assert (
        shop(client, stack, "", {"order_id": "shop-2", "member_id": member.id, "amount_fen": 5_000}).status_code == 201
    )
    short = shop(client, stack, "", {"order_id": "shop-3", "member_id": member.id, "amount_fen": 1})
    assert short.status_code == 422 and error_code(short) == "insufficient_balance"
    other = person(client, stack)
    taken = shop(client, stack, "", {"order_id": "shop-2", "member_id": other.id, "amount_fen": 5_000})
    assert taken.status_code == 409 and error_code(taken) == "payment_mismatch"
    r = shop(client, stack, "/shop-2/void")
    assert r.status_code == 200 and r.json["state"] == "voided"
    assert member.wallet() == {"balance_fen": 5_000, "held_fen": 0}
    late = shop(client, stack, "/shop-2/capture")
    assert late.status_code == 409 and error_code(late) == "already_voided"
    missing = shop(client, stack, "/nope/capture")
    assert missing.status_code == 404


def test_an_uncaptured_shop_hold_expires_after_30_minutes(client, stack, clock, desk):
    member = person(client, stack)
    give_aibi(desk, member, 5_000)
    hold = {"order_id": "shop-4", "member_id": member.id, "amount_fen": 4_000}
    assert shop(client, stack, "", hold).status_code == 201
    held_at = clock.now()
    clock.set(held_at + timedelta(minutes=20))
    desk.sign_in("ops")
    clock.set(held_at + timedelta(minutes=29, seconds=59))
    assert desk.run_job("expire-points", "ops").json["holds_released"] == 0
    clock.set(held_at + timedelta(minutes=31))
    late = shop(client, stack, "/shop-4/capture")
    assert late.status_code == 409 and error_code(late) == "hold_expired"
    assert desk.run_job("expire-points", "ops").json["holds_released"] == 1
    assert member.wallet() == {"balance_fen": 5_000, "held_fen": 0}
    late = shop(client, stack, "/shop-4/capture")
    assert late.status_code == 409 and error_code(late) == "hold_expired"
    assert shop(client, stack, "", hold).json["state"] == "expired"


def test_an_expiry_run_for_a_later_day_releases_no_hold_before_its_30_minutes(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    give_aibi(desk, member, 5_000)
    item_id = make_item(desk, stock=1)
    order_id = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o2"}).json["order_id"]
    assert (
        shop(client, stack, "", {"order_id": "shop-6", "member_id": member.id, "amount_fen": 1_000}).status_code == 201
    )
    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    report = desk.run_job("expire-points", "ops", {"as_of": tomorrow}).json
    assert (report["holds_due"], report["holds_released"]) == (0, 0)
    assert order_state(member, order_id) == "pending"
    assert member.wallet() == {"balance_fen": 4_000, "held_fen": 1_000}
    assert payment_event(client, stack, member, "payment.succeeded", order_id).status_code == 202
    assert shop(client, stack, "/shop-6/capture").status_code == 200


def test_shop_calls_must_be_signed_and_name_a_live_member(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 5_000)
    body = {"order_id": "shop-5", "member_id": member.id, "amount_fen": 1_000}
    unsigned = client.post("/v1/shop/aibi-payments", json_body=body)
    assert unsigned.status_code == 401 and error_code(unsigned) == "invalid_signature"
    as_member = client.post("/v1/shop/aibi-payments", json_body=body, token=member.token)
    assert as_member.status_code == 401
    nobody = shop(client, stack, "", {**body, "member_id": "no-such-member"})
    assert nobody.status_code in (404, 422)
    assert desk.post(f"/v1/admin/members/{member.id}/freeze", "ops", {"reason": "check"}).status_code == 200
    frozen = shop(client, stack, "", body)
    assert frozen.status_code == 403 and error_code(frozen) == "account_frozen"
    assert member.wallet() == {"balance_fen": 5_000, "held_fen": 0}


# --- freezing, replays and what a review answer promises ---------------------------------------------------
def test_a_frozen_member_can_neither_withdraw_nor_spend_points(client, stack, clock, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 20_000)
    give_points(desk, member, 10_000)
    item_id = make_item(desk, stock=5)
    prizes = [{"prize_id": "g", "kind": "goods", "probability_bp": 5_000, "stock": 5}]
    campaign = make_campaign(desk, clock, prizes)
    project = desk.post("/v1/admin/charity", "ops", {"name": "c", "seats": 5, "points_per_seat": 100}).json
    assert desk.post(f"/v1/admin/members/{member.id}/freeze", "ops", {"reason": "check"}).status_code == 200
    before = member.me()
    attempts = [
        member.post("/v1/me/withdrawals", {"amount_fen": 10_000}),
        member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1"}),
        member.post(f"/v1/me/draws/{campaign}"),
        member.post(f"/v1/me/charity/{project['project_id']}", {"seats": 1}),
        member.post("/v1/me/payout-account", {"kind": "bank", "account": "6222020000009999", "holder": "张三"}),
    ]
    assert [(r.status_code, error_code(r)) for r in attempts] == [(403, "account_frozen")] * 5
    after = member.me()
    assert (after["wallet"], after["points"]) == (before["wallet"], before["points"])
    assert stock_of(member, item_id) == 5


def test_a_draw_retried_with_its_idempotency_key_is_the_same_draw(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_000)
    prizes = [{"prize_id": "t", "kind": "ticket", "probability_bp": 10_000, "stock": 5}]
    campaign = make_campaign(desk, clock, prizes)
    first = member.post(f"/v1/me/draws/{campaign}", key="draw-key-0001")
    again = member.post(f"/v1/me/draws/{campaign}", key="draw-key-0001")
    assert first.status_code == again.status_code == 201 and first.json == again.json
    assert first.json["prize"]["redemption_code"]
    assert member.points() == START_POINTS + 1_000 - 100
    assert len(desk.get(f"/v1/admin/draws/{campaign}/draws", "ops").json["draws"]) == 1
    assert member.get(f"/v1/draws/{campaign}").json["prizes"][0]["stock"] == 4


def test_a_refund_id_reused_for_another_amount_is_refused(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 5_000)
    assert (
        shop(client, stack, "", {"order_id": "shop-9", "member_id": member.id, "amount_fen": 5_000}).status_code == 201
    )
    assert shop(client, stack, "/shop-9/capture").status_code == 200
    assert shop(client, stack, "/shop-9/refunds", {"refund_id": "rf-1", "amount_fen": 1_000}).status_code == 201
    reused = shop(client, stack, "/shop-9/refunds", {"refund_id": "rf-1", "amount_fen": 2_000})
    assert reused.status_code == 422 and error_code(reused) == "idempotency_key_reused"
    assert member.wallet() == {"balance_fen": 1_000, "held_fen": 0}


def test_each_review_answer_is_what_finance_and_the_member_then_read(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 40_000)
    first = member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).json["withdrawal_id"]
    second = member.post("/v1/me/withdrawals", {"amount_fen": 20_000}).json["withdrawal_id"]

    def stored(wid):
        [view] = [w for w in member.get("/v1/me/withdrawals").json["withdrawals"] if w["withdrawal_id"] == wid]
        return view

    steps = [
        (first, "approve", {"reason": "looks fine"}),
        (first, "paid", {"reference": "BANK-7"}),
        (second, "approve", {"reason": "ok"}),
        (second, "reject", {"reason": "bank account closed"}),
    ]
    for wid, action, body in steps:
        answer = desk.post(f"/v1/admin/withdrawals/{wid}/{action}", "admin" if action == "paid" else "finance", body)
        assert answer.status_code == 200, answer.body
        assert answer.json == stored(wid), action
    assert stored(first)["reference"] == "BANK-7"
    assert stored(second)["reason"] == "bank account closed"
