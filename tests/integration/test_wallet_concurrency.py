"""Races on money and stock, through the in-process HTTP client from many threads at once.

The moto backend serialises each call (as DynamoDB serialises conflicting writes), so
requests interleave between their reads and their conditional writes exactly where a
lost update would happen. A request may fail only for a business reason: never a 5xx
and never ``concurrent_update`` for a request that should have gone through.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest

from tests.builders import close_account, job_outcome, post_event
from tests.wallet_builders import (
    Desk,
    assert_reconciled,
    error_code,
    give_points,
    open_window,
    person,
    ready_to_withdraw,
    signed,
)


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


def race(calls: list[Callable[[], object]]) -> list:
    """Run every call in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def outcomes(responses) -> Counter:
    return Counter(r.status_code if r.status_code < 400 else error_code(r) for r in responses)


@contextmanager
def eager_thread_switches():
    """Switch threads every microsecond, so that interleavings show up on every run."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_concurrent_requests_each_see_their_own_caller(client, stack):
    members = [person(client, stack) for _ in range(10)]
    tokens = {m.id: m.token for m in members}
    with eager_thread_switches():
        for _ in range(10):
            responses = race([lambda m=m: client.get("/v1/me", token=tokens[m.id]) for m in members])
            assert [r.json["member_id"] for r in responses] == [m.id for m in members]


def test_twenty_concurrent_withdrawals_never_hold_more_than_the_balance(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 100_000)
    member.step_up()  # one proof for all twenty: a withdrawal does not spend it
    token = member.token
    responses = race(
        [lambda: client.post("/v1/me/withdrawals", token=token, json_body={"amount_fen": 15_000}) for _ in range(20)]
    )
    # floor(100000 / 15000) = 6 fit; 6 x 15000 = 90000 is far below the 5,000,000 daily limit
    assert outcomes(responses) == Counter({201: 6, "insufficient_balance": 14})
    assert member.wallet() == {"balance_fen": 10_000, "held_fen": 90_000}
    assert len(member.get("/v1/me/withdrawals").json["withdrawals"]) == 6
    assert_reconciled()


def test_one_step_up_proof_changes_the_payout_account_once_among_ten_concurrent_changes(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 0)
    member.step_up()
    token = member.token
    accounts = [f"62220200000{n:05d}" for n in range(10)]
    responses = race(
        [
            lambda account=account: client.post(
                "/v1/me/payout-account",
                token=token,
                json_body={"kind": "bank", "account": account, "holder": "张三"},
            )
            for account in accounts
        ]
    )
    assert outcomes(responses) == Counter({200: 1, "step_up_required": 9})
    [won] = [r.json["account"] for r in responses if r.status_code == 200]
    history = desk.get(f"/v1/admin/audit?target_id={member.id}", "admin").json["entries"]
    changes = [e for e in history if e["action"] == "payout_account.set"]
    # newest first: the one that won the race, then the builder's own first account
    assert [(e["before"], e["after"]["account"]) for e in changes] == [
        ({"kind": "bank", "account": "*" * 12 + "1234"}, won),
        (None, "*" * 12 + "1234"),
    ]


def test_twenty_concurrent_exchanges_never_spend_more_points_than_there_are(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 1_940)  # 60 + 1940 = 2000 points
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    token = member.token
    responses = race(
        [lambda token=token: client.post("/v1/me/exchange", token=token, json_body={"points": 300}) for _ in range(20)]
    )
    # floor(2000 / 300) = 6 exchanges of 300 points -> 1800 fen
    assert outcomes(responses) == Counter({200: 6, "insufficient_points": 14})
    me = member.me()
    assert me["points"]["available"] == 200 and me["wallet"] == {"balance_fen": 1_800, "held_fen": 0}
    assert_reconciled()


def test_concurrent_exchanges_respect_the_window_cap(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 9_940)  # 10000 points
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1), cap=1_000).status_code == 201
    token = member.token
    responses = race(
        [lambda token=token: client.post("/v1/me/exchange", token=token, json_body={"points": 300}) for _ in range(10)]
    )
    # floor(1000 / 300) = 3 fit under the cap
    assert outcomes(responses) == Counter({200: 3, "exchange_cap_exceeded": 7})
    assert member.wallet()["balance_fen"] == 900 and member.points() == 10_000 - 900
    assert_reconciled()


def test_the_last_item_in_stock_goes_to_exactly_one_of_ten_members(client, stack, desk):
    members = [person(client, stack) for _ in range(10)]
    for member in members:
        give_points(desk, member, 500)
    r = desk.post("/v1/admin/mall/items", "ops", {"name": "last one", "options": [{"points": 100}], "stock": 1})
    item_id = r.json["item_id"]
    tokens = [m.token for m in members]
    responses = race(
        [
            lambda t=t: client.post("/v1/me/mall/orders", token=t, json_body={"item_id": item_id, "option_id": "o1"})
            for t in tokens
        ]
    )
    assert outcomes(responses) == Counter({201: 1, "out_of_stock": 9})
    assert members[0].get("/v1/mall/items").json["items"][0]["stock"] == 0
    assert sorted(m.points() for m in members) == [460] + [560] * 9
    assert_reconciled()


def test_the_last_charity_seat_goes_to_exactly_one_of_ten_members(client, stack, desk):
    members = [person(client, stack) for _ in range(10)]
    for member in members:
        give_points(desk, member, 5_000)
    r = desk.post("/v1/admin/charity", "ops", {"name": "爱心妈妈", "seats": 1, "points_per_seat": 5_000})
    project = r.json["project_id"]
    tokens = [m.token for m in members]
    responses = race(
        [lambda t=t: client.post(f"/v1/me/charity/{project}", token=t, json_body={"seats": 1}) for t in tokens]
    )
    assert outcomes(responses) == Counter({201: 1, "project_full": 9})
    [listed] = members[0].get("/v1/charity").json["projects"]
    assert (listed["seats_taken"], listed["full"]) == (1, True)
    assert len([m for m in stack.outbox.messages_to("ops") if "Charity project full" in m.text]) == 1
    assert sorted(m.points() for m in members) == [60] + [5_060] * 9
    assert_reconciled()


def test_the_last_prize_unit_is_won_exactly_once(client, stack, clock, desk):
    members = [person(client, stack) for _ in range(10)]
    for member in members:
        give_points(desk, member, 40)  # 100 points: one draw each
    now = clock.now()
    body = {
        "name": "last prize",
        "points_per_draw": 100,
        "daily_limit": 1,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "prizes": [
            {"prize_id": "p", "name": "aibi", "kind": "aibi", "value": 500, "probability_bp": 10_000, "stock": 1}
        ],
    }
    campaign = desk.post("/v1/admin/draws", "ops", body).json["campaign_id"]
    tokens = [m.token for m in members]
    responses = race([lambda t=t: client.post(f"/v1/me/draws/{campaign}", token=t) for t in tokens])
    assert outcomes(responses) == Counter({201: 10})
    assert Counter(r.json["prize"]["prize_id"] if r.json["prize"] else None for r in responses) == {"p": 1, None: 9}
    assert members[0].get(f"/v1/draws/{campaign}").json["prizes"][0]["stock"] == 0
    assert sorted(m.wallet()["balance_fen"] for m in members) == [0] * 9 + [500]
    assert len(desk.get(f"/v1/admin/draws/{campaign}/draws", "ops").json["draws"]) == 10
    assert_reconciled()


def test_ten_retries_with_one_idempotency_key_have_one_effect_and_one_answer(client, stack, clock, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 50_000)
    give_points(desk, member, 940)  # 1000 points
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    headers = {"Idempotency-Key": "same-request-0001"}
    member.step_up()
    token = member.token
    withdrawals = race(
        [
            lambda: client.post("/v1/me/withdrawals", token=token, json_body={"amount_fen": 20_000}, headers=headers)
            for _ in range(10)
        ]
    )
    assert {r.status_code for r in withdrawals} == {201}
    assert len({r.body for r in withdrawals}) == 1
    assert member.wallet() == {"balance_fen": 30_000, "held_fen": 20_000}

    headers = {"Idempotency-Key": "same-exchange-0001"}
    exchanges = race(
        [
            lambda token=token: client.post("/v1/me/exchange", token=token, json_body={"points": 500}, headers=headers)
            for _ in range(10)
        ]
    )
    assert {r.status_code for r in exchanges} == {200}
    assert len({r.body for r in exchanges}) == 1
    assert member.points() == 500 and member.wallet()["balance_fen"] == 30_500
    assert_reconciled()


def test_closing_an_account_and_crediting_its_wallet_never_both_succeed(client, stack, clock, desk):
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    for _ in range(6):
        member = person(client, stack)
        give_points(desk, member, 40)  # 100 points: one exchange of 1 aibi
        token = member.token
        exchange, close = race(
            [
                lambda token=token: client.post("/v1/me/exchange", token=token, json_body={"points": 100}),
                lambda token=token: close_account(client, token, "leaving"),
            ]
        )
        # either the exchange landed first and closing is refused (its wallet, or its preview's
        # points gone stale), or the account closed first (the exchange then finds the
        # member gone, or its token is refused before that)
        outcome = (exchange.status_code, close.status_code if close.status_code < 400 else error_code(close))
        assert outcome in {(200, "account_not_closable"), (200, "confirmation_stale"), (404, 204), (401, 204)}, (
            exchange.body,
            close.body,
        )
    assert_reconciled()


def test_concurrent_draws_of_one_member_stop_at_the_daily_limit(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 940)  # 1000 points: ten draws' worth
    now = clock.now()
    body = {
        "name": "limit",
        "points_per_draw": 100,
        "daily_limit": 3,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "prizes": [{"prize_id": "g", "name": "g", "kind": "goods", "probability_bp": 5_000, "stock": 100}],
    }
    campaign = desk.post("/v1/admin/draws", "ops", body).json["campaign_id"]
    token = member.token
    responses = race([lambda: client.post(f"/v1/me/draws/{campaign}", token=token) for _ in range(10)])
    assert outcomes(responses) == Counter({201: 3, "daily_limit_exceeded": 7})
    assert member.points() == 1_000 - 3 * 100
    assert len(desk.get(f"/v1/admin/draws/{campaign}/draws", "ops").json["draws"]) == 3
    assert_reconciled()


def test_one_shop_hold_sent_ten_times_at_once_holds_once(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 10_000)
    body = {"order_id": "shop-race-1", "member_id": member.id, "amount_fen": 4_000}
    responses = race([lambda: signed(client, stack, "/v1/shop/aibi-payments", body) for _ in range(10)])
    assert outcomes(responses) == Counter({201: 1, 200: 9})
    assert len({r.body for r in responses}) == 1
    assert member.wallet() == {"balance_fen": 6_000, "held_fen": 4_000}
    assert_reconciled()


def test_capture_and_void_of_one_shop_hold_at_once_resolve_it_once(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 10_000)
    for n in range(3):
        order = f"shop-race-{n}"
        body = {"order_id": order, "member_id": member.id, "amount_fen": 1_000}
        assert signed(client, stack, "/v1/shop/aibi-payments", body).status_code == 201
        capture, void = race(
            [
                lambda order=order: signed(client, stack, f"/v1/shop/aibi-payments/{order}/capture"),
                lambda order=order: signed(client, stack, f"/v1/shop/aibi-payments/{order}/void"),
            ]
        )
        # the loser sees the winner's resolution
        assert {(capture.status_code, void.status_code)} <= {(200, 409), (409, 200)}
        assert error_code(void if void.status_code == 409 else capture) in ("already_posted", "already_voided")
    wallet = member.wallet()
    assert wallet["held_fen"] == 0 and wallet["balance_fen"] in range(7_000, 10_001, 1_000)
    assert_reconciled()


def test_finance_approving_and_rejecting_at_once_decides_a_withdrawal_once(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 30_000)
    finance, admin = desk.token("finance"), desk.token("admin")
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 30_000}).json["withdrawal_id"]
    approve = f"/v1/admin/withdrawals/{wid}/approve"
    reject = f"/v1/admin/withdrawals/{wid}/reject"
    responses = race(
        [lambda t=t: client.post(approve, token=t, json_body={"reason": "ok"}) for t in (finance, admin) * 3]
        + [lambda t=t: client.post(reject, token=t, json_body={"reason": "no"}) for t in (finance, admin) * 3]
    )
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) in (1, 2)  # one approve, and possibly a reject after it
    assert all(r.status_code in (200, 409) for r in responses), [
        (r.status_code, r.body[:60]) for r in responses if r.status_code not in (200, 409)
    ]
    final = member.get("/v1/me/withdrawals").json["withdrawals"][0]["status"]
    assert final in ("approved", "rejected")
    expected = {"approved": {"balance_fen": 0, "held_fen": 30_000}, "rejected": {"balance_fen": 30_000, "held_fen": 0}}
    assert member.wallet() == expected[final]
    assert_reconciled()


def test_payment_success_failure_and_expiry_racing_for_one_mall_hold_resolve_it_once(client, stack, clock, desk):
    member = person(client, stack)
    give_points(desk, member, 940)  # 1000 points
    options = [{"points": 100, "cash_fen": 5_000}]
    item_id = desk.post("/v1/admin/mall/items", "ops", {"name": "米", "options": options, "stock": 6}).json["item_id"]
    orders = [
        member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1"}).json["order_id"] for _ in range(6)
    ]
    for order_id in orders[:3]:
        kinds = ["payment.succeeded", "payment.failed"] * 3
        with eager_thread_switches():
            results = race(
                [lambda k=k, o=order_id: post_event(client, stack, k, member.id, {"order_id": o}) for k in kinds]
            )
        assert sorted(r.status_code for r in results) == [202] + [409] * 5
        won = kinds[[r.status_code for r in results].index(202)]
        assert {error_code(r) for r in results if r.status_code == 409} == {
            "already_posted" if won == "payment.succeeded" else "already_voided"
        }
    checked_out = clock.now()
    clock.set(checked_out + timedelta(minutes=20))
    ops = desk.token("ops")
    clock.set(checked_out + timedelta(minutes=31))
    for order_id in orders[3:]:
        failed, job = race(
            [
                lambda o=order_id: post_event(client, stack, "payment.failed", member.id, {"order_id": o}),
                lambda: job_outcome(client, ops, "expire-points", {}),
            ]
        )
        assert job.status_code == 202 and job.run["status"] == "succeeded", job.body
        assert failed.status_code == 202 or error_code(failed) == "hold_expired"
    states = Counter(o["state"] for o in member.get("/v1/me/mall/orders").json["orders"])
    assert sum(states.values()) == 6 and states["pending"] == 0
    # every released hold went back to the points and the stock; every captured one stayed spent
    captured = states["posted"]
    assert member.points() == 1_000 - 100 * captured
    assert member.get("/v1/mall/items").json["items"][0]["stock"] == 6 - captured
    assert_reconciled()
