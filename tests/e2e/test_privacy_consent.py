"""Consent over HTTP (issue 16): registration with and without the documents' acceptance,
a new version gating spends, separate consents and their withdrawal with erasure, and
closing after the warning."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.builders import (
    accepted_now,
    assert_error,
    close_account,
    last_code,
    me,
    new_phone,
    register,
    send_code,
    table_items,
)
from tests.wallet_builders import (
    Desk,
    give_points,
    open_window,
    person,
    ready_to_withdraw,
    resident_id,
    verify_identity,
)


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


def member_items(stack, member_id: str) -> dict[str, dict]:
    return {i["sk"]["S"]: i for i in table_items(stack) if i["pk"]["S"] == f"MEMBER#{member_id}"}


def publish(desk: Desk, doc: str, version: int, after: timedelta = timedelta(0), role: str = "admin"):
    """Publish a version in force ``after`` from now (the staff sign-in moves the clock first)."""
    desk.token(role)
    effective_at = desk.stack.now() + after
    body = {"version": version, "title": f"{doc} v{version}", "body": "new text", "reason": "legal review"}
    return desk.post(f"/v1/admin/legal/{doc}", role, {**body, "effective_at": effective_at.isoformat()})


# --- registration ------------------------------------------------------------------------------------
def test_registration_without_the_documents_acceptance_is_refused_naming_them_and_creates_nothing(client, stack):
    phone = new_phone()
    send_code(client, phone, "register")
    code = last_code(stack, phone)
    refused = client.post("/v1/auth/register", json_body={"phone": phone, "code": code})
    assert_error(refused, 422, "consent_required")
    assert refused.json["error"]["required"] == [{"doc": "privacy", "version": 1}, {"doc": "terms", "version": 1}]
    assert not [i for i in table_items(stack) if i["sk"]["S"] == "PROFILE"]
    # the code was not consumed: the same code registers once the documents are accepted
    body = {"phone": phone, "code": code, "accepted": accepted_now(stack), "channel": "mini_program"}
    registered = client.post("/v1/auth/register", json_body=body)
    assert registered.status_code == 201, registered.body
    consents = client.get("/v1/me/consents", token=registered.json["access_token"]).json
    assert [(r["kind"], r["subject"], r["version"], r["channel"]) for r in consents["history"]] == [
        ("accepted", "privacy", 1, "mini_program"),
        ("accepted", "terms", 1, "mini_program"),
    ]
    assert consents["consent"]["outstanding"] == [] and consents["consent"]["separate"] == []


def test_registration_with_a_superseded_version_is_refused(client, stack, desk, clock):
    assert publish(desk, "terms", 2).status_code == 201
    phone = new_phone()
    send_code(client, phone, "register")
    stale = [{"doc": "privacy", "version": 1}, {"doc": "terms", "version": 1}]
    refused = client.post(
        "/v1/auth/register", json_body={"phone": phone, "code": last_code(stack, phone), "accepted": stale}
    )
    assert_error(refused, 422, "consent_required")
    assert {"doc": "terms", "version": 2} in refused.json["error"]["required"]


def test_the_current_documents_are_public(client):
    answer = client.get("/v1/legal/privacy")
    assert answer.status_code == 200 and answer.json["version"] == 1 and answer.json["doc"] == "privacy"
    assert_error(client.get("/v1/legal/cookies"), 404)


# --- a new version -----------------------------------------------------------------------------------
def test_a_new_policy_version_gates_spends_until_the_member_accepts_it(client, stack, desk, clock):
    member = person(client, stack)
    give_points(desk, member, 40)
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    published = publish(desk, "privacy", 2, timedelta(hours=1))
    assert published.status_code == 201, published.body
    # not in force yet: nothing is asked
    assert me(client, member.member)["consent"]["outstanding"] == []
    clock.advance(hours=1)
    assert client.get("/v1/legal/privacy").json["version"] == 2
    assert me(client, member.member)["consent"]["outstanding"] == [{"doc": "privacy", "version": 2}]
    refused = member.post("/v1/me/exchange", {"points": 100})
    assert_error(refused, 403, "consent_outdated")
    assert member.points() == 100 and member.wallet()["balance_fen"] == 0
    stale = member.post(
        "/v1/me/consents", {"accepted": [{"doc": "privacy", "version": 1}, {"doc": "terms", "version": 1}]}
    )
    assert_error(stale, 422, "consent_required")
    accepted = member.post("/v1/me/consents", {"accepted": accepted_now(stack), "channel": "app"})
    assert accepted.status_code == 200, accepted.body
    assert accepted.json["consent"]["outstanding"] == []
    assert member.post("/v1/me/exchange", {"points": 100}).status_code == 200
    audit = desk.get("/v1/admin/audit?target_id=privacy", "admin").json["entries"]
    assert [(e["action"], e["reason"], e["after"]["version"]) for e in audit] == [
        ("legal.published", "legal review", 2)
    ]


def test_a_withdrawal_is_refused_while_a_new_version_waits_for_acceptance(client, stack, desk, clock):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 10_000)
    assert publish(desk, "terms", 2).status_code == 201
    assert_error(member.post("/v1/me/withdrawals", {"amount_fen": 10_000}), 403, "consent_outdated")
    assert member.wallet() == {"balance_fen": 10_000, "held_fen": 0}


def test_only_admins_publish_and_a_version_is_newer_and_not_retroactive(client, stack, desk, clock):
    assert publish(desk, "privacy", 1).status_code == 409
    assert_error(publish(desk, "privacy", 2, -timedelta(minutes=1)), 422, "effective_in_past")
    assert_error(publish(desk, "privacy", 2, role="ops"), 403)
    assert client.get("/v1/legal/privacy").json["version"] == 1


# --- separate consents ------------------------------------------------------------------------------
def test_kyc_and_babies_birthdays_need_their_separate_consent_first(client, stack):
    member = register(client, stack, separate=())
    kyc = client.post(
        "/v1/me/kyc", token=member.access_token, json_body={"real_name": "张三", "id_number": resident_id()}
    )
    assert_error(kyc, 403, "separate_consent_required")
    assert kyc.json["error"]["purpose"] == "id_number"
    babies = client.patch("/v1/me", token=member.access_token, json_body={"babies": [{"birthday": "2025-03-01"}]})
    assert_error(babies, 403, "separate_consent_required")
    items = member_items(stack, member.member_id)
    assert "KYC" not in items and "babies_enc" not in items["PROFILE"]


def test_withdrawing_the_id_number_consent_erases_an_approved_verification_after_its_preview(client, stack, desk):
    member = person(client, stack)
    verify_identity(desk, member)
    preview = member.get("/v1/me/consents/id_number/withdrawal")
    assert preview.status_code == 200, preview.body
    assert preview.json["erases"] == ["real_name", "id_number"] and preview.json["consequences"]
    assert_error(
        member.post("/v1/me/consents/id_number/withdrawal", {"confirmation": "0" * 24}), 409, "confirmation_stale"
    )
    assert "KYC" in member_items(stack, member.id)
    withdrawn = member.post("/v1/me/consents/id_number/withdrawal", {"confirmation": preview.json["confirmation"]})
    assert withdrawn.status_code == 200, withdrawn.body
    assert withdrawn.json["consent"]["separate"] == []
    assert [r["kind"] for r in withdrawn.json["history"] if r["subject"] == "id_number"] == ["granted", "withdrawn"]
    assert "KYC" not in member_items(stack, member.id)
    assert not [i for i in table_items(stack) if i["pk"]["S"].startswith("IDNUM#")]
    assert_error(member.get("/v1/me/kyc"), 404)
    # again: nothing is granted any more
    again = member.post("/v1/me/consents/id_number/withdrawal", {"confirmation": preview.json["confirmation"]})
    assert_error(again, 403, "separate_consent_required")


def test_the_id_number_consent_cannot_be_withdrawn_while_a_withdrawal_is_open(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 10_000)
    assert member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).status_code == 201
    confirmation = member.get("/v1/me/consents/id_number/withdrawal").json["confirmation"]
    refused = member.post("/v1/me/consents/id_number/withdrawal", {"confirmation": confirmation})
    assert_error(refused, 409, "consent_in_use")
    assert member_items(stack, member.id)["KYC"]["status"]["S"] == "approved"


def test_withdrawing_the_babies_consent_erases_their_birthdays_and_birth_months(client, stack):
    member = register(client, stack, separate=("babies",))
    patch = {"birthday": "1990-05-01", "babies": [{"birthday": "2025-03-01"}]}
    assert client.patch("/v1/me", token=member.access_token, json_body=patch).status_code == 200
    preview = client.get("/v1/me/consents/babies/withdrawal", token=member.access_token).json
    assert preview["erases"] == ["babies"]
    body = {"confirmation": preview["confirmation"]}
    assert (
        client.post("/v1/me/consents/babies/withdrawal", token=member.access_token, json_body=body).status_code == 200
    )
    profile = member_items(stack, member.member_id)["PROFILE"]
    assert "babies_enc" not in profile
    assert [int(n["N"]) for n in profile["birth_months"]["L"]] == [5]
    assert me(client, member)["profile"]["babies"] == []


def test_a_kyc_submitted_after_the_withdrawal_preview_makes_its_confirmation_stale(client, stack):
    member = register(client, stack)
    token = member.access_token
    confirmation = client.get("/v1/me/consents/id_number/withdrawal", token=token).json["confirmation"]
    body = {"real_name": "张三", "id_number": resident_id()}
    assert client.post("/v1/me/kyc", token=token, json_body=body).status_code == 202
    stale = client.post("/v1/me/consents/id_number/withdrawal", token=token, json_body={"confirmation": confirmation})
    assert_error(stale, 409, "confirmation_stale")
    assert "KYC" in member_items(stack, member.member_id)


# --- closing -----------------------------------------------------------------------------------------
def test_closing_shows_what_is_lost_and_a_preview_gone_stale_does_not_confirm(client, stack, desk):
    member = person(client, stack)
    preview = member.get("/v1/me/close")
    assert preview.status_code == 200, preview.body
    assert (preview.json["points_available"], preview.json["points_pending"]) == (60, 0)
    assert preview.json["unreleased_rewards_fen"] == 0 and preview.json["closable"] is True
    give_points(desk, member, 5)
    stale = member.post("/v1/me/close", {"reason": "moving", "confirmation": preview.json["confirmation"]})
    assert_error(stale, 409, "confirmation_stale")
    assert me(client, member.member)["status"] == "active"
    fresh = member.get("/v1/me/close").json
    assert fresh["points_available"] == 65
    assert member.post("/v1/me/close", {"reason": "moving", "confirmation": fresh["confirmation"]}).status_code == 204


def test_closing_needs_the_aibi_withdrawn_first_as_the_preview_says(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 10_000)
    preview = member.get("/v1/me/close").json
    assert preview["balance_fen"] == 10_000 and preview["closable"] is False
    refused = close_account(client, member.token)
    assert_error(refused, 409, "account_not_closable")
