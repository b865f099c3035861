"""Reviews bound to what was reviewed (issue 11): a decision names the version of the
submission its reviewer read, and the unmasked details are shown only through an audited
call with a reason.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.errors import ReviewChanged
from chalicelib.entrypoints.errors import status_for
from tests.builders import (
    admin_token,
    assert_error,
    decide_review,
    forbid_server_errors,
    me,
    new_staff,
    register,
    review_version,
    table_items,
)


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


FIRST_ID = "11010519491231002X"  # GB 11643's own example
SECOND_ID = "110105194912310038"
CERTIFICATE = {"certificate_no": "GJYYS-2024-000123", "issuer": "中国营养学会", "issued_on": "2024-06-01"}


def submit_kyc(client, member, real_name: str, id_number: str) -> None:
    answer = client.post(
        "/v1/me/kyc", token=member.access_token, json_body={"real_name": real_name, "id_number": id_number}
    )
    assert answer.status_code == 202, answer.body


def audit_of(client, admin: str, member_id: str) -> list[dict]:
    answer = client.get(f"/v1/admin/audit?target_id={member_id}", token=admin)
    assert answer.status_code == 200, answer.body
    return answer.json["entries"]


# --- decisions name the version read ------------------------------------------------------------------------
def test_a_resubmission_between_reading_and_approving_is_409_and_the_member_stays_unverified(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin).access_token
    submit_kyc(client, member, "张三", FIRST_ID)
    read = client.get("/v1/admin/kyc", token=ops).json["reviews"]
    assert [(r["member_id"], r["version"], r["summary"]["real_name"]) for r in read] == [(member.member_id, 1, "张*")]

    submit_kyc(client, member, "李四", SECOND_ID)  # while ops look at version 1
    stale = client.post(
        f"/v1/admin/kyc/{member.member_id}/approve", token=ops, json_body={"reason": "matches", "version": 1}
    )
    assert_error(stale, 409, "review_changed")
    mine = client.get("/v1/me/kyc", token=member.access_token).json
    assert (mine["status"], mine["version"], mine["summary"]["real_name"]) == ("pending", 2, "李*")
    assert audit_of(client, admin, member.member_id) == []
    withdrawal = client.post("/v1/me/withdrawals", token=member.access_token, json_body={"amount_fen": 10_000})
    assert_error(withdrawal, 403, "kyc_required")

    current = client.post(
        f"/v1/admin/kyc/{member.member_id}/approve", token=ops, json_body={"reason": "matches", "version": 2}
    )
    assert current.status_code == 200, current.body
    assert (current.json["status"], current.json["version"], current.json["summary"]["real_name"]) == (
        "approved",
        2,
        "李*",
    )
    entries = audit_of(client, admin, member.member_id)
    assert [(e["action"], e["after"]) for e in entries] == [("kyc.approved", {"status": "approved", "version": 2})]
    # the ID number of version 1 was never verified, so another member may still use it
    other = register(client, stack)
    submit_kyc(client, other, "张三", FIRST_ID)


def test_a_stale_or_unknown_version_changes_no_certificate_review(client, stack):
    member = register(client, stack)
    ops = new_staff(client, stack, "ops").access_token
    assert client.post("/v1/me/nutritionist", token=member.access_token, json_body=CERTIFICATE).status_code == 202
    resubmitted = {**CERTIFICATE, "certificate_no": "GJYYS-2024-000999"}
    assert client.post("/v1/me/nutritionist", token=member.access_token, json_body=resubmitted).status_code == 202
    assert review_version(client, ops, "nutritionists", member.member_id) == 2
    path = f"/v1/admin/nutritionists/{member.member_id}"
    before = table_items(stack)
    for decision, version in (("approve", 1), ("reject", 1), ("approve", 3)):
        answer = client.post(f"{path}/{decision}", token=ops, json_body={"reason": "checked", "version": version})
        assert_error(answer, 409, "review_changed")
    assert table_items(stack) == before
    assert me(client, member)["roles"] == []

    approved = client.post(f"{path}/approve", token=ops, json_body={"reason": "checked", "version": 2})
    assert approved.status_code == 200, approved.body
    assert me(client, member)["roles"] == ["nutritionist"]
    assert client.get(path, token=ops).json["status"] == "approved"


@pytest.mark.parametrize(
    "body",
    [{"reason": "ok"}, {"reason": "ok", "version": "1"}, {"reason": "ok", "version": 0}, {"version": 1}],
)
def test_a_decision_without_a_valid_version_is_400_and_changes_nothing(client, stack, body):
    member = register(client, stack)
    ops = new_staff(client, stack, "ops").access_token
    submit_kyc(client, member, "张三", FIRST_ID)
    before = table_items(stack)
    assert_error(client.post(f"/v1/admin/kyc/{member.member_id}/approve", token=ops, json_body=body), 400)
    assert table_items(stack) == before


def test_the_document_requires_the_version_and_lists_review_changed(client):
    doc = client.get("/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    for path in ("/v1/admin/kyc/{member_id}/approve", "/v1/admin/nutritionists/{member_id}/reject"):
        operation = doc["paths"][path]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[1]]
        assert set(body["required"]) == {"reason", "version"}
        assert body["properties"]["version"]["type"] == "integer"
        assert "review_changed" in json.dumps(operation["responses"][str(status_for(ReviewChanged))])
    queue = schemas["Review"]
    assert "version" in queue["required"]


# --- unmasked details, audited ------------------------------------------------------------------------------
def test_ops_reveal_the_pending_kyc_in_clear_and_the_reveal_is_audited_without_the_values(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    submit_kyc(client, member, "张三丰", FIRST_ID.lower())
    revealed = client.post(
        f"/v1/admin/kyc/{member.member_id}/reveal",
        token=ops.access_token,
        json_body={"reason": "  compare with the ID card photo  "},
    )
    assert revealed.status_code == 200, revealed.body
    assert {k: v for k, v in revealed.json.items() if k != "submitted_at"} == {
        "member_id": member.member_id,
        "version": 1,
        "real_name": "张三丰",
        "id_number": FIRST_ID,
    }
    [entry] = audit_of(client, admin, member.member_id)
    assert (entry["action"], entry["actor_id"], entry["actor_roles"], entry["target_id"], entry["reason"]) == (
        "kyc.revealed",
        ops.staff_id,
        ["ops"],
        member.member_id,
        "compare with the ID card photo",
    )
    assert (entry["before"], entry["after"]) == (None, {"version": 1})
    assert "张三丰" not in json.dumps(entry, ensure_ascii=False) and FIRST_ID not in json.dumps(entry)

    # the version revealed is the version approved
    approved = client.post(
        f"/v1/admin/kyc/{member.member_id}/approve",
        token=ops.access_token,
        json_body={"reason": "matches the card", "version": revealed.json["version"]},
    )
    assert approved.status_code == 200, approved.body


def test_a_certificate_is_revealed_in_clear_to_its_reviewer(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert client.post("/v1/me/nutritionist", token=member.access_token, json_body=CERTIFICATE).status_code == 202
    revealed = client.post(
        f"/v1/admin/nutritionists/{member.member_id}/reveal", token=admin, json_body={"reason": "check the registry"}
    )
    assert revealed.status_code == 200, revealed.body
    assert {k: v for k, v in revealed.json.items() if k != "submitted_at"} == {
        "member_id": member.member_id,
        "version": 1,
        **CERTIFICATE,
    }
    [entry] = audit_of(client, admin, member.member_id)
    assert (entry["action"], entry["reason"], entry["after"]) == (
        "nutritionist.revealed",
        "check the registry",
        {"version": 1},
    )


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_reveal_is_refused_to_other_staff_and_to_members(client, stack, role):
    member = register(client, stack)
    admin = admin_token(client, stack)
    staff = new_staff(client, stack, role, admin=admin).access_token
    submit_kyc(client, member, "张三", FIRST_ID)
    path = f"/v1/admin/kyc/{member.member_id}/reveal"
    for token in (staff, member.access_token):
        refused = client.post(path, token=token, json_body={"reason": "curious"})
        assert_error(refused, 403)
        assert "张三" not in refused.text
    assert audit_of(client, admin, member.member_id) == []


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 7}, {"reason": "x" * 501}])
def test_reveal_without_a_reason_is_400_and_audits_nothing(client, stack, body):
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin).access_token
    submit_kyc(client, member, "张三", FIRST_ID)
    refused = client.post(f"/v1/admin/kyc/{member.member_id}/reveal", token=ops, json_body=body)
    assert_error(refused, 400)
    assert "张三" not in refused.text
    assert audit_of(client, admin, member.member_id) == []


def test_only_a_pending_submission_is_revealed(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin).access_token
    path = f"/v1/admin/kyc/{member.member_id}/reveal"
    assert_error(client.post(path, token=ops, json_body={"reason": "check"}), 404)
    submit_kyc(client, member, "张三", FIRST_ID)
    assert decide_review(client, ops, "kyc", member.member_id).status_code == 200
    decided = client.post(path, token=ops, json_body={"reason": "check"})
    assert_error(decided, 409, "invalid_state")
    assert [e["action"] for e in audit_of(client, admin, member.member_id)] == ["kyc.approved"]
