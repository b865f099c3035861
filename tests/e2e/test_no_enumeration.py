"""No identity route tells whether a number or a member code belongs to someone before
the caller proves a number: route by route, a registered and an unregistered number
(an existing and an unknown member code) get the same status and the same body."""

from __future__ import annotations

import pytest

from tests.builders import (
    admin_token,
    forbid_server_errors,
    invite,
    new_phone,
    new_staff,
    register,
    send_code,
)


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


def answers(client, path: str, bodies: list[dict], tries: int = 1, token: str | None = None) -> list[list]:
    """Each body's answers, ``tries`` times in a row, as (status, body) pairs."""
    return [
        [(r.status_code, r.json) for r in (client.post(path, json_body=body, token=token) for _ in range(tries))]
        for body in bodies
    ]


def test_a_wrong_sign_in_code_answers_the_same_for_a_member_and_a_stranger(client, stack):
    member, stranger = register(client, stack), new_phone()
    for phone in (member.phone, stranger):
        send_code(client, phone, "login")
    member_answers, stranger_answers = answers(
        client, "/v1/auth/login", [{"phone": p, "code": "000000"} for p in (member.phone, stranger)], tries=6
    )
    assert member_answers == stranger_answers
    assert {status for status, _ in member_answers} == {401}
    assert all(set(body["error"]) == {"code", "message"} for _, body in member_answers)


def test_a_wrong_staff_code_answers_the_same_for_staff_and_a_stranger(client, stack):
    ops, stranger = new_staff(client, stack, "ops"), new_phone()
    stack.clock.advance(seconds=61)
    for phone in (ops.phone, stranger):
        send_code(client, phone, "staff")
    bodies = [{"phone": p, "code": "000000", "totp": "000000"} for p in (ops.phone, stranger)]
    staff_answers, stranger_answers = answers(client, "/v1/staff/login", bodies, tries=6)
    assert staff_answers == stranger_answers
    assert {status for status, _ in staff_answers} == {401}


@pytest.mark.parametrize("code_sent", [True, False])
def test_register_checks_the_sms_code_before_the_member_code(client, stack, code_sent):
    referrer = register(client, stack)
    unknown = "000000000" if referrer.member_code != "000000000" else "000000018"
    phones = new_phone(), new_phone()
    if code_sent:
        for phone in phones:
            send_code(client, phone, "register")
    known_answers, unknown_answers = answers(
        client,
        "/v1/auth/register",
        [
            {"phone": phone, "code": "000000", "referrer_code": code}
            for phone, code in zip(phones, (referrer.member_code, unknown), strict=True)
        ],
    )
    assert known_answers == unknown_answers
    assert known_answers[0][0] == 401 and known_answers[0][1]["error"]["code"] == "invalid_code"


def test_inviting_answers_the_same_for_members_pending_friends_and_new_numbers(client, stack):
    inviter, other, member = register(client, stack), register(client, stack), register(client, stack)
    pending = invite(client, other)
    numbers = {"member": member.phone, "pending": pending, "new": new_phone(), "self": inviter.phone}
    seen = {}
    for kind, phone in numbers.items():
        answer = client.post("/v1/me/referrals", token=inviter.access_token, json_body={"phone": phone})
        body = dict(answer.json)
        assert body.pop("phone") == f"+86 {phone[3:6]}****{phone[-4:]}"
        seen[kind] = (answer.status_code, body)
    assert len(set(map(repr, seen.values()))) == 1, seen
    assert seen["new"][0] == 201


def test_the_daily_invitation_limit_counts_registered_numbers_first(client, stack):
    inviter, member = register(client, stack), register(client, stack)
    for _ in range(20):
        answer = client.post("/v1/me/referrals", token=inviter.access_token, json_body={"phone": member.phone})
        assert answer.status_code == 201, answer.body
    refused = [
        client.post("/v1/me/referrals", token=inviter.access_token, json_body={"phone": phone})
        for phone in (member.phone, new_phone())
    ]
    registered, unregistered = ((r.status_code, r.json, r.headers.get("retry-after")) for r in refused)
    assert registered == unregistered
    assert registered[0] == 429


def test_staff_sign_in_answers_the_same_after_a_deactivation(client, stack):
    """A deactivated account's number answers a wrong code like any number (and a right
    one like a wrong one): deactivation is not visible from outside."""
    admin = admin_token(client, stack)
    gone, stranger = new_staff(client, stack, "ops", admin=admin), new_phone()
    deactivated = client.post(
        f"/v1/admin/staff/{gone.staff_id}/deactivate", token=admin, json_body={"reason": "left the company"}
    )
    assert deactivated.status_code == 200, deactivated.body
    stack.clock.advance(seconds=61)
    for phone in (gone.phone, stranger):
        send_code(client, phone, "staff")
    bodies = [{"phone": p, "code": "000000", "totp": "000000"} for p in (gone.phone, stranger)]
    gone_answers, stranger_answers = answers(client, "/v1/staff/login", bodies, tries=2)
    assert gone_answers == stranger_answers
