"""Personal data at rest and in logs (RULES.md 1 and 6.6): the raw table and every log
record of an identity flow never hold a phone number, a name or an ID number in clear,
nor a payout account (as set, as snapshot on a withdrawal, or as revealed to finance)."""

from __future__ import annotations

import base64
import logging

import pytest

from chalicelib.local.queues import drain
from tests.builders import (
    admin_token,
    close_account,
    decide_review,
    forbid_server_errors,
    invite,
    last_code,
    new_phone,
    new_staff,
    register,
    table_items,
)

NAME = "欧阳震华"
ID_NUMBER = "11010519491231002X"
STAFF_NAME = "司马光"


def strings_of(value: object) -> list[str]:
    """Every string, number and binary (base64) inside a DynamoDB attribute value, keys included."""
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *strings_of(item))]
    if isinstance(value, list | tuple | set):
        return [text for item in value for text in strings_of(item)]
    if isinstance(value, bytes):
        return [base64.b64encode(value).decode(), value.decode("latin-1")]
    return [str(value)]


def forms_of_phone(e164: str) -> list[str]:
    national = e164.removeprefix("+86")
    return [e164, e164[1:], national, f"{national[:3]} {national[3:7]} {national[7:]}", national[3:]]


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


@pytest.fixture
def flow(client, stack, clock):
    """Register, fill the profile, submit and approve KYC, invite a friend, create a staff account."""
    member = register(client, stack, separate=("id_number", "babies"))
    client.patch(
        "/v1/me",
        token=member.access_token,
        json_body={"name": NAME, "birthday": "1990-05-01", "region": "香港", "babies": [{"birthday": "2025-03-01"}]},
    )
    kyc = client.post("/v1/me/kyc", token=member.access_token, json_body={"real_name": NAME, "id_number": ID_NUMBER})
    assert kyc.status_code == 202, kyc.body
    admin = admin_token(client, stack)
    ops = new_staff(client, stack, "ops", admin=admin)
    approved = decide_review(client, ops.access_token, "kyc", member.member_id)
    assert approved.status_code == 200, approved.body
    friend = invite(client, member)
    staff_phone = new_phone()
    created = client.post(
        "/v1/admin/staff", token=admin, json_body={"phone": staff_phone, "roles": ["auditor"], "name": STAFF_NAME}
    )
    assert created.status_code == 201, created.body
    # a failed sign-in, an invalid number and a wrong code are in the flow too
    client.post("/v1/auth/otp", json_body={"phone": "13912", "purpose": "login"})
    clock.advance(seconds=61)
    client.post("/v1/auth/otp", json_body={"phone": member.phone, "purpose": "login"})
    client.post("/v1/auth/login", json_body={"phone": member.phone, "code": "000000"})
    return {
        "member": member,
        "phones": [member.phone, friend, staff_phone, ops.phone],
        "code": last_code(stack, member.phone),
        "secrets": [ops.totp_secret, stack.settings.local_admin_totp_secret],
    }


def test_no_phone_name_or_id_number_is_stored_in_clear(flow, stack):
    items = table_items(stack)
    texts = [text for item in items for text in strings_of(item)]
    needles = [form for phone in flow["phones"] for form in forms_of_phone(phone)]
    needles += [NAME, NAME[1:], STAFF_NAME, ID_NUMBER, ID_NUMBER[:17], ID_NUMBER[6:14], "1990-05-01", "2025-03-01"]
    for needle in needles:
        leaks = [text for text in texts if needle in text]
        assert not leaks, f"{needle!r} is stored in clear: {leaks[:3]}"
    assert flow["code"] not in texts, "the one-time code is stored in clear"
    for secret in flow["secrets"]:
        assert not any(secret in text for text in texts), "a staff TOTP secret is stored in clear"
    # the data is there, encrypted: the member item carries ciphertext for each field
    member = next(
        item
        for item in items
        if item["pk"]["S"] == f"MEMBER#{flow['member'].member_id}" and item["sk"]["S"] == "PROFILE"
    )
    assert {"phone_enc", "name_enc", "birthday_enc", "babies_enc"} <= set(member)
    assert member["phone_enc"]["S"].startswith("v1.")


def test_closing_erases_the_personal_data_of_the_member(flow, client, stack):
    member = flow["member"]
    assert close_account(client, member.access_token, "privacy").status_code == 204
    items = [item for item in table_items(stack) if item["pk"]["S"] == f"MEMBER#{member.member_id}"]
    kinds = {item["sk"]["S"] for item in items}
    assert "KYC" not in kinds and "CERT" not in kinds
    profile = next(item for item in items if item["sk"]["S"] == "PROFILE")
    assert not {"phone_enc", "phone_index", "name_enc", "birthday_enc", "babies_enc", "region", "member_code"} & set(
        profile
    )
    assert profile["status"]["S"] == "closed" and profile["close_reason"]["S"] == "privacy"


def test_no_phone_is_written_to_any_log(client, stack, clock, caplog):
    caplog.set_level(logging.DEBUG)
    with caplog.at_level(logging.DEBUG, logger="member-points"):
        member = register(client, stack)
        clock.advance(seconds=61)
        client.post("/v1/auth/otp", json_body={"phone": member.phone, "purpose": "login"})
        client.post("/v1/auth/login", json_body={"phone": member.phone, "code": "000000"})
        client.post("/v1/auth/register", json_body={"phone": member.phone, "code": "000000"})
        client.post("/v1/me/referrals", token=member.access_token, json_body={"phone": new_phone()})
        client.post("/v1/me/kyc", token=member.access_token, json_body={"real_name": NAME, "id_number": ID_NUMBER})
        drain()  # the SMS worker's lines are captured too
        client.get(f"/v1/dev/sms?phone={member.phone.replace('+', '%2B')}")
        client.post("/v1/auth/otp", json_body={"phone": member.phone + "0", "purpose": "login"})
    assert caplog.records, "the flow logged nothing; the capture is not working"
    assert any(record.name == "member-points" for record in caplog.records)
    powertools = logging.getLogger("member-points").handlers[0].formatter
    rendered = [caplog.text] + [powertools.format(r) for r in caplog.records if r.name == "member-points"]
    for needle in [*forms_of_phone(member.phone), NAME, ID_NUMBER]:
        assert not any(needle in line for line in rendered), f"{needle!r} appears in the logs"


ACCOUNT = "6222020000004321"
LATER_ACCOUNT = "6222020000008765"


def forms_of_account(account: str) -> list[str]:
    return [account, " ".join(account[i : i + 4] for i in range(0, len(account), 4)), account[:12]]


def test_no_payout_account_is_stored_logged_or_audited_in_clear(client, stack, caplog):
    from tests.wallet_builders import Desk, Person, give_aibi, verify_identity

    desk = Desk(client, stack)
    with caplog.at_level(logging.DEBUG, logger="member-points"):
        member = Person(client, stack, register(client, stack), stack.now())
        verify_identity(desk, member, NAME)
        holder = {"kind": "bank", "holder": NAME}
        assert member.post("/v1/me/payout-account", {"account": ACCOUNT, **holder}).status_code == 200
        give_aibi(desk, member, 20_000)
        withdrawal = member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).json["withdrawal_id"]
        assert member.post("/v1/me/payout-account", {"account": LATER_ACCOUNT, **holder}).status_code == 200
        revealed = desk.post(f"/v1/admin/withdrawals/{withdrawal}/payout-account/reveal", "finance", {"reason": "pay"})
        assert revealed.json["account"] == ACCOUNT  # the data is there, for finance only
        member.post("/v1/me/payout-account", {"kind": "bank", "account": "62220200", "holder": NAME})
        audit = desk.get(f"/v1/admin/audit?day={stack.now().date().isoformat()}&limit=200", "admin").body.decode()
    powertools = logging.getLogger("member-points").handlers[0].formatter
    rendered = [caplog.text] + [powertools.format(r) for r in caplog.records if r.name == "member-points"]
    texts = [text for item in table_items(stack) for text in strings_of(item)]
    assert "withdrawal.payout_revealed" in audit and "payout_account.set" in audit
    for needle in [*forms_of_account(ACCOUNT), *forms_of_account(LATER_ACCOUNT), NAME]:
        assert not any(needle in text for text in texts), f"{needle!r} is stored in clear"
        assert not any(needle in line for line in rendered), f"{needle!r} appears in the logs"
        assert needle not in audit, f"{needle!r} appears in the audit log"


def test_a_phone_logged_by_mistake_is_masked_in_the_written_line(caplog):
    from chalicelib.adapters.observability import logger

    with caplog.at_level(logging.INFO, logger="member-points"):
        logger.info("sms to +8613912345678 failed", extra={"to": "13912345678", "id": ID_NUMBER})
    record = caplog.records[-1]
    line = logging.getLogger("member-points").handlers[0].formatter.format(record)
    assert "13912345678" not in line and ID_NUMBER not in line
    assert "[phone]" in line and "[id-number]" in line
