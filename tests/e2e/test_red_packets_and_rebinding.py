"""Ops red packets (once per member per campaign, frozen members skipped) and admin
corrections of referral bindings (reason, audit, no cycles, admin only)."""

from chalicelib.service_layer.reconcile import reconcile
from tests.builders import admin_token, close_account, register, staff_token


def points_of(client, member):
    return client.get("/v1/me", token=member.access_token).json["points"]["available"]


def test_red_packet_reaches_each_audience_once(client, stack):
    born_in_march = register(client, stack)
    other = register(client, stack)
    frozen = register(client, stack)
    assert (
        client.patch("/v1/me", token=born_in_march.access_token, json_body={"birthday": "1990-03-08"}).status_code
        == 200
    )
    ops = staff_token(client, stack, "ops")
    assert (
        client.post(f"/v1/admin/members/{frozen.member_id}/freeze", token=ops, json_body={"reason": "test"}).status_code
        == 200
    )

    body = {"campaign_id": "spring-2026", "points": 88, "audience": {"kind": "all"}, "reason": "春节红包"}
    dry = client.post("/v1/admin/red-packets", token=ops, json_body={**body, "dry_run": True}).json
    assert (dry["granted"], dry["skipped_not_active"]) == (2, 1)
    assert points_of(client, other) == 60  # the dry run wrote nothing
    first = client.post("/v1/admin/red-packets", token=ops, json_body=body).json
    again = client.post("/v1/admin/red-packets", token=ops, json_body=body).json
    assert (first["granted"], again["granted"], again["already_granted"]) == (2, 0, 2)
    assert points_of(client, other) == 60 + 88

    march = {
        "campaign_id": "birthday-2026-03",
        "points": 20,
        "reason": "生日红包",
        "audience": {"kind": "birth_month", "month": 3},
    }
    assert client.post("/v1/admin/red-packets", token=ops, json_body=march).json["granted"] == 1
    assert points_of(client, born_in_march) == 60 + 100 * 0 + 88 + 20
    listed = {
        "campaign_id": "vip",
        "points": 5,
        "reason": "VIP",
        "audience": {"kind": "list", "member_ids": [other.member_id, other.member_id, "no-such-member"]},
    }
    assert client.post("/v1/admin/red-packets", token=ops, json_body=listed).json["granted"] == 1
    bad = {**listed, "audience": {"kind": "birth_month"}}
    assert client.post("/v1/admin/red-packets", token=ops, json_body=bad).status_code == 422
    assert reconcile()["ok"]


def test_only_admin_corrects_a_binding_and_never_into_a_cycle(client, stack):
    top = register(client, stack)
    child = register(client, stack, referrer_code=top.member_code)
    outsider = register(client, stack)
    ops = staff_token(client, stack, "ops")
    body = {"code": outsider.member_code, "reason": "registered under the wrong code"}
    assert client.post(f"/v1/admin/members/{child.member_id}/referrer", token=ops, json_body=body).status_code == 403
    admin = admin_token(client, stack)
    r = client.post(f"/v1/admin/members/{child.member_id}/referrer", token=admin, json_body=body)
    assert r.status_code == 200 and r.json["referrer_id"] == outsider.member_id
    assert client.get("/v1/me/referrals", token=top.access_token).json["referrals"] == []
    cycle = {"code": child.member_code, "reason": "would loop"}
    r = client.post(f"/v1/admin/members/{outsider.member_id}/referrer", token=admin, json_body=cycle)
    assert r.status_code == 422 and r.json["error"]["code"] == "cycle"
    entries = client.get(f"/v1/admin/audit?target_id={child.member_id}", token=admin).json["entries"]
    assert entries[0]["action"] == "member.referrer"
    assert entries[0]["before"] == {"referrer_id": top.member_id}
    assert entries[0]["after"] == {"referrer_id": outsider.member_id}


def test_a_frozen_account_cannot_be_closed_until_unfrozen(client, stack):
    member = register(client, stack)
    ops = staff_token(client, stack, "ops")
    assert (
        client.post(
            f"/v1/admin/members/{member.member_id}/freeze", token=ops, json_body={"reason": "fraud review"}
        ).status_code
        == 200
    )
    r = close_account(client, member.access_token, "leaving")
    assert r.status_code == 403 and r.json["error"]["code"] == "account_frozen"
    assert client.get("/v1/me", token=member.access_token).json["phone"]  # nothing was erased
    assert (
        client.post(
            f"/v1/admin/members/{member.member_id}/unfreeze", token=ops, json_body={"reason": "cleared"}
        ).status_code
        == 200
    )
    assert close_account(client, member.access_token, "leaving").status_code == 204
