"""Customer service finds a member and explains their points (issue 13, item 1): search
by phone through the blind index, by member code or id; the member's file, masked, with
its sub-resources; one field in clear through the audited reveal. Every search and every
opened file is in the audit log, never with the phone searched for or a value shown.
"""

from __future__ import annotations

import json

import pytest

from tests.builders import (
    StaffDesk,
    assert_error,
    close_account,
    forbid_server_errors,
    new_phone,
    order_paid,
    register,
    table_items,
)


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


@pytest.fixture
def desk(client, stack) -> StaffDesk:
    return StaffDesk(client, stack)


def audit_actions(desk: StaffDesk, target_id: str) -> list[dict]:
    answer = desk.get(f"/v1/admin/audit?target_id={target_id}", "auditor")
    assert answer.status_code == 200, answer.body
    return answer.json["entries"]


def test_where_did_my_points_go_is_answered_from_the_phone_to_the_last_ledger_entries_and_their_rules(
    client, stack, desk
):
    member = register(client, stack)
    assert order_paid(client, stack, member.member_id, "order-cs-1", 12_300).status_code == 202
    desk.adjust("ops", {"member_id": member.member_id, "points": -30, "reason": "duplicate survey"})

    # the member calls: "where did my points go?" and gives a phone number written locally
    local_number = member.phone.removeprefix("+86")
    found = desk.get(f"/v1/admin/members?phone={local_number}", "ops")
    assert found.status_code == 200, found.body
    [hit] = found.json["members"]
    assert hit["member_id"] == member.member_id
    assert hit["phone"] != member.phone and hit["phone"].endswith(member.phone[-4:])

    file = desk.get(f"/v1/admin/members/{member.member_id}", "ops").json
    assert file["status"] == "active"
    assert file["points"]["available"] == 50 + 10 - 30  # registration, the day's first session, the correction
    assert file["points"]["pending"] == 123  # the order's points wait for the return window
    assert [lot["points"] for lot in file["points"]["lots"]] == [30]

    entries = desk.get(f"/v1/admin/members/{member.member_id}/points/ledger?limit=2", "ops").json
    assert [(e["kind"], e["points"], e["pending"]) for e in entries["entries"]] == [
        ("adjust", -30, 0),
        ("earn", 0, 123),
    ]
    assert entries["entries"][1]["rule"] == "purchase"
    rest = desk.get(f"/v1/admin/members/{member.member_id}/points/ledger?cursor={entries['next_cursor']}", "ops")
    assert {e["rule"] for e in rest.json["entries"]} == {"register", "daily_login"}
    assert rest.json["next_cursor"] is None

    trail = audit_actions(desk, member.member_id)
    assert [e["action"] for e in trail[:2]] == ["member.viewed", "member.lookup"]
    assert trail[1]["after"] == {"by": "phone", "found": True}


def test_a_search_by_member_code_or_id_finds_the_same_member(client, stack, desk):
    member = register(client, stack)
    by_code = desk.get(f"/v1/admin/members?code={member.member_code}", "auditor").json["members"]
    by_id = desk.get(f"/v1/admin/members?member_id={member.member_id}", "finance").json["members"]
    assert [m["member_id"] for m in by_code] == [m["member_id"] for m in by_id] == [member.member_id]


def test_a_search_for_a_number_with_no_member_answers_an_empty_list_and_is_audited_without_the_number(
    client, stack, desk
):
    stranger = new_phone()
    answer = desk.get(f"/v1/admin/members?phone={stranger}", "ops")
    assert answer.status_code == 200 and answer.json == {"members": []}
    ops_id = desk.staff_id("ops")
    [entry] = [e for e in audit_actions(desk, ops_id) if e["action"] == "member.lookup"]
    assert entry["after"] == {"by": "phone", "found": False}
    stored = json.dumps([item for item in table_items(stack) if item.get("action") == "member.lookup"])
    assert stranger not in stored and stranger.removeprefix("+86") not in stored


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?phone=13912345678&code=123456782",
        "?code=12345",
        "?member_id=has%20spaces",
        "?nickname=x",
    ],
)
def test_a_search_needs_exactly_one_well_formed_key(desk, query):
    assert_error(desk.get(f"/v1/admin/members{query}", "ops"), 400, "invalid_request")


def test_a_search_by_a_number_that_is_not_a_phone_number_is_422(desk):
    assert_error(desk.get("/v1/admin/members?phone=12345", "ops"), 422, "invalid_phone")


def test_an_unknown_member_id_is_404_on_the_file_and_on_every_sub_resource(desk):
    for path in ("", "/points/ledger", "/wallet/ledger", "/withdrawals", "/mall/orders", "/rewards", "/draws"):
        assert_error(desk.get(f"/v1/admin/members/01UNKNOWNMEMBER000000000000{path}", "ops"), 404, "not_found")


def test_members_cannot_use_the_look_up(client, stack):
    member = register(client, stack)
    answer = client.get(f"/v1/admin/members?member_id={member.member_id}", token=member.access_token)
    assert answer.status_code == 403


def test_the_file_is_masked_and_the_reveal_shows_one_field_in_clear_audited_with_the_reason(client, stack, desk):
    member = register(client, stack)
    profile = {"name": "张三丰", "birthday": "1990-05-17", "region": "北京"}
    assert client.patch("/v1/me", token=member.access_token, json_body=profile).status_code == 200
    file = desk.get(f"/v1/admin/members/{member.member_id}", "ops").json
    assert (file["name"], file["birth_month"], file["region"], file["profile_complete"]) == ("张**", 5, "北京", True)
    assert "1990-05-17" not in json.dumps(file) and member.phone not in json.dumps(file)

    revealed = desk.post(
        f"/v1/admin/members/{member.member_id}/reveal", "ops", {"field": "phone", "reason": "caller verification"}
    )
    assert revealed.status_code == 200, revealed.body
    assert revealed.json == {"member_id": member.member_id, "field": "phone", "value": member.phone}
    [entry] = [e for e in audit_actions(desk, member.member_id) if e["action"] == "member.revealed"]
    assert entry["reason"] == "caller verification"
    assert entry["after"] == {"field": "phone", "status": "active"}
    assert member.phone not in json.dumps(entry)


def test_auditors_and_finance_read_files_but_cannot_reveal(client, stack, desk):
    member = register(client, stack)
    for role in ("auditor", "finance"):
        refused = desk.post(f"/v1/admin/members/{member.member_id}/reveal", role, {"field": "name", "reason": "x"})
        assert refused.status_code == 403
    assert [e["action"] for e in audit_actions(desk, member.member_id)] == []


@pytest.mark.parametrize(
    "body", [{"field": "id_number", "reason": "x"}, {"field": "phone"}, {"field": "phone", "reason": "  "}]
)
def test_a_reveal_names_a_known_field_and_a_reason(client, stack, desk, body):
    member = register(client, stack)
    assert_error(desk.post(f"/v1/admin/members/{member.member_id}/reveal", "ops", body), 400, "invalid_request")


def test_a_closed_member_keeps_a_file_and_ledgers_but_nothing_to_reveal(client, stack, desk):
    member = register(client, stack)
    assert close_account(client, member.access_token, "moving").status_code == 204
    file = desk.get(f"/v1/admin/members/{member.member_id}", "ops").json
    assert (file["status"], file["close_reason"], file["phone"], file["member_code"]) == ("closed", "moving", "", None)
    assert desk.get(f"/v1/admin/members/{member.member_id}/points/ledger", "ops").json["entries"]
    revealed = desk.post(f"/v1/admin/members/{member.member_id}/reveal", "ops", {"field": "phone", "reason": "x"})
    assert_error(revealed, 404, "not_found")


def test_the_status_history_lists_freezes_with_their_reasons_newest_first(client, stack, desk):
    member = register(client, stack)
    for action, reason in (("freeze", "chargeback"), ("unfreeze", "cleared")):
        answer = desk.post(f"/v1/admin/members/{member.member_id}/{action}", "ops", {"reason": reason})
        assert answer.status_code == 200, answer.body
    history = desk.get(f"/v1/admin/members/{member.member_id}", "auditor").json["status_history"]
    assert [(h["status"], h["reason"]) for h in history] == [("active", "cleared"), ("frozen", "chargeback")]
    assert {h["by"] for h in history} == {desk.staff_id("ops")}


def test_the_referrals_and_audit_trail_of_a_member_are_paged_with_cursors(client, stack, desk):
    referrer = register(client, stack)
    friends = [register(client, stack, referrer_code=referrer.member_code) for _ in range(3)]
    first = desk.get(f"/v1/admin/members/{referrer.member_id}/referrals?limit=2", "ops").json
    second = desk.get(f"/v1/admin/members/{referrer.member_id}/referrals?cursor={first['next_cursor']}", "ops").json
    listed = [r["member_id"] for r in first["referrals"] + second["referrals"]]
    assert listed == [f.member_id for f in friends] and second["next_cursor"] is None
    assert_error(desk.get(f"/v1/admin/members/{friends[0].member_id}/referrals?cursor={first['next_cursor']}", "ops"),
                 400, "invalid_cursor")
