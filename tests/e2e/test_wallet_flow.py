"""A member's whole money path over HTTP: earn, exchange, verify, withdraw, spend."""

from datetime import timedelta

import pyotp  # noqa: F401

from chalicelib.service_layer.reconcile import reconcile
from tests.builders import adjust, admin_token, decide_review, post_event, register, staff_token, step_up


def earn_points(client, stack, member, points):
    """Credit points through a staff adjustment (ops, an admin approving a large one), the simplest earning path."""
    body = {"member_id": member.member_id, "points": points, "reason": "test credit"}
    adjust(client, staff_token(client, stack, "ops"), admin_token(client, stack), body)


def test_exchange_then_withdraw_then_pay(client, stack, clock):
    member = register(client, stack)
    earn_points(client, stack, member, 20_000)
    admin = admin_token(client, stack)
    now = clock.now()
    r = client.post(
        "/v1/admin/exchange-windows",
        token=admin,
        json_body={
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
    )
    assert r.status_code == 201, r.body
    r = client.post(
        "/v1/me/exchange",
        token=member.access_token,
        json_body={"points": 15_000},
        headers={"Idempotency-Key": "exchange-0001"},
    )
    assert r.status_code == 200, r.body
    assert r.json["aibi_credited_fen"] == 15_000
    again = client.post(
        "/v1/me/exchange",
        token=member.access_token,
        json_body={"points": 15_000},
        headers={"Idempotency-Key": "exchange-0001"},
    )
    assert again.json == r.json
    me = client.get("/v1/me", token=member.access_token).json
    assert me["wallet"] == {"balance_fen": 15_000, "held_fen": 0}
    assert me["points"]["available"] == 60 + 20_000 - 15_000

    r = client.post("/v1/me/withdrawals", token=member.access_token, json_body={"amount_fen": 12_345})
    assert r.status_code == 403 and r.json["error"]["code"] == "kyc_required"
    r = client.post(
        "/v1/me/kyc", token=member.access_token, json_body={"real_name": "张三", "id_number": "11010519491231002X"}
    )
    assert r.status_code == 202
    ops = staff_token(client, stack, "ops")
    assert decide_review(client, ops, "kyc", member.member_id, reason="documents match").status_code == 200
    step_up(client, stack, member)
    r = client.post(
        "/v1/me/payout-account",
        token=member.access_token,
        json_body={"kind": "bank", "account": "6222 0200 0000 1234", "holder": "张三"},
    )
    assert r.status_code == 200 and r.json["account"].endswith("1234") and "6222" not in r.json["account"]
    # the change spent the proof: withdrawing to the new account takes the phone again
    r = client.post("/v1/me/withdrawals", token=member.access_token, json_body={"amount_fen": 12_345})
    assert r.status_code == 403 and r.json["error"]["code"] == "step_up_required"
    step_up(client, stack, member)
    r = client.post("/v1/me/withdrawals", token=member.access_token, json_body={"amount_fen": 12_345})
    assert r.status_code == 201, r.body
    # fee = ceil(12345 / 10) = 1235
    assert (r.json["fee_fen"], r.json["payout_fen"]) == (1235, 11_110)
    withdrawal = r.json["withdrawal_id"]
    me = client.get("/v1/me", token=member.access_token).json
    assert me["wallet"] == {"balance_fen": 15_000 - 12_345, "held_fen": 12_345}
    finance = staff_token(client, stack, "finance")
    r = client.post(f"/v1/admin/withdrawals/{withdrawal}/paid", token=finance, json_body={"reference": "T1"})
    assert r.status_code == 409
    assert (
        client.post(
            f"/v1/admin/withdrawals/{withdrawal}/approve", token=finance, json_body={"reason": "ok"}
        ).status_code
        == 200
    )
    # a second finance member pays what the first approved
    paying = staff_token(client, stack, "finance")
    r = client.post(f"/v1/admin/withdrawals/{withdrawal}/paid", token=paying, json_body={"reference": "BANK-1"})
    assert r.status_code == 200 and r.json["status"] == "paid"
    me = client.get("/v1/me", token=member.access_token).json
    assert me["wallet"] == {"balance_fen": 2_655, "held_fen": 0}
    assert reconcile()["ok"]


def test_mall_checkout_hold_then_payment_events(client, stack, clock):
    member = register(client, stack)
    earn_points(client, stack, member, 1_000)
    ops = staff_token(client, stack, "ops")
    r = client.post(
        "/v1/admin/mall/items",
        token=ops,
        json_body={"name": "五常大米", "options": [{"points": 500}, {"points": 40, "cash_fen": 6_000}], "stock": 2},
    )
    assert r.status_code == 201, r.body
    item = r.json["item_id"]
    r = client.post("/v1/me/mall/orders", token=member.access_token, json_body={"item_id": item, "option_id": "o2"})
    assert r.status_code == 201 and r.json["state"] == "pending"
    held_order = r.json["order_id"]
    me = client.get("/v1/me", token=member.access_token).json
    assert me["points"]["available"] == 60 + 1000 - 40
    assert post_event(client, stack, "payment.succeeded", member.member_id, {"order_id": held_order}).status_code == 202
    r = client.post("/v1/me/mall/orders", token=member.access_token, json_body={"item_id": item, "option_id": "o1"})
    assert r.status_code == 201 and r.json["state"] == "posted"
    r = client.post("/v1/me/mall/orders", token=member.access_token, json_body={"item_id": item, "option_id": "o1"})
    assert r.status_code == 409 and r.json["error"]["code"] == "out_of_stock"
    assert reconcile()["ok"]


def test_draw_charity_and_shop_aibi(client, stack, clock):
    member = register(client, stack)
    earn_points(client, stack, member, 20_000)
    ops = staff_token(client, stack, "ops")
    now = clock.now()
    r = client.post(
        "/v1/admin/draws",
        token=ops,
        json_body={
            "name": "双十一",
            "points_per_draw": 100,
            "daily_limit": 3,
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=3)).isoformat(),
            "prizes": [
                {
                    "prize_id": "p",
                    "name": "100 points",
                    "kind": "points",
                    "value": 100,
                    "probability_bp": 10_000,
                    "stock": 2,
                }
            ],
        },
    )
    assert r.status_code == 201, r.body
    campaign = r.json["campaign_id"]
    wins = [client.post(f"/v1/me/draws/{campaign}", token=member.access_token).json for _ in range(3)]
    assert [w["prize"]["prize_id"] if w["prize"] else None for w in wins] == ["p", "p", None]
    assert client.post(f"/v1/me/draws/{campaign}", token=member.access_token).status_code == 422

    r = client.post("/v1/admin/charity", token=ops, json_body={"name": "爱心妈妈", "seats": 2, "points_per_seat": 5000})
    project = r.json["project_id"]
    r = client.post(f"/v1/me/charity/{project}", token=member.access_token, json_body={"seats": 2})
    assert r.status_code == 201 and r.json["seats_left"] == 0
    assert client.post(f"/v1/me/charity/{project}", token=member.access_token, json_body={}).status_code == 409
    assert any("Charity project full" in m.text for m in stack.outbox.messages_to("ops"))
    assert reconcile()["ok"]


def test_points_held_by_a_checkout_show_in_me(client, stack):
    member = register(client, stack)
    earn_points(client, stack, member, 940)  # 1,000 points
    ops = staff_token(client, stack, "ops")
    item = client.post(
        "/v1/admin/mall/items",
        token=ops,
        json_body={"name": "黑木耳", "options": [{"points": 300, "cash_fen": 1_000}], "stock": 5},
    ).json["item_id"]
    assert (
        client.post(
            "/v1/me/mall/orders", token=member.access_token, json_body={"item_id": item, "option_id": "o1"}
        ).status_code
        == 201
    )
    points = client.get("/v1/me", token=member.access_token).json["points"]
    assert (points["available"], points["held"]) == (700, 300)
