"""Guide evaluation over HTTP: certificate, assessment, guidance and group volume raise a
tier; a wrong window is a clear 4xx; ops lower a tier with a reason."""

from datetime import UTC, datetime

from tests.builders import decide_review, job_outcome, login, post_event, register, staff_token


def test_evaluation_raises_a_nutritionist_to_tier_2(client, stack, clock):
    clock.set(datetime(2026, 8, 10, 2, 0, tzinfo=UTC))
    guide = register(client, stack)
    buyers = [register(client, stack, referrer_code=guide.member_code) for _ in range(5)]
    r = client.post(
        "/v1/me/nutritionist",
        token=guide.access_token,
        json_body={"certificate_no": "NUT-2026-001", "issuer": "中国营养学会", "issued_on": "2026-01-02"},
    )
    assert r.status_code == 202
    ops = staff_token(client, stack, "ops")
    assert decide_review(client, ops, "nutritionists", guide.member_id, reason="certificate checked").status_code == 200
    assert (
        client.post(
            f"/v1/admin/nutritionists/{guide.member_id}/assessment",
            token=ops,
            json_body={"result": "passed", "reason": "lecture on 8 Aug"},
        ).status_code
        == 200
    )
    for n, buyer in enumerate(buyers):
        assert (
            post_event(
                client, stack, "guidance.committed", guide.member_id, {"client_member_id": buyer.member_id}
            ).status_code
            == 202
        )
        # 5 x 2,000 yuan = 10,000 yuan of group volume in the window May..Aug
        assert (
            post_event(
                client,
                stack,
                "order.paid",
                buyer.member_id,
                {"order_id": f"o{n}", "gross_fen": 200_000, "paid_fen": 200_000},
            ).status_code
            == 202
        )

    ops = staff_token(client, stack, "ops")
    r = job_outcome(client, ops, "evaluate-guides", {"period": "2026-07"})
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_job_request"
    r = job_outcome(client, ops, "evaluate-guides", {"period": "2026-08"})
    assert r.status_code == 422 and r.json["error"]["code"] == "period_not_ended"

    clock.set(datetime(2026, 9, 1, 2, 0, tzinfo=UTC))
    ops = staff_token(client, stack, "ops")
    dry = job_outcome(client, ops, "evaluate-guides", {"dry_run": True}).json
    assert dry["window"] == ["2026-05", "2026-08"]
    assert dry["changes"] == [{"member_id": guide.member_id, "from": 0, "to": 2}]
    assert job_outcome(client, ops, "evaluate-guides", {}).json["raised"] == 1
    assert job_outcome(client, ops, "evaluate-guides", {}).json["raised"] == 0

    r = client.post(f"/v1/admin/nutritionists/{guide.member_id}/tier", token=ops, json_body={"tier": 3, "reason": "no"})
    assert r.status_code == 409
    r = client.post(
        f"/v1/admin/nutritionists/{guide.member_id}/tier",
        token=ops,
        json_body={"tier": 1, "reason": "certificate suspended"},
    )
    assert r.status_code == 200 and r.json["guide_tier"] == 1
    audit = client.get(
        f"/v1/admin/audit?target_id={guide.member_id}", token=staff_token(client, stack, "auditor")
    ).json["entries"]
    assert [entry["action"] for entry in audit][:2] == ["guide.tier", "guide.tier"]
    login(client, stack, guide.phone)
