"""A seeded random walk through the wallet over HTTP, checked step by step against a
model written from RULES.md 4 alone: exchange, withdrawals and finance's three steps,
shop holds, captures, voids and refunds, and finance's adjustments.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

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

NEXT = {  # finance's step -> {status before: status after}; anything else is a 409
    "approve": {"pending": "approved"},
    "paid": {"approved": "paid"},
    "reject": {"pending": "rejected", "approved": "rejected"},
}


@dataclass
class Model:
    balance: int
    held: int = 0
    points: int = 0
    withdrawals: dict[str, list] = field(default_factory=dict)  # id -> [amount, status]
    payments: dict[str, list] = field(default_factory=dict)  # order -> [amount, state, refunded]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_walk_through_the_wallet_matches_the_model(client, stack, clock, seed):
    rng = random.Random(seed)
    desk = Desk(client, stack)
    visited = set()
    member = person(client, stack)
    ready_to_withdraw(desk, member, 100_000)
    give_points(desk, member, 19_940)  # 20000 points
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    model = Model(balance=100_000, points=20_000)

    def shop(path, body=None):
        return signed(client, stack, f"/v1/shop/aibi-payments{path}", body)

    for step in range(60):
        op = rng.choice(["exchange", "withdraw", "review", "review", "hold", "settle", "settle", "refund", "adjust"])
        if op == "exchange":
            points = rng.choice([100, 150, 500, 2_000, 30_000])
            r = member.post("/v1/me/exchange", {"points": points})
            if points % 100:
                assert error_code(r) == "not_multiple_of_100"
            elif points > model.points:
                assert error_code(r) == "insufficient_points"
            else:
                assert r.status_code == 200, r.body
                model.points -= points
                model.balance += points
        elif op == "withdraw":
            amount = rng.choice([9_999, 10_000, 12_345, 40_000])
            r = member.post("/v1/me/withdrawals", {"amount_fen": amount})
            if amount < 10_000:
                assert error_code(r) == "below_minimum"
            elif amount > model.balance:
                assert error_code(r) == "insufficient_balance"
            else:
                assert r.status_code == 201, r.body
                assert r.json["fee_fen"] == -(-amount // 10) and r.json["payout_fen"] == amount + (-amount // 10)
                model.withdrawals[r.json["withdrawal_id"]] = [amount, "pending"]
                model.balance -= amount
                model.held += amount
        elif op == "review" and model.withdrawals:
            wid = rng.choice(sorted(model.withdrawals))
            amount, status = model.withdrawals[wid]
            action = rng.choice(sorted(NEXT))
            body = {"reference": f"B-{step}"} if action == "paid" else {"reason": f"step {step}"}
            r = desk.post(f"/v1/admin/withdrawals/{wid}/{action}", "admin" if action == "paid" else "finance", body)
            after = NEXT[action].get(status)
            if after is None:
                assert r.status_code == 409, (action, status, r.body)
            else:
                assert r.status_code == 200 and r.json["status"] == after, (action, status, r.body)
                model.withdrawals[wid][1] = after
                if after in ("paid", "rejected"):
                    model.held -= amount
                if after == "rejected":
                    model.balance += amount
        elif op == "hold":
            order, amount = f"order-{seed}-{step}", rng.choice([500, 5_000, 60_000])
            r = shop("", {"order_id": order, "member_id": member.id, "amount_fen": amount})
            if amount > model.balance:
                assert error_code(r) == "insufficient_balance"
            else:
                assert r.status_code == 201, r.body
                model.payments[order] = [amount, "pending", 0]
                model.balance -= amount
                model.held += amount
        elif op == "settle" and model.payments:
            order = rng.choice(sorted(model.payments))
            amount, state, _ = model.payments[order]
            target = rng.choice(["posted", "voided"])
            r = shop(f"/{order}/{'capture' if target == 'posted' else 'void'}")
            if state == "pending":
                assert r.status_code == 200 and r.json["state"] == target, r.body
                model.payments[order][1] = target
                model.held -= amount
                if target == "voided":
                    model.balance += amount
            elif state == target:
                assert r.status_code == 200 and r.json["state"] == target  # asking again changes nothing
            else:
                assert error_code(r) == {"posted": "already_posted", "voided": "already_voided"}[state]
        elif op == "refund" and model.payments:
            order = rng.choice(sorted(model.payments))
            amount, state, refunded = model.payments[order]
            part = rng.choice([100, amount // 2, amount])
            r = shop(f"/{order}/refunds", {"refund_id": f"rf-{step}", "amount_fen": part})
            if state != "posted":
                assert r.status_code == 409, r.body
            elif refunded + part > amount:
                assert error_code(r) == "refund_exceeds_paid"
            else:
                assert r.status_code == 201 and r.json["refunded_fen"] == refunded + part, r.body
                model.payments[order][2] += part
                model.balance += part
        elif op == "adjust":
            change = rng.choice([5_000, -3_000, -500_000])
            # a large one, or one past the day's allowance, is approved by a second person
            r = desk.adjusted("finance", {"member_id": member.id, "amount_fen": change, "reason": "walk"})
            if model.balance + change < 0:
                assert error_code(r) == "insufficient_balance"
            else:
                assert r.status_code in (200, 201) and r.json["balance_after"] == model.balance + change, r.body
                model.balance += change
        visited.add(op)
        assert member.wallet() == {"balance_fen": model.balance, "held_fen": model.held}, (step, op)
    assert visited == {"exchange", "withdraw", "review", "hold", "settle", "refund", "adjust"}
    assert member.points() == model.points
    entries = member.get("/v1/me/wallet/ledger?limit=200").json["entries"]
    assert entries[0]["balance_after_fen"] == model.balance and entries[0]["held_after_fen"] == model.held
    assert_reconciled()
