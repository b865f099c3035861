"""Settlement over HTTP: purchases through signed events, a dry run, a real run,
approval, release into wallets, a rerun that changes nothing, a refund after settlement."""

from datetime import UTC, datetime

from chalicelib.service_layer.reconcile import reconcile
from tests.builders import adjust, admin_token, job_outcome, login, post_event, register, staff_token


def credit_points(client, stack, member_id, points):
    body = {"member_id": member_id, "points": points, "reason": "stars for the test"}
    adjust(client, staff_token(client, stack, "ops"), admin_token(client, stack), body)


def run_job(client, stack, job, **body):
    ops = staff_token(client, stack, "ops")
    r = job_outcome(client, ops, job, body)
    assert r.status_code == 202, r.body
    return r.json


def test_monthly_settlement_release_and_refund_adjustment(client, stack, clock):
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    a = register(client, stack)
    b = register(client, stack, referrer_code=a.member_code)
    c = register(client, stack, referrer_code=a.member_code)
    credit_points(client, stack, a.member_id, 2_000)  # A: 60 + 50 + 50 (sign-ups) + 2000 -> 1 star
    assert (
        post_event(
            client, stack, "order.paid", b.member_id, {"order_id": "ob", "gross_fen": 100_000, "paid_fen": 100_000}
        ).status_code
        == 202
    )
    assert (
        post_event(
            client, stack, "order.paid", c.member_id, {"order_id": "oc", "gross_fen": 50_000, "paid_fen": 50_000}
        ).status_code
        == 202
    )
    clock.set(datetime(2026, 11, 8, 2, 0, tzinfo=UTC))

    dry = run_job(client, stack, "settle-monthly", period="2026-10", dry_run=True)
    # A's groups: B 100,000 fen (largest), C 50,000 fen -> small = 50,000 x 5 % = 2,500 fen
    assert dry["status"] == "dry_run"
    assert [(line["member"], line["component"], line["amount_fen"]) for line in dry["sample_lines"]] == [
        (a.member_id, "small_group", 2_500)
    ]
    real = run_job(client, stack, "settle-monthly", period="2026-10")
    assert real["status"] == "draft" and real["totals"]["rewards_fen"] == 2_500
    again = run_job(client, stack, "settle-monthly", period="2026-10")
    assert again["already_settled"] is True

    finance = staff_token(client, stack, "finance")
    r = client.post("/v1/admin/settlements/monthly-2026-10/approve", token=finance)
    assert r.status_code == 200 and r.json["status"] == "approved", r.body
    clock.set(datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    released = run_job(client, stack, "release-rewards")
    assert released["credited_fen"] == 2_500
    assert run_job(client, stack, "release-rewards")["credited_fen"] == 0
    a_session = login(client, stack, a.phone)
    assert client.get("/v1/me", token=a_session.access_token).json["wallet"]["balance_fen"] == 2_500
    lines = client.get("/v1/me/rewards", token=a_session.access_token).json["rewards"]
    assert lines[0]["status"] == "released" and lines[0]["basis"]["largest_group_volume_fen"] == 100_000

    # a refund of C's October order after October was settled
    assert (
        post_event(client, stack, "order.refunded", c.member_id, {"order_id": "oc", "refund_fen": 50_000}).status_code
        == 202
    )
    clock.set(datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    november = run_job(client, stack, "settle-monthly", period="2026-11")
    assert november["adjustments"] == {"periods": ["2026-10"], "lines": 1, "total_fen": -2_500}
    assert reconcile()["ok"]
