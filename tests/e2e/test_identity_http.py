"""The identity flow over HTTP (RULES.md 1, API.md "Identity", "Member", "Staff").

Every request goes through the same gateway the local server uses, on a fresh moto per
test; time only moves when the test moves the clock.
"""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jwt
import pyotp
import pytest
import segno
from PIL import Image
from stdnum import luhn

from chalicelib.adapters.dynamodb.wallet import WalletItem
from chalicelib.local.queues import drain
from tests.builders import (
    CODE,
    LOCAL_ACCEPTED,
    admin_token,
    assert_error,
    close_account,
    decide_review,
    forbid_server_errors,
    last_code,
    login,
    me,
    new_phone,
    new_staff,
    referrals,
    register,
    send_code,
    staff_login,
)


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


SHANGHAI = ZoneInfo("Asia/Shanghai")
KYC_ID = "11010519491231002X"  # GB 11643's own example: valid checksum


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def outbox(client, phone: str) -> list[dict]:
    drain()  # the SMS worker delivers what the code requests queued
    response = client.get(f"/v1/dev/sms?phone={phone.replace('+', '%2B')}")
    assert response.status_code == 200, response.body
    return response.json["messages"]


def code_from_outbox(client, phone: str) -> str:
    messages = outbox(client, phone)
    assert messages, f"no SMS to {phone}"
    match = CODE.search(messages[-1]["text"])
    assert match, messages[-1]
    return match.group(1)


def post_register(client, phone: str, code: str, referrer_code: str | None = None):
    body = {"phone": phone, "code": code, "accepted": LOCAL_ACCEPTED}
    if referrer_code is not None:
        body["referrer_code"] = referrer_code
    return client.post("/v1/auth/register", json_body=body)


# --- one-time codes and registration ---------------------------------------------------------------
def test_a_code_from_the_dev_outbox_registers_a_member_with_a_luhn_member_code(client, stack, clock):
    phone = new_phone()
    sent = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
    assert sent.status_code == 202, sent.body
    assert sent.json == {"expires_in": 300, "resend_after": 60}

    messages = outbox(client, phone)
    assert len(messages) == 1
    assert messages[0]["to"] == phone
    assert datetime.fromisoformat(messages[0]["sent_at"]) == clock.now()
    code = code_from_outbox(client, phone)
    assert len(code) == 6

    registered = post_register(client, phone, code)
    assert registered.status_code == 201, registered.body
    data = registered.json
    assert set(data) == {"member_id", "member_code", "access_token", "refresh_token"}
    assert len(data["member_code"]) == 9 and data["member_code"].isdigit() and luhn.is_valid(data["member_code"])

    view = client.get("/v1/me", token=data["access_token"]).json
    assert view["member_id"] == data["member_id"]
    assert view["member_code"] == data["member_code"]
    assert view["share_link"] == f"{stack.settings.public_base_url}/r/{data['member_code']}"
    assert view["phone"] == f"+86 {phone[3:6]}****{phone[-4:]}"
    assert view["status"] == "active"
    assert view["roles"] == []
    assert view["referrer_code"] is None
    assert view["wallet"] == {"balance_fen": 0, "held_fen": 0}
    assert set(view["points"]) >= {"available", "pending", "lifetime", "expiring"}


def test_a_national_number_and_its_e164_form_are_the_same_member(client, stack):
    member = register(client, stack)
    national = member.phone.removeprefix("+86")
    send_code(client, national, "login")
    response = client.post("/v1/auth/login", json_body={"phone": national, "code": last_code(stack, member.phone)})
    assert response.status_code == 200, response.body
    assert response.json["member_id"] == member.member_id


def test_registering_with_a_referrer_code_binds_the_referrer(client, stack):
    referrer = register(client, stack)
    friend = register(client, stack, referrer_code=referrer.member_code)
    assert me(client, friend)["referrer_code"] == referrer.member_code
    listed = referrals(client, referrer)["referrals"]
    assert [(r["member_id"], r["status"], r["bound_via"]) for r in listed] == [(friend.member_id, "active", "code")]


@pytest.mark.parametrize("kind", ["unissued", "bad_check_digit", "garbage"])
def test_an_unknown_referrer_code_is_422_and_creates_nobody(client, stack, kind):
    referrer = register(client, stack)
    body = referrer.member_code[:8]
    unknown = {
        "unissued": "000000000" if referrer.member_code != "000000000" else "000000018",
        "bad_check_digit": body + str((int(referrer.member_code[8]) + 1) % 10),
        "garbage": "not-a-code",
    }[kind]
    phone = new_phone()
    send_code(client, phone, "register")
    code = last_code(stack, phone)
    assert_error(post_register(client, phone, code, unknown), 422, "unknown_referrer")
    # nobody was created and the code was not spent: the same code still registers
    assert referrals(client, referrer)["referrals"] == []
    assert post_register(client, phone, code).status_code == 201


def test_registering_a_number_that_exists_is_409(client, stack, clock):
    member = register(client, stack)
    clock.advance(seconds=61)
    send_code(client, member.phone, "register")
    assert_error(post_register(client, member.phone, last_code(stack, member.phone)), 409, "phone_registered")


def test_a_wrong_code_is_401_and_the_sixth_try_fails_even_with_the_right_code(client, stack):
    phone = new_phone()
    send_code(client, phone, "register")
    code = last_code(stack, phone)
    for left in (4, 3, 2, 1, 0):
        error = assert_error(post_register(client, phone, wrong(code)), 401, "invalid_code")
        assert error["attempts_left"] == left
    assert_error(post_register(client, phone, code), 401, "invalid_code")


def test_a_code_expires_after_five_minutes(client, stack, clock):
    on_time, late = new_phone(), new_phone()
    send_code(client, on_time, "register")
    send_code(client, late, "register")
    clock.advance(seconds=299)
    assert post_register(client, on_time, last_code(stack, on_time)).status_code == 201
    clock.advance(seconds=1)
    assert_error(post_register(client, late, last_code(stack, late)), 401, "invalid_code")


def test_a_code_is_used_once(client, stack):
    member = register(client, stack)
    send_code(client, member.phone, "login")
    code = last_code(stack, member.phone)
    assert client.post("/v1/auth/login", json_body={"phone": member.phone, "code": code}).status_code == 200
    again = client.post("/v1/auth/login", json_body={"phone": member.phone, "code": code})
    assert_error(again, 401, "invalid_code")


def test_a_code_for_one_purpose_does_not_sign_in_for_another(client, stack):
    member = register(client, stack)
    send_code(client, member.phone, "login")
    assert_error(post_register(client, member.phone, last_code(stack, member.phone)), 401, "invalid_code")


def test_a_new_code_before_60_seconds_is_429_with_retry_after_and_replaces_the_old_one_after(client, stack, clock):
    phone = new_phone()
    send_code(client, phone, "register")
    first = last_code(stack, phone)
    clock.advance(seconds=30)
    refused = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["retry-after"] == "30"
    clock.advance(seconds=29.5)
    refused = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert len(outbox(client, phone)) == 1
    clock.advance(seconds=0.5)
    send_code(client, phone, "register")
    second = last_code(stack, phone)
    if second != first:
        assert_error(post_register(client, phone, first), 401, "invalid_code")
    assert post_register(client, phone, second).status_code == 201


def test_a_new_code_for_another_purpose_also_waits_60_seconds(client, stack, clock):
    member = register(client, stack)
    clock.advance(seconds=61)
    send_code(client, member.phone, "register")  # by mistake: the number is registered
    refused = client.post("/v1/auth/otp", json_body={"phone": member.phone, "purpose": "login"})
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["retry-after"] == "60"
    clock.advance(seconds=60)
    send_code(client, member.phone, "login")
    assert len(outbox(client, member.phone)) == 3


def test_member_codes_stay_unique_when_the_random_draw_collides(client, stack, monkeypatch):
    draws = iter([4711, 4711, 4711, 815])  # member-code draws: the second member collides twice

    def randbelow(bound: int) -> int:
        return next(draws) if bound == 10**8 else 123_456

    monkeypatch.setattr(stack, "randbelow", randbelow)
    first = register(client, stack)
    second = register(client, stack)
    assert first.member_code == "00004711" + luhn.calc_check_digit("00004711")
    assert second.member_code == "00000815" + luhn.calc_check_digit("00000815")


def test_at_most_ten_codes_a_number_a_shanghai_day(client, stack, clock):
    phone = new_phone()
    for _ in range(10):
        send_code(client, phone, "login")
        clock.advance(seconds=61)
    refused = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
    assert_error(refused, 429, "rate_limited")
    midnight = datetime.combine(
        clock.now().astimezone(SHANGHAI).date() + timedelta(days=1), datetime.min.time(), SHANGHAI
    )
    assert int(refused.headers["retry-after"]) == math.ceil((midnight - clock.now()).total_seconds())
    assert len(outbox(client, phone)) == 0  # unregistered: login codes are never sent
    clock.set(midnight - timedelta(seconds=1))
    assert client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"}).status_code == 429
    clock.set(midnight)
    send_code(client, phone, "register")
    assert len(outbox(client, phone)) == 1


def test_at_most_thirty_codes_a_client_ip_an_hour(client, stack, clock):
    client.source_ip = "203.0.113.7"
    for _ in range(30):
        send_code(client, new_phone(), "register")
    phone = new_phone()
    refused = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
    assert_error(refused, 429, "rate_limited")
    retry_after = int(refused.headers["retry-after"])
    assert 3600 - 1 <= retry_after <= 3600 + 1  # the clock stands at 02:00:00 UTC: a whole hour to wait
    assert outbox(client, phone) == []
    client.source_ip = "203.0.113.8"
    send_code(client, phone, "register")
    client.source_ip = "203.0.113.7"
    clock.advance(seconds=retry_after)
    send_code(client, new_phone(), "register")


# --- sessions ----------------------------------------------------------------------------------------
def test_login_with_a_code_opens_a_session(client, stack, clock):
    member = register(client, stack)
    clock.advance(seconds=61)
    session = login(client, stack, member.phone)
    assert session.member_id == member.member_id
    assert session.refresh_token != member.refresh_token
    assert me(client, session)["member_id"] == member.member_id


def test_login_codes_go_only_to_registered_numbers_but_the_answer_is_the_same(client, stack):
    phone = new_phone()
    answer = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "login"})
    assert answer.status_code == 202 and answer.json == {"expires_in": 300, "resend_after": 60}
    assert outbox(client, phone) == []
    assert_error(client.post("/v1/auth/login", json_body={"phone": phone, "code": "123456"}), 401, "invalid_code")


def refresh(client, token: str):
    return client.post("/v1/auth/refresh", json_body={"refresh_token": token})


def test_refresh_rotates_the_token_and_reuse_revokes_the_family(client, stack):
    member = register(client, stack)
    rotated = refresh(client, member.refresh_token)
    assert rotated.status_code == 200, rotated.body
    newer = rotated.json["refresh_token"]
    assert newer != member.refresh_token
    assert client.get("/v1/me", token=rotated.json["access_token"]).status_code == 200

    assert_error(refresh(client, member.refresh_token), 401, "refresh_token_reused")
    assert_error(refresh(client, newer), 401)  # the whole family is gone


def test_reuse_in_one_family_leaves_other_sessions_alone(client, stack, clock):
    member = register(client, stack)
    clock.advance(seconds=61)
    other = login(client, stack, member.phone)
    refresh(client, member.refresh_token)
    assert refresh(client, member.refresh_token).status_code == 401
    assert refresh(client, other.refresh_token).status_code == 200


def test_a_refresh_token_expires_after_30_days_unused(client, stack, clock):
    member = register(client, stack)
    clock.advance(days=29, hours=23)
    rotated = refresh(client, member.refresh_token)
    assert rotated.status_code == 200
    clock.advance(days=30)
    assert_error(refresh(client, rotated.json["refresh_token"]), 401, "invalid_token")


def test_an_access_token_expires_after_15_minutes(client, stack, clock):
    member = register(client, stack)
    clock.advance(minutes=14, seconds=59)
    assert client.get("/v1/me", token=member.access_token).status_code == 200
    clock.advance(seconds=1)
    assert_error(client.get("/v1/me", token=member.access_token), 401)
    fresh = refresh(client, member.refresh_token)
    assert client.get("/v1/me", token=fresh.json["access_token"]).status_code == 200


# --- staff ---------------------------------------------------------------------------------------------
def staff_login_with(client, phone: str, code: str, totp: str):
    return client.post("/v1/staff/login", json_body={"phone": phone, "code": code, "totp": totp})


def test_staff_sign_in_needs_the_sms_code_and_a_fresh_totp(client, stack, clock):
    phone, secret = stack.settings.local_admin_phone, stack.settings.local_admin_totp_secret
    totp = pyotp.TOTP(secret)
    send_code(client, phone, "staff")
    code = last_code(stack, phone)

    assert_error(staff_login_with(client, phone, code, wrong(totp.at(clock.now()))), 401, "invalid_code")
    assert_error(staff_login_with(client, phone, wrong(code), totp.at(clock.now())), 401, "invalid_code")

    # the next time step is within the allowed drift
    next_step = totp.at(clock.now() + timedelta(seconds=30))
    signed_in = staff_login_with(client, phone, code, next_step)
    assert signed_in.status_code == 200, signed_in.body
    assert signed_in.json["roles"] == ["admin"]

    clock.advance(seconds=61)  # a new SMS code; the used step is still inside the drift window
    send_code(client, phone, "staff")
    code = last_code(stack, phone)
    assert_error(staff_login_with(client, phone, code, next_step), 401, "invalid_code")
    assert staff_login_with(client, phone, code, totp.at(clock.now())).status_code == 200


def test_a_member_cannot_sign_in_as_staff(client, stack):
    member = register(client, stack)
    answer = client.post("/v1/auth/otp", json_body={"phone": member.phone, "purpose": "staff"})
    assert answer.status_code == 202
    assert len(outbox(client, member.phone)) == 1  # only the registration code
    totp = pyotp.TOTP(stack.settings.local_admin_totp_secret).at(stack.now())
    assert_error(staff_login_with(client, member.phone, "123456", totp), 401, "invalid_code")


def test_role_refusals_are_401_and_403_in_the_contract_shape(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin).access_token
    target = f"/v1/admin/members/{member.member_id}/freeze"

    assert_error(client.get("/v1/admin/audit", token=member.access_token), 403)
    assert_error(client.post(target, token=member.access_token, json_body={"reason": "x"}), 403)
    assert_error(client.get("/v1/me", token=admin), 403)  # staff are not members
    assert_error(client.get("/v1/admin/audit", token=ops), 403)
    assert_error(client.post("/v1/admin/staff", token=ops, json_body={"phone": new_phone(), "roles": ["admin"]}), 403)
    roles_path = "/v1/admin/staff/someone/roles"
    assert_error(client.put(roles_path, token=ops, json_body={"roles": ["admin"], "reason": "me"}), 403)

    assert_error(client.get("/v1/me"), 401)
    assert_error(client.get("/v1/me", token="garbage"), 401)
    assert_error(client.get("/v1/me", headers={"Authorization": f"Basic {member.access_token}"}), 401)
    assert_error(client.get("/v1/me", token=member.refresh_token), 401)
    assert_error(client.get("/v1/admin/audit"), 401)


def test_a_token_signed_with_another_key_is_refused(client, stack):
    member = register(client, stack)
    claims = jwt.decode(member.access_token, options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "kind": "staff", "roles": ["admin"]}, "not-the-key-but-long-enough-for-hs256", algorithm="HS256"
    )
    assert_error(client.get("/v1/admin/audit", token=forged), 401)
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert_error(client.get("/v1/me", token=unsigned), 401)


# --- freeze and the audit log --------------------------------------------------------------------------
def test_freeze_and_unfreeze_are_audited_with_who_what_why_before_and_after(client, stack, clock):
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    path = f"/v1/admin/members/{member.member_id}"

    frozen = client.post(f"{path}/freeze", token=ops.access_token, json_body={"reason": "chargeback fraud"})
    assert frozen.status_code == 200, frozen.body
    assert frozen.json == {"member_id": member.member_id, "status": "frozen"}
    session = login(client, stack, member.phone)
    assert me(client, session)["status"] == "frozen"
    again = client.post(f"{path}/freeze", token=ops.access_token, json_body={"reason": "twice"})
    assert_error(again, 409, "invalid_state")

    clock.advance(seconds=5)
    thawed = client.post(f"{path}/unfreeze", token=ops.access_token, json_body={"reason": "cleared by bank"})
    assert thawed.json == {"member_id": member.member_id, "status": "active"}
    assert me(client, session)["status"] == "active"

    log = client.get(f"/v1/admin/audit?target_id={member.member_id}", token=admin)
    assert log.status_code == 200, log.body
    entries = log.json["entries"]
    assert [(e["action"], e["reason"], e["before"], e["after"]) for e in entries] == [
        ("member.unfreeze", "cleared by bank", {"status": "frozen"}, {"status": "active"}),
        ("member.freeze", "chargeback fraud", {"status": "active"}, {"status": "frozen"}),
    ]
    for entry in entries:
        assert entry["actor_id"] == ops.staff_id
        assert entry["actor_roles"] == ["ops"]
        assert entry["target_type"] == "member" and entry["target_id"] == member.member_id
        assert datetime.fromisoformat(entry["at"]).tzinfo is not None
    assert log.json["next_cursor"] is None

    today = client.get("/v1/admin/audit", token=admin).json["entries"]
    assert {"member.freeze", "member.unfreeze", "staff.create"} <= {e["action"] for e in today}


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_freezing_needs_a_reason(client, stack, body):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert_error(client.post(f"/v1/admin/members/{member.member_id}/freeze", token=admin, json_body=body), 400)
    assert me(client, member)["status"] == "active"


def test_freezing_an_unknown_member_is_404(client, stack):
    admin = admin_token(client, stack)
    assert_error(client.post("/v1/admin/members/01NOSUCHMEMBER/freeze", token=admin, json_body={"reason": "x"}), 404)


def test_the_audit_log_is_readable_by_admin_and_auditor_only(client, stack):
    admin = admin_token(client, stack)
    auditor = new_staff(client, stack, "auditor", admin=admin).access_token
    finance = new_staff(client, stack, "finance", admin=admin).access_token
    ops = new_staff(client, stack, "ops", admin=admin).access_token
    assert client.get("/v1/admin/audit", token=admin).status_code == 200
    read = client.get("/v1/admin/audit", token=auditor)
    # the local admin's seed and the three accounts created here
    assert read.status_code == 200
    assert [e["action"] for e in read.json["entries"]] == ["staff.create"] * 4
    assert_error(client.get("/v1/admin/audit", token=finance), 403)
    assert_error(client.get("/v1/admin/audit", token=ops), 403)


def test_the_audit_log_pages_newest_first(client, stack, clock):
    member = register(client, stack)
    admin = admin_token(client, stack)
    path = f"/v1/admin/members/{member.member_id}"
    for action in ("freeze", "unfreeze", "freeze"):
        clock.advance(seconds=1)
        assert client.post(f"{path}/{action}", token=admin, json_body={"reason": action}).status_code == 200
    first = client.get(f"/v1/admin/audit?target_id={member.member_id}&limit=2", token=admin).json
    assert [e["action"] for e in first["entries"]] == ["member.freeze", "member.unfreeze"]
    rest = client.get(
        f"/v1/admin/audit?target_id={member.member_id}&limit=2&cursor={first['next_cursor']}", token=admin
    ).json
    assert [e["action"] for e in rest["entries"]] == ["member.freeze"]
    assert rest["next_cursor"] is None
    assert rest["entries"][0]["at"] < first["entries"][1]["at"]


def test_admin_grants_staff_roles_audited_and_cannot_drop_their_own_admin(client, stack, clock):
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    changed = client.put(
        f"/v1/admin/staff/{ops.staff_id}/roles", token=admin, json_body={"roles": ["auditor"], "reason": "moved teams"}
    )
    assert changed.status_code == 200, changed.body
    assert changed.json == {"staff_id": ops.staff_id, "roles": ["auditor"]}
    entry = client.get(f"/v1/admin/audit?target_id={ops.staff_id}", token=admin).json["entries"][0]
    assert (entry["action"], entry["reason"], entry["before"], entry["after"]) == (
        "staff.roles",
        "moved teams",
        {"roles": ["ops"]},
        {"roles": ["auditor"]},
    )
    clock.advance(seconds=31)
    token = staff_login(client, stack, ops.phone, ops.totp_secret)
    assert client.get("/v1/admin/audit", token=token).status_code == 200  # now an auditor
    assert client.get("/v1/admin/kyc", token=token).status_code == 403  # no longer ops

    admin_id = jwt.decode(admin, options={"verify_signature": False})["sub"]
    own = client.put(f"/v1/admin/staff/{admin_id}/roles", token=admin, json_body={"roles": ["ops"], "reason": "oops"})
    assert_error(own, 403)
    taken = client.post("/v1/admin/staff", token=admin, json_body={"phone": ops.phone, "roles": ["ops"]})
    assert_error(taken, 409, "staff_exists")


# --- real-name verification and nutritionist certification ---------------------------------------------
def test_kyc_with_a_bad_checksum_is_422(client, stack):
    member = register(client, stack)
    bad = KYC_ID[:-1] + "3"
    answer = client.post("/v1/me/kyc", token=member.access_token, json_body={"real_name": "张三", "id_number": bad})
    assert_error(answer, 422, "invalid_id_number")
    assert_error(client.get("/v1/me/kyc", token=member.access_token), 404)


def test_kyc_is_submitted_masked_and_approved_by_ops(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    submitted = client.post(
        "/v1/me/kyc", token=member.access_token, json_body={"real_name": "张三丰", "id_number": KYC_ID.lower()}
    )
    assert submitted.status_code == 202, submitted.body
    mine = client.get("/v1/me/kyc", token=member.access_token).json
    assert mine["status"] == "pending"
    assert mine["summary"] == {"real_name": "张**", "id_number": "110***********002X"}

    queue = client.get("/v1/admin/kyc", token=ops.access_token).json["reviews"]
    assert [(r["member_id"], r["version"]) for r in queue] == [(member.member_id, 1)]
    assert queue[0]["summary"]["id_number"] == "110***********002X"

    path = f"/v1/admin/kyc/{member.member_id}/approve"
    approved = client.post(path, token=ops.access_token, json_body={"reason": "matches", "version": 1})
    assert approved.status_code == 200, approved.body
    assert (approved.json["status"], approved.json["version"]) == ("approved", 1)
    assert client.get("/v1/me/kyc", token=member.access_token).json["status"] == "approved"
    assert client.get("/v1/admin/kyc", token=ops.access_token).json["reviews"] == []
    twice = client.post(path, token=ops.access_token, json_body={"reason": "x", "version": 1})
    assert_error(twice, 409, "invalid_state")

    log = client.get(f"/v1/admin/audit?target_id={member.member_id}", token=admin).json["entries"]
    assert [(e["action"], e["actor_id"], e["before"], e["after"]) for e in log] == [
        ("kyc.approved", ops.staff_id, {"status": "pending", "version": 1}, {"status": "approved", "version": 1})
    ]

    other = register(client, stack)
    taken = client.post("/v1/me/kyc", token=other.access_token, json_body={"real_name": "李四", "id_number": KYC_ID})
    assert_error(taken, 409, "id_number_in_use")


def test_one_id_number_is_approved_for_one_member_only(client, stack):
    first, second = register(client, stack), register(client, stack)
    ops = new_staff(client, stack, "ops").access_token
    for member in (first, second):  # neither is verified yet, so both submissions are taken
        body = {"real_name": "张三", "id_number": KYC_ID}
        assert client.post("/v1/me/kyc", token=member.access_token, json_body=body).status_code == 202
    assert decide_review(client, ops, "kyc", first.member_id).status_code == 200
    refused = decide_review(client, ops, "kyc", second.member_id)
    assert_error(refused, 409, "id_number_in_use")
    assert client.get("/v1/me/kyc", token=second.access_token).json["status"] == "pending"


def test_kyc_rejected_with_a_reason_can_be_resubmitted(client, stack):
    member = register(client, stack)
    ops = new_staff(client, stack, "ops").access_token
    body = {"real_name": "张三", "id_number": KYC_ID}
    assert client.post("/v1/me/kyc", token=member.access_token, json_body=body).status_code == 202
    rejected = decide_review(client, ops, "kyc", member.member_id, "reject", reason="photo unreadable")
    assert rejected.json["status"] == "rejected"
    mine = client.get("/v1/me/kyc", token=member.access_token).json
    assert (mine["status"], mine["reason"], mine["version"]) == ("rejected", "photo unreadable", 1)
    assert client.post("/v1/me/kyc", token=member.access_token, json_body=body).status_code == 202
    mine = client.get("/v1/me/kyc", token=member.access_token).json
    assert (mine["status"], mine["version"]) == ("pending", 2)


def test_an_approved_nutritionist_carries_the_role(client, stack):
    member = register(client, stack)
    ops = new_staff(client, stack, "ops").access_token
    certificate = {"certificate_no": "GJYYS-2024-000123", "issuer": "中国营养学会", "issued_on": "2024-06-01"}
    assert client.post("/v1/me/nutritionist", token=member.access_token, json_body=certificate).status_code == 202
    mine = client.get("/v1/me/nutritionist", token=member.access_token).json
    assert mine["status"] == "pending" and mine["summary"]["certificate_no"] == "*************0123"
    assert me(client, member)["roles"] == []
    approved = decide_review(client, ops, "nutritionists", member.member_id)
    assert approved.status_code == 200, approved.body
    assert me(client, member)["roles"] == ["nutritionist"]


def test_a_rejected_certificate_gives_no_role_and_keeps_the_reason(client, stack):
    member = register(client, stack)
    ops = new_staff(client, stack, "ops").access_token
    certificate = {"certificate_no": "X-1", "issuer": "某机构", "issued_on": "2024-06-01"}
    client.post("/v1/me/nutritionist", token=member.access_token, json_body=certificate)
    rejected = decide_review(client, ops, "nutritionists", member.member_id, "reject", reason="expired")
    assert (rejected.json["status"], rejected.json["reason"]) == ("rejected", "expired")
    assert me(client, member)["roles"] == []


def test_reviews_need_ops_or_admin(client, stack):
    member = register(client, stack)
    finance = new_staff(client, stack, "finance").access_token
    client.post("/v1/me/kyc", token=member.access_token, json_body={"real_name": "张三", "id_number": KYC_ID})
    path = f"/v1/admin/kyc/{member.member_id}/approve"
    assert_error(client.post(path, token=finance, json_body={"reason": "x", "version": 1}), 403)
    assert_error(client.post(path, token=member.access_token, json_body={"reason": "x", "version": 1}), 403)
    assert client.get("/v1/me/kyc", token=member.access_token).json["status"] == "pending"


# --- profile, share link and QR code -----------------------------------------------------------------
def test_patching_the_profile_answers_the_me_shape_with_the_name_masked(client, stack):
    member = register(client, stack, separate=("babies",))
    patch = {
        "name": "张三丰",
        "birthday": "1990-05-01",
        "region": "浙江省杭州市",
        "babies": [{"birthday": "2025-03-01"}],
    }
    answer = client.patch("/v1/me", token=member.access_token, json_body=patch)
    assert answer.status_code == 200, answer.body
    assert answer.json == me(client, member)
    assert answer.json["profile"] == {
        "name": "张**",
        "birthday": "1990-05-01",
        "region": "浙江省杭州市",
        "babies": [{"birthday": "2025-03-01"}],
        "complete": True,
    }
    assert "张三丰" not in answer.text


def test_a_partial_patch_keeps_the_other_fields(client, stack):
    member = register(client, stack)
    client.patch("/v1/me", token=member.access_token, json_body={"name": "李四", "region": "上海"})
    profile = client.patch("/v1/me", token=member.access_token, json_body={"birthday": "1988-02-29"}).json["profile"]
    assert (profile["name"], profile["region"], profile["birthday"], profile["complete"]) == (
        "李*",
        "上海",
        "1988-02-29",
        True,
    )


@pytest.mark.parametrize("patch", [{"birthday": "2026-11-24"}, {"babies": [{"birthday": "2027-01-01"}]}])
def test_an_impossible_birthday_is_422(client, stack, patch):
    member = register(client, stack, separate=("babies",))
    assert_error(client.patch("/v1/me", token=member.access_token, json_body=patch), 422, "invalid_profile")
    assert me(client, member)["profile"]["birthday"] is None


@pytest.mark.parametrize("body", [b"", b"{}", b'{"name": null, "region": null}'])
def test_a_profile_patch_that_changes_nothing_is_400_like_an_empty_body_elsewhere(client, stack, body):
    member = register(client, stack)
    client.patch("/v1/me", token=member.access_token, json_body={"name": "张三"})
    answer = client.request(
        "PATCH", "/v1/me", body=body, headers={"content-type": "application/json"}, token=member.access_token
    )
    assert_error(answer, 400, "invalid_request")
    assert answer.json["error"]["problems"][0]["field"] == "body"
    assert me(client, member)["profile"]["name"] == "张*"


def _qr_matrix_from_png(png: bytes) -> list[list[bool]]:
    """The module grid of a QR code PNG: quiet zone and scale found from the finder pattern."""
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    assert width == height
    pixels = image.load()
    dark = [[pixels[x, y] < 128 for x in range(width)] for y in range(height)]
    first = next((x, y) for y in range(height) for x in range(width) if dark[y][x])
    assert first[0] == first[1]
    start = first[0]
    run = next(x for x in range(start, width) if not dark[start][x]) - start  # the finder's 7-module top edge
    scale = run // 7
    assert scale * 7 == run
    modules = (width - 2 * start) // scale
    return [
        [dark[start + r * scale + scale // 2][start + c * scale + scale // 2] for c in range(modules)]
        for r in range(modules)
    ]


def test_the_qr_code_encodes_the_share_link_as_svg_and_png(client, stack):
    member = register(client, stack)
    link = f"{stack.settings.public_base_url}/r/{member.member_code}"
    assert me(client, member)["share_link"] == link

    svg = client.get("/v1/me/qr", token=member.access_token)
    assert svg.status_code == 200, svg.body
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(svg.body).tag == "{http://www.w3.org/2000/svg}svg"

    png = client.get("/v1/me/qr?format=png", token=member.access_token, headers={"Accept": "image/png"})
    assert png.status_code == 200, png.body[:200]
    assert png.headers["content-type"] == "image/png"
    assert png.body.startswith(b"\x89PNG\r\n\x1a\n")
    grid = _qr_matrix_from_png(png.body)
    candidates = [
        [[bool(v) for v in row] for row in segno.make(link, error=level, boost_error=False).matrix] for level in "lmqh"
    ]
    assert grid in candidates, "the PNG does not encode the share link"


def test_an_unknown_qr_format_is_400(client, stack):
    member = register(client, stack)
    assert_error(client.get("/v1/me/qr?format=gif", token=member.access_token), 400)


def test_a_png_without_accept_image_png_is_400_as_api_gateway_answers_binary_without_it(client, stack):
    member = register(client, stack)
    assert_error(client.get("/v1/me/qr?format=png", token=member.access_token), 400, "invalid_request")


# --- closing an account ------------------------------------------------------------------------------
def test_closing_erases_personal_data_and_keeps_the_anonymous_tree_node(client, stack, clock):
    referrer = register(client, stack)
    member = register(client, stack, referrer_code=referrer.member_code)
    client.patch("/v1/me", token=member.access_token, json_body={"name": "王五", "region": "北京"})
    closed = close_account(client, member.access_token, "moving abroad")
    assert closed.status_code == 204, closed.body

    assert_error(client.get("/v1/me", token=member.access_token), 401, "invalid_token")
    assert_error(refresh(client, member.refresh_token), 401)
    listed = referrals(client, referrer)["referrals"]
    assert [(r["member_id"], r["status"], r["phone"]) for r in listed] == [(member.member_id, "closed", "")]

    # the old member code no longer resolves, and the number can register again as someone new
    clock.advance(seconds=61)
    again = register(client, stack, phone=member.phone)
    assert again.member_id != member.member_id
    assert me(client, again)["referrer_code"] is None
    late = new_phone()
    send_code(client, late, "register")
    assert_error(post_register(client, late, last_code(stack, late), member.member_code), 422, "unknown_referrer")


def test_closing_is_refused_while_the_wallet_holds_aibi(client, stack):
    member = register(client, stack)
    WalletItem(pk=f"MEMBER#{member.member_id}", sk=WalletItem.SK, member_id=member.member_id, balance_fen=100).save()
    answer = close_account(client, member.access_token, "bye")
    assert_error(answer, 409, "account_not_closable")
    assert me(client, member)["status"] == "active"


def test_closing_is_refused_while_a_withdrawal_is_open(client, stack):
    member = register(client, stack)
    WalletItem(
        pk=f"MEMBER#{member.member_id}",
        sk=WalletItem.SK,
        member_id=member.member_id,
        held_fen=10_000,
        open_withdrawals=1,
    ).save()
    answer = close_account(client, member.access_token, "bye")
    assert_error(answer, 409, "account_not_closable")
