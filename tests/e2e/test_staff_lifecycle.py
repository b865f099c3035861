"""Staff and member sessions end when the business says so, not when the token expires:
role changes, deactivation, logout and a closed account take effect on the next request
(README "Security"); staff accounts are listed, deactivated and reactivated by admins,
with a reason, audited."""

from __future__ import annotations

import pytest

from chalicelib.local.queues import drain
from tests.builders import (
    admin_token,
    assert_error,
    close_account,
    forbid_server_errors,
    login,
    new_staff,
    refreshed,
    register,
    staff_login,
)


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


FINANCE_ROUTE = "/v1/admin/withdrawals"
OPS_ROUTE = "/v1/admin/kyc"
MEMBER_READS = [
    "/v1/me",
    "/v1/me/points/ledger",
    "/v1/me/wallet/ledger",
    "/v1/me/withdrawals",
    "/v1/me/mall/orders",
    "/v1/me/rewards",
    "/v1/me/referrals",
]


def set_roles(client, admin: str, staff_id: str, roles: list[str]):
    return client.put(
        f"/v1/admin/staff/{staff_id}/roles", token=admin, json_body={"roles": roles, "reason": "moved team"}
    )


def set_active(client, admin: str, staff_id: str, active: bool):
    action = "reactivate" if active else "deactivate"
    return client.post(f"/v1/admin/staff/{staff_id}/{action}", token=admin, json_body={"reason": "left the company"})


def audit_of(client, admin: str, target_id: str) -> list[dict]:
    response = client.get(f"/v1/admin/audit?target_id={target_id}", token=admin)
    assert response.status_code == 200, response.body
    return response.json["entries"]


# --- role changes ---------------------------------------------------------------------------------
def test_a_demoted_finance_users_token_is_refused_on_a_finance_route_at_once(client, stack):
    admin = admin_token(client, stack)
    finance = new_staff(client, stack, "finance", admin=admin)
    assert client.get(FINANCE_ROUTE, token=finance.access_token).status_code == 200

    assert set_roles(client, admin, finance.staff_id, ["ops"]).status_code == 200
    assert_error(client.get(FINANCE_ROUTE, token=finance.access_token), 401, "invalid_token")
    assert_error(client.get(OPS_ROUTE, token=finance.access_token), 403)  # never in the old token's policy

    # signed in again, the new roles apply
    token = staff_login(client, stack, finance.phone, finance.totp_secret)
    assert_error(client.get(FINANCE_ROUTE, token=token), 403)
    assert client.get(OPS_ROUTE, token=token).status_code == 200
    [entry] = [e for e in audit_of(client, admin, finance.staff_id) if e["action"] == "staff.roles"]
    assert (entry["before"], entry["after"], entry["reason"]) == (
        {"roles": ["finance"]},
        {"roles": ["ops"]},
        "moved team",
    )


def test_a_granted_role_needs_a_new_sign_in_and_then_applies(client, stack):
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    assert set_roles(client, admin, ops.staff_id, ["ops", "finance"]).status_code == 200
    assert_error(client.get(OPS_ROUTE, token=ops.access_token), 401, "invalid_token")
    token = staff_login(client, stack, ops.phone, ops.totp_secret)
    assert client.get(FINANCE_ROUTE, token=token).status_code == 200


def test_roles_can_be_emptied_leaving_an_account_that_can_only_sign_out(client, stack):
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    emptied = set_roles(client, admin, ops.staff_id, [])
    assert emptied.status_code == 200, emptied.body
    assert emptied.json == {"staff_id": ops.staff_id, "roles": []}

    token = staff_login(client, stack, ops.phone, ops.totp_secret)
    for path in (OPS_ROUTE, FINANCE_ROUTE, "/v1/admin/audit", "/v1/admin/staff"):
        assert_error(client.get(path, token=token), 403)
    assert client.post("/v1/staff/logout", token=token).status_code == 204
    listed = {s["staff_id"]: s for s in client.get("/v1/admin/staff", token=admin).json["staff"]}
    assert listed[ops.staff_id]["roles"] == []
    assert set_roles(client, admin, ops.staff_id, ["auditor"]).status_code == 200
    assert (
        client.get("/v1/admin/audit", token=staff_login(client, stack, ops.phone, ops.totp_secret)).status_code == 200
    )


# --- deactivation and reactivation -------------------------------------------------------------------
def test_a_deactivated_staff_members_token_is_refused_everywhere_and_they_cannot_sign_in(client, stack):
    admin = admin_token(client, stack)
    gone = new_staff(client, stack, "ops", "finance", "auditor", admin=admin)
    member = register(client, stack)
    deactivated = set_active(client, admin, gone.staff_id, False)
    assert deactivated.status_code == 200, deactivated.body
    assert deactivated.json["active"] is False
    assert deactivated.json["roles"] == ["auditor", "finance", "ops"]

    for method, path in [
        ("GET", OPS_ROUTE),
        ("GET", FINANCE_ROUTE),
        ("GET", "/v1/admin/audit"),
        ("POST", f"/v1/admin/members/{member.member_id}/freeze"),
        ("POST", "/v1/staff/logout"),
    ]:
        answer = client.request(method, path, token=gone.access_token, json_body={"reason": "x"})
        assert_error(answer, 401, "invalid_token")
    assert client.get("/v1/me", token=member.access_token).json["status"] == "active"

    stack.clock.advance(seconds=61)
    sent_before = len(stack.outbox.messages_to(gone.phone))
    assert client.post("/v1/auth/otp", json_body={"phone": gone.phone, "purpose": "staff"}).status_code == 202
    drain()
    assert len(stack.outbox.messages_to(gone.phone)) == sent_before  # no code for an inactive account
    [entry] = [e for e in audit_of(client, admin, gone.staff_id) if e["action"] == "staff.deactivate"]
    assert (entry["before"], entry["after"], entry["reason"]) == (
        {"active": True},
        {"active": False},
        "left the company",
    )


def test_reactivation_keeps_the_roles_and_needs_a_new_sign_in(client, stack):
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    assert set_active(client, admin, ops.staff_id, False).status_code == 200
    assert_error(set_active(client, admin, ops.staff_id, False), 409, "invalid_state")
    reactivated = set_active(client, admin, ops.staff_id, True)
    assert reactivated.status_code == 200, reactivated.body
    assert (reactivated.json["active"], reactivated.json["roles"]) == (True, ["ops"])
    assert_error(set_active(client, admin, ops.staff_id, True), 409, "invalid_state")

    # the token from before the deactivation stays refused
    assert_error(client.get(OPS_ROUTE, token=ops.access_token), 401, "invalid_token")
    assert client.get(OPS_ROUTE, token=staff_login(client, stack, ops.phone, ops.totp_secret)).status_code == 200
    actions = [e["action"] for e in audit_of(client, admin, ops.staff_id)]
    assert actions[:2] == ["staff.reactivate", "staff.deactivate"]


def test_staff_accounts_are_admins_to_deactivate_and_never_their_own(client, stack):
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    assert_error(set_active(client, ops.access_token, ops.staff_id, False), 403)
    admin_id = client.get("/v1/admin/staff", token=admin).json["staff"][0]["staff_id"]
    assert_error(set_active(client, admin, admin_id, False), 403, "forbidden")
    assert_error(set_active(client, admin, "01J0000000000000000000000X", False), 404)
    assert client.get(OPS_ROUTE, token=ops.access_token).status_code == 200  # refusals changed nothing


def test_staff_are_listed_oldest_first_with_cursors_and_masked_phones(client, stack):
    admin = admin_token(client, stack)
    created = [new_staff(client, stack, role, admin=admin) for role in ("ops", "finance", "auditor")]
    assert set_active(client, admin, created[1].staff_id, False).status_code == 200

    seen, cursor = [], None
    while True:
        page = client.get("/v1/admin/staff?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=admin)
        assert page.status_code == 200, page.body
        seen += page.json["staff"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 4  # the local admin first
    assert seen[0]["roles"] == ["admin"]
    assert [s["staff_id"] for s in seen[1:]] == [s.staff_id for s in created]
    assert [s["active"] for s in seen] == [True, True, False, True]
    for entry, staff in zip(seen[1:], created, strict=True):
        assert entry["phone"] == f"+86 {staff.phone[3:6]}****{staff.phone[-4:]}"
    assert_error(client.get("/v1/admin/staff", token=created[0].access_token), 403)


# --- logout -------------------------------------------------------------------------------------------
def test_member_logout_refuses_the_refresh_token_and_the_access_token_of_that_device_only(client, stack):
    member = register(client, stack)
    other_device = login(client, stack, member.phone)
    assert client.post("/v1/auth/logout", token=member.access_token).status_code == 204

    assert_error(client.get("/v1/me", token=member.access_token), 401, "invalid_token")
    refresh = client.post("/v1/auth/refresh", json_body={"refresh_token": member.refresh_token})
    assert_error(refresh, 401, "invalid_token")
    assert_error(client.post("/v1/auth/logout", token=member.access_token), 401, "invalid_token")
    assert client.get("/v1/me", token=refreshed(client, other_device).access_token).status_code == 200


def test_staff_logout_refuses_the_token_and_is_audited(client, stack):
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    assert client.post("/v1/staff/logout", token=ops.access_token).status_code == 204
    assert_error(client.get(OPS_ROUTE, token=ops.access_token), 401, "invalid_token")
    assert client.get(OPS_ROUTE, token=staff_login(client, stack, ops.phone, ops.totp_secret)).status_code == 200
    assert audit_of(client, admin, ops.staff_id)[0]["action"] == "staff.logout"


def test_a_member_token_does_not_open_staff_logout_nor_a_staff_token_member_logout(client, stack):
    member, admin = register(client, stack), admin_token(client, stack)
    assert_error(client.post("/v1/staff/logout", token=member.access_token), 403)
    assert_error(client.post("/v1/auth/logout", token=admin), 403)
    assert client.get("/v1/me", token=member.access_token).status_code == 200


# --- closed and frozen members -----------------------------------------------------------------------
def test_a_closed_members_token_is_refused_on_every_member_route(client, stack):
    member = register(client, stack)
    for path in MEMBER_READS:
        assert client.get(path, token=member.access_token).status_code == 200, path
    assert close_account(client, member.access_token, "bye").status_code == 204
    for path in MEMBER_READS:
        assert_error(client.get(path, token=member.access_token), 401, "invalid_token")


def test_a_frozen_member_still_reads(client, stack):
    member = register(client, stack)
    ops = new_staff(client, stack, "ops")
    frozen = client.post(
        f"/v1/admin/members/{member.member_id}/freeze", token=ops.access_token, json_body={"reason": "check"}
    )
    assert frozen.status_code == 200, frozen.body
    for path in MEMBER_READS:
        assert client.get(path, token=member.access_token).status_code == 200, path


# --- the authorizer's cache -------------------------------------------------------------------------------
def test_the_packaged_authorizer_caches_its_answer_for_the_declared_ttl():
    """The TTL is set on purpose (README "Security"); revocation does not depend on it."""
    from chalice.deploy.swagger import CFNSwaggerGenerator

    from app import app
    from chalicelib.entrypoints.authorizer import CACHE_TTL_S

    document = CFNSwaggerGenerator().generate_swagger(app)
    authorizer = document["securityDefinitions"]["bearer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerResultTtlInSeconds"] == CACHE_TTL_S == 300
